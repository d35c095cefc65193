//===- Autodiff.cpp - Fuzz: the adjoint pass and the simplifier -----------===//
//
// For every function of a verifying module that is small enough to evaluate:
// its vector-Jacobian product raw and simplified (verified after each pass)
// and its JVP are built; all three are evaluated by the interpreter at small
// sizes; the raw and simplified gradients must agree where finite, the primal
// results of all three must equal the function's, and <u, J t> must equal
// <J^T u, t>. The module with the derived functions must round-trip.
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/Transforms/Passes.h"

using namespace gradc;

namespace {

std::vector<Tensor> eval(const Function &f, std::vector<Tensor> args,
                         const std::string &text) {
  auto r = evaluate(f, std::move(args));
  if (!r)
    fuzz::fail(("the interpreter refused @" + f.name).c_str(), text,
               llvm::toString(r.takeError()));
  return std::move(*r);
}

void checkFunction(Module &m, Function &f, const std::string &text) {
  SymEnv syms;
  if (!fuzz::smallSizes(f, syms, /*maxElements=*/256, /*maxOps=*/48))
    return;
  std::vector<Tensor> x = fuzz::arguments(f, syms, 1);
  std::vector<Tensor> y = eval(f, x, text);

  // Raw and simplified vector-Jacobian products of all outputs.
  GradOptions opts;
  opts.vjp = true;
  opts.name = f.name + ".raw";
  auto raw = buildGradient(m, f, opts);
  if (!raw)
    fuzz::fail("buildGradient failed", text, llvm::toString(raw.takeError()));
  llvm::SourceMgr sm;
  std::string diags;
  llvm::raw_string_ostream dos(diags);
  DiagEngine diag(sm, dos);
  if (!verify(**raw, diag))
    fuzz::fail("the raw gradient does not verify", text, diags);
  opts.name = f.name + ".simple";
  auto simple = buildGradient(m, f, opts);
  if (!simple)
    fuzz::fail("buildGradient failed", text,
               llvm::toString(simple.takeError()));
  PassManager pm(simplificationPipeline());
  pm.verifyEach(&diag);
  if (!pm.run(**simple))
    fuzz::fail("a simplification pass broke the gradient", text, diags);

  // Cotangents: one per output, with the outputs' shapes.
  Function cot;
  for (const Tensor &t : y) {
    Type ty{t.dtype, {}};
    for (int64_t d : t.shape)
      ty.dims.push_back(Dim::fixed(d));
    cot.addArg("u", ty);
  }
  std::vector<Tensor> u = fuzz::arguments(cot, syms, 2);
  std::vector<Tensor> gx = x;
  gx.insert(gx.end(), u.begin(), u.end());
  std::vector<Tensor> g1 = eval(**raw, gx, text);
  std::vector<Tensor> g2 = eval(**simple, gx, text);
  std::string d = fuzz::compare(g1, g2, 1e-9, 1e-5);
  if (!d.empty())
    fuzz::fail("the raw and simplified gradients differ", text, d);
  std::vector<Tensor> y1(g1.begin(), g1.begin() + y.size());
  if (!(d = fuzz::compare(y, y1, 0, 0)).empty())
    fuzz::fail("the gradient's primal results differ from @f's", text, d);

  // Forward mode: the JVP's primal results, and <u, J t> = <J^T u, t>.
  auto jvp = buildJvp(m, f, {}, f.name + ".fwd");
  if (!jvp)
    fuzz::fail("buildJvp failed", text, llvm::toString(jvp.takeError()));
  if (!pm.run(**jvp))
    fuzz::fail("a simplification pass broke the JVP", text, diags);
  std::vector<Tensor> t = fuzz::arguments(f, syms, 3);
  std::vector<Tensor> jx = x;
  jx.insert(jx.end(), t.begin(), t.end());
  std::vector<Tensor> j = eval(**jvp, jx, text);
  std::vector<Tensor> y2(j.begin(), j.begin() + y.size());
  if (!(d = fuzz::compare(y, y2, 0, 0)).empty())
    fuzz::fail("the JVP's primal results differ from @f's", text, d);
  double lhs = 0, rhs = 0, scale = 0;
  bool f32 = false;
  for (size_t i = 0; i < y.size(); ++i)
    for (size_t k = 0; k < u[i].data.size(); ++k) {
      double p = u[i].data[k] * j[y.size() + i].data[k];
      lhs += p;
      scale += std::fabs(p);
      f32 |= y[i].dtype == DType::F32;
    }
  for (size_t i = 0; i < x.size(); ++i)
    for (size_t k = 0; k < x[i].data.size(); ++k) {
      double p = g1[y.size() + i].data[k] * t[i].data[k];
      rhs += p;
      scale += std::fabs(p);
      f32 |= x[i].dtype == DType::F32;
    }
  if (std::isfinite(scale) && std::isfinite(lhs) && std::isfinite(rhs) &&
      std::fabs(lhs - rhs) > (f32 ? 1e-3 : 1e-9) * std::max(1.0, scale))
    fuzz::fail("<u, J t> differs from <J^T u, t>", text,
               std::to_string(lhs) + " vs " + std::to_string(rhs));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::SourceMgr sm;
  auto m = fuzz::load(text, sm);
  if (!m)
    return 0;
  std::string src = fuzz::printed(*m);
  size_t n = m->functions.size();
  for (size_t i = 0; i < n; ++i) {
    Function &f = *m->functions[i];
    // Names the derived functions would take must be free.
    bool clash = false;
    for (const char *suffix : {".raw", ".simple", ".fwd"})
      clash |= m->lookup(f.name + suffix) != nullptr;
    if (!clash)
      checkFunction(*m, f, src);
  }
  // The module with every derived function round-trips.
  std::string once = fuzz::printed(*m);
  llvm::SourceMgr sm2;
  std::string diags;
  llvm::raw_string_ostream os(diags);
  auto m2 = fuzz::load(once, sm2, os);
  if (!m2)
    fuzz::fail("the module with derived functions does not parse", once, diags);
  if (fuzz::printed(*m2) != once)
    fuzz::fail("the module with derived functions does not round-trip", once);
  return 0;
}
