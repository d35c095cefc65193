#!/usr/bin/env bash
# Sets up gradc and runs every test (unit tests, lit, pytest, the CMake
# package) under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd build
ctest --output-on-failure -j "$(nproc)"
