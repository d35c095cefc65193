//===- ABI.h - The C calling convention of compiled functions ---*- C++ -*-===//
//
// Every backend (the LLVM JIT, object files, emitted C++) compiles
//   func @f(%a: f32[N,3], %b: f32) -> (f32[N], f32)
// to the same C function:
//   int gradc_f(const float *a, const float *b, int64_t N,
//               float *out0, float *out1);
// inputs (one pointer per argument, row-major, scalars too), then the
// symbolic dims in order of first appearance in the argument types, then one
// caller-allocated output pointer per result. Returns 0, or 1 if the
// intermediate buffers could not be allocated. See docs/c-abi.md.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_IR_ABI_H
#define GRADC_IR_ABI_H

#include "gradc/IR/IR.h"

#include <string>
#include <vector>

namespace gradc {

/// `gradc_` and the function name with every character that C does not allow
/// in a name replaced by '_': @f.grad is gradc_f_grad.
std::string cSymbolName(llvm::StringRef functionName);
/// The symbolic dims of `f`, in order of first appearance in its arguments.
std::vector<std::string> symbolicDims(const Function &f);
/// The C prototype of `f` under the ABI, without a trailing ';'.
std::string cPrototype(const Function &f);
/// A C header declaring every function of `m` (C and C++ compatible).
std::string cHeader(const Module &m, llvm::StringRef guard);

} // namespace gradc

#endif
