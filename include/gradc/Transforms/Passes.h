//===- Passes.h - Simplification passes and the pass manager ----*- C++ -*-===//
#ifndef GRADC_TRANSFORMS_PASSES_H
#define GRADC_TRANSFORMS_PASSES_H

#include "gradc/IR/IR.h"
#include "gradc/Support/Diagnostics.h"

#include "llvm/Support/raw_ostream.h"

#include <vector>

namespace gradc {

/// A function-to-function transformation; returns whether it changed `f`.
struct Pass {
  const char *name;
  bool (*run)(Function &f);
};

/// Removes ops whose results nothing uses.
bool runDCE(Function &f);
/// Replaces an op by an earlier identical one (same kind, operands,
/// attributes).
bool runCSE(Function &f);
/// Constant folding and algebraic identities (x*1, x+0, 0*x, neg(neg x),
/// transpose(transpose x), no-op reshapes and broadcasts, select of equal
/// branches).
bool runSimplify(Function &f);

/// fold/simplify, CSE and DCE.
std::vector<Pass> simplificationPipeline();

/// Runs passes over a function until nothing changes, with `opt`-style
/// instrumentation.
class PassManager {
public:
  explicit PassManager(std::vector<Pass> passes) : passes_(std::move(passes)) {}
  /// Print the function after each pass that changed it.
  void printAfterAll(llvm::raw_ostream *os) { print_ = os; }
  /// Run the verifier after each pass.
  void verifyEach(DiagEngine *diag) { verify_ = diag; }
  /// Returns false if the verifier rejected a pass's output.
  bool run(Function &f);

private:
  std::vector<Pass> passes_;
  llvm::raw_ostream *print_ = nullptr;
  DiagEngine *verify_ = nullptr;
};

} // namespace gradc

#endif
