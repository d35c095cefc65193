//===- RoundTrip.cpp - Fuzz: parse, verify, print, reparse, print ---------===//
//
// Any input: the parser and verifier must not crash. A module that verifies
// prints to text that parses and verifies again and prints the same.
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"

using namespace gradc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::SourceMgr sm;
  auto m = fuzz::load(text, sm);
  if (!m)
    return 0;
  std::string once = fuzz::printed(*m);
  llvm::SourceMgr sm2;
  std::string diags;
  llvm::raw_string_ostream os(diags);
  auto m2 = fuzz::load(once, sm2, os);
  if (!m2)
    fuzz::fail("the printed module does not parse or verify", once, diags);
  std::string twice = fuzz::printed(*m2);
  if (once != twice)
    fuzz::fail("printing the reparsed module differs", once, twice);
  return 0;
}
