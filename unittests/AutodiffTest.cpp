//===- AutodiffTest.cpp - Every adjoint rule against finite differences
//-------===//
//
// The property test of the adjoint pass: for every differentiable op, across
// shapes and every broadcasting direction, the reverse mode (a VJP with a
// random cotangent) and the forward mode agree with central differences.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/AD/GradCheck.h"
#include "gradc/Transforms/Passes.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

using namespace gradc;

namespace {

struct Case {
  std::string name, source;
};
void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

/// f(a, b) = op(a, b) for the given operand types.
Case binary(const std::string &op, const std::string &ta,
            const std::string &tb) {
  return {op + " " + ta + " " + tb,
          fmt::format("func @f(%a: {}, %b: {}) -> {} {{\n  %y = {} %a, %b\n  "
                      "%z = mul %y, %y\n  %s = sum %z\n  return %s\n}}\n",
                      ta, tb, "f64", op)};
}

Case unary(const std::string &op, const std::string &t) {
  return {op + " " + t,
          fmt::format("func @f(%a: {0}) -> {0} {{\n  %y = {1} %a\n  "
                      "return %y\n}}\n",
                      t, op)};
}

Case body(const std::string &name, const std::string &sig,
          const std::string &ops) {
  return {name, "func @f(" + sig + " {\n" + ops + "}\n"};
}

std::vector<Case> allCases() {
  std::vector<Case> cases;
  const char *shapes[][2] = {
      {"f64[3,4]", "f64[3,4]"}, {"f64[3,4]", "f64[4]"},   // row
      {"f64[3,4]", "f64[3,1]"}, {"f64[3,1]", "f64[3,4]"}, // column
      {"f64[3,4]", "f64"},      {"f64", "f64[3,4]"},      // scalar
      {"f64[1,4]", "f64[3,1]"},                           // [1,K]+[N,1]
      {"f64[N,4]", "f64[4]"},   {"f64[N,1]", "f64[1,K]"}, // symbolic
  };
  for (const char *op : {"add", "sub", "mul", "div", "max", "min", "pow"})
    for (auto &s : shapes)
      cases.push_back(binary(op, s[0], s[1]));
  for (const char *op : {"neg", "exp", "log", "sqrt", "tanh", "sigmoid", "relu",
                         "abs", "sin", "cos"}) {
    cases.push_back(unary(op, "f64[3,4]"));
    cases.push_back(unary(op, "f32[N]"));
  }
  cases.push_back(body("select", "%a: f64[3,4], %b: f64[4]) -> f64[3,4]",
                       "  %c = gt %a, %b\n  %y = select %c, %a, %b\n"
                       "  return %y\n"));
  cases.push_back(body("select scalar branch", "%a: f64[3], %b: f64) -> f64[3]",
                       "  %c = lt %a, %b\n  %y = select %c, %b, %a\n"
                       "  return %y\n"));
  // Linear algebra, non-square, every supported rank.
  cases.push_back(body("matmul 2x2", "%a: f64[3,4], %b: f64[4,5]) -> f64[3,5]",
                       "  %y = matmul %a, %b\n  return %y\n"));
  cases.push_back(body("matmul 2x1", "%a: f64[3,4], %b: f64[4]) -> f64[3]",
                       "  %y = matmul %a, %b\n  return %y\n"));
  cases.push_back(body("matmul 1x2", "%a: f64[4], %b: f64[4,5]) -> f64[5]",
                       "  %y = matmul %a, %b\n  return %y\n"));
  cases.push_back(body("matmul symbolic",
                       "%a: f64[N,K], %b: f64[K,M]) -> f64[N,M]",
                       "  %y = matmul %a, %b\n  return %y\n"));
  cases.push_back(body("dot", "%a: f64[5], %b: f64[5]) -> f64",
                       "  %y = dot %a, %b\n  return %y\n"));
  cases.push_back(body("transpose", "%a: f64[3,4]) -> f64[4,3]",
                       "  %y = transpose %a\n  return %y\n"));
  cases.push_back(body("transpose perm", "%a: f64[2,3,4]) -> f64[4,2,3]",
                       "  %y = transpose %a {perm=[2,0,1]}\n  return %y\n"));
  cases.push_back(body("reshape", "%a: f64[N,4]) -> f64[4,N]",
                       "  %y = reshape %a {shape=[4,N]}\n  return %y\n"));
  cases.push_back(body("broadcast_to row", "%a: f64[4]) -> f64[3,4]",
                       "  %y = broadcast_to %a {shape=[3,4]}\n  return %y\n"));
  cases.push_back(body("broadcast_to column", "%a: f64[N,1]) -> f64[N,4]",
                       "  %y = broadcast_to %a {shape=[N,4]}\n  return %y\n"));
  cases.push_back(body("broadcast_to scalar",
                       "%a: f64, %b: f64[N]) -> f64[2,N]",
                       "  %y = broadcast_to %a {shape=[2,N]}\n"
                       "  %z = mul %y, %b\n  return %z\n"));
  // Reductions and the stable composites.
  for (const char *op : {"sum", "mean", "reduce_max"}) {
    std::string o = op;
    cases.push_back(body(o + " all", "%a: f64[N,3]) -> f64",
                         "  %y = " + o + " %a\n  return %y\n"));
    cases.push_back(body(o + " axis 0", "%a: f64[N,3]) -> f64[3]",
                         "  %y = " + o + " %a {axes=[0]}\n  return %y\n"));
    cases.push_back(
        body(o + " keepdims", "%a: f64[2,N,3]) -> f64[2,1,3]",
             "  %y = " + o + " %a {axes=[1], keepdims=true}\n  return %y\n"));
    cases.push_back(body(o + " axes 0,2", "%a: f64[2,3,4]) -> f64[3]",
                         "  %y = " + o + " %a {axes=[0,-1]}\n  return %y\n"));
  }
  for (const char *op : {"logsumexp", "softmax", "log_softmax"}) {
    std::string o = op;
    std::string out = o == "logsumexp" ? "f64[N]" : "f64[N,5]";
    std::string out0 = o == "logsumexp" ? "f64[5]" : "f64[N,5]";
    cases.push_back(body(o + " last axis", "%a: f64[N,5]) -> " + out,
                         "  %y = " + o + " %a\n  return %y\n"));
    cases.push_back(body(o + " axis 0", "%a: f64[N,5]) -> " + out0,
                         "  %y = " + o + " %a {axis=0}\n  return %y\n"));
  }
  // Fan-out, constants, a chain through everything.
  cases.push_back(body("fan-out", "%x: f64[3]) -> f64[3]",
                       "  %y = mul %x, %x\n  %z = add %y, %x\n"
                       "  %w = mul %z, %x\n  return %w\n"));
  cases.push_back(body("two outputs", "%x: f64[3], %w: f64) -> (f64[3], f64)",
                       "  %y = mul %x, %w\n  %s = sum %y\n  return %y, %s\n"));
  cases.push_back(body("const", "%x: f64[2]) -> f64[2]",
                       "  %c = const [2, 3] : f64[2]\n  %y = mul %x, %c\n"
                       "  %h = const 0.5 : f64\n  %z = pow %y, %h\n"
                       "  %e = exp %z\n  return %e\n"));
  cases.push_back(
      body("mlp",
           "%X: f64[N,4], %W1: f64[4,3], %b1: f64[3], %W2: f64[3,2], "
           "%b2: f64[2], %Y: f64[N,2]) -> f64",
           "  %u = matmul %X, %W1\n  %h0 = add %u, %b1\n  %h = tanh %h0\n"
           "  %z0 = matmul %h, %W2\n  %z = add %z0, %b2\n"
           "  %l = logsumexp %z {axis=1}\n  %p = mul %Y, %z\n"
           "  %ps = sum %p {axes=[1]}\n  %r = sub %l, %ps\n  %L = mean %r\n"
           "  return %L\n"));
  return cases;
}

class AdjointProperty : public ::testing::TestWithParam<Case> {};

TEST_P(AdjointProperty, MatchesFiniteDifferences) {
  std::string diags;
  auto m = test::parse(GetParam().source, &diags);
  ASSERT_TRUE(m) << diags << GetParam().source;
  for (uint64_t seed : {1, 2, 3}) {
    CheckOptions opts;
    opts.seed = seed;
    auto report = gradCheck(*m->functions[0], opts);
    ASSERT_TRUE(bool(report)) << llvm::toString(report.takeError());
    for (const CheckRow &r : report->rows)
      EXPECT_TRUE(r.ok) << GetParam().name << " seed " << seed << ": " << r.what
                        << " rel error " << r.maxRelError;
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, AdjointProperty,
                         ::testing::ValuesIn(allCases()), [](const auto &info) {
                           std::string n = info.param.name;
                           for (char &c : n)
                             if (!std::isalnum((unsigned char)c))
                               c = '_';
                           return n + "_" + std::to_string(info.index);
                         });

/// The printed adjoint must itself parse and verify: it is ordinary IR.
TEST(Autodiff, AdjointRoundTrips) {
  for (const Case &c : allCases()) {
    auto m = test::parse(c.source);
    ASSERT_TRUE(m);
    GradOptions opts;
    opts.vjp = true;
    auto g = buildGradient(*m, *m->functions[0], opts);
    ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
    PassManager(simplificationPipeline()).run(**g);
    std::string text = test::printed(*m), diags;
    auto again = test::parse(text, &diags);
    ASSERT_TRUE(again) << c.name << "\n" << diags << text;
    EXPECT_EQ(text, test::printed(*again));
  }
}

/// A gradient check of the gradient: second derivatives through the adjoint.
TEST(Autodiff, SecondDerivatives) {
  auto m = test::parse("func @f(%x: f64[3], %w: f64[3]) -> f64 {\n"
                       "  %y = mul %x, %w\n  %t = tanh %y\n  %e = exp %x\n"
                       "  %s = mul %t, %e\n  %l = sum %s\n  return %l\n}\n");
  ASSERT_TRUE(m);
  auto g = buildGradient(*m, *m->functions[0], GradOptions());
  ASSERT_TRUE(bool(g));
  PassManager(simplificationPipeline()).run(**g);
  // @f.grad returns (f, df/dx, df/dw); checking it checks the Hessian.
  auto report = gradCheck(**g, CheckOptions());
  ASSERT_TRUE(bool(report)) << llvm::toString(report.takeError());
  for (const CheckRow &r : report->rows)
    EXPECT_TRUE(r.ok) << r.what << " rel error " << r.maxRelError;
}

/// The check reports failure when the error exceeds the tolerance.
TEST(GradCheck, EnforcesTheTolerance) {
  auto m = test::parse("func @f(%x: f64[4]) -> f64[4] {\n  %y = sin %x\n"
                       "  return %y\n}\n");
  ASSERT_TRUE(m);
  CheckOptions opts;
  auto loose = gradCheck(*m->functions[0], opts);
  ASSERT_TRUE(bool(loose));
  EXPECT_TRUE(loose->ok());
  opts.tolerance = 0; // finite differences are never exact for sin
  auto strict = gradCheck(*m->functions[0], opts);
  ASSERT_TRUE(bool(strict));
  EXPECT_FALSE(strict->ok());
}

} // namespace
