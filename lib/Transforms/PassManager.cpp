//===- PassManager.cpp - Running passes to a fixed point ------------------===//
#include "gradc/IR/Printer.h"
#include "gradc/Transforms/Passes.h"
#include "gradc/Verifier/Verifier.h"

namespace gradc {

std::vector<Pass> simplificationPipeline() {
  return {{"simplify", runSimplify}, {"cse", runCSE}, {"dce", runDCE}};
}

bool PassManager::run(Function &f) {
  // Every pass only shrinks or rewrites the function; a handful of rounds
  // reach the fixed point, the bound is a safety net.
  for (int round = 0; round < 16; ++round) {
    bool changed = false;
    for (const Pass &p : passes_) {
      bool c = p.run(f);
      changed |= c;
      if (print_ && c) {
        *print_ << "# *** IR dump after " << p.name << " on @" << f.name
                << " ***\n";
        print(f, *print_);
      }
      if (verify_ && !verify(f, *verify_)) {
        llvm::errs() << "gradc: error: the IR does not verify after pass '"
                     << p.name << "'\n";
        return false;
      }
    }
    if (!changed)
      break;
  }
  return true;
}

} // namespace gradc
