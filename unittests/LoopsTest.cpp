//===- LoopsTest.cpp - The loop IR: builder, printer, lowering ------------===//
#include "Cases.h"
#include "TestUtil.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/IR/Inline.h"
#include "gradc/Loops/LoopBuilder.h"
#include "gradc/Loops/Lower.h"
#include "gradc/Ops/OpDef.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

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
    walk(s.orelse, fn);
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

/// The test program with its gradient (a vector-Jacobian product) added.
std::unique_ptr<Module> withGradient(const test::Case &c) {
  auto m = test::parse(c.source);
  if (!m)
    return nullptr;
  GradOptions go;
  go.vjp = true;
  auto g = buildGradient(*m, *m->functions[0], go);
  if (!g) {
    ADD_FAILURE() << llvm::toString(g.takeError());
    return nullptr;
  }
  return m;
}

TEST_P(LowerEveryOp, ApplyIsElementwise) {
  auto m = withGradient(GetParam());
  ASSERT_TRUE(m);
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
  auto m = withGradient(GetParam());
  ASSERT_TRUE(m);
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

const char *kScans =
    R"(func @cell(%h: f64[N], %x: f64[N], %W: f64[N,N]) -> (f64[N], f64[N]) {
  %a = matmul %W, %x
  %e = exp %a
  %s = sum %e
  %b = mul %e, %s
  %c = add %b, %h
  %t = tanh %c
  return %t, %t
}

func @f(%h0: f64[4], %xs: f64[T,4], %W: f64[4,4]) -> f64[T,4] {
  %h, %hs = scan @cell(%h0, %xs, %W) {carries=1, scanned=1}
  return %hs
}

func @g(%h0: f64[4], %xs: f64[T,4], %W: f64[4,4], %p: f64) -> f64[4] {
  %h, %hs = scan @cell(%h0, %xs, %W) {carries=1, scanned=1}
  %y, %z = cond %p, @cell, @cell(%h, %h0, %W)
  return %y
}
)";

TEST(Control, ScanInvokesItsBodyWithArenaSlotsOfTheCaller) {
  auto m = test::parse(kScans);
  ASSERT_TRUE(m);
  auto fn = lowerToLoops(*m->lookup("f"), {true});
  ASSERT_EQ(fn->callees.size(), 1u);
  const LoopFunction &cell = *fn->callees[0];
  EXPECT_EQ(cell.source, m->lookup("cell"));
  ASSERT_FALSE(cell.slots.empty());
  // A loop over T, two steps per iteration; each step an invocation with
  // N bound to 4 and the body's slots carved out of @f's arena.
  const Stmt *loop = nullptr;
  std::vector<const Stmt *> invokes;
  walk(fn->body, [&](const Stmt &s) {
    if (s.kind == Stmt::For && s.b->kind == Expr::Sym && s.b->sym == "T")
      loop = &s;
    if (s.kind == Stmt::Invoke)
      invokes.push_back(&s);
  });
  ASSERT_TRUE(loop);
  EXPECT_EQ(loop->step, 2);
  ASSERT_EQ(invokes.size(), 2u);
  for (const Stmt *s : invokes) {
    const Invocation &iv = s->invoke;
    EXPECT_EQ(iv.callee, 0u);
    ASSERT_EQ(iv.dims.size(), 1u);
    EXPECT_EQ(iv.dims[0]->kind, Expr::Int);
    EXPECT_EQ(iv.dims[0]->i, 4);
    ASSERT_EQ(iv.slots.size(), cell.slots.size());
    for (size_t k = 0; k < iv.slots.size(); ++k) {
      EXPECT_EQ(iv.slots[k]->kind, Buffer::Arena);
      EXPECT_EQ(fn->slots[iv.slots[k]->index].dtype, cell.slots[k].dtype);
    }
    EXPECT_EQ(iv.args.size(), 3u);
    EXPECT_EQ(iv.results.size(), 2u);
  }
  // The two steps swap the carry buffers (double-buffered).
  EXPECT_EQ(invokes[0]->invoke.args[0].buf, invokes[1]->invoke.results[0].buf);
  EXPECT_EQ(invokes[0]->invoke.results[0].buf, invokes[1]->invoke.args[0].buf);
  // The arena counts the body's slots, sized for N = 4, and the function's
  // own arena estimate (--stats, the JIT's limit) agrees with the loops.
  int64_t withBody = arenaBytes(*fn, {{"T", 3}});
  EXPECT_EQ(arenaBytes(*m->lookup("f"), {{"T", 3}}), withBody);
  EXPECT_GE(withBody, int64_t(cell.slots.size()) * kArenaAlign);
  EXPECT_NE(text(*fn).find("loops @cell (callee.0) {"), std::string::npos);
}

TEST(Control, CondBranchesAndCalleesAreLoweredOnce) {
  auto m = test::parse(kScans);
  ASSERT_TRUE(m);
  // @g's scan and both branches of its cond invoke @cell: one lowering.
  auto g = lowerToLoops(*m->lookup("g"), {true});
  ASSERT_EQ(g->callees.size(), 1u);
  unsigned ifs = 0;
  walk(g->body, [&](const Stmt &s) {
    if (s.kind == Stmt::If && s.a->kind == Expr::NonZero) {
      ++ifs;
      ASSERT_EQ(s.body.size(), 1u);
      ASSERT_EQ(s.orelse.size(), 1u);
      EXPECT_EQ(s.body[0].kind, Stmt::Invoke);
      EXPECT_EQ(s.orelse[0].kind, Stmt::Invoke);
    }
  });
  EXPECT_EQ(ifs, 1u);
  // Functions lowered with one cache share their callees.
  CalleeCache cache;
  auto f1 = lowerToLoops(*m->lookup("f"), {true}, &cache);
  auto g1 = lowerToLoops(*m->lookup("g"), {true}, &cache);
  EXPECT_EQ(f1->callees[0].get(), g1->callees[0].get());
  auto f2 = lowerToLoops(*m->lookup("f"), {true});
  EXPECT_NE(f1->callees[0].get(), f2->callees[0].get());
}

TEST(Control, CheckCompiledLooksInsideScanBodies) {
  // A call left in a scan body (not inlined) is refused, with the body's
  // name; the scan itself is compiled.
  auto m = test::parse(R"(func @sq(%x: f64) -> f64 {
  %y = mul %x, %x
  return %y
}

func @body(%c: f64, %x: f64) -> (f64, f64) {
  %s = call @sq(%x)
  %n = add %c, %s
  return %n, %s
}

func @f(%c0: f64, %xs: f64[T]) -> (f64, f64[T]) {
  %c, %ys = scan @body(%c0, %xs) {carries=1, scanned=1}
  return %c, %ys
}
)");
  ASSERT_TRUE(m);
  llvm::Error e = checkCompiled(*m, CompiledBy::Loops, m->lookup("f"));
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("in '@body'"), std::string::npos);
  std::string why;
  EXPECT_TRUE(compiledBy(CompiledBy::Cpp, *m->lookup("f")->ops[0], why));
  inlineCalls(*m);
  EXPECT_FALSE(bool(checkCompiled(*m, CompiledBy::Loops, m->lookup("f"))));
}

/// A hand-built function for shareNests: buffers and loops over 8 elements.
struct Nests {
  LoopFunction fn;
  ExprBuilder b{fn};

  const Buffer *buffer(Buffer::Kind k, unsigned index, std::string name) {
    fn.buffers.push_back(std::make_unique<Buffer>(
        Buffer{k, index, std::move(name), DType::F32, {Dim::fixed(8)}}));
    return fn.buffers.back().get();
  }
  unsigned var(Var::Kind k, std::string name) {
    fn.vars.push_back({k, k == Var::Index ? Scalar::I64 : Scalar::F32, name});
    return fn.vars.size() - 1;
  }
  /// for i = 0 to 8: out[i] = op(in[i]) (times `scale`, if any).
  void map(OpKind op, const Buffer *in, const Buffer *out,
           const Expr *scale = nullptr) {
    unsigned i = var(Var::Index, "i");
    Stmt loop;
    loop.kind = Stmt::For;
    loop.var = i;
    loop.a = b.i(0);
    loop.b = b.i(8);
    const Expr *x = b.apply(op, {b.load(in, b.read(i))});
    if (scale)
      x = b.apply(OpKind::Mul, {x, scale});
    Stmt store;
    store.kind = Stmt::Store;
    store.buf = out;
    store.a = b.read(i);
    store.b = x;
    loop.body.push_back(store);
    fn.body.push_back(loop);
  }
};

TEST(Share, EqualNestsOfDistinctBuffersShareOneFunction) {
  Nests n;
  const Buffer *x = n.buffer(Buffer::Arg, 0, "x");
  const Buffer *t = n.buffer(Buffer::Arena, 0, "t");
  const Buffer *u = n.buffer(Buffer::Arena, 1, "u");
  const Buffer *u2 = n.buffer(Buffer::Arena, 1, "u2"); // u's slot, reused
  const Buffer *y = n.buffer(Buffer::Result, 0, "y");
  n.map(OpKind::Tanh, x, t);  // 0: shared
  n.map(OpKind::Tanh, t, u);  // 1: shared
  n.map(OpKind::Exp, u, y);   // 2: the only exp
  n.map(OpKind::Tanh, u, u2); // 3: in place, its buffers one slot
  // 4: reads a `let` of the statement before it.
  unsigned k = n.var(Var::Let, "k");
  Stmt let;
  let.kind = Stmt::Let;
  let.var = k;
  let.a = n.b.f(2, Scalar::F32);
  n.fn.body.push_back(let);
  n.map(OpKind::Tanh, t, y, n.b.read(k));
  n.map(OpKind::Tanh, y, t); // 6: shared (variables named differently)
  n.fn.vars.back().name = "j";

  EXPECT_EQ(shareNests({&n.fn}), 1u);
  std::vector<unsigned> shared;
  for (const Stmt &s : n.fn.body)
    shared.push_back(s.shared);
  EXPECT_EQ(shared, (std::vector<unsigned>{1, 1, 0, 0, 0, 0, 1}));
  EXPECT_EQ(sharedKey(n.fn, n.fn.body[3]), "");
  EXPECT_EQ(sharedKey(n.fn, n.fn.body[1]), sharedKey(n.fn, n.fn.body[6]));
  EXPECT_NE(sharedKey(n.fn, n.fn.body[1]), sharedKey(n.fn, n.fn.body[2]));
  // The parameters: each buffer once, in order of first use (the store's
  // first).
  EXPECT_EQ(sharedParams(n.fn.body[1]), (std::vector<const Buffer *>{u, t}));
}

TEST(Share, NestsAreSharedAcrossFunctionsAndConstantsMustBeEqual) {
  // The same nest in two functions is one; a nest reading a constant is
  // equal to another only if the constants' elements are.
  Nests f, g;
  Tensor one(DType::F32, {1}), two(DType::F32, {1});
  one.data = {1};
  two.data = {2};
  for (Nests *n : {&f, &g}) {
    const Buffer *x = n->buffer(Buffer::Arg, 0, "x");
    const Buffer *y = n->buffer(Buffer::Result, 0, "y");
    Buffer *c = const_cast<Buffer *>(n->buffer(Buffer::Const, 0, "c"));
    c->data = n == &f ? &one : &two;
    n->map(OpKind::Tanh, x, y);
    n->map(OpKind::Exp, x, y, n->b.load(c, n->b.i(0)));
  }
  EXPECT_EQ(shareNests({&f.fn, &g.fn}), 1u);
  EXPECT_EQ(f.fn.body[0].shared, 1u);
  EXPECT_EQ(g.fn.body[0].shared, 1u);
  EXPECT_EQ(f.fn.body[1].shared, 0u);
  EXPECT_EQ(g.fn.body[1].shared, 0u);
  // A constant is no parameter: it is part of the nest's code.
  EXPECT_EQ(sharedParams(f.fn.body[1]).size(), 2u);
}

} // namespace

namespace {

/// A loop function over one f32 buffer %x[4] and an output %y[4], with an
/// empty body; `x` and `y` are their buffers.
struct TwoBuffers {
  std::unique_ptr<Module> m =
      test::parse("func @f(%x: f32[4]) -> f32[4] {\n  %y = neg %x\n  return "
                  "%y\n}\n");
  LoopFunction fn;
  ExprBuilder b{fn};
  const Buffer *x, *y;
  TwoBuffers() {
    fn.source = m->functions[0].get();
    for (auto [kind, name] :
         {std::pair{Buffer::Arg, "x"}, {Buffer::Result, "y"}})
      fn.buffers.push_back(std::make_unique<Buffer>(
          Buffer{kind, 0, name, DType::F32, {Dim::fixed(4)}}));
    x = fn.buffers[0].get();
    y = fn.buffers[1].get();
  }
  Stmt &add(Stmt::Kind k) {
    Stmt &s = fn.body.emplace_back();
    s.kind = k;
    return s;
  }
  void let(const char *name, const Expr *e) {
    fn.vars.push_back({Var::Let, e->type, name});
    Stmt &s = add(Stmt::Let);
    s.var = fn.vars.size() - 1;
    s.a = e;
  }
  void store(const Buffer *buf, const Expr *e) {
    Stmt &s = add(Stmt::Store);
    s.buf = buf;
    s.a = b.i(0);
    s.b = e;
  }
  int count(OpKind k, Expr::Kind kind) {
    int n = 0;
    for (const Stmt &s : fn.body)
      for (const Expr *e : {s.a, s.b})
        if (e && e->kind == kind && e->op == k)
          ++n;
    return n;
  }
};

TEST(ShareExponentials, TanhAndSigmoidOfOneOperandShareThreeLets) {
  TwoBuffers t;
  // Two loads of %x[0]: equal trees, not the same node.
  t.let("t", t.b.apply(OpKind::Tanh, {t.b.load(t.x, t.b.i(0))}));
  t.store(t.y, t.b.apply(OpKind::Sigmoid, {t.b.load(t.x, t.b.i(0))}));
  shareExponentials(t.fn);
  ASSERT_EQ(t.fn.body.size(), 5u) << text(t.fn);
  EXPECT_EQ(t.count(OpKind::Tanh, Expr::Shared), 1) << text(t.fn);
  EXPECT_EQ(t.count(OpKind::Sigmoid, Expr::Shared), 1) << text(t.fn);
  EXPECT_NE(text(t.fn).find("let %x.e = exp(neg(abs(%x[0])))"),
            std::string::npos)
      << text(t.fn);
}

TEST(ShareExponentials, AStoreToTheOperandsBufferEndsTheSharing) {
  TwoBuffers t;
  // tanh(%y[0]); %y[0] = 1; sigmoid(%y[0]) reads another value.
  t.let("t", t.b.apply(OpKind::Tanh, {t.b.load(t.y, t.b.i(0))}));
  t.store(t.y, t.b.f(1, Scalar::F32));
  t.let("s", t.b.apply(OpKind::Sigmoid, {t.b.load(t.y, t.b.i(0))}));
  shareExponentials(t.fn);
  EXPECT_EQ(t.fn.body.size(), 3u) << text(t.fn);
  EXPECT_EQ(t.count(OpKind::Tanh, Expr::Apply), 1) << text(t.fn);
  EXPECT_EQ(t.count(OpKind::Sigmoid, Expr::Apply), 1) << text(t.fn);
  // A store to another buffer does not.
  TwoBuffers u;
  u.let("t", u.b.apply(OpKind::Tanh, {u.b.load(u.x, u.b.i(0))}));
  u.store(u.y, u.b.f(1, Scalar::F32));
  u.let("s", u.b.apply(OpKind::Sigmoid, {u.b.load(u.x, u.b.i(0))}));
  shareExponentials(u.fn);
  EXPECT_EQ(u.count(OpKind::Sigmoid, Expr::Shared), 1) << text(u.fn);
}

TEST(ShareExponentials, AnOperandHoldingAnotherPairIsSharedToo) {
  // %y[0] = tanh(v) + sigmoid(v), v = tanh(%x[0]) * sigmoid(%x[0]), all in
  // one statement.
  TwoBuffers t;
  auto &b = t.b;
  const Expr *x = b.load(t.x, b.i(0));
  const Expr *v = b.apply(
      OpKind::Mul, {b.apply(OpKind::Tanh, {x}), b.apply(OpKind::Sigmoid, {x})});
  t.store(t.y, b.apply(OpKind::Add, {b.apply(OpKind::Tanh, {v}),
                                     b.apply(OpKind::Sigmoid, {v})}));
  shareExponentials(t.fn);
  // Six lets, then the store; no tanh or sigmoid is left unshared, and
  // each pair is one tanh.shared and one sigmoid.shared.
  ASSERT_EQ(t.fn.body.size(), 7u) << text(t.fn);
  std::set<const Expr *> seen;
  std::map<std::pair<Expr::Kind, OpKind>, int> n;
  std::function<void(const Expr *)> count = [&](const Expr *e) {
    if (!seen.insert(e).second)
      return;
    ++n[{e->kind, e->op}];
    for (const Expr *a : e->args)
      count(a);
  };
  for (const Stmt &s : t.fn.body)
    count(s.kind == Stmt::Store ? s.b : s.a);
  EXPECT_EQ((n[{Expr::Apply, OpKind::Tanh}]), 0) << text(t.fn);
  EXPECT_EQ((n[{Expr::Apply, OpKind::Sigmoid}]), 0) << text(t.fn);
  EXPECT_EQ((n[{Expr::Shared, OpKind::Tanh}]), 2) << text(t.fn);
  EXPECT_EQ((n[{Expr::Shared, OpKind::Sigmoid}]), 2) << text(t.fn);
  // The second pair's lets have names of their own.
  EXPECT_NE(text(t.fn).find("let %x.e.1 = exp(neg(abs(mul(tanh.shared("),
            std::string::npos)
      << text(t.fn);
}

TEST(ShareExponentials, F64AndDifferentOperandsAreLeftAlone) {
  TwoBuffers t;
  const Expr *x0 = t.b.load(t.x, t.b.i(0)), *x1 = t.b.load(t.x, t.b.i(1));
  t.let("t", t.b.apply(OpKind::Tanh, {x0}));
  t.let("s", t.b.apply(OpKind::Sigmoid, {x1}));
  const Expr *d = t.b.cast(x0, Scalar::F64);
  t.let("td", t.b.apply(OpKind::Tanh, {d}));
  t.let("sd", t.b.apply(OpKind::Sigmoid, {d}));
  std::string before = text(t.fn);
  shareExponentials(t.fn);
  EXPECT_EQ(text(t.fn), before);
}

} // namespace

namespace {

/// for blk = 0 to 4000: for r = blk*16 to blk*16 + 16: data[r] = 1; then a
/// second loop over the same rows storing into out[r] what `read` loads.
struct BlockLoop {
  LoopFunction fn;
  ExprBuilder b{fn};
  const Buffer *data, *out;
  unsigned blk;
  BlockLoop() {
    for (auto [k, name] :
         {std::pair{Buffer::Arena, "data"}, std::pair{Buffer::Result, "out"}}) {
      fn.buffers.push_back(std::make_unique<Buffer>(
          Buffer{k, 0, name, DType::F32, {Dim::fixed(64000)}}));
    }
    data = fn.buffers[0].get();
    out = fn.buffers[1].get();
    fn.slots.push_back({DType::F32, {Dim::fixed(64000)}});
    blk = index("blk");
  }
  unsigned index(const char *name) {
    fn.vars.push_back({Var::Index, Scalar::I64, name});
    return fn.vars.size() - 1;
  }
  /// for r = blk*16 to blk*16 + 16: buf[r] = value(r)
  Stmt rows(const Buffer *buf,
            std::function<const Expr *(const Expr *)> value) {
    Stmt loop;
    loop.kind = Stmt::For;
    loop.var = index("r");
    loop.a = b.mul(b.read(blk), b.i(16));
    loop.b = b.add(loop.a, b.i(16));
    Stmt store;
    store.kind = Stmt::Store;
    store.buf = buf;
    store.a = b.read(loop.var);
    store.b = value(b.read(loop.var));
    loop.body.push_back(store);
    return loop;
  }
  bool parallel(std::function<const Expr *(const Expr *)> read) {
    Stmt outer;
    outer.kind = Stmt::For;
    outer.var = blk;
    outer.a = b.i(0);
    outer.b = b.i(4000);
    outer.body.push_back(
        rows(data, [&](const Expr *) { return b.f(1, Scalar::F32); }));
    outer.body.push_back(rows(out, read));
    fn.body = {outer};
    markParallelLoops(fn);
    return fn.body[0].parallel;
  }
};

} // namespace

// A loop over block numbers whose inner loops cover the block's rows may
// run in parallel when it reads back only rows of its own block (another
// loop's index over the same rows), not when it reads a row through the
// block number itself: row `blk` belongs to another iteration's block.
TEST(Parallel, BlockLoopsReadBackOnlyTheirOwnRows) {
  BlockLoop own;
  EXPECT_TRUE(
      own.parallel([&](const Expr *r) { return own.b.load(own.data, r); }));
  BlockLoop other;
  EXPECT_FALSE(other.parallel([&](const Expr *) {
    return other.b.load(other.data, other.b.read(other.blk));
  }));
}
