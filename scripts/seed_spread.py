#!/usr/bin/env python3
"""How far two runs that differ in one seed lie apart, per measure: for docs/findings.md, "How much does the heads'
seed move the measures?".

Reads RUN_A and RUN_B (each a folder with probe.h5 and analysis.h5, the public layout of docs/hdf5-layout.md) and
prints one Markdown table: per measure, each run's first and last layer's value with Spearman's ρ over the layers
(as scripts/findings_tables.py prints it), and the largest per-layer difference |A - B| with its layer. The runs
must have the same layers; nothing else is compared, nothing is fitted.

Usage:
  python3 scripts/seed_spread.py outputs/vgg16-cosine40 outputs/probe-seed/vgg16-cosine40-probe-seed2
"""

import argparse
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from findings_tables import TREND_COLUMNS, fail, number, probe_results, spearman, summary_columns  # noqa: E402


def per_layer(run_dir):
    """Layer indices and, per trend column, its value by layer (SR(l) from probe.h5, the rest from /summary)."""
    path = os.path.join(run_dir, "analysis.h5")
    if not os.path.exists(path):
        fail(f"{path} not found: run `filterlens analyze {run_dir}` first")
    try:
        with h5py.File(path, "r") as analysis:
            summary = summary_columns(analysis)
        _, probes = probe_results(run_dir)
    except (OSError, KeyError) as error:
        fail(f"{run_dir}: cannot read the run's HDF5 files ({error}); is it an analysed FilterLens run?")
    layers = [int(x) for x in summary["layer"]]
    values = {"sr_probe_final": [probes[layer]["sr_probe_final"] for layer in layers]}
    values.update({column: [float(x) for x in summary[column]] for column in TREND_COLUMNS if column in summary})
    return layers, values


def trend(values):
    return f"{number(values[0])} -> {number(values[-1])} ({number(round(spearman(values), 2))})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_a")
    parser.add_argument("run_b")
    args = parser.parse_args()
    layers_a, a = per_layer(args.run_a.rstrip("/"))
    layers_b, b = per_layer(args.run_b.rstrip("/"))
    if layers_a != layers_b:
        fail(f"{args.run_a} and {args.run_b} have other layers ({layers_a} against {layers_b}): compare runs of one network")
    rows = []
    for column in TREND_COLUMNS:
        if column not in a or column not in b:
            continue
        x, y = np.asarray(a[column]), np.asarray(b[column])
        with np.errstate(invalid="ignore"):
            differences = np.where(x == y, 0.0, np.abs(x - y))  # equal infinities (zero noise) differ by 0
        if np.all(np.isnan(differences)):
            rows.append(f"| `{column}` | {trend(a[column])} | {trend(b[column])} | NaN |")
            continue
        worst = int(np.nanargmax(differences))
        rows.append(f"| `{column}` | {trend(a[column])} | {trend(b[column])} | {number(differences[worst])} (layer {layers_a[worst]}) |")
    print(f"| measure | {os.path.basename(args.run_a.rstrip('/'))} | {os.path.basename(args.run_b.rstrip('/'))} | largest per-layer difference |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
