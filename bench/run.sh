#!/usr/bin/env bash
# Builds and runs gradc-bench (W1-W5: gradc's JIT against the hand-written
# C++ in one process), then the PyTorch eager scripts, all single-threaded,
# and prints medians and ratios against this run's C++.
#   bench/run.sh [gradc-bench options, e.g. --reps 9 w3 w4]
# The log goes to $BENCH_LOG (default build/bench.log). PY (default
# /usr/bin/python3, Debian's python3-torch) runs the torch scripts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
PY=${PY:-/usr/bin/python3}
LOG=${BENCH_LOG:-$BUILD/bench.log}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

[ -f "$BUILD/build.ninja" ] || cmake -S "$ROOT" -B "$BUILD" -G Ninja
ninja -C "$BUILD" gradc-bench >/dev/null

# OpenBLAS 0.3.21 does not know newer CPUs (e.g. Emerald Rapids, family 6
# model 207) and falls back to its generic SSE3 "Prescott" kernels, 4-5x
# slower. On such a CPU with AVX-512, use its SkylakeX kernels (C++, gradc
# and torch alike share this OpenBLAS).
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo &&
  [ "$("$BUILD/bin/gradc-bench" --blas-core)" = Prescott ]; then
  export OPENBLAS_CORETYPE=SkylakeX
  NOTE="NOTE|OpenBLAS does not know this CPU (it would use Prescott);"
  NOTE+=" OPENBLAS_CORETYPE=SkylakeX"
fi

{
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
  echo "INFO|host $(uname -n), $cpu, $(getconf _NPROCESSORS_ONLN) cpus"
  echo "INFO|uptime at start: $(uptime)"
  [ -z "${NOTE:-}" ] || echo "$NOTE"
  "$BUILD/bin/gradc-bench" "$@" || echo "FAIL|gradc-bench exited with status $?"
  if "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "INFO|torch $("$PY" -c 'import torch; print(torch.__version__)')"
    ids=$(printf '%s\n' "$@" | grep -xE 'w[1-5]' || true) # none: all
    for w in w1_scalar w2_logreg w3_mlp w4_elementwise w5_deep; do
      if [ -z "$ids" ] || grep -qx "${w%%_*}" <<<"$ids"; then
        (cd "$ROOT/bench/torch" && "$PY" "$w.py")
      fi
    done
  else
    echo "NOTE|PyTorch skipped: '$PY' cannot import torch and numpy" \
      "(Debian: apt-get install python3-torch)"
  fi
  echo "INFO|uptime at end: $(uptime)"
} 2>&1 | tee "$LOG"
echo
python3 "$ROOT/bench/summary.py" "$LOG"
! grep -q '^FAIL\|FAIL|' "$LOG"
