//===- Autodiff.h - Reverse and forward mode differentiation ----*- C++ -*-===//
//
// The adjoint pass: from a function @f it synthesizes @f.grad (reverse mode,
// the chain rule applied backwards from the outputs) or @f.jvp (forward mode)
// as ordinary IR in the same module.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_AD_AUTODIFF_H
#define GRADC_AD_AUTODIFF_H

#include "gradc/IR/IR.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace gradc {

/// Which calls and scans the backward pass recomputes instead of keeping
/// their intermediates (`gradc grad --remat`).
enum class Remat {
  Marked, ///< those marked `checkpoint=true`
  None,   ///< none: every intermediate is kept, marks are ignored
  Calls,  ///< every `call` (at every depth) and the marked scans
  Auto,   ///< the marked ones, then the fewest more calls and static-length
          ///< scans of @f that bring the saved bytes under memoryBudget
};

struct GradOptions {
  /// The arguments to differentiate with respect to; empty means all.
  std::vector<std::string> wrt;
  /// false: @f must have one scalar output and @f.grad takes its seed
  /// cotangent (`%df`). true (vector-Jacobian product): one cotangent per
  /// output, any shapes.
  bool vjp = false;
  /// JAX's has_aux: only @f's first result (the loss) is differentiated and
  /// takes a cotangent (a scalar seed unless `vjp`); the other results are
  /// auxiliary outputs, returned as they are, without cotangents.
  bool hasAux = false;
  /// Whether @f.grad returns @f's results before the gradients.
  bool primalResults = true;
  /// Name of the new function; default `<f>.grad`.
  std::string name;
  Remat remat = Remat::Marked;
  /// With Remat::Auto: the most bytes the backward pass may keep besides
  /// the arguments (the total `gradc grad --print-saved` reports).
  int64_t memoryBudget = 0;
};

/// Builds the reverse-mode function and adds it to `m`:
///   @f.grad(args..., cotangents...) -> (results..., d/d wrt...)
/// Only the gradients asked for are formed (activity analysis). The result
/// is not simplified; run the simplification pipeline on it.
llvm::Expected<Function *> buildGradient(Module &m, const Function &f,
                                         const GradOptions &opts);

/// Builds the forward-mode function and adds it to `m`:
///   @f.jvp(args..., tangents of wrt...) -> (results..., tangents of
///   results...)
/// It is the transpose of the reverse mode: the VJP is linear in its
/// cotangent, so differentiating it with respect to the cotangent gives J t.
llvm::Expected<Function *> buildJvp(Module &m, const Function &f,
                                    const std::vector<std::string> &wrt,
                                    std::string name = "");

/// A value the backward pass of a gradient function reads from its forward
/// pass (JAX's saved residuals).
struct SavedValue {
  const Value *value;
  std::string from; // "argument", "argument %x, reshaped", "%y = exp", ...
  int64_t bytes;    // times the symbols below
  std::vector<std::string> symbols; // the symbolic dims of its type
};

/// The forward values (arguments among the first `numPrimalArgs`, op
/// results) that `g`'s ops depending on its cotangent arguments (those after
/// the first `numPrimalArgs`) read, in definition order.
std::vector<SavedValue> savedValues(const Function &g, size_t numPrimalArgs);

/// "48", or "8*T*B" for a value with symbolic dims.
std::string formatBytes(const SavedValue &s);

/// "'@f' has no argument '%w'; its arguments are %x, %y" (or "did you mean
/// '%x'?" when one is close).
std::string noSuchArgument(const Function &f, llvm::StringRef name);

/// Resolves `wrt` names (empty: all arguments) to argument indices.
llvm::Expected<std::vector<unsigned>>
resolveWrt(const Function &f, const std::vector<std::string> &wrt);

} // namespace gradc

#endif
