#!/usr/bin/env bash
# Installs what FilterLens needs and is missing: Debian packages (as root, via apt-get), the Python packages
# used by data preparation and the cross-checks (Pillow, NumPy, h5py), and with --torch (as scripts/test.sh runs it)
# PyTorch's CPU build and pytest for the filterlens-torch package and its tests (python/). Safe to run again: it
# installs nothing twice.
set -euo pipefail

# chromium: the headless browser of the report's browser test (Tests/CLITests/FilterExplorerTests.swift).
packages=(libcairo2-dev libopenblas-dev libhdf5-dev libdeflate-dev hdf5-tools pkg-config fonts-dejavu-core poppler-utils chromium)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c "import numpy, h5py, PIL" 2>/dev/null; then
    echo "setup: installing Python packages numpy h5py pillow"
    python3 -m pip install --quiet --disable-pip-version-check numpy h5py pillow \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages numpy h5py pillow
fi

# PyTorch's CPU-only wheel, served by the default index as torch==2.13.0+cpu: 192 MB, about 750 MB installed (the
# default torch wheel is 539 MB and pulls several GB of CUDA libraries besides). Measured on a 2-core machine busy
# with other builds: 67 s into a fresh environment without pip's cache, 32 s with the wheel cached.
torch_cpu="torch==2.13.0+cpu"
python_missing=()
if [ "${1:-}" = "--torch" ]; then
    python3 -c "import torch" 2>/dev/null || python_missing+=("$torch_cpu")
    python3 -c "import pytest" 2>/dev/null || python_missing+=(pytest)
    # xarray's netCDF-4 engine: python/tests/test_analysis_netcdf.py opens analysis.h5 with it
    python3 -c "import xarray, h5netcdf" 2>/dev/null || python_missing+=(xarray h5netcdf)
fi
if ((${#python_missing[@]})); then
    echo "setup: installing Python packages ${python_missing[*]}"
    python3 -m pip install --quiet --disable-pip-version-check "${python_missing[@]}" \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${python_missing[@]}" \
        || { echo "setup: could not install ${python_missing[*]} from the package index; python/ needs them" >&2; exit 1; }
fi

command -v swift >/dev/null || { echo "setup: no Swift toolchain on PATH; install Swift 6 (swift.org) and retry" >&2; exit 1; }
