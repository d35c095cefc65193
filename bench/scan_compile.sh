#!/usr/bin/env bash
# Compile time of W8 (bench/workloads/gen_w8.py) unrolled and through `scan`
# for several sequence lengths: wall-clock ms of `gradc emit --target obj`
# (parse, verify, lower, LLVM O3, object code) of the module of @f and of
# the module `gradc grad` writes (@f, @f.grad and the functions it adds),
# best of $REPS. The scan's compile time should not depend on T; the unrolled one's
# grows with it. Usage: bench/scan_compile.sh [T ...] (default 10 32 64 100 1000);
# UNROLLED_MAX (default 64: gen_w8.py concatenates the steps in one
# `concat`, which takes at most 64 operands) caps the unrolled lengths.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
GRADC="${GRADC:-$ROOT/build/bin/gradc}"
REPS="${REPS:-3}"
UNROLLED_MAX="${UNROLLED_MAX:-64}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
ms() { # best wall-clock ms of "$@" over REPS runs
  local best=""
  for _ in $(seq "$REPS"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    local d=$(((t1 - t0) / 1000000))
    [ -z "$best" ] || [ "$d" -lt "$best" ] && best=$d
  done
  echo "$best"
}
echo "| T | variant | @f compile ms | @f.grad compile ms |"
echo "|--:|---|--:|--:|"
Ts=("$@")
[ ${#Ts[@]} -gt 0 ] || Ts=(10 32 64 100 1000)
for T in "${Ts[@]}"; do
  for v in scan unrolled; do
    if [ "$v" = unrolled ] && [ "$T" -gt "$UNROLLED_MAX" ]; then
      echo "| $T | $v | (not compiled: T > $UNROLLED_MAX) | |"
      continue
    fi
    gir="$TMP/w8_${v}_$T.gir"
    if [ "$v" = scan ]; then
      python3 "$ROOT/bench/workloads/gen_w8.py" --scan "$T" >"$gir"
    else
      python3 "$ROOT/bench/workloads/gen_w8.py" "$T" >"$gir"
    fi
    "$GRADC" grad --func f --wrt Wih,Whh,b,Wout,bout "$gir" >"$gir.grad.gir"
    f=$(ms "$GRADC" emit --target obj "$gir" -o "$TMP/f.o")
    g=$(ms "$GRADC" emit --target obj "$gir.grad.gir" -o "$TMP/g.o")
    echo "| $T | $v | $f | $g |"
  done
done
