//===- AutodiffTest.cpp - Every adjoint rule against finite differences ---===//
//
// The property test of the adjoint pass: for every differentiable op, across
// shapes and every broadcasting direction, the reverse mode (a VJP with a
// random cotangent) and the forward mode agree with central differences.
//
//===----------------------------------------------------------------------===//
#include "Cases.h"
#include "TestUtil.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/AD/GradCheck.h"
#include "gradc/Transforms/Passes.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

using namespace gradc;

namespace {

using test::Case;
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
                         ::testing::ValuesIn(test::allCases()),
                         test::CaseName());
INSTANTIATE_TEST_SUITE_P(ModelOps, AdjointProperty,
                         ::testing::ValuesIn(test::modelCases()),
                         test::CaseName());

/// The printed adjoint must itself parse and verify: it is ordinary IR.
TEST(Autodiff, AdjointRoundTrips) {
  std::vector<Case> cases = test::allCases(), more = test::modelCases();
  cases.insert(cases.end(), more.begin(), more.end());
  for (const Case &c : cases) {
    auto m = test::parse(c.source);
    ASSERT_TRUE(m) << c.name;
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
