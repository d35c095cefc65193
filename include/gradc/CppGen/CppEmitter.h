//===- CppEmitter.h - C++ source for a module -------------------*- C++ -*-===//
#ifndef GRADC_CPPGEN_CPPEMITTER_H
#define GRADC_CPPGEN_CPPEMITTER_H

#include "gradc/IR/IR.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

namespace gradc {

/// Writes self-contained C++17 source defining every function of the verified
/// module `m` under the C ABI of include/gradc/IR/ABI.h. `headerName`, if not
/// empty, is #included instead of repeating the prototypes.
llvm::Error emitCpp(const Module &m, llvm::raw_ostream &os,
                    llvm::StringRef headerName = "");

} // namespace gradc

#endif
