//===- Jit.h - Compiling and running functions in-process -------*- C++ -*-===//
#ifndef GRADC_CODEGEN_JIT_H
#define GRADC_CODEGEN_JIT_H

#include "gradc/Codegen/Lowering.h"

#include "llvm/Support/CodeGen.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <vector>

namespace llvm::orc {
class LLJIT;
}

namespace gradc {

/// A TargetMachine for the host CPU (its name and features, like -mcpu=native).
llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createHostTargetMachine();
/// Runs the new pass manager's O3 pipeline for `tm` over `m`.
void optimizeModule(llvm::Module &m, llvm::TargetMachine &tm);
/// Writes `m` as assembly or an object file for `tm`.
llvm::Error emitMachineCode(llvm::Module &m, llvm::TargetMachine &tm,
                            llvm::raw_pwrite_stream &os,
                            llvm::CodeGenFileType kind);

/// Compiles a module with ORC's LLJIT and calls its functions.
class Jit {
public:
  static llvm::Expected<std::unique_ptr<Jit>> create(const Module &m,
                                                     const LowerOptions &opts);
  ~Jit();

  using PackedFn = int (*)(void **inputs, const int64_t *dims, void **outputs);
  /// The packed entry point of `f` (compiled on first use).
  llvm::Expected<PackedFn> lookup(const Function &f);
  /// Checks the arguments like the interpreter, calls `f`, returns its
  /// results (stored as doubles like the interpreter's tensors).
  llvm::Expected<std::vector<Tensor>> call(const Function &f,
                                           std::vector<Tensor> args);
  /// Milliseconds spent lowering, optimizing and compiling.
  double compileMillis() const { return compileMs_; }
  /// True if the object code came from the persistent compile cache.
  bool fromCache() const { return fromCache_; }

private:
  Jit() = default;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  double compileMs_ = 0;
  bool fromCache_ = false;
};

} // namespace gradc

#endif
