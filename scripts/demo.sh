#!/usr/bin/env bash
# Sets up gradc and runs it on the lecture notes' scalar example: the function,
# its adjoint (backward) graph, and its value with the gradients. Builds only
# the gradc driver (scripts/test.sh builds and runs everything).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh gradc
set -x
build/bin/gradc parse examples/scalar.gir
build/bin/gradc run examples/scalar.gir --func f --arg x=-2 --arg y=5 --arg z=-4
build/bin/gradc grad examples/scalar.gir --func f
build/bin/gradc run examples/scalar.gir --func f --arg x=-2 --arg y=5 --arg z=-4 --wrt x,y,z
