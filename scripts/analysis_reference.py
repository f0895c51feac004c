#!/usr/bin/env python3
"""Independent NumPy reference for phase 3 of FilterLens (method.md, "Phase 3: one filter at a time").

Written from the method text, not from the Swift code, so that the two can check each other.

Definitions (the same recorded choices as the Swift module, stated here independently):
  * filter-label matrix M_f[i, j] = mean over images k of true label i of
    field_f(k, j) = sum_{h,w} W[j, f, h, w] * a_k[f, h, w]; a label without images gives a zero row.
  * normalization "max": M / max(M); "column-centred": (M - column means over i) / max of that.
    Silent when the largest (centred) element is <= 0: no clusters, signal = noise = 0, dominant label -1.
  * binary: normalized > threshold (strictly).
  * clusters: greedy in label order among labels with B[i, i] = 1; c joins when every pair (both directions)
    of the cluster plus c is 1.
  * signal = sum of size^2, noise = ones - signal.
  * dominant label = argmax of the column means of the raw matrix (equal to the normalized one's under max
    normalization; under column-centred the normalized column means are all 0). Ties: lowest index.
  * dominant ones ratio = ones in dominant column / other ones; +inf if only the denominator is 0, NaN if both.
  * layer means over filters with >= 1 cluster; mean cluster size over all clusters; SNR = mean signal / mean
    noise (+inf when noise is 0, NaN without clustered filters); SNR-i = mean of (cluster sizes sum) / max(noise, 1).

Usage:
  python3 scripts/analysis_reference.py                       # self-test on random data
  python3 scripts/analysis_reference.py --npz in.npz --out out.json
  python3 scripts/analysis_reference.py --raw DIR --out out.json
  python3 scripts/analysis_reference.py --run outputs/RUN    # recompute a run's analysis.h5 from its probes
                                                              # (probe.h5, or a version 1 run.h5's /probe) and
                                                              # activations.h5 with h5py; exit 1 on disagreement
The .npz holds W (labels x C x H x W), A (N x C x H x W), y (N), threshold, normalization.
DIR holds header.json ({"labels", "channels", "height", "width", "images", "threshold", "normalization"}) and
W.f32, A.f32 (little-endian float32, same shapes) and y.i32 (little-endian int32). In the JSON output a
non-finite number is written as the string "Infinity", "-Infinity" or "NaN".
"""

import argparse
import json
import math
import os

import numpy as np


def filter_label_matrices(W, activations, labels):
    """Raw matrices, shape (C, L, L): [f, i, j] = mean over images of true label i of field_f(k, j)."""
    W = np.asarray(W, dtype=np.float64)
    A = np.asarray(activations, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    L = W.shape[0]
    fields = np.einsum("nchw,jchw->ncj", A, W)  # (N, C, L)
    onehot = np.zeros((len(y), L))
    onehot[np.arange(len(y)), y] = 1.0
    sums = np.einsum("ni,ncj->cij", onehot, fields)  # (C, L, L)
    counts = onehot.sum(axis=0)
    safe = np.where(counts > 0, counts, 1.0)
    return sums / safe[None, :, None]


def normalize(M, normalization="max"):
    """Normalized copy of one L x L matrix, or None when the filter is silent."""
    M = np.asarray(M, dtype=np.float64)
    if normalization == "column-centred":
        M = M - M.mean(axis=0, keepdims=True)
    elif normalization != "max":
        raise ValueError(f"unknown normalization {normalization!r}")
    top = M.max()
    if not top > 0:
        return None
    return M / top


def binarize(N, threshold):
    """0/1 matrix of elements strictly above the threshold."""
    return (np.asarray(N) > threshold).astype(np.int64)


def clusters(B):
    """Greedy clusters of a binary matrix, as lists of labels."""
    B = np.asarray(B).astype(bool)
    remaining = [i for i in range(B.shape[0]) if B[i, i]]
    found = []
    while remaining:
        members = [remaining[0]]
        for c in remaining[1:]:
            trial = members + [c]
            if B[np.ix_(trial, trial)].all():
                members.append(c)
        remaining = [i for i in remaining if i not in members]
        found.append(members)
    return found


def _div(a, b):
    if b == 0:
        return math.inf if a > 0 else math.nan
    return a / b


def filter_stats(M, threshold=0.3, normalization="max"):
    """Everything phase 3 records for one filter, from its raw matrix M."""
    M = np.asarray(M, dtype=np.float64)
    L = M.shape[0]
    N = normalize(M, normalization)
    if N is None:
        return dict(raw=M, normalized=np.zeros_like(M), binary=np.zeros((L, L), dtype=np.int64), silent=True,
                    clusters=[], assignment=[-1] * L, cluster_count=0, signal=0, noise=0, noise_cluster=0,
                    noise_with_zeros=0, ones=0,
                    dominant_label=-1, dominant_bright_rows=0, majority_bright_columns=0,
                    dominant_ones=0, other_ones=0, dominant_ones_ratio=math.nan)
    B = binarize(N, threshold)
    cl = clusters(B)
    assignment = [-1] * L
    for index, members in enumerate(cl):
        for label in members:
            assignment[label] = index
    signal = sum(len(c) ** 2 for c in cl)
    ones = int(B.sum())
    # noise_cluster: zero each cluster's square, then count the ones left in the cluster labels' columns.
    zeroed = B.copy()
    for members in cl:
        zeroed[np.ix_(members, members)] = 0
    cluster_labels = sorted(label for members in cl for label in members)
    noise_cluster = int(zeroed[:, cluster_labels].sum()) if cluster_labels else 0
    column_ones = B.sum(axis=0)
    dominant = int(np.argmax(M.mean(axis=0)))  # argmax returns the first maximum
    dominant_ones = int(column_ones[dominant])
    other = ones - dominant_ones
    return dict(raw=M, normalized=N, binary=B, silent=False, clusters=cl, assignment=assignment,
                cluster_count=len(cl), signal=signal, noise=ones - signal, ones=ones, noise_cluster=noise_cluster,
                noise_with_zeros=ones - signal if cl else 0,
                dominant_label=dominant, dominant_bright_rows=dominant_ones,
                majority_bright_columns=int((column_ones > L / 2).sum()),
                dominant_ones=dominant_ones, other_ones=other, dominant_ones_ratio=_div(dominant_ones, other))


def _mean(values):
    return float(np.mean(values)) if len(values) else math.nan


def layer_summary(stats, threshold=0.3, normalization="max"):
    """Per-layer numbers from the list of filter_stats dicts."""
    L = stats[0]["raw"].shape[0]
    active = [s for s in stats if not s["silent"]]
    with_clusters = [s for s in active if s["cluster_count"] > 0]
    sizes = [len(c) for s in with_clusters for c in s["clusters"]]
    mean_signal = _mean([s["signal"] for s in with_clusters])
    mean_noise = _mean([s["noise"] for s in with_clusters])
    ratios = [s["dominant_ones_ratio"] for s in active]
    histogram = [sizes.count(size) for size in range(1, L + 1)]
    dominant_counts = np.bincount([s["dominant_label"] for s in active], minlength=L) if active else np.zeros(L)
    return dict(
        threshold=threshold, normalization=normalization, labels=L,
        filter_count=len(stats), silent_count=len(stats) - len(active),
        no_cluster_count=len(active) - len(with_clusters), clustered_count=len(with_clusters),
        silent_fraction=(len(stats) - len(active)) / len(stats),
        no_cluster_fraction=(len(active) - len(with_clusters)) / len(stats),
        mean_clusters_per_filter=_mean([s["cluster_count"] for s in with_clusters]),
        mean_cluster_size=_mean(sizes),
        mean_signal=mean_signal, mean_noise=mean_noise,
        snr=math.nan if math.isnan(mean_signal) else _div(mean_signal, mean_noise),
        snr_i=_mean([sum(len(c) for c in s["clusters"]) / max(s["noise"], 1) for s in with_clusters]),
        mean_noise_cluster=_mean([s["noise_cluster"] for s in with_clusters]),
        snr_cluster=math.nan if math.isnan(mean_signal) else _div(mean_signal, _mean([s["noise_cluster"] for s in with_clusters])),
        mean_noise_with_zeros=_mean([s["noise_with_zeros"] for s in stats]),
        snr_with_zeros=_div(_mean([s["signal"] for s in stats]), _mean([s["noise_with_zeros"] for s in stats])),
        mean_dominant_bright_rows=_mean([s["dominant_bright_rows"] for s in active]),
        mean_majority_bright_columns=_mean([s["majority_bright_columns"] for s in active]),
        mean_dominant_ones_ratio=_mean([r for r in ratios if math.isfinite(r)]),
        infinite_dominant_ones_ratio_count=sum(1 for r in ratios if r == math.inf),
        pooled_dominant_ones_ratio=_div(sum(s["dominant_ones"] for s in active), sum(s["other_ones"] for s in active)),
        cluster_size_histogram=histogram,
        dominant_label_share=[float(c) / len(active) if active else 0.0 for c in dominant_counts],
    )


def analyse(W, A, y, threshold=0.3, normalization="max"):
    """Raw matrices, per-filter stats and the layer summary of one layer."""
    raw = filter_label_matrices(W, A, y)
    stats = [filter_stats(M, threshold, normalization) for M in raw]
    return stats, layer_summary(stats, threshold, normalization)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    return value


def write_json(stats, summary, path):
    keys = ["raw", "normalized", "binary", "silent", "assignment", "cluster_count", "signal", "noise",
            "dominant_label", "dominant_bright_rows", "majority_bright_columns", "dominant_ones_ratio",
            "noise_cluster", "noise_with_zeros"]
    document = {"filters": [{k: s[k] for k in keys} for s in stats], "summary": summary}
    with open(path, "w") as handle:
        json.dump(_jsonable(document), handle)


def load_npz(path):
    data = np.load(path)
    return (data["W"], data["A"], data["y"], float(data["threshold"]), str(data["normalization"]))


def load_raw(directory):
    with open(os.path.join(directory, "header.json")) as handle:
        h = json.load(handle)
    L, C, H, Wd, N = h["labels"], h["channels"], h["height"], h["width"], h["images"]
    W = np.fromfile(os.path.join(directory, "W.f32"), dtype="<f4").reshape(L, C, H, Wd)
    A = np.fromfile(os.path.join(directory, "A.f32"), dtype="<f4").reshape(N, C, H, Wd)
    y = np.fromfile(os.path.join(directory, "y.i32"), dtype="<i4").reshape(N)
    return W, A, y, float(h["threshold"]), str(h["normalization"])


def self_test():
    rng = np.random.default_rng(0)
    # Hand-made binary matrix: clusters {0, 2}, {1}; label 3 is not a candidate; then 4 is cut off one way.
    B = np.array([[1, 0, 1, 0, 1],
                  [0, 1, 0, 0, 0],
                  [1, 0, 1, 1, 1],
                  [0, 0, 0, 0, 0],
                  [1, 0, 1, 0, 1]])
    assert clusters(B) == [[0, 2, 4], [1]], clusters(B)
    B[2, 4] = 0
    assert clusters(B) == [[0, 2], [1], [4]], clusters(B)
    # Noise readings: noise_f counts (0,4), (2,3), (4,0), (4,2); noise_cluster only those in the cluster columns
    # 0, 1, 2, 4, i.e. not (2,3).
    stats = filter_stats(B.astype(np.float64))
    assert (stats["signal"], stats["noise"], stats["noise_cluster"], stats["noise_with_zeros"]) == (6, 4, 3, 4), stats
    assert binarize(np.array([[0.3, 0.31]]), 0.3).tolist() == [[0, 1]]
    assert normalize(-np.ones((3, 3))) is None
    # Raw matrices against a plain loop.
    L, C, H, Wd, N = 3, 4, 3, 3, 25
    W = rng.normal(size=(L, C, H, Wd))
    A = np.maximum(rng.normal(size=(N, C, H, Wd)), 0)
    y = rng.integers(0, L, size=N)
    raw = filter_label_matrices(W, A, y)
    for f in range(C):
        for i in range(L):
            for j in range(L):
                values = [sum(W[j, f, h, w] * A[k, f, h, w] for h in range(H) for w in range(Wd))
                          for k in range(N) if y[k] == i]
                expected = sum(values) / len(values) if values else 0.0
                assert abs(raw[f, i, j] - expected) < 1e-9
    # A layer on random data, both normalizations; check the invariants.
    L, C, H, Wd, N = 10, 16, 4, 4, 200
    W = rng.normal(size=(L, C, H, Wd))
    W[:, :3] = -np.abs(W[:, :3])
    A = np.maximum(rng.normal(size=(N, C, H, Wd)), 0)
    y = rng.integers(0, L, size=N)
    for normalization in ("max", "column-centred"):
        stats, summary = analyse(W, A, y, 0.3, normalization)
        for s in stats:
            assert s["signal"] + s["noise"] == int(s["binary"].sum())
            assert s["noise"] >= 0
        assert summary["silent_count"] + summary["no_cluster_count"] + summary["clustered_count"] == C
        if normalization == "max":
            assert summary["silent_count"] >= 3
        print(normalization, json.dumps(_jsonable(summary)))
    print("self-test passed")


def crosscheck_run(directory, tolerance=1e-4):
    """Recomputes every layer of a FilterLens run from its HDF5 files and compares with analysis.h5.

    Returns a list of disagreements (empty when all agree). Loads each layer's activations whole: meant for
    runs of moderate size (the test suite's, or one layer of a real run at a time)."""
    import h5py
    problems = []
    probe_path = os.path.join(directory, "probe.h5")
    has_probe_file = os.path.exists(probe_path)   # layout version 2; version 1 kept the probes in run.h5's /probe
    with h5py.File(os.path.join(directory, "run.h5"), "r") as run, \
            h5py.File(probe_path if has_probe_file else os.path.join(directory, "run.h5"), "r") as probe_file, \
            h5py.File(os.path.join(directory, "activations.h5"), "r") as acts, \
            h5py.File(os.path.join(directory, "analysis.h5"), "r") as ana:
        probes = probe_file if has_probe_file else probe_file["probe"]
        threshold = float(ana.attrs["threshold"])
        normalization = ana.attrs["normalization"]
        normalization = normalization.decode() if isinstance(normalization, bytes) else str(normalization)
        labels = len(run.attrs["label_names"])
        y = acts["labels"][:]
        layers = [int(v) for v in ana["summary/layer"][:]]
        for index, layer in enumerate(layers):
            name = "layer%02d" % layer
            head = probes[name]
            C, H, Wd = int(head.attrs["channels"]), int(head.attrs["height"]), int(head.attrs["width"])
            W = head["weight"][:].reshape(labels, C, H, Wd)
            stats, summary = analyse(W, acts[name][:], y, threshold, normalization)
            stored = ana["layers/" + name]
            raw = np.stack([s["raw"] for s in stats])
            scale = max(np.abs(raw).max(), 1e-30)
            if np.abs(raw - stored["raw"][:]).max() > tolerance * scale:
                problems.append("%s: raw matrices differ by %g" % (name, np.abs(raw - stored["raw"][:]).max()))
            for key, column in [("binary", "binary"), ("assignment", "cluster_of_label"), ("signal", "signal"),
                                ("noise", "noise"), ("noise_cluster", "noise_cluster"),
                                ("noise_with_zeros", "noise_with_zeros"), ("cluster_count", "cluster_count"),
                                ("dominant_label", "dominant_label")]:
                mine = np.array([s[key] for s in stats])
                theirs = stored[column][:]
                if mine.shape != theirs.shape or (mine != theirs).any():
                    count = int((mine != theirs).reshape(len(stats), -1).any(axis=1).sum()) if mine.shape == theirs.shape else -1
                    problems.append("%s: %s differs for %d filters" % (name, column, count))
            for key, column in [("snr", "snr"), ("mean_noise", "mean_noise"), ("mean_signal", "mean_signal"),
                                ("mean_noise_cluster", "mean_noise_cluster"), ("snr_cluster", "snr_cluster"),
                                ("mean_noise_with_zeros", "mean_noise_with_zeros"), ("snr_with_zeros", "snr_with_zeros"),
                                ("mean_clusters_per_filter", "clusters_per_filter"),
                                ("mean_cluster_size", "mean_cluster_size")]:
                mine, theirs = summary[key], float(ana["summary/" + column][index])
                same = (math.isnan(mine) and math.isnan(theirs)) or mine == theirs or \
                    abs(mine - theirs) <= tolerance * max(abs(mine), abs(theirs))
                if not same:
                    problems.append("%s: summary %s is %r here, %r in analysis.h5" % (name, column, mine, theirs))
    return problems, layers


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--npz", help="input .npz with W, A, y, threshold, normalization")
    source.add_argument("--raw", help="input directory with header.json, W.f32, A.f32, y.i32")
    source.add_argument("--run", help="a FilterLens run directory to cross-check (needs h5py)")
    parser.add_argument("--out", help="output JSON path")
    args = parser.parse_args()
    if args.run:
        problems, layers = crosscheck_run(args.run)
        for problem in problems:
            print("disagreement:", problem)
        print("crosscheck %s: %d layers, %s" % (args.run, len(layers), "all agree" if not problems else "%d disagreements" % len(problems)))
        raise SystemExit(1 if problems else 0)
    if not args.npz and not args.raw:
        self_test()
        return
    if not args.out:
        parser.error("--out is required with --npz or --raw")
    W, A, y, threshold, normalization = load_npz(args.npz) if args.npz else load_raw(args.raw)
    stats, summary = analyse(W, A, y, threshold, normalization)
    write_json(stats, summary, args.out)


if __name__ == "__main__":
    main()
