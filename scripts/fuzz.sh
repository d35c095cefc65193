#!/usr/bin/env bash
# Builds gradc's libFuzzer harnesses (test/fuzz/) with clang-19 and
# -fsanitize=fuzzer,address,undefined into build-fuzz/, and runs each one.
#
#   scripts/fuzz.sh [MINUTES] [HARNESS...]   # default: 10 minutes each, all of
#                                            # roundtrip autodiff jit
#   scripts/fuzz.sh --smoke                  # each harness once over the seed
#                                            # corpus, then 20 s of fuzzing
#
# Seeds and the dictionary are generated (test/fuzz/make_corpus.py) into
# build-fuzz/fuzz/; what a run adds to the corpus stays there for the next run.
# A crash or broken invariant is saved as build-fuzz/fuzz/artifacts/NAME-crash-*
# (rerun it: build-fuzz/bin/gradc-fuzz-NAME FILE). Exits non-zero if any
# harness failed. docs/testing.md has the figures of a run.
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=0
MINUTES=10
if [ "${1:-}" = "--smoke" ]; then SMOKE=1; shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then MINUTES=$1; shift; fi
HARNESSES=("$@")
[ ${#HARNESSES[@]} -eq 0 ] && HARNESSES=(roundtrip autodiff jit)

PACKAGES=(build-essential cmake ninja-build python3 llvm-19-dev llvm-19-tools
          zlib1g-dev libzstd-dev libfmt-dev libopenblas-dev clang-19
          libclang-rt-19-dev)
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

echo "== building the fuzzers (build-fuzz/)"
CC=clang-19 CXX=clang++-19 cmake -S . -B build-fuzz -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGRADC_FUZZ=ON \
  -DGRADC_BUILD_BENCH=OFF -DGRADC_BUILD_TESTS=OFF >/dev/null
targets=()
for h in "${HARNESSES[@]}"; do targets+=("gradc-fuzz-$h"); done
cmake --build build-fuzz --parallel "$(nproc)" --target "${targets[@]}"

W=build-fuzz/fuzz
mkdir -p "$W/artifacts"
python3 test/fuzz/make_corpus.py . "$W/seeds" "$W/gir.dict"

# UBSan stops at the first error (-fno-sanitize-recover); leaks are checked
# per input, except the JIT's cached arena, an open bug in lib/Codegen
# (test/fuzz/lsan.supp).
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/test/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

status=0
summary=()
for h in "${HARNESSES[@]}"; do
  corpus="$W/corpus-$h"
  mkdir -p "$corpus"
  log="$W/$h.log"
  secs=$((MINUTES * 60))
  [ $SMOKE -eq 1 ] && secs=20
  before=$(ls "$W/artifacts" | grep -c "^$h-" || true)
  echo "== fuzzing $h for ${secs}s (log: $log)"
  # -fork=1 -ignore_crashes=1: a crash is saved and the run goes on, so one
  # known bug does not hide the others.
  set +e
  "build-fuzz/bin/gradc-fuzz-$h" "$corpus" "$W/seeds" -dict="$W/gir.dict" \
    -max_total_time=$secs -max_len=4096 -timeout=30 -rss_limit_mb=4096 \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="$W/artifacts/$h-" >"$log" 2>&1
  rc=$?
  set -e
  # The fork mode's status lines: "#EXECS: cov: C ft: F corp: N ... crash: a/b/c".
  last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
  execs=$(echo "$last" | grep -oE '^#[0-9]+' | tr -d '#')
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+ ft: [0-9]+')
  new=$(ls -t "$W/artifacts" | grep "^$h-" | head -n "$(( $(ls "$W/artifacts" | grep -c "^$h-" || true) - before ))" || true)
  found=$(echo -n "$new" | grep -c . || true)
  if [ $rc -ne 0 ] || [ "$found" -gt 0 ]; then
    status=1
    echo "!! $h: exit $rc, $found new failing input(s) in $W/artifacts:"
    # Fork mode keeps the children's reports out of the log: rerun each.
    for a in $new; do
      why=$("build-fuzz/bin/gradc-fuzz-$h" "$W/artifacts/$a" 2>&1 |
            grep -m1 -E "broken invariant|ERROR: [A-Za-z]+Sanitizer|runtime error" || true)
      echo "   $a: ${why:-(no report on rerun)}"
    done
  fi
  summary+=("$h: ${execs:-?} executions in ${secs}s, ${cov:-cov: ?} (edges, features), $(ls "$corpus" | wc -l) inputs in $corpus, $found failing input(s)")
done
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
