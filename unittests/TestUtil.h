//===- TestUtil.h - Helpers shared by the unit tests ------------*- C++ -*-===//
#ifndef GRADC_UNITTESTS_TESTUTIL_H
#define GRADC_UNITTESTS_TESTUTIL_H

#include "gradc/IR/Printer.h"
#include "gradc/Parser/Parser.h"
#include "gradc/Verifier/Verifier.h"

#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>

namespace gradc::test {

/// Parses and verifies `text`; diagnostics are appended to `diags`.
inline std::unique_ptr<Module> parse(llvm::StringRef text,
                                     std::string *diags = nullptr) {
  llvm::SourceMgr sm;
  sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, "test.gir"),
                        llvm::SMLoc());
  std::string sink;
  llvm::raw_string_ostream os(diags ? *diags : sink);
  DiagEngine diag(sm, os);
  auto m = parseModule(diag);
  if (!m || !verify(*m, diag))
    return nullptr;
  return m;
}

inline std::string printed(const Module &m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  print(m, os);
  return s;
}

} // namespace gradc::test

#endif
