//===- GradCheck.h - Finite-difference gradient checking --------*- C++ -*-===//
#ifndef GRADC_AD_GRADCHECK_H
#define GRADC_AD_GRADCHECK_H

#include "gradc/IR/IR.h"
#include "gradc/IR/Tensor.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gradc {

struct CheckOptions {
  std::vector<std::string> wrt; // empty: all arguments that are not pinned
  /// Arguments held at these values (by name); the others are sampled.
  /// Their shapes bind the symbolic dims they use.
  std::map<std::string, Tensor> pinned;
  uint64_t seed = 1;
  double tolerance = 1e-6;
  bool simplify = true; // check the simplified adjoint (as users get it)
};

struct CheckRow {
  std::string what;   // an argument name, or "jvp"
  std::string type;   // its type with the dims sampled
  double maxRelError; // max |analytic - numeric| / max(1, |numeric|)
  bool ok;
  /// False when the derivative and its finite difference were both exactly
  /// zero everywhere checked: the row then proves nothing.
  bool exercised = true;
};

struct CheckReport {
  std::vector<std::pair<std::string, int64_t>> dims; // the symbolic dims
  std::vector<std::string> pinned; // the pinned arguments, in order
  std::vector<CheckRow> rows;
  bool ok() const;
};

/// Checks the reverse mode (a VJP with a random cotangent, so any output
/// shape works) and the forward mode (a JVP with a random tangent) of `f`
/// against central finite differences, in f64, at random inputs. Inputs are
/// drawn away from 0 (|x| in [0.1, 2]), where relu and abs have their kinks;
/// if `f` is not finite there, positive inputs are tried. Pinned arguments
/// keep their values.
llvm::Expected<CheckReport> gradCheck(const Function &f,
                                      const CheckOptions &opts);

/// A copy of `f` with every f32 replaced by f64, added to `m`.
Function *promoteToF64(Module &m, const Function &f);

} // namespace gradc

#endif
