#!/usr/bin/env bash
# All tests: installs what is missing, then runs the whole suite in release mode (the engine is too slow in debug).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product filterlens
swift test -c release "$@"
