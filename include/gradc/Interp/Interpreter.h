//===- Interpreter.h - The reference evaluator ------------------*- C++ -*-===//
//
// Straightforward, obviously correct evaluation of a verified function on
// concrete tensors: the oracle that the adjoint pass and every backend are
// checked against.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_INTERP_INTERPRETER_H
#define GRADC_INTERP_INTERPRETER_H

#include "gradc/IR/IR.h"
#include "gradc/Ops/OpDef.h"

#include "llvm/Support/Error.h"

namespace gradc {

/// Most elements the interpreter allocates for one value.
inline constexpr int64_t kMaxEvalElements = int64_t(1) << 31;

/// Evaluates a verified function.
llvm::Expected<std::vector<Tensor>> evaluate(const Function &f,
                                             std::vector<Tensor> args);

} // namespace gradc

#endif
