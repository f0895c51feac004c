#!/usr/bin/env python3
"""Do a filter's top images belong to the labels of its clusters more often than chance? (issue 37)

Reads only analysis.h5 (docs/hdf5-layout.md: /layers/layerNN/top_labels, cluster_of_label, dominant_label and
/images_per_label). For every filter with at least one cluster, the observed share is the fraction of its k top images
whose true label is in one of its clusters; chance is the share of the test images with such a label (what k images
drawn at random would give on average). Over the filters of a layer: the mean of both, the filters above, at and below
chance, and a z-score of the total hits against the total expected under random draws (binomial variance, each
filter independent). The same for the dominant label (the column with the largest mean of the raw matrix): the share
of top images of that label against that label's share of the test set.

Usage: python3 scripts/top_images_clusters.py outputs/<run>/analysis.h5 [--layers 1,3,6] [--markdown]
"""
from __future__ import annotations

import argparse
import math
import sys

import h5py
import numpy as np


def layer_rows(analysis: h5py.File, layer: int, share: np.ndarray) -> dict:
    group = analysis["layers/layer%02d" % layer]
    if "top_labels" not in group:
        raise SystemExit("%s: layer %d has no top images: analyse the run again with this FilterLens"
                         % (analysis.filename, layer))
    top = group["top_labels"][:]                       # [filter, rank]
    clusters = group["cluster_of_label"][:]            # [filter, label]
    dominant = group["dominant_label"][:]
    hits, chance, sizes = [], [], []
    for f in range(top.shape[0]):
        members = clusters[f] >= 0
        labels = top[f][top[f] >= 0]
        if not members.any() or labels.size == 0:
            continue
        hits.append(np.mean(members[labels]))
        chance.append(share[members].sum())
        sizes.append(labels.size)
    hits, chance, sizes = np.array(hits), np.array(chance), np.array(sizes)
    expected = (chance * sizes).sum()
    deviation = math.sqrt((sizes * chance * (1 - chance)).sum()) if len(sizes) else math.nan
    dominant_hits, dominant_chance = [], []
    for f in range(top.shape[0]):
        labels = top[f][top[f] >= 0]
        if dominant[f] < 0 or labels.size == 0:
            continue
        dominant_hits.append(np.mean(labels == dominant[f]))
        dominant_chance.append(share[dominant[f]])
    return {
        "layer": layer, "filters": top.shape[0], "clustered": len(hits), "k": top.shape[1],
        "observed": hits.mean() if len(hits) else math.nan, "chance": chance.mean() if len(hits) else math.nan,
        "above": int((hits > chance).sum()), "equal": int((hits == chance).sum()), "below": int((hits < chance).sum()),
        "z": ((hits * sizes).sum() - expected) / deviation if deviation else math.nan,
        "dominant_observed": np.mean(dominant_hits) if dominant_hits else math.nan,
        "dominant_chance": np.mean(dominant_chance) if dominant_chance else math.nan,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("analysis", help="analysis.h5 of an analysed run")
    parser.add_argument("--layers", help="comma-separated layers (default: all)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    arguments = parser.parse_args()
    with h5py.File(arguments.analysis, "r") as analysis:
        counts = analysis["images_per_label"][:].astype(np.float64)
        share = counts / counts.sum()
        layers = ([int(l) for l in arguments.layers.split(",")] if arguments.layers
                  else [int(l) for l in analysis["summary/layer"][:]])
        rows = [layer_rows(analysis, layer, share) for layer in layers]
        threshold = float(analysis.attrs["threshold"])
    header = ["layer", "filters", "with clusters", "k", "top images in cluster labels", "chance", "filters above / equal / below chance",
              "z (total hits)", "top images of the dominant label", "chance (dominant)"]
    lines = []
    for row in rows:
        lines.append([str(row["layer"]), str(row["filters"]), str(row["clustered"]), str(row["k"]),
                      "%.3f" % row["observed"], "%.3f" % row["chance"],
                      "%d / %d / %d" % (row["above"], row["equal"], row["below"]), "%.1f" % row["z"],
                      "%.3f" % row["dominant_observed"], "%.3f" % row["dominant_chance"]])
    if arguments.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        print("threshold %g; shares are means over the filters with at least one cluster" % threshold)
        print("\t".join(header))
        for line in lines:
            print("\t".join(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
