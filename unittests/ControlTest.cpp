//===- ControlTest.cpp - Calls, conditionals and scans --------------------===//
//
// The internals behind `call`, `cond` and `scan`: inlining (symbols bound per
// call site, names kept), the recursion check, simplification of ops with
// several results, and the interpreter's scan.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/IR/Inline.h"
#include "gradc/Interp/Interpreter.h"
#include "gradc/Transforms/Passes.h"

#include <gtest/gtest.h>

using namespace gradc;

namespace {

const char *kCalls = R"(
func @bc(%x: f64[N]) -> (f64[N,2], f64) {
  %y = reshape %x {shape=[N,1]}
  %z = broadcast_to %y {shape=[N,2]}
  %s = sum %x
  return %z, %s
}

func @twice(%x: f64[K]) -> f64[K,2] {
  %a, %b = call @bc(%x)
  %c = mul %a, %b
  return %c
}

func @f(%x: f64[M]) -> f64 {
  %p = call @twice(%x)
  %q, %r = call @bc(%x)
  %u = add %p, %q
  %s = sum %u
  %t = mul %s, %r
  return %t
}
)";

TEST(Inline, BindsSymbolsAndKeepsNames) {
  std::string diags;
  auto m = test::parse(kCalls, &diags);
  ASSERT_TRUE(m) << diags;
  Function &f = *m->lookup("f");
  Tensor x(DType::F64, {3});
  x.data = {1, 2, 3};
  auto before = evaluate(f, {x});
  ASSERT_TRUE(bool(before)) << llvm::toString(before.takeError());

  EXPECT_TRUE(inlineCalls(f));
  for (const auto &op : f.ops) {
    EXPECT_NE(op->kind, OpKind::Call);
    for (const NamedAttr &a : op->attrs)
      for (const Dim &d : a.value.list)
        EXPECT_TRUE(!d.isSym() || d.sym == "M") << a.name << " " << d.str();
    for (const Value *r : op->allResults())
      for (const Dim &d : r->type.dims)
        EXPECT_TRUE(!d.isSym() || d.sym == "M") << r->name;
  }
  // The caller's names survive: %p, %q, %r are the inlined results.
  for (const char *n : {"p", "q", "r"})
    EXPECT_NE(f.lookup(n), nullptr) << n;
  // Still valid IR, and the same function.
  std::string text = test::printed(*m);
  auto again = test::parse(text, &diags);
  ASSERT_TRUE(again) << diags << text;
  auto after = evaluate(f, {x});
  ASSERT_TRUE(bool(after));
  EXPECT_EQ((*before)[0].data, (*after)[0].data);
  EXPECT_FALSE(inlineCalls(f)); // nothing left
}

TEST(Verify, RecursionThroughThreeFunctions) {
  std::string diags;
  auto m = test::parse(R"(
func @a(%x: f64) -> f64 {
  %y = call @b(%x)
  return %y
}
func @b(%x: f64) -> f64 {
  %y = call @c(%x)
  return %y
}
func @c(%x: f64) -> f64 {
  %p = const 1 : f64
  %y = cond %p, @a, @c2(%x)
  return %y
}
func @c2(%x: f64) -> f64 {
  return %x
}
)",
                       &diags);
  EXPECT_FALSE(m);
  EXPECT_NE(diags.find("recursion is not supported: '@a' calls itself "
                       "(@a -> @b -> @c -> @a)"),
            std::string::npos)
      << diags;
}

TEST(Simplify, KeepsAndMergesOpsWithSeveralResults) {
  std::string diags;
  auto m = test::parse(R"(
func @g(%x: f64) -> (f64, f64) {
  %y = exp %x
  %z = sin %x
  return %y, %z
}
func @h(%x: f64) -> (f64, f64) {
  %y = cos %x
  return %y, %y
}
func @f(%p: f64, %x: f64) -> f64 {
  %a, %b = cond %p, @g, @h(%x)
  %c, %d = cond %p, @g, @h(%x)
  %e, %k = cond %p, @h, @g(%x)
  %s = add %b, %d
  %t = add %s, %k
  return %t
}
)",
                       &diags);
  ASSERT_TRUE(m) << diags;
  Function &f = *m->lookup("f");
  // Only the second results are used: DCE keeps all three conds, CSE merges
  // the two with the same branches.
  EXPECT_FALSE(runDCE(f));
  EXPECT_EQ(f.ops.size(), 5u);
  EXPECT_TRUE(runCSE(f));
  EXPECT_EQ(f.ops.size(), 4u);
  std::string text = test::printed(*m);
  EXPECT_NE(text.find("%s = add %b, %b"), std::string::npos) << text;
}

TEST(Interp, ScanStacksAtTheStepIndex) {
  std::string diags;
  auto m = test::parse(R"(
func @acc(%c: f64, %x: f64[2], %k: f64) -> (f64, f64[2]) {
  %s = sum %x
  %n = add %c, %s
  %y = mul %x, %k
  %z = add %y, %n
  return %n, %z
}
func @f(%xs: f64[3,2], %k: f64) -> (f64, f64[3,2], f64, f64[3,2]) {
  %z = const 0 : f64
  %c, %ys = scan @acc(%z, %xs, %k) {carries=1, scanned=1}
  %rc, %rys = scan @acc(%z, %xs, %k) {carries=1, scanned=1, reverse=true}
  return %c, %ys, %rc, %rys
}
)",
                       &diags);
  ASSERT_TRUE(m) << diags;
  Tensor xs(DType::F64, {3, 2}), k = Tensor::scalar(DType::F64, 10);
  xs.data = {1, 2, 3, 4, 5, 6};
  auto out = evaluate(*m->lookup("f"), {xs, k});
  ASSERT_TRUE(bool(out)) << llvm::toString(out.takeError());
  EXPECT_EQ((*out)[0].data, std::vector<double>{21});
  // Forward: running sums 3, 10, 21.
  EXPECT_EQ((*out)[1].data, (std::vector<double>{13, 23, 40, 50, 71, 81}));
  EXPECT_EQ((*out)[2].data, std::vector<double>{21});
  // Reverse: running sums from the end 21, 18, 11, still at index t.
  EXPECT_EQ((*out)[3].data, (std::vector<double>{31, 41, 48, 58, 61, 71}));
}

} // namespace
