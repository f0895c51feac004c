#!/usr/bin/env bash
# All tests: installs what is missing, then runs the whole suite in release mode (the engine is too slow in debug):
# the Swift tests, and the pytest suite of the filterlens-torch package (python/), installed from this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --torch
swift build -c release --product filterlens
# The package from this checkout (its dependencies come from setup.sh); the Swift CLI tests and pytest use it.
python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation ./python \
    || python3 -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --break-system-packages ./python
# One OpenBLAS thread in the test process: its tests run side by side, and a test that splits products over Swift
# threads sets OpenBLAS's process-wide thread count to 1 for the while, which changes the rounding of another test's
# products mid-comparison (OpenBLAS rounds differently at 1 and 2 threads). The CLI children run at OpenBLAS's own
# count (Tests/CLITests/CLISupport.swift, cliEnvironment).
# setup.sh installed chromium: the report's browser test fails, rather than skips, without it.
FILTERLENS_REQUIRE_BROWSER=1 OPENBLAS_NUM_THREADS=1 swift test -c release "$@"
# pytest's exit status 5 means it collected no test: that is a failure here, not a pass.
status=0
python3 -m pytest -q -p no:cacheprovider python/tests || status=$?
if [ "$status" -eq 5 ]; then
    echo "test.sh: pytest collected no tests in python/tests" >&2
    exit 1
fi
exit "$status"
