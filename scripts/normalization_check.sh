#!/usr/bin/env bash
# Phase 3 of a finished run again under the other normalization (column-centred, method.md's option [F]), beside
# the run, never in it: outputs/normalization/<run>-column-centred holds hard links to the run's run.h5, probe.h5,
# activations.h5 (or fields.h5) and checkpoint.h5 (no copy of the gigabytes; `filterlens analyze` writes its
# analysis.h5 under a new name and renames it, so the run's own files stay as they are), then its analysis.h5 and
# layers.csv, the reference check (<dir>.reference.txt) and the tables for docs/findings.md (<dir>.tables.md).
# docs/findings.md, "Does the normalization decide the trends?", reads them.
#
# Usage: bash scripts/normalization_check.sh RUN...     (e.g. outputs/vgg16-cosine40)
#   FILTERLENS=PATH selects the binary (default .build/release/filterlens). Rerunning skips what exists.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/beside_run.sh
binary=${FILTERLENS:-.build/release/filterlens}
[ "$#" -ge 1 ] || { echo "usage: bash scripts/normalization_check.sh RUN..." >&2; exit 64; }
for run in "$@"; do
    run=${run%/}
    out="outputs/normalization/$(basename "$run")-column-centred"
    beside_run "$run" "$out" run.h5 probe.h5 activations.h5 fields.h5 checkpoint.h5
    [ -f "$out/analysis.h5" ] || "$binary" analyze "$out" --normalization column-centred
    [ -s "$out.reference.txt" ] || python3 scripts/analysis_reference.py --run "$out" > "$out.reference.txt"
    python3 scripts/findings_tables.py "$out" > "$out.tables.md"
    echo "$out: $(tail -1 "$out.reference.txt"); tables $out.tables.md"
done
