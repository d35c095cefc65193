//===- Jit.cpp - Fuzz: the LLVM JIT against the reference interpreter ----===//
//
// For every function of a verifying module that is small enough to evaluate:
// the function and its simplified vector-Jacobian product are JIT-compiled
// (only through the public API, gradc/Codegen/Jit.h) and run at small sizes;
// the results must match the interpreter's where finite, to 1e-7 (f64) or
// 1e-3 (f32) relative: the JIT's vector exp/log/tanh are a few ulps off.
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/Codegen/Jit.h"
#include "gradc/Transforms/Passes.h"

using namespace gradc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::SourceMgr sm;
  auto m = fuzz::load(text, sm);
  if (!m)
    return 0;
  std::string src = fuzz::printed(*m);
  // The functions to run, with their symbol sizes.
  std::vector<std::pair<Function *, SymEnv>> todo;
  size_t n = m->functions.size();
  for (size_t i = 0; i < n; ++i) {
    Function &f = *m->functions[i];
    SymEnv syms;
    if (!fuzz::smallSizes(f, syms, /*maxElements=*/256, /*maxOps=*/32))
      continue;
    todo.push_back({&f, syms});
    GradOptions opts;
    opts.vjp = true;
    opts.name = f.name + ".vjp";
    if (m->lookup(opts.name))
      continue;
    auto g = buildGradient(*m, f, opts);
    if (!g)
      fuzz::fail("buildGradient failed", src, llvm::toString(g.takeError()));
    PassManager(simplificationPipeline()).run(**g);
    todo.push_back({*g, syms});
  }
  if (todo.empty())
    return 0;
  auto jit = Jit::create(*m, LowerOptions());
  if (!jit)
    fuzz::fail("Jit::create failed", fuzz::printed(*m),
               llvm::toString(jit.takeError()));
  for (auto &[f, syms] : todo) {
    // A gradient's cotangent arguments have the outputs' shapes: both are
    // arguments of the function run, so one generator covers them.
    std::vector<Tensor> args = fuzz::arguments(*f, syms, 7);
    auto want = evaluate(*f, args);
    if (!want)
      fuzz::fail("the interpreter refused a function", fuzz::printed(*m),
                 llvm::toString(want.takeError()));
    auto got = (*jit)->call(*f, args);
    if (!got)
      fuzz::fail("the JIT refused a function", fuzz::printed(*m),
                 "@" + f->name + ": " + llvm::toString(got.takeError()));
    std::string d = fuzz::compare(*want, *got, 1e-7, 1e-3);
    if (!d.empty())
      fuzz::fail("the JIT and the interpreter differ", fuzz::printed(*m),
                 "@" + f->name + ": " + d);
  }
  return 0;
}
