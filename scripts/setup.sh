#!/usr/bin/env bash
# Installs what FilterLens needs and is missing: Debian packages (as root, via apt-get) and the Python packages
# used by data preparation and the cross-checks (Pillow, NumPy, h5py). Safe to run again: it installs nothing twice.
set -euo pipefail

packages=(libcairo2-dev libopenblas-dev libhdf5-dev hdf5-tools pkg-config fonts-dejavu-core poppler-utils)
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

command -v swift >/dev/null || { echo "setup: no Swift toolchain on PATH; install Swift 6 (swift.org) and retry" >&2; exit 1; }
