#!/usr/bin/env bash
# Builds gradc with AddressSanitizer and UndefinedBehaviorSanitizer
# (-DGRADC_SANITIZE=ON, the system g++) into build-sanitize/ and runs every
# test under it: the unit tests and the lit suite, JIT and interpreter, like
# scripts/test.sh. Any sanitizer report fails the test that triggered it.
# Takes about 3x the time of scripts/test.sh. docs/testing.md has details.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null # the Debian packages (and the normal build)

cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGRADC_SANITIZE=ON -DGRADC_BUILD_BENCH=OFF >/dev/null
cmake --build build-sanitize --parallel "$(nproc)"

# Leaks are checked too (test/fuzz/lsan.supp suppresses nothing now that
# every Jit frees its arena). halt_on_error: the first report ends the
# process with an error, which fails the test.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/test/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd build-sanitize
# Not here: the Python module and the CMake package test, which load or link
# the sanitized libraries into programs built without the sanitizers (python3,
# a downstream project); both run in the normal build.
ctest --output-on-failure -j "$(nproc)" -E '^(python|cmake-package)$'
