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
  // Lowered together, as the backends do: nests that repeat across the
  // functions printed are shared (`shared K (...) for ...`).
  loops::CalleeCache lowered;
  std::vector<std::unique_ptr<loops::LoopFunction>> lfs;
  std::vector<loops::LoopFunction *> all;
  for (const Function *f : fns) {
    lfs.push_back(loops::lowerToLoops(*f, opts, &lowered));
    all.push_back(lfs.back().get());
  }
  loops::shareNests(all);
  for (size_t i = 0; i < lfs.size(); ++i) {
    if (i)
      llvm::outs() << "\n";
    lfs[i]->print(llvm::outs());
  }
  return 0;
}

} // namespace gradc::driver
