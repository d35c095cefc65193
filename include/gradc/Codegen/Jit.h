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
/// A TargetMachine for object files and assembly: position-independent
/// code, small code model, for `cpu` ("host": this machine's CPU and
/// features, like -march=native; otherwise an LLVM CPU name such as
/// "x86-64-v3", with only its own features) plus the features in `mattr`
/// ("+avx2,-fma"). Unknown names are errors, with a suggestion.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createObjectTargetMachine(llvm::StringRef cpu, llvm::StringRef mattr);
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
  /// The address of the typed entry point of `f` (typedSymbolName): to be
  /// cast to its C signature by a caller that knows `f`'s types.
  llvm::Expected<void *> lookupTyped(const Function &f);
  /// The address of the by-value entry point of `f` (valuesSymbolName), or
  /// null when `f` has none; `noseed`: of a scalar function's gradient
  /// without its seed, `gradc_f_grad_noseed__values`.
  void *lookupValues(const Function &f, bool noseed = false);
  /// Checks the arguments like the interpreter, calls `f`, returns its
  /// results (stored as doubles like the interpreter's tensors).
  /// An index out of range in the compiled code (return code 3) is an error
  /// with the code std::errc::result_out_of_range; the interpreter, run on
  /// the same arguments, names the op and the index.
  llvm::Expected<std::vector<Tensor>> call(const Function &f,
                                           std::vector<Tensor> args);
  /// Runs parallel loops and BLAS calls on `n` threads (0: OpenMP's default,
  /// OMP_NUM_THREADS or every core) through the module's
  /// gradc_set_num_threads.
  llvm::Error setThreads(int n);
  /// Milliseconds spent lowering, optimizing and compiling.
  double compileMillis() const { return compileMs_; }
  /// True if the object code came from the persistent compile cache.
  bool fromCache() const { return fromCache_; }

private:
  Jit() = default;
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  double compileMs_ = 0;
  bool fromCache_ = false;
  std::string releaseSymbol_;
};

} // namespace gradc

#endif
