#!/usr/bin/env python3
"""Are two run folders the same numbers? Compares every dataset and attribute of their HDF5 files, bit for bit.

    python3 scripts/compare_run_files.py RUN_A RUN_B

For a refactoring's "behaviour unchanged" check: the same command run by the old and the new binary must give
identical files, wall-clock quantities aside. Compared: run.h5, probe.h5, activations.h5 (or fields.h5), analysis.h5
and prune.h5 where both folders have them, and layers.csv as text. Not compared (they differ between any two runs):
the datasets and attributes named in WALL_CLOCK (seconds, images per second, timestamps, run ids, provenance).
Prints one line per difference and a summary; exit status 0 when identical, 1 otherwise (2 for unreadable input).
"""
import os
import sys

import h5py
import numpy as np

FILES = ["run.h5", "probe.h5", "activations.h5", "fields.h5", "analysis.h5", "prune.h5"]
WALL_CLOCK = {"seconds", "images_per_second", "total_seconds", "created", "run_id", "started", "provenance",
              "filterlens_version", "analysis_seconds", "epoch_seconds", "source_identity"}


def walk(group, prefix=""):
    """(path, object) of every group and dataset below `group`."""
    for name, item in group.items():
        path = f"{prefix}/{name}"
        yield path, item
        if isinstance(item, h5py.Group):
            yield from walk(item, path)


def skipped(path):
    return any(part in WALL_CLOCK for part in path.split("/"))


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return np.array_equal(a.view(f"u{a.dtype.itemsize}"), b.view(f"u{b.dtype.itemsize}"))
    return np.array_equal(a, b)


def compare(path_a, path_b, name, differences):
    with h5py.File(path_a, "r") as fa, h5py.File(path_b, "r") as fb:
        objects_a, objects_b = dict(walk(fa)), dict(walk(fb))
        for path in sorted(set(objects_a) | set(objects_b)):
            if skipped(path):
                continue
            if path not in objects_a or path not in objects_b:
                differences.append(f"{name}{path}: only in {'A' if path in objects_a else 'B'}")
                continue
            a, b = objects_a[path], objects_b[path]
            if isinstance(a, h5py.Dataset) and not same(a[()], b[()]):
                differences.append(f"{name}{path}: values differ")
        for path, a in [("/", fa)] + list(objects_a.items()):
            if skipped(path) or path not in objects_b and path != "/":
                continue
            b = fb if path == "/" else objects_b[path]
            for key in sorted(set(a.attrs) | set(b.attrs)):
                if key in WALL_CLOCK or key.endswith("_json") and key.startswith("provenance"):
                    continue
                if key not in a.attrs or key not in b.attrs:
                    differences.append(f"{name}{path}@{key}: only in {'A' if key in a.attrs else 'B'}")
                elif not same(a.attrs[key], b.attrs[key]):
                    differences.append(f"{name}{path}@{key}: differs")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    run_a, run_b = sys.argv[1:]
    differences, compared = [], []
    for name in FILES:
        a, b = os.path.join(run_a, name), os.path.join(run_b, name)
        if os.path.exists(a) != os.path.exists(b):
            differences.append(f"{name}: only in {'A' if os.path.exists(a) else 'B'}")
        elif os.path.exists(a):
            try:
                compare(a, b, name, differences)
            except OSError as error:
                print(f"compare_run_files.py: {name}: {error}", file=sys.stderr)
                return 2
            compared.append(name)
    csv_a, csv_b = os.path.join(run_a, "layers.csv"), os.path.join(run_b, "layers.csv")
    if os.path.exists(csv_a) and os.path.exists(csv_b):
        compared.append("layers.csv")
        if open(csv_a).read() != open(csv_b).read():
            differences.append("layers.csv: differs")
    for line in differences:
        print(line)
    print(f"{len(differences)} differences in {', '.join(compared)}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
