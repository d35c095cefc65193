#!/usr/bin/env bash
# Sets up gradc and runs every test (unit tests and the lit suite) under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd build
ctest --output-on-failure -j "$(nproc)"
