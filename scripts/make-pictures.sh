#!/usr/bin/env bash
# Regenerates the pictures of docs/tutorial.md (docs/img/*.svg) with
# `gradc dot --format svg`. Needs a built gradc (scripts/setup.sh) and
# Graphviz's dot (Debian package graphviz).
set -euo pipefail
cd "$(dirname "$0")/.."
G=build/bin/gradc
mkdir -p docs/img
# picture NAME FILE OPTIONS...: docs/img/NAME.svg from `gradc dot FILE OPTIONS`.
picture() {
  local name=$1
  shift
  echo "docs/img/$name.svg"
  "$G" dot "$@" --format svg -o "docs/img/$name.svg"
}

picture scalar       examples/scalar.gir --func f --arg x=-2 --arg y=5 --arg z=-4 --wrt x,y,z
picture gates-mul    examples/gates.gir --func mul --arg a=3 --arg b=-4
picture gates-max    examples/gates.gir --func max --arg a=2 --arg b=5
picture gates-fanout examples/gates.gir --func fanout --arg v=2 --wrt v
picture logreg       examples/logreg.gir --func logreg --arg x=[1,2] --arg w=[0.5,-0.25] --arg b=0.1 --arg y=1
picture relu         examples/relu.gir --func relu --arg 'x=[-1,0,2,-3]' --arg 'dz=[1,2,3,4]' --wrt x
picture affine       examples/affine.gir --func affine --arg 'W=[[1,2],[3,4]]' --arg x=[5,6] --arg b=[7,8] --arg dz=[10,-1] --wrt W,x,b
picture minibatch    examples/minibatch.gir --func layer --arg 'X=[[1,2,3],[4,5,6]]' --arg 'W=[[1,0],[0,1],[1,1]]' --arg b=[1,2] --arg 'dZ=[[1,-1],[2,3]]' --wrt X,W,b
