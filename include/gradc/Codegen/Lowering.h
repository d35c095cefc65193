//===- Lowering.h - From the graph IR to LLVM IR ----------------*- C++ -*-===//
//
// Each function becomes an LLVM function under the C ABI of
// include/gradc/IR/ABI.h, plus a packed entry point for the JIT:
//   int gradc_f__packed(void **inputs, const int64_t *dims, void **outputs)
// Each function is first lowered to the loop IR (gradc/Loops/Lower.h), which
// decides fusion, loop groups, the arena's slots and every op's loops; this
// backend renders that IR: vector math, fast-math flags, the arena, CBLAS
// calls for the loop IR's kernel calls.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_CODEGEN_LOWERING_H
#define GRADC_CODEGEN_LOWERING_H

#include "gradc/IR/IR.h"
#include "gradc/Loops/LoopIR.h"
#include "gradc/Ops/OpDef.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace gradc {

#ifdef GRADC_HAVE_CBLAS
inline constexpr bool kHaveBlas = true;
#else
inline constexpr bool kHaveBlas = false; // built without OpenBLAS
#endif

struct LowerOptions {
  /// Call cblas_{s,d}{gemm,gemv,dot} for matmul/dot; loops otherwise.
  bool blas = kHaveBlas;
  /// Render the loops the loop IR marks parallel so that they can run on
  /// several threads (docs/backends.md); false: every loop on one thread,
  /// which compiles faster (`gradc run --threads 1`).
  bool parallel = true;
  /// Cut a function larger than this many loop-IR nodes into parts, each an
  /// LLVM function of its own (loops::LoopOptions::partSize).
  size_t partSize = loops::kPartSize;
  /// Lower only this function of the module (default: all).
  const Function *only = nullptr;
  /// Jit::create only: keep the object code in the persistent compile cache
  /// (include/gradc/Codegen/CompileCache.h) and reuse it from there.
  bool cache = false;
};

/// Lowers every function of the verified module `m`.
std::unique_ptr<llvm::Module>
lowerToLLVM(const Module &m, llvm::LLVMContext &ctx, const LowerOptions &opts);

/// The name of the packed entry point of `f`.
std::string packedSymbolName(const Function &f);
/// The name of the typed entry point of `f`: gradc_f's parameters, with
/// each scalar (rank-0 f32/f64) input passed by value instead of by pointer.
std::string typedSymbolName(const Function &f);
/// The name of the by-value entry point of `f` (docs/c-abi.md), defined
/// only for a function that cannot fail and returns one to four f32 scalars
/// or one or two f64 scalars, on x86-64: the typed entry point's inputs,
/// the outputs returned by value as a C struct.
std::string valuesSymbolName(const Function &f);

/// The function that frees the arena the module's functions keep between
/// calls (`<first function>__release`): Jit's destructor calls it, and an
/// object file registers it as a destructor run at exit. Empty if no
/// function is lowered.
std::string releaseSymbolName(const Module &m, const LowerOptions &opts);

/// Bytes of the intermediate buffers one call of `f` allocates, for the given
/// symbolic dims (what `gradc run --stats` reports as the peak).
int64_t workspaceBytes(const Function &f, const SymEnv &syms);

} // namespace gradc

#endif
