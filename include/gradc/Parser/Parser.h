//===- Parser.h - Reading .gir text -----------------------------*- C++ -*-===//
#ifndef GRADC_PARSER_PARSER_H
#define GRADC_PARSER_PARSER_H

#include "gradc/IR/IR.h"
#include "gradc/Support/Diagnostics.h"

#include <memory>

namespace gradc {

/// Parses the main buffer of the diagnostics' SourceMgr. Names are resolved
/// (use before definition and redefinitions are errors here); types are left
/// to the verifier. Returns null if any error was reported.
/// `maxOps`: most ops accepted in one function (the default is the limit
/// gradc documents; tests pass less).
std::unique_ptr<Module> parseModule(DiagEngine &diag, size_t maxOps = kMaxOps);

} // namespace gradc

#endif
