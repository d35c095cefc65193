#!/usr/bin/env bash
# Installs what gradc needs (Debian 12 packages) and builds it into build/.
# Safe to run again: installs only what is missing, rebuilds only what changed.
#   scripts/setup.sh              build everything (gradc, unit tests, benchmark)
#   scripts/setup.sh TARGET...    build only these targets (scripts/demo.sh: gradc)
# With GRADC_SETUP_PRINT_BUILD=1 it only prints the build command.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=("$@")
BUILD=(cmake --build build --parallel "$(nproc)")
if [ ${#TARGETS[@]} -gt 0 ]; then
  BUILD+=(--target "${TARGETS[@]}")
fi
if [ -n "${GRADC_SETUP_PRINT_BUILD:-}" ]; then
  echo "${BUILD[*]}"
  exit 0
fi

PACKAGES=(build-essential cmake ninja-build python3 llvm-19-dev llvm-19-tools
          zlib1g-dev libzstd-dev libfmt-dev libgtest-dev libopenblas-dev
          libgomp1
          graphviz
          # the Python module (python/) and its tests and examples
          pybind11-dev python3-dev python3-numpy python3-pytest
          python3-sklearn python3-torch)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "== building ${TARGETS[*]:-gradc and its tests}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
"${BUILD[@]}"
