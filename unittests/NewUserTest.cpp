//===- NewUserTest.cpp - Suggestions, C names, has_aux, check pinning ----===//
#include "TestUtil.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/AD/GradCheck.h"
#include "gradc/IR/ABI.h"
#include "gradc/Interp/Values.h"
#include "gradc/Support/Suggest.h"

#include <gtest/gtest.h>

using namespace gradc;

namespace {

TEST(Suggest, EditDistanceScalesWithLength) {
  std::vector<std::string> ops = {"matmul", "select", "tanh", "log_softmax"};
  EXPECT_EQ(closestName("matmull", ops), "matmul");
  EXPECT_EQ(closestName("tahn", ops), ""); // a swap is 2 edits: too far at 4
  EXPECT_EQ(closestName("tanhh", ops), "tanh"); // 1 edit
  EXPECT_EQ(closestName("Tanh", ops), "tanh");  // case only
  EXPECT_EQ(closestName("logsoftmax", ops), "log_softmax");
  EXPECT_EQ(closestName("frobnicate", ops), "");
  std::vector<std::string> args = {"x", "y", "W1"};
  EXPECT_EQ(closestName("q", args), "");    // one letter: no guess
  EXPECT_EQ(closestName("w1", args), "W1"); // but case always
  EXPECT_EQ(didYouMean("w1", args, "%"), "; did you mean '%W1'?");
}

TEST(CNames, OutputsAreNamedAfterTheReturnedValues) {
  auto m = test::parse(R"(
func @f(%dz: f64[2], %int: f64) -> (f64[2], f64[2], f64) {
  %s = mul %dz, %int
  return %s, %dz, %int
}
)");
  ASSERT_TRUE(m);
  const Function &f = *m->functions[0];
  CNames n = cNames(f);
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"dz", "int_1"}));
  // An input returned as it is gets a suffix; so does a keyword.
  EXPECT_EQ(n.outputs, (std::vector<std::string>{"s", "dz_1", "int_2"}));
  EXPECT_EQ(cPrototype(f), "int gradc_f(const double *dz, const double *int_1, "
                           "double *s, double *dz_1, double *int_2)");
}

TEST(SeededPrimal, OnlyGradientsOfAScalarResult) {
  auto m = test::parse(R"(
func @f(%x: f64[3]) -> (f64, f64[3]) {
  %s = sum %x
  return %s, %x
}
)");
  ASSERT_TRUE(m);
  Function &f = *m->functions[0];
  GradOptions vjp;
  vjp.vjp = true;
  auto g = buildGradient(*m, f, vjp);
  ASSERT_TRUE(bool(g));
  EXPECT_EQ(seededPrimal(*m, **g), nullptr); // two cotangents
  EXPECT_EQ(cPrototypes(*m, **g).size(), 2u);
  m->functions.pop_back();
  GradOptions aux;
  aux.hasAux = true;
  g = buildGradient(*m, f, aux);
  ASSERT_TRUE(bool(g));
  // has_aux: one seed, for the loss; all results, then the gradient.
  EXPECT_EQ((*g)->args.size(), 2u);
  EXPECT_EQ((*g)->results.size(), 3u);
  EXPECT_EQ(seededPrimal(*m, **g), &f);
  std::vector<std::string> protos = cPrototypes(*m, **g);
  ASSERT_EQ(protos.size(), 4u);
  EXPECT_EQ(protos[2], "int gradc_f_grad_noseed(const double *x, double *s, "
                       "double *x_1, double *dx)");
}

TEST(GradCheck, PinnedArgumentsAndUnexercisedRows) {
  auto m = test::parse(R"(
func @f(%x: f64[N], %k: f64[N]) -> f64 {
  %one = const 1 : f64
  %on = eq %k, %one
  %p = mul %on, %x
  %s = sum %p
  return %s
}
)");
  ASSERT_TRUE(m);
  CheckOptions opts;
  auto sampled = gradCheck(*m->functions[0], opts);
  ASSERT_TRUE(bool(sampled));
  EXPECT_TRUE(sampled->ok());
  for (const CheckRow &r : sampled->rows)
    EXPECT_FALSE(r.exercised) << r.what;
  opts.pinned["k"] = *parseValue("[1, 0, 1, 1, 0]");
  auto pinned = gradCheck(*m->functions[0], opts);
  ASSERT_TRUE(bool(pinned));
  EXPECT_EQ(pinned->pinned, std::vector<std::string>{"k"});
  ASSERT_EQ(pinned->dims.size(), 1u);
  EXPECT_EQ(pinned->dims[0].second, 5); // bound by the pinned value
  ASSERT_EQ(pinned->rows.size(), 2u);   // x and the jvp; k is not checked
  for (const CheckRow &r : pinned->rows)
    EXPECT_TRUE(r.ok && r.exercised) << r.what;
}

TEST(PrintText, SummarizesLikeNumpy) {
  Tensor t(DType::F64, {1001});
  for (int64_t i = 0; i < t.size(); ++i)
    t.data[i] = double(i);
  std::string s;
  llvm::raw_string_ostream os(s);
  printText({{"t", t}}, {}, os, /*summarize=*/true);
  EXPECT_EQ(s, "t : f64[1001] = [   0     1     2  ...   998   999  1000]\n");
  Tensor small(DType::F64, {1000}, 7.0);
  s.clear();
  printText({{"u", small}}, {}, os, true);
  EXPECT_EQ(s.find("..."), std::string::npos);
}

} // namespace
