//===- Entries.h - Checked and seedless entry points ------------*- C++ -*-===//
//
// Around each lowered function gradc_f (include/gradc/IR/ABI.h), objects
// also define gradc_f_checked, which takes each tensor input's shape, checks
// the dims and returns GRADC_BAD_SHAPE (2) on a contradiction, and, for the
// gradient of a scalar result, gradc_f_noseed and gradc_f_noseed_checked,
// which take no seed. They only call gradc_f; emitted C++ defines the same
// from cWrapperDefinitions (lib/IR/ABI.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_CODEGEN_ENTRIES_H
#define GRADC_CODEGEN_ENTRIES_H

#include "gradc/IR/IR.h"

#include "llvm/IR/Module.h"

namespace gradc {

/// Adds the wrappers of every function of `m` that `mod` defines.
void addEntryWrappers(const Module &m, llvm::Module &mod);

} // namespace gradc

#endif
