//===- VecMathTest.cpp - Accuracy of the JIT's f32 exp and tanh
//---------------===//
//
// The JIT computes f32 exp and tanh with its own vectorizable routines
// (lib/Ops/VecMath.cpp). Their error is measured here in ulps against the
// correctly rounded result (double precision rounded to float), over the
// whole range and the special values.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "gradc/Codegen/Jit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace gradc;

namespace {

int64_t ulpDistance(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  if (a == b)
    return 0;
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  // Map the sign-magnitude bits to a monotonic integer line.
  auto line = [](int32_t i) -> int64_t {
    return i < 0 ? INT32_MIN - int64_t(i) : i;
  };
  return std::llabs(line(ia) - line(ib));
}

/// Runs exp and tanh of `xs` through the JIT; returns their results.
void run(const std::vector<float> &xs, std::vector<float> &e,
         std::vector<float> &t) {
  auto m = test::parse("func @f(%x: f32[N]) -> (f32[N], f32[N]) {\n"
                       "  %e = exp %x\n  %t = tanh %x\n  return %e, %t\n}\n");
  ASSERT_TRUE(m);
  auto jit = Jit::create(*m, LowerOptions());
  ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());
  auto fn = (*jit)->lookup(*m->functions[0]);
  ASSERT_TRUE(bool(fn));
  e.resize(xs.size());
  t.resize(xs.size());
  void *in[] = {const_cast<float *>(xs.data())};
  void *out[] = {e.data(), t.data()};
  int64_t n = xs.size();
  ASSERT_EQ((*fn)(in, &n, out), 0);
}

std::vector<float> samples() {
  std::vector<float> xs = {0.0f,   -0.0f,       1.0f,      -1.0f,  0.5f,
                           -0.5f,  0.49999997f, 88.7f,     88.72f, 88.73f,
                           -87.3f, -103.9f,     -104.0f,   1e-30f, -1e-30f,
                           20.0f,  INFINITY,    -INFINITY, NAN};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> wide(-110.0f, 90.0f), narrow(-3, 3);
  for (int i = 0; i < 200000; ++i)
    xs.push_back(i % 2 ? wide(rng) : narrow(rng));
  return xs;
}

/// The largest ulp distance of `got` from `ref` over `xs`, and where.
std::pair<int64_t, float> worst(const std::vector<float> &xs,
                                const std::vector<float> &got,
                                double (*ref)(double)) {
  std::pair<int64_t, float> w{0, 0};
  for (size_t i = 0; i < xs.size(); ++i) {
    int64_t d = ulpDistance(got[i], float(ref(double(xs[i]))));
    if (d > w.first)
      w = {d, xs[i]};
  }
  return w;
}

TEST(VecMath, ExpWithin2Ulp) {
  std::vector<float> xs = samples(), e, t;
  run(xs, e, t);
  auto [ulps, at] = worst(xs, e, [](double x) { return std::exp(x); });
  EXPECT_LE(ulps, 2) << "at x = " << at;
}

TEST(VecMath, TanhWithin3Ulp) {
  std::vector<float> xs = samples(), e, t;
  run(xs, e, t);
  auto [ulps, at] = worst(xs, t, [](double x) { return std::tanh(x); });
  EXPECT_LE(ulps, 3) << "at x = " << at;
}

} // namespace
