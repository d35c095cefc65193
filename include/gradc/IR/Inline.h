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

/// Which calls inlineCalls leaves in place (a set of flags).
enum KeepCalls : unsigned {
  KeepNone = 0,
  /// Calls of functions that name a custom VJP (their adjoint is that VJP).
  KeepCustomVjp = 1,
  /// Calls marked `checkpoint=true` (their adjoint recomputes the callee).
  KeepCheckpointed = 2,
};

/// Inlines the `call` ops of `f` (and of the functions they call), except
/// those `keep` names. Returns whether anything changed. `f` must be
/// verified.
bool inlineCalls(Function &f, unsigned keep = KeepNone);

/// Inlines every call in every function of `m`.
void inlineCalls(Module &m);

/// Copies `callee`'s body into `dst` (appending to `out`) for arguments
/// `args`, inlining the calls in it as `inlineCalls(.., keep)` does; returns
/// the values of its results.
std::vector<Value *> expandCall(Function &dst,
                                std::vector<std::unique_ptr<Op>> &out,
                                const Function &callee,
                                llvm::ArrayRef<Value *> args, unsigned keep);

} // namespace gradc

#endif
