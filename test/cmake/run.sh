#!/usr/bin/env bash
# The CMake package, end to end (ctest: cmake-package):
#   run.sh BUILD_DIR
# installs BUILD_DIR into a temporary prefix, configures, builds and runs the
# downstream project Inputs/consumer/ against it (gradc_add_gradient: objects with
# BLAS, C++ source, VJPs without BLAS; the installed libraries), compares its
# numbers with the interpreter, checks that a .gir error fails the build
# with gradc's diagnostic and a shared library without CPP the configure,
# that an unwritable prefix fails the install, and that the installed Python
# module imports.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
CMAKE=${CMAKE_COMMAND:-cmake}
PY=${PYTHON:-python3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PREFIX=$TMP/prefix
export GRADC_CACHE_DIR=$TMP/compile-cache # not the user's
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== install into $PREFIX"
"$CMAKE" --install "$BUILD" --prefix "$PREFIX" >"$TMP/install.log" ||
  { cat "$TMP/install.log"; fail "cmake --install"; }
GRADC=$PREFIX/bin/gradc
[ -x "$GRADC" ] || fail "no $GRADC"
[ -f "$PREFIX/lib/cmake/gradc/gradcConfig.cmake" ] || fail "no gradcConfig"
[ -f "$PREFIX/include/gradc/Codegen/Jit.h" ] || fail "no headers"

echo "== install into an unwritable prefix"
if "$CMAKE" --install "$BUILD" --prefix /proc/gradc-unwritable \
  >"$TMP/bad-install.log" 2>&1; then
  fail "installing into /proc succeeded"
fi
grep -q "cannot create directory" "$TMP/bad-install.log" ||
  { cat "$TMP/bad-install.log"; fail "no clear install error"; }

echo "== configure and build the consumer"
"$CMAKE" -S "$HERE/Inputs/consumer" -B "$TMP/b" -G Ninja \
  -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release \
  >"$TMP/configure.log" 2>&1 || { cat "$TMP/configure.log"; fail configure; }
"$CMAKE" --build "$TMP/b" >"$TMP/build.log" 2>&1 ||
  { cat "$TMP/build.log"; fail build; }

compare() { # compare GOT.json WANT.json REL
  "$PY" - "$1" "$2" "$3" <<'PYEOF'
import json, math, sys
got, want = (json.load(open(p)) for p in sys.argv[1:3])
rel = float(sys.argv[3])
def flat(v):
    if isinstance(v, list):
        return [x for e in v for x in flat(e)]
    if isinstance(v, dict):
        return [x for k in sorted(v) for x in flat(v[k])]
    return [v]
g, w = flat(got), flat(want)
assert len(g) == len(w), (got, want)
for a, b in zip(g, w):
    assert math.isclose(a, b, rel_tol=rel, abs_tol=rel), (a, b, got, want)
PYEOF
}

echo "== values and gradients against the interpreter"
ARGS=(--arg 'X=[[0.5,-1,2],[1.5,0.25,-0.5],[-2,1,0.75],[0,0.5,1]]'
      --arg 'y=[1,0,1,0]' --arg 'W=[0.1,-0.2,0.3]' --arg b=0.05)
"$GRADC" run "$HERE/Inputs/consumer/model.gir" --func loss "${ARGS[@]}" \
  --grad W,b --backend interp --format json >"$TMP/want.json"
for exe in logreg logreg_cpp; do
  "$TMP/b/$exe" >"$TMP/$exe.json" || fail "$exe exited with $?"
  compare "$TMP/$exe.json" "$TMP/want.json" 1e-13 || fail "$exe differs"
done

F='[[1,2,3],[-1,0.5,0.25]]'
"$GRADC" run "$HERE/Inputs/consumer/layer.gir" --func layer --arg "X=$F" \
  --arg 'W=[[0.1,-0.2],[0.3,0.4],[-0.5,0.6]]' --arg 'b=[0.1,0]' \
  --arg 'dH=[[1,-1],[0.5,2]]' --grad W,b --vjp --backend interp \
  --format json >"$TMP/layer.json"
"$GRADC" run "$HERE/Inputs/consumer/layer.gir" --func scale --arg 'x=[1,2,3,4]' \
  --arg s=2 --arg 'dy=[1,1,1,1]' --grad x,s --vjp --backend interp \
  --format json >"$TMP/scale.json"
"$PY" - "$TMP" <<'PYEOF'
import json, sys
t = sys.argv[1]
layer, scale = (json.load(open("%s/%s.json" % (t, n))) for n in ("layer", "scale"))
json.dump({"H": sum(layer["outputs"][0], []),
           "dW": sum(layer["gradients"]["W"], []),
           "db": layer["gradients"]["b"], "ds": scale["gradients"]["s"]},
          open(t + "/want_vjp.json", "w"))
PYEOF
"$TMP/b/layer_vjp" >"$TMP/layer_vjp.json" || fail "layer_vjp exited with $?"
compare "$TMP/layer_vjp.json" "$TMP/want_vjp.json" 1e-6 ||
  fail "layer_vjp differs"

echo "== the installed libraries"
"$TMP/b/parse_ir" "$HERE/Inputs/consumer/model.gir" >"$TMP/parsed.gir" ||
  fail "parse_ir"
"$GRADC" parse "$HERE/Inputs/consumer/model.gir" | diff - "$TMP/parsed.gir" ||
  fail "parse_ir prints another module"

echo "== a .gir error fails the build with its diagnostic"
"$CMAKE" -S "$HERE/Inputs/consumer" -B "$TMP/b" -DCONSUMER_BAD=ON >/dev/null
if "$CMAKE" --build "$TMP/b" --target bad >"$TMP/bad.log" 2>&1; then
  fail "the build of bad.gir succeeded"
fi
grep -q "bad.gir:2:8: error: axis 2 is out of range for rank 1" \
  "$TMP/bad.log" || { cat "$TMP/bad.log"; fail "no diagnostic"; }
grep -q "gradc_add_gradient: 'gradc grad .*bad.gir --func loss' failed" \
  "$TMP/bad.log" || { cat "$TMP/bad.log"; fail "no failing command"; }

echo "== a shared library target needs CPP"
if "$CMAKE" -S "$HERE/Inputs/consumer" -B "$TMP/b" -DCONSUMER_BAD=OFF \
  -DCONSUMER_SHARED=ON >"$TMP/shared.log" 2>&1; then
  fail "configuring a shared library with an object succeeded"
fi
grep -q "add CPP to" "$TMP/shared.log" || { cat "$TMP/shared.log"; fail \
  "no clear error for a shared library"; }

if [ "${GRADC_HAVE_PYTHON:-OFF}" = ON ]; then
  echo "== the installed Python module"
  SITE=$PREFIX/$GRADC_PYTHON_INSTALL_DIR
  PYTHONPATH=$SITE "$PY" -c "
import gradc, numpy as np
assert gradc.__file__.startswith('$SITE'), gradc.__file__
m = gradc.compile('$HERE/Inputs/consumer/model.gir')
v, g = m.value_and_grad('loss', wrt=['b'])(np.ones((2, 3)), np.ones(2),
                                          np.zeros(3), 0.0)
assert abs(v - np.log(2)) < 1e-15 and abs(g['b'] + 0.5) < 1e-15, (v, g)
" || fail "the installed Python module"
fi
echo "ok"
