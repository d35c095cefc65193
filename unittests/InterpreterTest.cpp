//===- InterpreterTest.cpp - The reference interpreter --------------------===//
#include "TestUtil.h"

#include "gradc/Interp/Interpreter.h"
#include "gradc/Interp/Values.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace gradc;

static Tensor value(const char *text) {
  auto t = parseValue(text);
  EXPECT_TRUE(bool(t)) << llvm::toString(t.takeError());
  return *t;
}

TEST(Interpreter, MiniBatchAffineBindsN) {
  auto m = test::parse(
      "func @f(%X: f64[N,2], %W: f64[2,3], %b: f64[3]) -> f64[N,3] {\n"
      "  %u = matmul %X, %W\n  %z = add %u, %b\n  return %z\n}\n");
  ASSERT_TRUE(m);
  auto out = evaluate(*m->functions[0],
                      {value("[[1,2],[3,4],[5,6]]"), value("[[1,0,1],[0,1,1]]"),
                       value("[10,20,30]")});
  ASSERT_TRUE(bool(out));
  EXPECT_EQ((*out)[0].shape, (Shape{3, 3}));
  EXPECT_EQ((*out)[0].data[2], 1 + 2 + 30);
  EXPECT_EQ((*out)[0].data[7], 6 + 20);
}

TEST(Interpreter, InconsistentSymbolIsAnError) {
  auto m = test::parse("func @f(%a: f64[N], %b: f64[N]) -> f64[N] {\n"
                       "  %c = add %a, %b\n  return %c\n}\n");
  ASSERT_TRUE(m);
  auto out = evaluate(*m->functions[0], {value("[1,2]"), value("[1,2,3]")});
  ASSERT_FALSE(bool(out));
  EXPECT_EQ(llvm::toString(out.takeError()),
            "symbolic dimension 'N' is 2 in '%a' but 3 in '%b'");
}

TEST(Interpreter, F32ResultsAreRounded) {
  auto m = test::parse("func @f(%a: f32) -> f32 {\n  %b = div %a, %a\n"
                       "  %c = exp %a\n  return %c\n}\n");
  ASSERT_TRUE(m);
  auto out = evaluate(*m->functions[0], {value("0.1")});
  ASSERT_TRUE(bool(out));
  EXPECT_EQ((*out)[0].data[0], double(float(std::exp(double(0.1f)))));
}

TEST(Interpreter, SoftmaxIsStable) {
  auto m = test::parse("func @f(%a: f64[3]) -> f64[3] {\n"
                       "  %s = softmax %a\n  return %s\n}\n");
  ASSERT_TRUE(m);
  auto out = evaluate(*m->functions[0], {value("[1000, 1000, -1000]")});
  ASSERT_TRUE(bool(out));
  EXPECT_DOUBLE_EQ((*out)[0].data[0], 0.5);
  EXPECT_DOUBLE_EQ((*out)[0].data[2], 0.0);
}

TEST(Values, JsonNumbers) {
  EXPECT_EQ(jsonNumber(0.1, DType::F64), "0.10000000000000001");
  EXPECT_EQ(jsonNumber(double(0.1f), DType::F32), "0.100000001");
  EXPECT_EQ(jsonNumber(NAN, DType::F64), "NaN");
  EXPECT_EQ(jsonNumber(-INFINITY, DType::F32), "-Infinity");
  EXPECT_EQ(jsonNumber(-12, DType::F64), "-12");
}

TEST(Values, NestedListsAndErrors) {
  Tensor t = value("[[1, 2], [3, 4], [5, 6]]");
  EXPECT_EQ(t.shape, (Shape{3, 2}));
  EXPECT_FALSE(bool(parseValue("[[1,2],[3]]")));
  EXPECT_FALSE(bool(parseValue("[1,")));
  std::string deep(100000, '[');
  auto r = parseValue(deep);
  ASSERT_FALSE(bool(r));
  EXPECT_NE(llvm::toString(r.takeError()).find("nested too deeply"),
            std::string::npos);
}
