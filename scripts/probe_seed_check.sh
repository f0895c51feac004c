#!/usr/bin/env bash
# Phases 2 and 3 of a finished run again with another seed for the heads (`filterlens probe --probe-seed`), beside
# the run, never in it: outputs/probe-seed/<run>-probe-seed<S> holds hard links to the run's run.h5, activations.h5
# (or fields.h5) and checkpoint.h5 (no copy of the gigabytes), then its own probe.h5 (the run's phase 2 recipe, read
# from the run's probe.h5, with seed S), analysis.h5 (the run's threshold and normalization) and layers.csv; then the
# reference check (<dir>.reference.txt), the tables (<dir>.tables.md) and the spread against the run's own seed
# (<dir>.spread.md, scripts/seed_spread.py). docs/findings.md, "How much does the heads' seed move the measures?",
# reads them.
#
# Usage: bash scripts/probe_seed_check.sh SEED RUN...     (e.g. 2 outputs/vgg6-cosine30-wd1e-3)
#   FILTERLENS=PATH selects the binary (default .build/release/filterlens). Rerunning skips what exists.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/beside_run.sh
binary=${FILTERLENS:-.build/release/filterlens}
[ "$#" -ge 2 ] || { echo "usage: bash scripts/probe_seed_check.sh SEED RUN..." >&2; exit 64; }
seed=$1
shift
[[ $seed =~ ^[0-9]+$ ]] || { echo "error: SEED must be a whole number >= 0, not \"$seed\"; usage: bash scripts/probe_seed_check.sh SEED RUN..." >&2; exit 64; }
for run in "$@"; do
    run=${run%/}
    out="outputs/probe-seed/$(basename "$run")-probe-seed$seed"
    [ -f "$run/probe.h5" ] || { echo "error: $run/probe.h5 not found: its phase 2 recipe is read from there (runs of layout version 1 are not supported)" >&2; exit 1; }
    # The run's phase 2 recipe and phase 3 settings, as flags (a damaged file stops the script in one line).
    flags=$(python3 - "$run" <<'PY'
import sys, h5py
run = sys.argv[1]
text = lambda v: v.decode() if isinstance(v, bytes) else str(v)
try:
    with h5py.File(f"{run}/probe.h5", "r") as probe, h5py.File(f"{run}/analysis.h5", "r") as analysis:
        recipe = probe["recipe"].attrs
        rates = recipe.get("layer_learning_rates")
        lr = ",".join(f"{x:g}" for x in rates) if rates is not None else f"{recipe['learning_rate']:g}"
        print(f"--probe-epochs {int(recipe['epochs'])} --probe-lr {lr} --probe-lr-decay {recipe['lr_decay']:g}"
              f" --probe-momentum {recipe['momentum']:g} --probe-weight-decay {recipe['weight_decay']:g}")
        print(f"--threshold {float(analysis.attrs['threshold']):g} --normalization {text(analysis.attrs['normalization'])}")
except (OSError, KeyError) as error:
    sys.exit(f"error: {run}: cannot read the phase 2 recipe or phase 3 settings from probe.h5 and analysis.h5 ({error})")
PY
)
    read -r -a probe_flags <<< "$(sed -n 1p <<< "$flags")"
    read -r -a analysis_flags <<< "$(sed -n 2p <<< "$flags")"
    beside_run "$run" "$out" run.h5 activations.h5 fields.h5 checkpoint.h5
    [ -f "$out/probe.h5" ] || "$binary" probe "$out" --probe-seed "$seed" "${probe_flags[@]}"
    [ -f "$out/analysis.h5" ] || "$binary" analyze "$out" "${analysis_flags[@]}"
    [ -s "$out.reference.txt" ] || python3 scripts/analysis_reference.py --run "$out" > "$out.reference.txt"
    python3 scripts/findings_tables.py "$out" > "$out.tables.md"
    python3 scripts/seed_spread.py "$run" "$out" > "$out.spread.md"
    echo "$out: $(tail -1 "$out.reference.txt"); tables $out.tables.md; spread $out.spread.md"
done
