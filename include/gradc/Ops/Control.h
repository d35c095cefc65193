//===- Control.h - Shapes of `call` and `cond` ------------------*- C++ -*-===//
#ifndef GRADC_OPS_CONTROL_H
#define GRADC_OPS_CONTROL_H

#include "gradc/IR/IR.h"

#include <string>
#include <vector>

namespace gradc {

/// The result types of a `call` or `cond` whose callees are resolved, from
/// its operand types: the callee's parameter types are matched against the
/// arguments (each symbolic dim of the callee bound once per call site, to a
/// static size or a symbol of the caller) and its result types are written
/// with those bindings. On a mismatch returns false and says why in `err`.
bool inferCallTypes(const Op &op, llvm::ArrayRef<Type> in,
                    std::vector<Type> &out, std::string &err);

/// `(f32[N], f64) -> f64`: a function's signature as written.
std::string signatureString(const Function &f);

} // namespace gradc

#endif
