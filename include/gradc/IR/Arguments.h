//===- Arguments.h - Binding argument values to a signature -----*- C++ -*-===//
//
// What every backend does before a call: check the values against the
// function's argument types and bind its symbolic dims.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_IR_ARGUMENTS_H
#define GRADC_IR_ARGUMENTS_H

#include "gradc/IR/IR.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace gradc {

/// Sizes of the symbolic dims of a function call.
using SymEnv = llvm::StringMap<int64_t>;

/// The size of `d` for the bound symbolic dims `syms`.
inline int64_t resolve(const Dim &d, const SymEnv &syms) {
  return d.isSym() ? syms.lookup(d.sym) : d.size;
}
/// The shape of `dims` for the bound symbolic dims `syms`.
Shape resolve(llvm::ArrayRef<Dim> dims, const SymEnv &syms);

/// Checks `args` against the signature of `f` (converting each to the
/// argument's element type) and binds the symbolic dims.
llvm::Expected<SymEnv> bindArguments(const Function &f,
                                     std::vector<Tensor> &args);

} // namespace gradc

#endif
