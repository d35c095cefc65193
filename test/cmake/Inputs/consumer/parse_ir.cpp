// Uses the installed libraries: parse and verify a module, print it.
#include "gradc/IR/Printer.h"
#include "gradc/Parser/Parser.h"
#include "gradc/Verifier/Verifier.h"

#include "llvm/Support/MemoryBuffer.h"

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  auto buf = llvm::MemoryBuffer::getFile(argv[1]);
  if (!buf)
    return 2;
  llvm::SourceMgr sm;
  sm.AddNewSourceBuffer(std::move(*buf), llvm::SMLoc());
  gradc::DiagEngine diag(sm);
  auto m = gradc::parseModule(diag);
  if (!m || !gradc::verify(*m, diag))
    return 1;
  gradc::print(*m, llvm::outs());
  return 0;
}
