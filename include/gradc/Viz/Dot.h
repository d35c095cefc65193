//===- Dot.h - Graphviz pictures of a function and its adjoint --*- C++ -*-===//
//
// Draws a function as the lecture notes draw circuits: inputs, ops and
// outputs as nodes, one edge per use of a value labelled with its type and,
// given argument values, its forward value (black) above its gradient (red).
// Optionally the adjoint @f.grad is drawn too, with the fan-out sums,
// transposes and broadcast reductions of the adjoint pass marked.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_VIZ_DOT_H
#define GRADC_VIZ_DOT_H

#include "gradc/IR/IR.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace gradc {

struct DotOptions {
  /// Also draw @f.grad with respect to these arguments (empty: do not).
  std::vector<std::string> grad;
  /// Values of @f's arguments, in order; empty: draw types only. When @f does
  /// not return one scalar, the cotangents of its outputs follow (the extra
  /// arguments of its vector-Jacobian product, see cotangentNames).
  std::vector<Tensor> args;
};

/// The names of the cotangent arguments `d<out>` that a picture of `f` with
/// values needs after `f`'s own arguments (none when `f` returns one scalar).
std::vector<std::string> cotangentNames(const Function &f);

/// Writes `f` (verified) as a Graphviz digraph.
llvm::Error writeDot(const Function &f, const DotOptions &opts,
                     llvm::raw_ostream &os);

} // namespace gradc

#endif
