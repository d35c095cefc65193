#!/usr/bin/env bash
# Builds and runs gradc-bench (W1-W8: gradc's JIT against the hand-written
# C++ in one process; W6 and W7 have no C++), then the PyTorch eager scripts
# (W6-W8 also with torch on every CPU), and prints medians and ratios against
# this run's C++ and PyTorch.
#   bench/run.sh [--threads N] [gradc-bench options, e.g. --reps 9 w3 w4]
# --threads N (default 1): gradc's parallel loops, OpenBLAS and PyTorch
# (torch.set_num_threads) run on N threads; the C++ baselines' loops and the
# peers' builds stay single-threaded.
# The log goes to $BENCH_LOG (default build/bench.log). PY (default
# /usr/bin/python3, Debian's python3-torch) runs the torch scripts.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
PY=${PY:-/usr/bin/python3}
LOG=${BENCH_LOG:-$BUILD/bench.log}
THREADS=1
if [ "${1:-}" = --threads ]; then
  THREADS=$2
  shift 2
fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export BENCH_THREADS=$THREADS

[ -f "$BUILD/build.ninja" ] || cmake -S "$ROOT" -B "$BUILD" -G Ninja
ninja -C "$BUILD" gradc-bench >/dev/null
# the Python module, with which bench/torch/w6-w8 check gradc's gradients
ninja -C "$BUILD" -t targets all 2>/dev/null | grep -q "^_gradc:" &&
  ninja -C "$BUILD" _gradc >/dev/null
export GRADC_BUILD=$BUILD

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

# The peers' hand-written C++ (../shared/peers/cpp, or $PEERS_CPP): built
# here in the peers' four configurations (g++ and clang++-19, each with and
# without -ffast-math; clang only where it is installed) and run in the same
# run, so that the summary can compare gradc with the fastest C++ there is.
PEERS_CPP=${PEERS_CPP:-$ROOT/../shared/peers/cpp}
PEERS_BIN=$BUILD/peers
build_peers() {
  [ -f "$PEERS_CPP/common.h" ] || return 0
  mkdir -p "$PEERS_BIN"
  local common="-O3 -march=native -fopenmp-simd -std=c++17" w c cxx flags name
  for w in w1_scalar w2_logreg w3_mlp w4_elementwise w5_deep; do
    for c in gxx gxxfm clang clangfm; do
      case $c in
      gxx) cxx=g++ flags="" name="c++ peers g++" ;;
      gxxfm) cxx=g++ flags="-ffast-math" name="c++ peers g++ -ffast-math" ;;
      clang) cxx=clang++-19 flags="" name="c++ peers clang++" ;;
      clangfm) cxx=clang++-19 flags="-ffast-math -fveclib=libmvec"
        name="c++ peers clang++ -ffast-math" ;;
      esac
      command -v "$cxx" >/dev/null || continue
      local bin="$PEERS_BIN/${w}_$c"
      [ "$bin" -nt "$PEERS_CPP/$w.cpp" ] && [ "$bin" -nt "$PEERS_CPP/common.h" ] ||
        $cxx $common $flags -DIMPL_NAME="\"$name\"" "$PEERS_CPP/$w.cpp" \
          -o "$bin" -I"$(dirname "$(find /usr/include -name cblas.h | head -1)")" \
          -lopenblas -lm 2>>"$PEERS_BIN/build.log"
    done
  done
}
run_peers() {
  if [ ! -f "$PEERS_CPP/common.h" ]; then
    echo "NOTE|peers' C++ not found at $PEERS_CPP: ratios are to bench/baselines only"
    return 0
  fi
  local ids w bin
  ids=$(printf '%s\n' "$@" | grep -xE 'w[1-5]' || true) # none: all
  # only workloads without peers' C++ (w6-w8) asked for: none
  [ -n "$ids" ] || ! printf '%s\n' "$@" | grep -qxE 'w[6-8]' || return 0
  for w in w1_scalar w2_logreg w3_mlp w4_elementwise w5_deep; do
    [ -z "$ids" ] || grep -qx "${w%%_*}" <<<"$ids" || continue
    for bin in "$PEERS_BIN/${w}"_*; do
      [ -x "$bin" ] && "$bin" | grep '^RESULT'
    done
  done
}
build_peers

{
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
  echo "INFO|host $(uname -n), $cpu, $(getconf _NPROCESSORS_ONLN) cpus"
  echo "INFO|uptime at start: $(uptime)"
  [ -z "${NOTE:-}" ] || echo "$NOTE"
  echo "INFO|threads: $THREADS (gradc, OpenBLAS in gradc-bench, torch)"
  # the hand-written C++'s results, for bench/torch to check (W8)
  export BENCH_CPP_DUMP=$BUILD/bench-dump
  mkdir -p "$BENCH_CPP_DUMP"
  rm -f "$BENCH_CPP_DUMP"/*_cpp.f32
  "$BUILD/bin/gradc-bench" --threads "$THREADS" --dump "$BENCH_CPP_DUMP" "$@" ||
    echo "FAIL|gradc-bench exited with status $?"
  run_peers "$@"
  if "$PY" -c 'import torch, numpy' 2>/dev/null; then
    echo "INFO|torch $("$PY" -c 'import torch; print(torch.__version__)')"
    ids=$(printf '%s\n' "$@" | grep -xE 'w[1-8]' || true) # none: all
    for w in w1_scalar w2_logreg w3_mlp w4_elementwise w5_deep w6_cnn \
      w7_transformer w8_lstm; do
      if [ -z "$ids" ] || grep -qx "${w%%_*}" <<<"$ids"; then
        (cd "$ROOT/bench/torch" && OMP_NUM_THREADS=$THREADS \
          OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS "$PY" "$w.py")
      fi
    done
    # W6-W8 again with torch on every CPU
    for w in w6_cnn w7_transformer w8_lstm; do
      if [ -z "$ids" ] || grep -qx "${w%%_*}" <<<"$ids"; then
        (cd "$ROOT/bench/torch" && env -u OMP_NUM_THREADS \
          -u OPENBLAS_NUM_THREADS -u MKL_NUM_THREADS TORCH_THREADS=all \
          "$PY" "$w.py")
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
