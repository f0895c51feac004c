#!/usr/bin/env python3
"""Writes the published copies of a run's HDF5 files: its layout less the bulk (docs/hdf5-layout.md, "Published copies").

    python3 scripts/publish_hdf5.py RUN DEST

RUN: an analysed run folder (run.h5, probe.h5, analysis.h5; a run of layout version 1 has its probes in run.h5's
/probe and no probe.h5). DEST: an existing folder. Writes
  DEST/run.h5       run.h5 without /weights (identity, configuration, provenance, phase 1 metrics), and for version 1
                    without /probe/layerNN/weight
  DEST/probe.h5     probe.h5 without /layerNN/weight (recipe, per-epoch history, SR(l), loss flags), where RUN has one
  DEST/analysis.h5  analysis.h5 whole (phase 3: every filter's matrices and measures, the per-layer summary)
Every group, dataset and attribute kept is copied as it is (datasets with their chunking and compression), so the
copies open in h5py, h5dump and HDFView like the originals, and `filterlens compare` and `filterlens report` read
them; `filterlens analyze` refuses them (no weights). Needs h5py (scripts/setup.sh installs it).
One error line and exit 1 when RUN lacks run.h5 or analysis.h5 or a file is not HDF5.
"""
import os
import shutil
import sys

try:
    import h5py
except ImportError:
    raise SystemExit("publish_hdf5.py: needs h5py; install it with `bash scripts/setup.sh`")

# The bulk left out of each file, as paths relative to its root ("*" stands for any layer group).
DROPPED = {
    "run.h5": ["weights", "probe/*/weight"],
    "probe.h5": ["*/weight"],
    "analysis.h5": [],
}
# Files a run may lack: probe.h5 before layout version 2.
OPTIONAL = {"probe.h5"}


def dropped(path: str, patterns: list[str]) -> bool:
    """Whether `path` (e.g. "layer01/weight") matches one of `patterns`, part by part."""
    parts = path.split("/")
    for pattern in patterns:
        wanted = pattern.split("/")
        if len(wanted) == len(parts) and all(w in ("*", p) for w, p in zip(wanted, parts)):
            return True
    return False


def copy_group(source: h5py.Group, target: h5py.Group, patterns: list[str], prefix: str = "") -> None:
    """Copies `source`'s attributes and members into `target`, leaving out the members matching `patterns`."""
    for key in source.attrs:
        stored = source.attrs.get_id(key)   # its own type and shape: a string keeps its encoding, a scalar stays one
        target.attrs.create(key, source.attrs[key], shape=stored.shape, dtype=stored.dtype)
    for name in source:
        path = prefix + name
        if dropped(path, patterns):
            continue
        member = source.get(name)
        if member is None:
            raise ValueError(f"/{path} is a link that leads nowhere")
        if isinstance(member, h5py.Group):
            copy_group(member, target.create_group(name), patterns, path + "/")
        else:
            source.copy(member, target, name=name)


def publish(run: str, dest: str) -> None:
    for name, patterns in DROPPED.items():
        source_path, target_path = os.path.join(run, name), os.path.join(dest, name)
        if not os.path.isfile(source_path):
            if name in OPTIONAL:
                continue
            raise SystemExit(f"publish_hdf5.py: {source_path} is missing; run `filterlens run --resume --out {run}` first")
        if not patterns:
            shutil.copyfile(source_path, target_path)
            continue
        try:
            with h5py.File(source_path, "r") as source, h5py.File(target_path, "w") as target:
                copy_group(source, target, patterns)
        except (OSError, KeyError, ValueError) as error:
            raise SystemExit(f"publish_hdf5.py: {source_path} could not be copied ({error}); check that it is a FilterLens HDF5 file")


if __name__ == "__main__":
    if len(sys.argv) != 3 or not os.path.isdir(sys.argv[2]):
        raise SystemExit("usage: python3 scripts/publish_hdf5.py RUN DEST   (DEST: an existing folder)")
    publish(sys.argv[1], sys.argv[2])
