//===- ParserTest.cpp - Parser, printer and verifier internals ------------===//
#include "TestUtil.h"

#include <gtest/gtest.h>

using namespace gradc;

TEST(Parser, RoundTripIsAFixedPoint) {
  const char *src = R"(
func @f(%X: f32[N,3], %b: f32[3]) -> (f32[N,3], f32) {
  %u = add %X, %b
  %s = sum %u {axes=[0,1]}
  %c = const [[1, 2.5], [-3, 1e-3]] : f32[2,2]
  return %u, %s
})";
  auto m = test::parse(src);
  ASSERT_TRUE(m);
  std::string once = test::printed(*m);
  auto m2 = test::parse(once);
  ASSERT_TRUE(m2);
  EXPECT_EQ(once, test::printed(*m2));
}

TEST(Parser, SymbolicDimsUnifyByName) {
  auto m = test::parse("func @f(%a: f64[N,K], %b: f64[K,M]) -> f64[N,M] {\n"
                       "  %c = matmul %a, %b\n  return %c\n}\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->functions[0]->ops[0]->result->type.str(), "f64[N,M]");
}

TEST(Parser, ReportsEveryBadLine) {
  std::string diags;
  auto m = test::parse("func @f(%a: f64) -> f64 {\n  %b = frob %a\n"
                       "  %c = add %a\n  return %a\n}\n",
                       &diags);
  EXPECT_FALSE(m);
  EXPECT_NE(diags.find("test.gir:2:8: error: unknown operation 'frob'"),
            std::string::npos);
  EXPECT_NE(diags.find("test.gir:3:8: error: 'add' expects 2 operands, got 1"),
            std::string::npos);
}

TEST(Parser, ConstSplatFillsTheType) {
  auto m = test::parse("func @f() -> f64[2,3] {\n  %c = const 7 : f64[2,3]\n"
                       "  return %c\n}\n");
  ASSERT_TRUE(m);
  const Tensor &c = m->functions[0]->ops[0]->constValue;
  EXPECT_EQ(c.size(), 6);
  EXPECT_EQ(c.data[5], 7.0);
}

TEST(Verifier, BroadcastRules) {
  EXPECT_TRUE(test::parse("func @f(%a: f64[N,1], %b: f64[1,K]) -> f64[N,K] {\n"
                          "  %c = add %a, %b\n  return %c\n}\n"));
  std::string diags;
  EXPECT_FALSE(test::parse("func @f(%a: f64[3,4], %b: f64[5,4]) -> f64[3,4] {\n"
                           "  %c = add %a, %b\n  return %c\n}\n",
                           &diags));
  EXPECT_NE(diags.find("not broadcast-compatible: f64[3,4] vs f64[5,4]"),
            std::string::npos);
}

TEST(Parser, EmptyModuleIsAnError) {
  std::string diags;
  EXPECT_FALSE(test::parse("", &diags));
  EXPECT_NE(diags.find("error: expected at least one function"),
            std::string::npos);
  EXPECT_FALSE(test::parse("# only a comment\n", &diags));
}

TEST(Parser, FailedDefinitionsAreReportedOnce) {
  std::string diags;
  EXPECT_FALSE(test::parse("func @f(%a: f64) -> f64 {\n  %b = frob %a\n"
                           "  %c = neg %b\n  return %c\n}\n",
                           &diags));
  EXPECT_NE(diags.find("unknown operation 'frob'"), std::string::npos);
  EXPECT_EQ(diags.find("undefined"), std::string::npos) << diags;
  EXPECT_EQ(diags.find("no 'return'"), std::string::npos) << diags;
}

// Printing nests lists without recursion: a shape of a million ones (which
// the verifier never lets a type have, but a Tensor can) overflowed the stack.
TEST(Printer, NestedListsAreIterative) {
  Tensor t(DType::F64, Shape(1000000, 1), 2.0);
  std::string s;
  llvm::raw_string_ostream os(s);
  printNestedList(t, os, formatNumber);
  EXPECT_EQ(s, std::string(1000000, '[') + "2" + std::string(1000000, ']'));

  Tensor m(DType::F32, {2, 1, 3});
  for (int i = 0; i < 6; ++i)
    m.data[i] = i;
  s.clear();
  printNestedList(m, os, formatNumber);
  EXPECT_EQ(s, "[[[0, 1, 2]], [[3, 4, 5]]]");
}

TEST(Limits, ElementCountsAreChecked) {
  EXPECT_EQ(checkedProduct({3, 4, 5}), 60);
  EXPECT_EQ(checkedProduct({}), 1);
  EXPECT_EQ(checkedProduct({int64_t(1) << 20, int64_t(1) << 20}), int64_t(1)
                                                                      << 40);
  // Past the limit, and past int64_t: 2^31 * 2^31 * 2^31 * 4 wraps to 0.
  EXPECT_FALSE(checkedProduct({(int64_t(1) << 20) + 1, int64_t(1) << 20}));
  int64_t d = kMaxDim;
  EXPECT_FALSE(checkedProduct({d, d, d, 4}));
  EXPECT_FALSE(checkedProduct({d, d, d, 4}, INT64_MAX));
  EXPECT_FALSE(checkedProduct({-1, 2}));
  EXPECT_EQ(checkedProduct({7, 0}, 10), 0);
}

// Past the op limit of a function (here lowered to 3): one error at the op
// that is one too many, and parsing goes on with the next function.
TEST(Limits, OpsPerFunction) {
  const char *src =
      "func @f(%a: f64) -> f64 {\n  %b = neg %a\n  %c = neg %b\n"
      "  %d = neg %c\n  %e = neg %d\n  return %e\n}\n"
      "func @g(%a: f64) -> f64 {\n  %b = neg %a\n  return %b\n}\n"
      "func @h(%a: f64) -> f64 {\n  %b = frob %a\n  return %b\n}\n";
  llvm::SourceMgr sm;
  sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBuffer(src, "test.gir"),
                        llvm::SMLoc());
  std::string diags;
  llvm::raw_string_ostream os(diags);
  DiagEngine diag(sm, os);
  EXPECT_FALSE(parseModule(diag, /*maxOps=*/3));
  EXPECT_NE(diags.find("test.gir:5:3: error: too many operations in '@f' "
                       "(at most 3)"),
            std::string::npos)
      << diags;
  EXPECT_NE(diags.find("test.gir:13:8: error: unknown operation 'frob'"),
            std::string::npos)
      << diags;
  EXPECT_EQ(diag.errorCount(), 2u);
}
