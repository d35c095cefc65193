//===- LoopsTest.cpp - The loop IR: builder, printer, lowering ------------===//
#include "Cases.h"
#include "TestUtil.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/Loops/LoopBuilder.h"
#include "gradc/Loops/Lower.h"
#include "gradc/Ops/OpDef.h"

#include <gtest/gtest.h>

#include <functional>

using namespace gradc;
using namespace gradc::loops;

namespace {

std::string text(const LoopFunction &fn) {
  std::string s;
  llvm::raw_string_ostream os(s);
  fn.print(os);
  return s;
}

/// Calls `fn` on every statement, nested ones included.
void walk(const std::vector<Stmt> &body,
          const std::function<void(const Stmt &)> &fn) {
  for (const Stmt &s : body) {
    fn(s);
    walk(s.body, fn);
  }
}

TEST(ExprBuilder, FoldsIndexArithmetic) {
  LoopFunction fn;
  ExprBuilder b(fn);
  const Expr *n = b.sym("N");
  EXPECT_EQ(b.add(b.i(0), n), n);
  EXPECT_EQ(b.mul(b.i(1), n), n);
  EXPECT_EQ(b.mul(n, b.i(0))->i, 0);
  EXPECT_EQ(b.mul(b.i(3), b.i(4))->i, 12);
  // Small constants are shared, so that equal indices are the same pointer.
  EXPECT_EQ(b.i(0), b.i(0));
  // Row-major offset of [i, j] in [N, 4]: i*4 + j, with no `0*N + ...`.
  const Expr *i = b.sym("i"), *j = b.sym("j");
  const Expr *off = b.linear({i, j}, {n, b.i(4)});
  ASSERT_EQ(off->kind, Expr::Add);
  EXPECT_EQ(off->args[0]->kind, Expr::Mul);
  EXPECT_EQ(off->args[1], j);
  // Casting a constant gives a constant.
  const Expr *c = b.cast(b.i(3), Scalar::F32);
  EXPECT_EQ(c->kind, Expr::Float);
  EXPECT_EQ(c->f, 3.0);
}

/// Every op of the test programs (and of their adjoints) lowers to loop IR
/// in which `Apply` names only elementwise ops, and every read of a
/// variable is of one the function declares.
class LowerEveryOp : public ::testing::TestWithParam<test::Case> {};

TEST_P(LowerEveryOp, ApplyIsElementwise) {
  auto m = test::parse(GetParam().source);
  ASSERT_TRUE(m);
  GradOptions go;
  go.vjp = true;
  auto g = buildGradient(*m, *m->functions[0], go);
  ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
  for (bool blas : {true, false})
    for (const auto &f : m->functions) {
      std::unique_ptr<LoopFunction> fn = lowerToLoops(*f, {blas});
      EXPECT_FALSE(text(*fn).empty());
      std::function<void(const Expr *)> check = [&](const Expr *e) {
        if (e->kind == Expr::Apply) {
          EXPECT_TRUE(opDef(e->op).elementwise) << mnemonic(e->op).str();
        }
        if (e->kind == Expr::Read) {
          EXPECT_LT(e->var, fn->vars.size());
        }
        for (const Expr *a : e->args)
          check(a);
      };
      walk(fn->body, [&](const Stmt &s) {
        for (const Expr *e : {s.a, s.b})
          if (e)
            check(e);
      });
    }
}

/// Cut into the smallest parts allowed (LoopOptions::partSize = 1), every
/// function of the test programs and their adjoints names each variable in
/// one part only, and no part starts right after a comment; at the default
/// size each is one part.
TEST_P(LowerEveryOp, PartsShareNoVariable) {
  auto m = test::parse(GetParam().source);
  ASSERT_TRUE(m);
  GradOptions go;
  go.vjp = true;
  auto g = buildGradient(*m, *m->functions[0], go);
  ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
  for (const auto &f : m->functions) {
    EXPECT_TRUE(lowerToLoops(*f, {})->cuts.empty());
    LoopOptions o;
    o.partSize = 1;
    std::unique_ptr<LoopFunction> fn = lowerToLoops(*f, o);
    std::vector<std::pair<size_t, size_t>> parts = fn->parts();
    EXPECT_EQ(parts.size(), fn->cuts.size() + 1);
    std::vector<int> partOf(fn->vars.size(), -1);
    for (size_t k = 0; k < parts.size(); ++k) {
      auto name = [&](unsigned v) {
        ASSERT_LT(v, partOf.size());
        EXPECT_TRUE(partOf[v] == -1 || partOf[v] == int(k))
            << "@" << f->name << ": %" << fn->vars[v].name << " in parts "
            << partOf[v] << " and " << k;
        partOf[v] = k;
      };
      std::function<void(const Expr *)> inExpr = [&](const Expr *e) {
        if (e->kind == Expr::Read)
          name(e->var);
        for (const Expr *a : e->args)
          inExpr(a);
      };
      std::vector<Stmt> body(fn->body.begin() + parts[k].first,
                             fn->body.begin() + parts[k].second);
      walk(body, [&](const Stmt &s) {
        if (s.kind == Stmt::For || s.kind == Stmt::Let ||
            s.kind == Stmt::Assign || s.kind == Stmt::Accumulate)
          name(s.var);
        for (const Expr *e : {s.a, s.b})
          if (e)
            inExpr(e);
      });
      if (k > 0) {
        EXPECT_NE(fn->body[parts[k].first - 1].kind, Stmt::Comment);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, LowerEveryOp,
                         ::testing::ValuesIn(test::allCases()),
                         test::CaseName());

TEST(Plan, SlotsAreReusedByLaterValuesOfTheSameType) {
  // %a is last read by %b; %c (same type) takes its slot. %b is read twice
  // (by %c and the result), so it is stored too.
  auto m = test::parse(R"(func @f(%x: f64[N,3], %w: f64[3,3]) -> f64[N,3] {
  %a = matmul %x, %w
  %b = matmul %a, %w
  %c = matmul %b, %w
  %d = add %c, %b
  return %d
}
)");
  ASSERT_TRUE(m);
  auto fn = lowerToLoops(*m->functions[0], {true});
  ASSERT_EQ(fn->slots.size(), 2u);
  unsigned slotOfA = 99, slotOfC = 98;
  for (const auto &b : fn->buffers) {
    if (b->name == "a")
      slotOfA = b->index;
    if (b->name == "c")
      slotOfC = b->index;
  }
  EXPECT_EQ(slotOfA, slotOfC);
  EXPECT_EQ(arenaBytes(*fn, {{"N", 5}}), 2 * 128); // 120 bytes, aligned to 64
}

} // namespace
