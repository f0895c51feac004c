#!/usr/bin/env bash
# The runs behind docs/findings.md, in order, each through all three phases, then its checks:
#   1. VGG-16, 40 epochs cosine          outputs/vgg16-cosine40
#   2. AVGG-16, 40 epochs cosine         outputs/avgg16-cosine40
#   3. VGG-6, 60 epochs cosine           outputs/vgg6-cosine60
#   and, as the step vgg16-16, VGG-16 for 16 epochs cosine (outputs/vgg16-cosine16): what one 3-hour session fits
#   through all three phases on a 2-core Zen 4 EPYC (about 400 s per epoch), for sessions whose machine is not kept;
#   and, as the step avgg16-24, AVGG-16 for 24 epochs cosine (outputs/avgg16-cosine24): what one session fits on a
#   2-core Zen 5 EPYC (230-320 s per epoch: 1 h 57 min of phase 1); and, as the step vgg16-20, VGG-16 for 20 epochs
#   cosine (outputs/vgg16-cosine20): what one session fits for VGG-16 on that Zen 5; and, as the step vgg6-wd1e-3,
#   VGG-6 for 30 epochs cosine with weight decay 1e-3 instead of 5e-4 (outputs/vgg6-cosine30-wd1e-3): the 30-epoch
#   VGG-6 run with one recipe change, lr x weight decay matched to the customary lr 0.1 x 5e-4.
# After each run: `analysis_reference.py --run` (outputs/findings/<run>.reference.txt), `findings_tables.py`
# (outputs/findings/<run>.tables.md) and `normalization_check.sh` (phase 3 under column-centred normalization, beside
# the run in outputs/normalization/). Then, as the step `prune`: `filterlens prune` of VGG-16 and AVGG-16 (the last
# layer, and the last two), which the findings do not need, so it comes last.
#
# Every step is resumable: a run folder with run.h5 or a checkpoint is continued with `filterlens run --resume` (which keeps the
# phases already complete), a check whose output file exists is skipped, and prune resumes from its checkpoint. So
# the script can be killed at any time (a session's end) and started again with the same command; it picks up where
# it stopped (`filterlens status outputs/<run>` says where a run stands and how long it has left). At 80-90 VGG-16 training images/s (2-core Zen 3) the three runs take about 25 hours; at 200-240 (2-core
# AVX-512 EPYC, OpenBLAS core Cooperlake) about 10.
#
# Usage: bash scripts/findings_runs.sh [STEP ...]    STEP: vgg16, avgg16, vgg6, vgg16-16, vgg16-20, avgg16-24, vgg6-wd1e-3, prune (default: vgg16,
#   avgg16, vgg6, prune, in that order; prune prunes those of VGG-16 and AVGG-16 whose runs are complete). FILTERLENS=PATH selects the binary
#   (default .build/release/filterlens); logs go to outputs/findings/. To finish a run with the binary that started
#   it and the rest with a newer one, give the steps in two calls, e.g.
#   FILTERLENS=old bash scripts/findings_runs.sh vgg16 && FILTERLENS=new bash scripts/findings_runs.sh avgg16 vgg6 prune
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${FILTERLENS:-.build/release/filterlens}
[ -x "$binary" ] || { echo "findings_runs.sh: $binary is missing; build it: swift build -c release --product filterlens" >&2; exit 1; }
logs=outputs/findings
mkdir -p "$logs"

# The phase 2 learning rate per layer: 0.0001 for the heads on 65,536 inputs (layer 1's 64 x 32 x 32 block output),
# 0.001 for the others (docs/findings.md, "Phase 2: the heads' learning rate": at 16,384 inputs and more, 0.001
# settled every head but layer 1's).
vgg16_probe_lr=0.0001,0.001,0.001,0.001,0.001,0.001,0.001,0.001,0.001,0.001,0.001,0.001,0.001
vgg6_probe_lr=0.0001,0.001,0.001,0.001,0.001,0.001

# stopped STATUS LOG: nothing when filterlens exited 0; else says why it stopped and exits with its status.
stopped() {
    [ "$1" = 0 ] && return 0
    if [ "$1" = 130 ]; then
        echo "    interrupted: a checkpoint was saved; run this script again to resume ($2)" >&2
    else
        echo "    failed (exit $1): the last lines of $2 say why; run this script again to resume" >&2
    fi
    exit "$1"
}

# run NAME PRESET EPOCHS PROBE_LR [FLAG ...]: one run through all phases and its checks; FLAGs (recipe changes) go
# to the first `filterlens run` (a resumed run keeps the recipe recorded in its run.h5).
run() {
    local name=$1 preset=$2 epochs=$3 probe_lr=$4
    shift 4
    local dir=outputs/$name
    local phase2=(--probe-epochs 10 --probe-lr "$probe_lr")
    echo "=== $name: $(date -u '+%Y-%m-%d %H:%M UTC')"
    local status=0
    # A folder with neither run.h5 nor a checkpoint holds nothing to resume (a run stopped in its first minutes, before
    # its first checkpoint): it is started again, as new.
    if [ -f "$dir/run.h5" ] || [ -f "$dir/checkpoint.h5" ]; then
        "$binary" run --resume --out "$dir" "${phase2[@]}" >> "$logs/$name.log" 2>&1 || status=$?
    else
        "$binary" run --preset "$preset" --epochs "$epochs" --schedule cosine "$@" "${phase2[@]}" --out "$dir" \
            >> "$logs/$name.log" 2>&1 || status=$?
    fi
    stopped "$status" "$logs/$name.log"
    echo "    phases 1-3 done: $dir/report.html"
    if ! grep -q "all agree" "$logs/$name.reference.txt" 2>/dev/null; then
        python3 scripts/analysis_reference.py --run "$dir" > "$logs/$name.reference.txt" 2>&1 || true
    fi
    echo "    reference check: $(tail -1 "$logs/$name.reference.txt")"
    [ -s "$logs/$name.tables.md" ] || python3 scripts/findings_tables.py "$dir" > "$logs/$name.tables.md"
    echo "    tables: $logs/$name.tables.md"
    # Phase 3 again under the column-centred normalization, beside the run (docs/findings.md, "Does the
    # normalization decide the trends?").
    FILTERLENS="$binary" bash scripts/normalization_check.sh "$dir" >> "$logs/$name.log" 2>&1 || true
    echo "    column-centred: outputs/normalization/$name-column-centred.tables.md"
}

# prune NAME LAYERS...: one level per LAYERS (e.g. 13 or 12,13), 2 retraining epochs, 3 control seeds; then the
# report again, with its Pruning section. A run whose report is not written yet is skipped, and said so.
prune() {
    local name=$1
    shift
    local dir=outputs/$name levels=()
    if [ ! -f "$dir/report.html" ]; then
        echo "=== prune $name: skipped, the run is not complete ($dir/report.html is missing)"
        return 0
    fi
    for layers in "$@"; do levels+=(--layers "$layers"); done
    echo "=== prune $name: $(date -u '+%Y-%m-%d %H:%M UTC')"
    if [ ! -f "$dir/prune.h5" ]; then
        local status=0
        "$binary" prune "$dir" "${levels[@]}" --retrain-epochs 2 --control-seeds 1,2,3 >> "$logs/$name.prune.log" 2>&1 \
            || status=$?
        stopped "$status" "$logs/$name.prune.log"
        "$binary" report "$dir" >> "$logs/$name.log" 2>&1
    fi
    echo "    pruned: $dir/prune.h5"
}

# The steps, named once: the check below and its message read this list; the dispatch after it runs them.
steps=(vgg16 avgg16 vgg6 vgg16-16 vgg16-20 avgg16-24 vgg6-wd1e-3 prune)
selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=(vgg16 avgg16 vgg6 prune)
for which in "${selected[@]}"; do
    [[ " ${steps[*]} " == *" $which "* ]] \
        || { echo "findings_runs.sh: unknown step $which; choose one of: ${steps[*]}" >&2; exit 64; }
done
for which in "${selected[@]}"; do
    case "$which" in
        vgg16) run vgg16-cosine40 vgg16 40 "$vgg16_probe_lr" ;;
        avgg16) run avgg16-cosine40 avgg16 40 "$vgg16_probe_lr" ;;
        vgg6) run vgg6-cosine60 vgg6 60 "$vgg6_probe_lr" ;;
        vgg16-16) run vgg16-cosine16 vgg16 16 "$vgg16_probe_lr" ;;
        vgg16-20) run vgg16-cosine20 vgg16 20 "$vgg16_probe_lr" ;;
        avgg16-24) run avgg16-cosine24 avgg16 24 "$vgg16_probe_lr" ;;
        vgg6-wd1e-3) run vgg6-cosine30-wd1e-3 vgg6 30 "$vgg6_probe_lr" --weight-decay 0.001 ;;
        prune)
            prune vgg16-cosine40 13 12,13
            prune avgg16-cosine40 13 12,13
            ;;
    esac
done
