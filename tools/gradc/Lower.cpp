//===- Lower.cpp - gradc lower: the loop IR of a module -------------------===//
#include "Driver.h"

#include "gradc/Codegen/Lowering.h"
#include "gradc/IR/Inline.h"
#include "gradc/Loops/Lower.h"

#include "llvm/Support/raw_ostream.h"

using namespace gradc;

namespace gradc::driver {

int runLower() {
  llvm::SourceMgr sm;
  std::unique_ptr<Module> m = load(sm);
  if (!m)
    return 1;
  inlineCalls(*m); // the loop IR of a caller has its callees inlined
  std::vector<const Function *> fns;
  if (!FuncName.empty()) {
    const Function *f = findFunction(*m);
    if (!f)
      return 1;
    fns.push_back(f);
  } else {
    for (const auto &f : m->functions)
      fns.push_back(f.get());
  }
  for (const Function *f : fns)
    if (auto e = checkCompiled(*m, CompiledBy::Loops, f))
      return fail(llvm::toString(std::move(e)));
  loops::LoopOptions opts;
  opts.blas = kHaveBlas && !NoBlas;
  for (size_t i = 0; i < fns.size(); ++i) {
    if (i)
      llvm::outs() << "\n";
    loops::lowerToLoops(*fns[i], opts)->print(llvm::outs());
  }
  return 0;
}

} // namespace gradc::driver
