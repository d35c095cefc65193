//===- Inline.h - Inlining `call` ops ---------------------------*- C++ -*-===//
//
// The chosen way to differentiate and compile calls: every `call @g(...)` is
// replaced by a copy of @g's body (recursively; the verifier rejects
// recursion, so this ends), with @g's symbolic dims replaced by the dims of
// the call's arguments. The adjoint pass inlines before differentiating
// (keeping calls of functions with a `custom_vjp`, whose adjoint is that
// function), and the backends see only inlined functions.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_IR_INLINE_H
#define GRADC_IR_INLINE_H

#include "gradc/IR/IR.h"

namespace gradc {

/// Inlines the `call` ops of `f` (and of the functions they call). With
/// `keepCustomVjp`, calls of functions that name a custom VJP stay. Returns
/// whether anything changed. `f` must be verified.
bool inlineCalls(Function &f, bool keepCustomVjp = false);

/// Inlines every call in every function of `m`.
void inlineCalls(Module &m);

/// Copies `callee`'s body into `dst` (appending to `out`) for arguments
/// `args`, inlining the calls in it as `inlineCalls` does; returns the
/// values of its results.
std::vector<Value *> expandCall(Function &dst,
                                std::vector<std::unique_ptr<Op>> &out,
                                const Function &callee,
                                llvm::ArrayRef<Value *> args,
                                bool keepCustomVjp);

} // namespace gradc

#endif
