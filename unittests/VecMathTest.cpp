//===- VecMathTest.cpp - Accuracy of the JIT's f32 exp, expm1, tanh, sigmoid
//
// The JIT computes f32 exp, expm1 and tanh with its own vectorizable routines
// (lib/Ops/VecMath.cpp), and tanh and sigmoid of the same operand from one
// shared exponential (lib/Loops/ShareExp.cpp). Their error is measured here
// in ulps against the interpreter's formula (double precision, rounded to
// float: the correctly rounded result), over a dense sweep of the floats up
// to the overflow and underflow ranges, random inputs and the special
// values. The bounds are the ones docs/backends.md documents.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "gradc/Codegen/Jit.h"
#include "gradc/Ops/OpDef.h"

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
    return std::signbit(a) == std::signbit(b) || a != 0 ? 0 : 1;
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  // Map the sign-magnitude bits to a monotonic integer line.
  auto line = [](int32_t i) -> int64_t {
    return i < 0 ? INT32_MIN - int64_t(i) : i;
  };
  return std::llabs(line(ia) - line(ib));
}

/// Every function maps x: f32[N] to one or two f32[N] results.
const char *kModule = R"(
func @exp(%x: f32[N]) -> f32[N] {
  %y = exp %x
  return %y
}
func @expm1(%x: f32[N]) -> f32[N] {
  %y = expm1 %x
  return %y
}
func @tanh(%x: f32[N]) -> f32[N] {
  %y = tanh %x
  return %y
}
func @sigmoid(%x: f32[N]) -> f32[N] {
  %y = sigmoid %x
  return %y
}
func @both(%x: f32[N]) -> (f32[N], f32[N]) {
  %t = tanh %x
  %s = sigmoid %x
  return %t, %s
}
)";

/// The inputs: every 509th float of either sign up to |x| = 128 (which
/// covers the overflow of exp at 88.7 and its underflow to 0 at -104), 100k
/// random ones of the range that matters for tanh and sigmoid, and the
/// special values.
const std::vector<float> &inputs() {
  static const std::vector<float> xs = [] {
    std::vector<float> v = {
        0.0f,        -0.0f,       1.0f,         -1.0f,    0.5f,      -0.5f,
        0.49999997f, 0.34657359f, -0.34657359f, 88.7f,    88.72f,    88.73f,
        -87.3f,      -87.34f,     -103.9f,      -104.0f,  1e-30f,    -1e-30f,
        1e-45f,      -1e-45f,     20.0f,        INFINITY, -INFINITY, NAN};
    const uint32_t top = 0x43000000; // 128.0f
    for (uint32_t bits = 0; bits < top; bits += 509) {
      float x;
      std::memcpy(&x, &bits, 4);
      v.push_back(x);
      v.push_back(-x);
    }
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> narrow(-10, 10);
    for (int i = 0; i < 100000; ++i)
      v.push_back(narrow(rng));
    return v;
  }();
  return xs;
}

/// Runs @name on inputs() through the JIT; returns its results.
std::vector<std::vector<float>> run(const char *name, unsigned results) {
  const std::vector<float> &xs = inputs();
  auto m = test::parse(kModule);
  EXPECT_TRUE(m);
  if (!m)
    return {};
  auto jit = Jit::create(*m, LowerOptions());
  EXPECT_TRUE(bool(jit)) << llvm::toString(jit.takeError());
  const Function *f = nullptr;
  for (const auto &g : m->functions)
    if (g->name == name)
      f = g.get();
  auto fn = (*jit)->lookup(*f);
  EXPECT_TRUE(bool(fn));
  std::vector<std::vector<float>> out(results, std::vector<float>(xs.size()));
  void *in[] = {const_cast<float *>(xs.data())};
  void *outs[] = {out[0].data(), results > 1 ? out[1].data() : nullptr};
  int64_t n = xs.size();
  EXPECT_EQ((*fn)(in, &n, outs), 0);
  return out;
}

/// The largest ulp distance of `got` from the interpreter's formula for `k`
/// over inputs(), and where.
std::pair<int64_t, float> worst(const std::vector<float> &got, OpKind k) {
  const std::vector<float> &xs = inputs();
  ScalarFn ref = opDef(k).scalar;
  std::pair<int64_t, float> w{0, 0};
  for (size_t i = 0; i < xs.size() && i < got.size(); ++i) {
    double x = xs[i];
    int64_t d = ulpDistance(got[i], float(ref(&x)));
    if (d > w.first)
      w = {d, xs[i]};
  }
  return w;
}

TEST(VecMath, ExpWithin1Ulp) {
  auto [ulps, at] = worst(run("exp", 1)[0], OpKind::Exp);
  EXPECT_LE(ulps, 1) << "at x = " << at;
}

TEST(VecMath, Expm1Within2Ulp) {
  auto [ulps, at] = worst(run("expm1", 1)[0], OpKind::Expm1);
  EXPECT_LE(ulps, 2) << "at x = " << at;
}

TEST(VecMath, TanhWithin3Ulp) {
  auto [ulps, at] = worst(run("tanh", 1)[0], OpKind::Tanh);
  EXPECT_LE(ulps, 3) << "at x = " << at;
}

TEST(VecMath, SigmoidWithin3Ulp) {
  auto [ulps, at] = worst(run("sigmoid", 1)[0], OpKind::Sigmoid);
  EXPECT_LE(ulps, 3) << "at x = " << at;
}

// tanh and sigmoid of one x share e^-|x| and one division
// (lib/Loops/ShareExp.cpp).
TEST(VecMath, SharedTanhWithin4UlpSigmoidWithin3) {
  auto out = run("both", 2);
  ASSERT_EQ(out.size(), 2u);
  auto [tu, tat] = worst(out[0], OpKind::Tanh);
  EXPECT_LE(tu, 4) << "tanh at x = " << tat;
  auto [su, sat] = worst(out[1], OpKind::Sigmoid);
  EXPECT_LE(su, 3) << "sigmoid at x = " << sat;
}

} // namespace
