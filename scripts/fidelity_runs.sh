#!/usr/bin/env bash
# The same-recipe check of docs/findings.md ("Does the engine train as PyTorch does?"): VGG-6 under the 12-epoch
# reference recipe (preset vgg6) on the first SUBSET training images (all 10,000 test images), three engine seeds,
# then the same recipe in PyTorch with three seeds (scripts/same_recipe_check.py), side by side.
#
#   bash scripts/fidelity_runs.sh [SUBSET] [EXTRA TRAIN FLAGS...]      e.g. bash scripts/fidelity_runs.sh 10000
#   SEEDS="1 2 3 4 5 6" bash scripts/fidelity_runs.sh 10000               more seeds (default "1 2 3")
#
# SUBSET defaults to 10000; the 500-batch warm-up of the full-data recipe (one epoch of 50,000 images) is scaled to
# one epoch of the subset. Rerunning continues: finished engine runs are kept, an interrupted one is resumed, and the
# PyTorch seeds already done are reused. FILTERLENS names the binary (default .build/release/filterlens); the
# results land in outputs/fidelity-SUBSET/ (engine-seedS/, torch/same-recipe.csv, check.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
subset=${1:-10000}
shift || true
bin=${FILTERLENS:-.build/release/filterlens}
out=outputs/fidelity-$subset
warmup=$(( (subset + 99) / 100 ))
mkdir -p "$out"
runs=()
seeds=${SEEDS:-1 2 3}
for seed in $seeds; do
    run=$out/engine-seed$seed
    runs+=("$run")
    if [ -f "$run/run.h5" ]; then continue; fi
    resume=()
    if [ -f "$run/checkpoint.h5" ]; then resume=(--resume); fi
    "$bin" train --preset vgg6 --subset "$subset" --warmup "$warmup" --seed "$seed" --out "$run" "${resume[@]}" "$@"
    rm -f "$run/activations.h5"     # phase 1's test-set activations: not needed here, gigabytes
done
python3 scripts/same_recipe_check.py "${runs[@]}" --torch-seeds "$(echo $seeds | tr ' ' ,)" --out "$out/torch" | tee "$out/check.txt"
