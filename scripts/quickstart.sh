#!/usr/bin/env bash
# The main job: installs what is missing, prepares CIFAR-10, builds FilterLens (release), trains the small default
# preset, probes and analyses it, and writes outputs/<run>/report.html. Extra arguments go to `filterlens run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product filterlens
bin=.build/release/filterlens
"$bin" data prepare
"$bin" run --preset small "$@"
