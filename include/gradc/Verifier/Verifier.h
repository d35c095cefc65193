//===- Verifier.h - Shape inference and structural checks -------*- C++ -*-===//
#ifndef GRADC_VERIFIER_VERIFIER_H
#define GRADC_VERIFIER_VERIFIER_H

#include "gradc/IR/IR.h"
#include "gradc/Support/Diagnostics.h"

namespace gradc {

/// Infers the type of every op result with its shape rule, checks declared
/// result types, the return, and the symbolic dims. Reports every error it
/// finds and returns false if there was one.
bool verify(Module &m, DiagEngine &diag);
bool verify(Function &f, DiagEngine &diag);

/// Largest number of elements a type may have.
} // namespace gradc

#endif
