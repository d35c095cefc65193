//===- JitTest.cpp - The LLVM backend against the reference interpreter ---===//
//
// Differential tests: every op (and its adjoint) on random inputs, and random
// programs, evaluated by the JIT and by the interpreter. f64 must agree to
// 1e-12 relative, f32 to 1e-5 (the JIT's f32 exp/tanh are its own, a few ulp
// from the interpreter's correctly rounded ones).
//
//===----------------------------------------------------------------------===//
#include "Cases.h"
#include "TestUtil.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/Codegen/Jit.h"
#include "gradc/Interp/Interpreter.h"
#include "gradc/Loops/Lower.h"

#include "gradc/Transforms/Passes.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <gtest/gtest.h>

#include <cmath>
#include <malloc.h>
#include <random>
#include <tuple>

using namespace gradc;

namespace {

/// Random arguments for `f`: symbolic dims in [1, 5], values in [-2, 2].
std::vector<Tensor> randomArgs(const Function &f, std::mt19937_64 &rng) {
  std::uniform_int_distribution<int64_t> size(1, 5);
  std::uniform_real_distribution<double> val(-2, 2);
  llvm::StringMap<int64_t> syms;
  std::vector<Tensor> args;
  for (const Value *a : f.args) {
    Shape s;
    for (const Dim &d : a->type.dims)
      s.push_back(d.isSym() ? syms.try_emplace(d.sym, size(rng)).first->second
                            : d.size);
    Tensor t(a->type.dtype, s);
    for (double &x : t.data)
      x = val(rng);
    t.roundToType();
    args.push_back(t);
  }
  return args;
}

/// Runs every function of `m` on both backends, `runs` times with random
/// inputs; returns a failure message.
std::string compare(Module &m, uint64_t seed, bool blas, int runs = 2,
                    size_t partSize = loops::kPartSize) {
  LowerOptions opts;
  opts.blas = blas;
  opts.partSize = partSize;
  auto jit = Jit::create(m, opts);
  if (!jit)
    return "jit: " + llvm::toString(jit.takeError());
  std::mt19937_64 rng(seed);
  for (int run = 0; run < runs; ++run)
    for (const auto &f : m.functions) {
      std::vector<Tensor> args = randomArgs(*f, rng);
      auto want = evaluate(*f, args);
      auto got = (*jit)->call(*f, args);
      if (!want || !got) {
        std::string err = !want ? llvm::toString(want.takeError()) : "";
        if (!got)
          err += llvm::toString(got.takeError());
        return err;
      }
      for (size_t r = 0; r < want->size(); ++r) {
        const Tensor &w = (*want)[r], &g = (*got)[r];
        if (w.shape != g.shape)
          return "@" + f->name + ": result shapes differ";
        double tol = w.dtype == DType::F64 ? 1e-12 : isInt(w.dtype) ? 0 : 1e-5;
        for (int64_t i = 0; i < w.size(); ++i) {
          double a = w.data[i], b = g.data[i];
          if (std::isnan(a) && std::isnan(b))
            continue;
          if (!(std::fabs(a - b) <= tol * std::max(1.0, std::fabs(a))))
            return fmt::format(
                "@{} result {} element {}: interpreter {} jit {}", f->name, r,
                i, a, b);
        }
      }
    }
  return "";
}

/// Adds the simplified VJP of the first function, so adjoints run too.
void addGradient(Module &m) {
  GradOptions opts;
  opts.vjp = true;
  auto g = buildGradient(m, *m.functions[0], opts);
  ASSERT_TRUE(bool(g)) << llvm::toString(g.takeError());
  PassManager(simplificationPipeline()).run(**g);
}

class JitVsInterpreter : public ::testing::TestWithParam<test::Case> {};

TEST_P(JitVsInterpreter, Agree) {
  auto m = test::parse(GetParam().source);
  ASSERT_TRUE(m);
  addGradient(*m);
  for (bool blas : {kHaveBlas, false})
    EXPECT_EQ(compare(*m, 1, blas), "")
        << GetParam().name << (blas ? " (blas)" : " (loops)");
  // Every function cut into as many parts as it allows (a part per
  // top-level statement where no variable is live across).
  EXPECT_EQ(compare(*m, 1, kHaveBlas, 2, /*partSize=*/1), "")
      << GetParam().name << " (parts)";
}

INSTANTIATE_TEST_SUITE_P(AllOps, JitVsInterpreter,
                         ::testing::ValuesIn(test::allCases()),
                         test::CaseName());

/// The issue-9 programs (and their adjoints): those the loop IR lowers agree
/// with the interpreter; the others are refused with the op named, never
/// miscompiled.
class ModelOpsJit : public ::testing::TestWithParam<test::Case> {};

TEST_P(ModelOpsJit, AgreeOrRefuse) {
  auto m = test::parse(GetParam().source);
  ASSERT_TRUE(m);
  addGradient(*m);
  if (llvm::Error e = checkCompiled(*m, CompiledBy::Loops)) {
    std::string msg = llvm::toString(std::move(e));
    EXPECT_NE(msg.find("is not compiled by the LLVM backend yet"),
              std::string::npos)
        << msg;
    auto jit = Jit::create(*m, LowerOptions());
    ASSERT_FALSE(bool(jit));
    EXPECT_NE(llvm::toString(jit.takeError()).find("--backend interp"),
              std::string::npos);
    return;
  }
  for (bool blas : {kHaveBlas, false})
    EXPECT_EQ(compare(*m, 1, blas), "")
        << GetParam().name << (blas ? " (blas)" : " (loops)");
  // Every function cut into as many parts as it allows (a part per
  // top-level statement where no variable is live across).
  EXPECT_EQ(compare(*m, 1, kHaveBlas, 2, /*partSize=*/1), "")
      << GetParam().name << " (parts)";
}

INSTANTIATE_TEST_SUITE_P(ModelOps, ModelOpsJit,
                         ::testing::ValuesIn(test::modelCases()),
                         test::CaseName());

/// Random programs: chains of ops over [N,4] and [4,4] values with fan-out,
/// broadcasting, reductions and matmuls, and their adjoints.
std::string randomProgram(std::mt19937_64 &rng, const char *dt) {
  std::string s = fmt::format("func @f(%x: {0}[N,4], %W: {0}[4,4], %b: {0}[4]) "
                              "-> {0} {{\n  %v0 = tanh %x\n",
                              dt);
  const char *ops[] = {"add", "mul",    "sub",    "max",     "min",
                       "div", "tanh",   "exp",    "sigmoid", "relu",
                       "abs", "matmul", "bias",   "softmax", "log_softmax",
                       "neg", "colsum", "rowmax", "select",  "transpose2"};
  int n = 16;
  for (int k = 1; k < n; ++k) {
    std::string a = fmt::format("%v{}", k - 1);
    std::string b = fmt::format("%v{}", std::max<int>(0, k - 1 - rng() % 4));
    std::string op = ops[rng() % std::size(ops)];
    if (op == "matmul")
      s += fmt::format("  %v{} = matmul {}, %W\n", k, a);
    else if (op == "bias")
      s += fmt::format("  %v{} = add {}, %b\n", k, a);
    else if (op == "colsum")
      s += fmt::format("  %c{0} = sum {1} {{axes=[0]}}\n  %v{0} = mul {2}, "
                       "%c{0}\n",
                       k, a, b);
    else if (op == "rowmax")
      s += fmt::format("  %c{0} = reduce_max {1} {{axes=[1], keepdims=true}}\n"
                       "  %v{0} = sub {2}, %c{0}\n",
                       k, a, b);
    else if (op == "select")
      s += fmt::format("  %c{0} = gt {1}, {2}\n  %v{0} = select %c{0}, {1}, "
                       "%b\n",
                       k, a, b);
    else if (op == "transpose2")
      s += fmt::format("  %c{0} = transpose %W\n  %v{0} = matmul {1}, %c{0}\n",
                       k, a);
    else if (op == "div")
      s +=
          fmt::format("  %c{0} = exp {2}\n  %v{0} = div {1}, %c{0}\n", k, a, b);
    else if (op == "tanh" || op == "exp" || op == "sigmoid" || op == "relu" ||
             op == "abs" || op == "neg" || op == "softmax" ||
             op == "log_softmax")
      s += fmt::format("  %v{} = {} {}\n", k,
                       op == "exp" ? std::string("tanh") : op, a);
    else
      s += fmt::format("  %v{} = {} {}, {}\n", k, op, a, b);
  }
  s += fmt::format("  %L = sum %v{}\n  return %L\n}}\n", n - 1);
  return s;
}

TEST(JitVsInterpreter, RandomPrograms) {
  std::mt19937_64 rng(2026);
  for (int i = 0; i < 12; ++i) {
    std::string src = randomProgram(rng, i % 2 ? "f32" : "f64");
    std::string diags;
    auto m = test::parse(src, &diags);
    ASSERT_TRUE(m) << diags << src;
    addGradient(*m);
    EXPECT_EQ(compare(*m, i, kHaveBlas), "") << test::printed(*m);
  }
}

/// Random integer programs: chains of the integer ops over [N,4] values
/// with fan-out, broadcasting, reductions and running sums. i32 programs
/// see the whole i32 range and wrap around (products, sums); i64 ones stay
/// far below 2^53, where the interpreter is exact.
std::string randomIntProgram(std::mt19937_64 &rng, const char *dt) {
  bool i32 = std::string(dt) == "i32";
  std::string s = fmt::format(
      "func @f(%x: {0}[N,4], %y: {0}[N,4], %b: {0}[4]) -> ({0}, {0}[N,4]) "
      "{{\n  %v0 = add %x, %y\n",
      dt);
  std::vector<const char *> ops = {"add",  "sub",    "neg",    "abs",
                                   "max",  "min",    "select", "gt",
                                   "bias", "rowmax", "colmin", "cumsum"};
  if (i32)
    ops.push_back("mul");
  int n = 14;
  for (int k = 1; k < n; ++k) {
    std::string a = fmt::format("%v{}", k - 1);
    std::string b = fmt::format("%v{}", std::max<int>(0, k - 1 - rng() % 4));
    std::string op = ops[rng() % ops.size()];
    if (op == "bias")
      s += fmt::format("  %v{} = sub {}, %b\n", k, a);
    else if (op == "rowmax")
      s += fmt::format("  %c{0} = reduce_max {1} {{axes=[1], keepdims=true}}\n"
                       "  %v{0} = sub {2}, %c{0}\n",
                       k, a, b);
    else if (op == "colmin")
      s += fmt::format("  %c{0} = reduce_min {1} {{axes=[0]}}\n"
                       "  %v{0} = add {2}, %c{0}\n",
                       k, a, b);
    else if (op == "cumsum")
      s += fmt::format("  %v{} = cumsum {} {{axis={}}}\n", k, a, rng() % 2);
    else if (op == "select")
      s += fmt::format("  %c{0} = ge {1}, {2}\n  %v{0} = select %c{0}, {1}, "
                       "{2}\n",
                       k, a, b);
    else if (op == "neg" || op == "abs")
      s += fmt::format("  %v{} = {} {}\n", k, op, a);
    else
      s += fmt::format("  %v{} = {} {}, {}\n", k, op, a, b);
  }
  s += fmt::format("  %L = sum %v{0}\n  %A = argmax %v{0} {{axis=0}}\n"
                   "  %B = cast %A : {1}\n  %C = add %B, %v{0}\n"
                   "  return %L, %C\n}}\n",
                   n - 1, dt);
  return s;
}

TEST(JitVsInterpreter, RandomIntegerPrograms) {
  std::mt19937_64 rng(2027);
  for (int i = 0; i < 12; ++i) {
    bool i32 = i % 2;
    std::string src = randomIntProgram(rng, i32 ? "i32" : "i64");
    std::string diags;
    auto m = test::parse(src, &diags);
    ASSERT_TRUE(m) << diags << src;
    std::vector<Tensor> args;
    int64_t rows = 1 + rng() % 5;
    std::uniform_int_distribution<int64_t> val(i32 ? INT32_MIN : -1000,
                                               i32 ? INT32_MAX : 1000);
    for (const Value *a : m->functions[0]->args) {
      Tensor t(a->type.dtype, a->type.rank() == 2 ? Shape{rows, 4} : Shape{4});
      for (double &x : t.data)
        x = double(val(rng));
      args.push_back(t);
    }
    for (bool parallel : {true, false}) {
      LowerOptions opts;
      opts.parallel = parallel;
      auto jit = Jit::create(*m, opts);
      ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());
      auto want = evaluate(*m->functions[0], args);
      auto got = (*jit)->call(*m->functions[0], args);
      ASSERT_TRUE(want && got) << src;
      for (size_t r = 0; r < want->size(); ++r)
        EXPECT_EQ((*want)[r].data, (*got)[r].data) << src << "result " << r;
    }
  }
}

// A function with an intermediate buffer keeps its arena between calls;
// destroying the Jit frees it. Before, every Jit leaked its largest arena
// (test/fuzz/reproducers/jit-arena-leak.gir): 20 Jits of an 8 MiB arena
// leaked 160 MiB.
TEST(Jit, DestroyingTheJitFreesTheArena) {
  auto m = test::parse("func @f(%x: f64[1024,1024]) -> f64 {\n"
                       "  %e = exp %x\n  %t = transpose %e\n"
                       "  %s = sum %t\n  return %s\n}\n");
  ASSERT_TRUE(m);
  Tensor x(DType::F64, {1024, 1024});
  auto heap = [] { return int64_t(mallinfo2().uordblks + mallinfo2().hblkhd); };
  int64_t before = 0;
  for (int i = 0; i < 20; ++i) {
    auto jit = Jit::create(*m, LowerOptions{});
    ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());
    auto r = (*jit)->call(*m->functions[0], {x});
    ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
    EXPECT_EQ(r->at(0).data[0], 1024.0 * 1024.0);
    jit->reset();
    if (i == 1)
      before = heap();
  }
  EXPECT_LT(heap() - before, int64_t(32) << 20);
}

// Parallel loops (lib/Loops/Parallel.cpp) on inputs big enough to run on
// several threads: rows of elementwise ops, a full f32 and f64 sum (split in
// blocks), row reductions with private accumulators (softmax, logsumexp),
// a column sum, matmul loops; and their adjoints. With 1, 2 and 3 threads
// the JIT agrees with the interpreter, and a thread count always gives the
// same bits.
TEST(Jit, ParallelLoopsAgreeAndAreDeterministic) {
  auto m = test::parse(
      "func @f(%x: f32[N,16], %y: f64[N,16], %w: f64[16,8]) -> (f32, f64) {\n"
      "  %e = exp %x\n  %t = tanh %e\n  %s = sigmoid %x\n"
      "  %p = mul %t, %s\n  %a = sum %p\n"
      "  %sm = softmax %y {axis=1}\n  %l = logsumexp %y {axis=1}\n"
      "  %c = sum %sm {axes=[0]}\n  %z = matmul %y, %w\n"
      "  %zz = mul %z, %z\n  %b = sum %zz\n  %lc = sum %l\n"
      "  %cc = sum %c\n  %u = add %b, %lc\n  %v = add %u, %cc\n"
      "  return %a, %v\n}\n");
  ASSERT_TRUE(m);
  addGradient(*m);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> val(-2, 2);
  const int64_t n = 4099; // blocks of unequal sizes
  auto fill = [&](DType t, Shape s) {
    Tensor x(t, s);
    for (double &v : x.data)
      v = val(rng);
    x.roundToType();
    return x;
  };
  std::vector<Tensor> fArgs = {fill(DType::F32, {n, 16}),
                               fill(DType::F64, {n, 16}),
                               fill(DType::F64, {16, 8})};
  std::vector<Tensor> gArgs = fArgs;
  gArgs.push_back(Tensor::scalar(DType::F32, 1.0));
  gArgs.push_back(Tensor::scalar(DType::F64, 0.5));
  for (bool blas : {kHaveBlas, false}) {
    LowerOptions opts;
    opts.blas = blas;
    auto jit = Jit::create(*m, opts);
    ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());
    for (size_t k = 0; k < 2; ++k) {
      const Function &fn = *m->functions[k];
      const std::vector<Tensor> &args = k ? gArgs : fArgs;
      auto want = evaluate(fn, args);
      ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
      for (int threads : {1, 2, 3}) {
        ASSERT_FALSE(bool((*jit)->setThreads(threads)));
        auto got = (*jit)->call(fn, args);
        ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
        auto again = (*jit)->call(fn, args);
        ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
        for (size_t r = 0; r < want->size(); ++r) {
          const Tensor &w = (*want)[r], &g = (*got)[r];
          ASSERT_EQ(w.shape, g.shape);
          double tol = w.dtype == DType::F64 ? 1e-11 : 1e-5;
          for (int64_t i = 0; i < w.size(); ++i)
            ASSERT_LE(std::fabs(w.data[i] - g.data[i]),
                      tol * std::max(1.0, std::fabs(w.data[i])))
                << "@" << fn.name << " result " << r << " element " << i << ", "
                << threads << " threads" << (blas ? " (blas)" : " (loops)");
          EXPECT_EQ(g.data, (*again)[r].data)
              << "@" << fn.name << " result " << r << ", " << threads
              << " threads: two calls differ";
        }
      }
    }
  }
}

/// Calls `f` of `m` through the JIT on 1, 2 and 3 threads, twice each: every
/// result agrees with the interpreter within `tol` (relative, absolute
/// below 1) and a thread count gives the same bits both times.
void expectAgreesOnThreads(const Module &m, const Function &f,
                           const std::vector<Tensor> &args, double tol,
                           const std::string &what) {
  auto want = evaluate(f, args);
  ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
  auto jit = Jit::create(m, LowerOptions());
  ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());
  for (int threads : {1, 2, 3}) {
    ASSERT_FALSE(bool((*jit)->setThreads(threads)));
    auto got = (*jit)->call(f, args);
    ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
    auto again = (*jit)->call(f, args);
    ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
    for (size_t r = 0; r < want->size(); ++r) {
      const Tensor &w = (*want)[r], &g = (*got)[r];
      ASSERT_EQ(w.shape, g.shape);
      for (int64_t i = 0; i < w.size(); ++i)
        ASSERT_LE(std::fabs(w.data[i] - g.data[i]),
                  tol * std::max(1.0, std::fabs(w.data[i])))
            << what << " result " << r << " element " << i << ", " << threads
            << " threads";
      EXPECT_EQ(g.data, (*again)[r].data)
          << what << ", " << threads << " threads";
    }
  }
}

// Row fusion (lib/Loops/Plan.h): a logistic regression's X w and X^T g run
// in one pass over X's rows, for row counts that are and are not multiples
// of the unrolled rows (4), the row groups (16) and the blocks (256), in
// f32 and f64, with a loss that is a mean or a sum, the gradient wrt X
// (an outer product after the pass) included. On 1, 2
// and 3 threads the JIT agrees with the interpreter, a thread count always
// gives the same bits, and the lowering did fuse.
TEST(Jit, RowFusionAgreesAndIsDeterministic) {
  struct Shape3 {
    const char *type;
    int64_t n, k;
    const char *loss;
  };
  for (Shape3 c :
       {Shape3{"f32", 4099, 64, "mean"}, Shape3{"f32", 1024, 80, "mean"},
        Shape3{"f64", 600, 64, "sum"}}) {
    std::string t = c.type, n = std::to_string(c.n), k = std::to_string(c.k);
    auto m = test::parse(
        "func @f(%X: " + t + "[" + n + "," + k + "], %w: " + t + "[" + k +
        "], %b: " + t + ", %y: " + t + "[" + n + "]) -> " + t +
        " {\n"
        "  %xw = matmul %X, %w\n  %s = add %xw, %b\n  %p = sigmoid %s\n"
        "  %d = sub %p, %y\n  %q = mul %d, %d\n  %L = " +
        c.loss + " %q\n  return %L\n}\n");
    ASSERT_TRUE(m);
    addGradient(*m);
    const Function &grad = *m->functions[1];
    std::string lowered;
    llvm::raw_string_ostream os(lowered);
    loops::lowerToLoops(grad, loops::LoopOptions())->print(os);
    EXPECT_NE(lowered.find("one pass over the rows of %X"), std::string::npos)
        << lowered;
    DType dt = t == "f32" ? DType::F32 : DType::F64;
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> val(-1, 1);
    auto fill = [&](gradc::Shape s) {
      Tensor x(dt, s);
      for (double &v : x.data)
        v = val(rng);
      x.roundToType();
      return x;
    };
    std::vector<Tensor> args = {fill({c.n, c.k}), fill({c.k}), fill({}),
                                fill({c.n}), Tensor::scalar(dt, 0.75)};
    expectAgreesOnThreads(*m, grad, args, dt == DType::F64 ? 1e-11 : 1e-5,
                          t + "[" + n + "," + k + "]");
  }
}

// Column sums join loop groups (Plan::isColumnFold): a bias gradient's
// `sum {axes=[0]}` and a `mean {axes=[0]}` run in the loop of the relu
// mask, in blocks of rows, f32 and f64, row counts that do and do not
// divide into blocks, and a small group (one block). On 1, 2 and 3 threads
// the JIT agrees with the interpreter and a thread count gives the same
// bits; the lowering did join them.
TEST(Jit, ColumnSumsJoinLoopGroups) {
  for (auto [t, n, c] :
       {std::tuple{"f32", 1000, 96}, std::tuple{"f64", 4096, 40},
        std::tuple{"f32", 30, 7}}) {
    std::string ty = t,
                dims = "[" + std::to_string(n) + "," + std::to_string(c) + "]";
    auto m = test::parse("func @f(%x: " + ty + dims + ", %g: " + ty + dims +
                         ") -> (" + ty + "[" + std::to_string(c) + "], " + ty +
                         "[" + std::to_string(c) + "], " + ty +
                         ") {\n"
                         "  %z = const 0 : " +
                         ty +
                         "\n"
                         "  %p = gt %x, %z\n  %d = select %p, %g, %z\n"
                         "  %s = sum %d {axes=[0]}\n  %e = exp %d\n"
                         "  %m = mean %e {axes=[0]}\n  %a = sum %e\n"
                         "  return %s, %m, %a\n}\n");
    ASSERT_TRUE(m);
    const Function &f = *m->functions[0];
    std::string lowered;
    llvm::raw_string_ostream os(lowered);
    loops::lowerToLoops(f, loops::LoopOptions())->print(os);
    EXPECT_NE(lowered.find("%s.blocks["), std::string::npos) << lowered;
    EXPECT_NE(lowered.find("%m.blocks["), std::string::npos) << lowered;
    DType dt = ty == "f32" ? DType::F32 : DType::F64;
    std::mt19937_64 rng(9);
    std::uniform_real_distribution<double> val(-1, 1);
    std::vector<Tensor> args;
    for (int k = 0; k < 2; ++k) {
      Tensor x(dt, {n, c});
      for (double &v : x.data)
        v = val(rng);
      x.roundToType();
      args.push_back(x);
    }
    expectAgreesOnThreads(*m, f, args, dt == DType::F64 ? 1e-12 : 1e-5,
                          ty + dims);
  }
}

// Integer reductions and running sums on inputs big enough for parallel
// loops: an i32 product summed with wrap-around, i64 row maxima, column
// minima, a running sum along the rows. On 1, 2 and 3 threads the JIT
// gives the interpreter's integers exactly.
TEST(Jit, ParallelIntegerLoopsAgree) {
  auto m = test::parse(
      "func @f(%a: i32[N,16], %b: i64[N,16]) -> (i32, i64, i64[N], i32[16], "
      "i64[N,16]) {\n"
      "  %m = mul %a, %a\n  %s = sum %m\n  %bb = add %b, %b\n"
      "  %t = sum %bb\n  %r = reduce_max %bb {axes=[1]}\n"
      "  %c = reduce_min %m {axes=[0]}\n  %cs = cumsum %b {axis=0}\n"
      "  return %s, %t, %r, %c, %cs\n}\n");
  ASSERT_TRUE(m);
  const Function &fn = *m->functions[0];
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int64_t> i32(INT32_MIN, INT32_MAX),
      i64(-1000000, 1000000);
  const int64_t n = 4099;
  Tensor a(DType::I32, {n, 16}), b(DType::I64, {n, 16});
  for (double &x : a.data)
    x = double(i32(rng));
  for (double &x : b.data)
    x = double(i64(rng));
  std::vector<Tensor> args = {a, b};
  auto want = evaluate(fn, args);
  ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
  auto jit = Jit::create(*m, LowerOptions());
  ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());
  for (int threads : {1, 2, 3}) {
    ASSERT_FALSE(bool((*jit)->setThreads(threads)));
    auto got = (*jit)->call(fn, args);
    ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
    for (size_t r = 0; r < want->size(); ++r)
      EXPECT_EQ((*want)[r].data, (*got)[r].data)
          << "result " << r << ", " << threads << " threads";
  }
}

// The typed entry point passes scalar inputs by value (in registers) and
// everything else as the C ABI function does; it gives the packed entry
// point's bits.
TEST(Jit, TypedEntryPassesScalarsByValue) {
  auto m =
      test::parse("func @f(%x: f32, %v: f64[N], %s: f64) -> (f32, f64[N]) {\n"
                  "  %y = mul %x, %x\n  %b = broadcast_to %s {shape=[N]}\n"
                  "  %w = mul %v, %b\n  return %y, %w\n}\n");
  ASSERT_TRUE(m);
  const Function &f = *m->functions[0];
  auto jit = Jit::create(*m, LowerOptions());
  ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());
  auto typed = (*jit)->lookupTyped(f);
  ASSERT_TRUE(bool(typed)) << llvm::toString(typed.takeError());
  using Fn = int (*)(float, const double *, double, int64_t, float *, double *);
  auto fn = reinterpret_cast<Fn>(*typed);
  double v[3] = {1.5, -2, 0.25}, w[3] = {};
  float y = 0;
  ASSERT_EQ(fn(1.25f, v, 2.0, 3, &y, w), 0);
  Tensor vt(DType::F64, {3});
  vt.data = {1.5, -2, 0.25};
  auto want = (*jit)->call(
      f, {Tensor::scalar(DType::F32, 1.25), vt, Tensor::scalar(DType::F64, 2)});
  ASSERT_TRUE(bool(want)) << llvm::toString(want.takeError());
  EXPECT_EQ(double(y), (*want)[0].data[0]);
  EXPECT_EQ(y, 1.5625f);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(w[i], (*want)[1].data[i]) << i;
  EXPECT_EQ(w[1], -4.0);
}

// The by-value entry point returns a scalar function's outputs as a C struct
// (in registers on x86-64): one to four f32, one or two f64. Functions that
// return a tensor, five scalars or scalars of two types, or that need an
// arena, have none. A scalar function's gradient also has one without its
// seed.
TEST(Jit, ValuesEntryReturnsScalarsByValue) {
  auto m = test::parse(
      "func @f(%x: f32, %y: f32, %z: f32) -> f32 {\n"
      "  %q = add %x, %y\n  %f = mul %q, %z\n  return %f\n}\n"
      "func @three(%x: f32, %v: f32[N]) -> (f32, f32, f32) {\n"
      "  %s = sum %v\n  %a = mul %x, %s\n  %b = sub %x, %s\n"
      "  return %s, %a, %b\n}\n"
      "func @two(%x: f64, %y: f64) -> (f64, f64) {\n"
      "  %a = mul %x, %y\n  %b = div %x, %y\n  return %a, %b\n}\n"
      "func @tensor(%x: f32) -> f32[2] {\n"
      "  %b = broadcast_to %x {shape=[2]}\n  return %b\n}\n"
      "func @mixed(%x: f32, %y: f64) -> (f32, f64) {\n  return %x, %y\n}\n"
      "func @five(%x: f32) -> (f32, f32, f32, f32, f32) {\n"
      "  return %x, %x, %x, %x, %x\n}\n"
      "func @arena(%v: f32[N]) -> f32 {\n"
      "  %e = exp %v\n  %s = softmax %e {axis=0}\n  %t = mul %s, %e\n"
      "  %r = sum %t\n  return %r\n}\n");
  ASSERT_TRUE(m);
  addGradient(*m); // @f.grad: (f, dx, dy, dz) from (x, y, z, df)
  auto jit = Jit::create(*m, LowerOptions());
  ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());
  auto fn = [&](llvm::StringRef name) {
    for (const auto &f : m->functions)
      if (f->name == name)
        return (*jit)->lookupValues(*f);
    ADD_FAILURE() << name.str();
    return static_cast<void *>(nullptr);
  };
  if (llvm::Triple(llvm::sys::getProcessTriple()).getArch() !=
      llvm::Triple::x86_64)
    GTEST_SKIP() << "by-value entry points are x86-64 only";

  struct F4 {
    float f, dx, dy, dz;
  };
  auto grad =
      reinterpret_cast<F4 (*)(float, float, float, float)>(fn("f.grad"));
  ASSERT_NE(grad, nullptr);
  F4 g = grad(1.5f, -0.25f, 2.0f, 0.5f);
  EXPECT_EQ(g.f, 2.5f);
  EXPECT_EQ(g.dx, 1.0f);
  EXPECT_EQ(g.dy, 1.0f);
  EXPECT_EQ(g.dz, 0.625f);
  // Without its seed: 1.
  auto noseed = reinterpret_cast<F4 (*)(float, float, float)>(
      (*jit)->lookupValues(*m->functions.back(), /*noseed=*/true));
  ASSERT_EQ(m->functions.back()->name, "f.grad");
  ASSERT_NE(noseed, nullptr);
  F4 n = noseed(1.5f, -0.25f, 2.0f);
  EXPECT_EQ(n.f, 2.5f);
  EXPECT_EQ(n.dx, 2.0f);
  EXPECT_EQ(n.dy, 2.0f);
  EXPECT_EQ(n.dz, 1.25f);
  auto f = reinterpret_cast<float (*)(float, float, float)>(fn("f"));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f(1.5f, -0.25f, 2.0f), 2.5f);

  struct F3 {
    float s, a, b;
  };
  auto three =
      reinterpret_cast<F3 (*)(float, const float *, int64_t)>(fn("three"));
  ASSERT_NE(three, nullptr);
  float v[4] = {1, 2, 3, 4.5f};
  F3 t = three(2.0f, v, 4);
  EXPECT_EQ(t.s, 10.5f);
  EXPECT_EQ(t.a, 21.0f);
  EXPECT_EQ(t.b, -8.5f);

  struct D2 {
    double a, b;
  };
  auto two = reinterpret_cast<D2 (*)(double, double)>(fn("two"));
  ASSERT_NE(two, nullptr);
  D2 d = two(3.0, 4.0);
  EXPECT_EQ(d.a, 12.0);
  EXPECT_EQ(d.b, 0.75);

  for (const char *none : {"tensor", "mixed", "five", "arena"})
    EXPECT_EQ(fn(none), nullptr) << none;
}

} // namespace
