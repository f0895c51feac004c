#!/usr/bin/env python3
"""Markdown tables of one finished run for docs/findings.md, read from its HDF5 files with h5py.

Reads RUN/run.h5 (the network's test SR per epoch), RUN/probe.h5 (or a layout version 1 run.h5's /probe: SR(l)
and each head's last training loss) and RUN/analysis.h5 (/summary at the main threshold, /sweep at every
threshold), the public layout of docs/hdf5-layout.md. Nothing is computed here but the trend statistics of the
last table; every other number is the file's. Column names are the files' own (the same as layers.csv); their
definitions are in docs/hdf5-layout.md and method.md.

Usage:
  python3 scripts/findings_tables.py outputs/RUN            # prints Markdown to standard output

Tables:
  0. phase 1: the network's test SR per epoch, the best epoch, the least-squares slope of the last 5 epochs, the
     train SR and the summed epoch seconds; phase 2: SR(l) of every head per probe epoch;
  1. per layer at the main threshold: SR(l), filters, clusters per filter, cluster size, every noise reading and
     its SNR, bright rows in the dominant column (and the shares of silent and no-cluster filters);
  2. the sweep: per threshold and layer, clusters per filter, cluster size, each SNR and bright rows;
  3. the trends with depth: per measure its first and last layer's value, the number of rises and falls between
     consecutive layers, and Spearman's rank correlation with the layer index (no claim is made here: the
     numbers are for the reader to weigh).
"""

import argparse
import math
import os
import sys

import h5py
import numpy as np

MAIN_COLUMNS = [
    "filters", "silent_fraction", "no_cluster_fraction", "clusters_per_filter", "mean_cluster_size",
    "mean_signal", "mean_noise", "snr", "snr_i", "mean_noise_cluster", "snr_cluster", "mean_noise_with_zeros",
    "snr_with_zeros", "dominant_bright_rows",
]
SWEEP_COLUMNS = ["clusters_per_filter", "mean_cluster_size", "snr", "snr_i", "snr_cluster", "snr_with_zeros",
                 "dominant_bright_rows"]
TREND_COLUMNS = ["sr_probe_final", "clusters_per_filter", "mean_cluster_size", "mean_noise", "mean_noise_cluster",
                 "mean_noise_with_zeros", "snr", "snr_i", "snr_cluster", "snr_with_zeros", "dominant_bright_rows"]


def fail(message):
    print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
    sys.exit(1)


def number(value):
    """A table cell: 4 significant digits, integers as integers, non-finite values spelled out."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.4g}"


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def probe_results(run_dir):
    """SR(l) (final test SR of each head) and its last training loss and flag, by layer."""
    path = os.path.join(run_dir, "probe.h5")
    group_path = "/"
    if not os.path.exists(path):
        path, group_path = os.path.join(run_dir, "run.h5"), "/probe"
    results = {}
    with h5py.File(path, "r") as file:
        if group_path not in file:
            fail(f"{path}: no phase 2 probes; run `filterlens probe {run_dir}` first")
        group = file[group_path]
        for name in sorted(group):
            if not name.startswith("layer"):
                continue
            head = group[name]
            results[int(head.attrs["layer"])] = {
                "test_sr": [float(x) for x in head["test_sr"]],
                "sr_probe_final": float(head.attrs["final_test_sr"]),
                "sr_probe_best": float(head.attrs["best_test_sr"]),
                "last_train_loss": float(head["train_loss"][-1]),
                "epochs": len(head["train_loss"]),
                "loss_flag": text(head.attrs.get("loss_flag", "")),
            }
    return path, results


def fmt_duration(seconds):
    """'5 h 21 min', '34 min 39 s' or '18.4 s'."""
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"
    if seconds >= 60:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{seconds:.1f} s"


def spearman(values):
    """Spearman's rank correlation of `values` with their index (ties get mean ranks); NaN if undefined."""
    values = np.asarray(values, dtype=float)
    if len(values) < 3 or not np.all(np.isfinite(values)):
        return math.nan

    def ranks(x):
        order = np.argsort(x, kind="stable")
        result = np.empty(len(x))
        result[order] = np.arange(len(x), dtype=float)
        for v in np.unique(x):
            same = x == v
            result[same] = result[same].mean()
        return result

    a, b = ranks(np.arange(len(values), dtype=float)), ranks(values)
    if np.std(b) == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def summary_columns(analysis):
    """The per-layer columns of an open analysis.h5's /summary (its 1-D datasets), by name."""
    return {name: np.asarray(analysis["/summary/" + name]) for name in analysis["/summary"]
            if analysis["/summary/" + name].ndim == 1}


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", help="run folder with run.h5, probe.h5 (or a version 1 run.h5) and analysis.h5")
    args = parser.parse_args()
    run_dir = args.run.rstrip("/")
    analysis_path = os.path.join(run_dir, "analysis.h5")
    run_path = os.path.join(run_dir, "run.h5")
    for path in (run_path, analysis_path):
        if not os.path.exists(path):
            fail(f"{path}: file not found; `filterlens run --resume --out {run_dir}` finishes the run")
    try:
        with h5py.File(run_path, "r") as run:
            test_sr = np.asarray(run["/training/test_sr"])
            train_sr = np.asarray(run["/training/train_sr"])
            epoch_seconds = np.asarray(run["/training/seconds"])
        probe_path, probes = probe_results(run_dir)
        with h5py.File(analysis_path, "r") as analysis:
            threshold = float(analysis.attrs["threshold"])
            normalization = text(analysis.attrs.get("normalization", "?"))
            summary = summary_columns(analysis)
            sweep = {name: np.asarray(analysis["/sweep/" + name]) for name in analysis["/sweep"]}
    except (OSError, KeyError) as error:
        fail(f"{run_dir}: cannot read the run's HDF5 files ({error}); is it a finished FilterLens run?")

    layers = [int(x) for x in summary["layer"]]
    print(f"Run `{run_dir}`: network test SR {test_sr[-1]:.4f} after {len(test_sr)} epochs "
          f"(best {test_sr.max():.4f}, epoch {int(test_sr.argmax()) + 1}); "
          f"phase 3 at threshold {number(threshold)}, {normalization} normalization; SR(l) from `{probe_path}`.\n")

    last = test_sr[-5:]
    slope = float(np.polyfit(np.arange(len(last)), last, 1)[0]) if len(last) >= 2 else math.nan
    print(f"**Phase 1**: test SR per epoch {', '.join(f'{x:.3f}' for x in test_sr)}. Slope over the last "
          f"{len(last)} epochs (least squares) {slope:+.4f} per epoch; train SR {train_sr[-1]:.3f} at the end; "
          f"epoch time {fmt_duration(float(epoch_seconds.sum()))} in all (`/training/seconds`).\n")
    epochs = max((len(p["test_sr"]) for p in probes.values()), default=0)
    if epochs:
        print("**Phase 2**: SR(l) per probe epoch (probe `test_sr`), and each head's loss flag\n")
        rows = [[f"SR({layer})"] + [number(x) for x in probes[layer]["test_sr"]]
                + [""] * (epochs - len(probes[layer]["test_sr"])) + [probes[layer]["loss_flag"] or "–"]
                for layer in sorted(probes)]
        print(table(["epoch"] + [str(e) for e in range(1, epochs + 1)] + ["loss_flag"], rows) + "\n")

    header = ["layer", "sr_probe_final", "last head loss"] + MAIN_COLUMNS
    rows = []
    for index, layer in enumerate(layers):
        probe = probes.get(layer, {})
        loss = probe.get("last_train_loss", math.nan)
        flag = " (" + probe["loss_flag"] + ")" if probe.get("loss_flag") else ""
        rows.append([str(layer), number(probe.get("sr_probe_final", math.nan)), number(loss) + flag]
                    + [number(summary[c][index]) if c in summary else "–" for c in MAIN_COLUMNS])
    print(f"**Per layer, threshold {number(threshold)}**\n")
    print(table(header, rows) + "\n")

    thresholds = sweep["threshold"]
    print("**The sweep** (rows: thresholds; one column per layer)\n")
    for column in SWEEP_COLUMNS:
        if column not in sweep:
            continue
        values = sweep[column]
        rows = [[number(t)] + [number(v) for v in values[i]] for i, t in enumerate(thresholds)]
        print(f"`{column}`\n")
        print(table(["threshold"] + [f"L{l}" for l in layers], rows) + "\n")

    print("**Trends with depth** (layer 1 to the last; rises and falls between consecutive layers; "
          "Spearman's ρ with the layer index)\n")
    rows = []
    for column in TREND_COLUMNS:
        if column == "sr_probe_final":
            values = [probes.get(l, {}).get(column, math.nan) for l in layers]
        elif column in summary:
            values = list(summary[column])
        else:
            continue
        steps = np.diff(np.asarray(values, dtype=float))
        rows.append([f"`{column}`", number(values[0]), number(values[-1]), str(int((steps > 0).sum())),
                     str(int((steps < 0).sum())), number(spearman(values))])
    print(table(["measure", "first layer", "last layer", "rises", "falls", "ρ"], rows))


if __name__ == "__main__":
    main()
