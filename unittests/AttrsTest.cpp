//===- AttrsTest.cpp - Typed accessors of verified attributes -------------===//
#include "TestUtil.h"

#include "gradc/Ops/Attrs.h"
#include "gradc/Ops/Builder.h"

#include <gtest/gtest.h>

namespace gradc {
namespace {

const Op &opNamed(const Module &m, llvm::StringRef name) {
  for (const auto &op : m.functions[0]->ops)
    if (op->result && op->result->name == name)
      return *op;
  ADD_FAILURE() << "no op %" << name.str();
  std::abort();
}

TEST(Attrs, AccessorsResolveWhatTheVerifierChecked) {
  auto m = test::parse(R"(func @f(%x: f64[2,3,4]) -> f64[4,2,3] {
  %s = sum %x {axes=[-1, 0]}
  %a = sum %x
  %l = logsumexp %x
  %c = concat %x, %x {axis=-2}
  %p = pad %x {pads=[0,1,0,2,0,0]}
  %t = transpose %x {perm=[-1,0,1]}
  return %t
}
)");
  ASSERT_TRUE(m);
  EXPECT_EQ(reducedAxesOf(opNamed(*m, "s")), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(reducedAxesOf(opNamed(*m, "a")), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(singleAxisOf(opNamed(*m, "l"), 3), 2);
  EXPECT_EQ(axisOf(opNamed(*m, "c"), 3, 0), 1);
  EXPECT_EQ(padsOf(opNamed(*m, "p")), (std::vector<int64_t>{0, 1, 0, 2, 0, 0}));
  EXPECT_EQ(permOf(opNamed(*m, "t")), (std::vector<int64_t>{2, 0, 1}));
  EXPECT_FALSE(isMatrixTranspose(opNamed(*m, "t")));
}

TEST(Attrs, PlainAndWrittenMatrixTransposesAreTheSame) {
  auto m = test::parse(R"(func @f(%x: f64[2,3]) -> f64[2,3] {
  %a = transpose %x
  %b = transpose %a {perm=[1,0]}
  return %b
}
)");
  ASSERT_TRUE(m);
  EXPECT_TRUE(isMatrixTranspose(opNamed(*m, "a")));
  EXPECT_TRUE(isMatrixTranspose(opNamed(*m, "b")));
}

// An accessor on an op that never went through the verifier stops with an
// internal error instead of returning garbage.
TEST(AttrsDeathTest, AnUnverifiedAttributeIsAnInternalError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Value x;
  x.name = "x";
  x.type = Type{DType::F64, {Dim::fixed(2)}};
  Op op;
  op.kind = OpKind::Sum;
  op.operands = {&x};
  op.attrs = {{"axes", Attr::dims({Dim::fixed(5)}), {}}};
  EXPECT_DEATH(reducedAxesOf(op), "was never verified: axis 5 is out of range");
}

} // namespace
} // namespace gradc
