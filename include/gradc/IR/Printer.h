//===- Printer.h - Canonical textual form -----------------------*- C++ -*-===//
#ifndef GRADC_IR_PRINTER_H
#define GRADC_IR_PRINTER_H

#include "gradc/IR/IR.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/raw_ostream.h"

namespace gradc {

/// Prints the module in the canonical syntax; the parser reads it back to the
/// same module.
void print(const Module &m, llvm::raw_ostream &os);
void print(const Function &f, llvm::raw_ostream &os);
/// A number as the IR spells it: the shortest text that reads back to the same
/// value of type `t` (`nan`, `inf`, `-inf` for the IEEE specials).
std::string formatNumber(double v, DType t);
/// An attribute value as the IR spells it (`true`, `3`, `[N,2]`, `0.5`,
/// `"ij->i"`).
std::string formatAttr(const Attr &a);
/// Prints `t` as a nested list (`[[1, 2], [3, 4]]`; a scalar as a number),
/// each element spelled by `number`.
void printNestedList(const Tensor &t, llvm::raw_ostream &os,
                     llvm::function_ref<std::string(double, DType)> number);

} // namespace gradc

#endif
