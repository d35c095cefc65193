//===- gradc_bench.cpp - W1-W8: the JIT against hand-written C++ ----------===//
//
// For each workload of ../shared/peers/WORKLOADS.md: parse and verify its
// .gir, build and simplify @f.grad, JIT-compile @f and @f.grad, and time the
// packed entry points in-process, next to the hand-written C++ of
// baselines/ on the same inputs (the peers' splitmix64 stream; W6 and W7
// have no C++ and are checked by the bench/torch scripts, as W8's C++ is).
// Prints RESULT|CHECK|INFO lines and a table.
//
//   gradc-bench [--workloads DIR] [--reps N] [--threads N] [--dump DIR]
//               [w1 w2 ...]
// --dump DIR writes each hand-written baseline's value and gradients to
// DIR/<id>_cpp.f32 (raw float32, in order), which bench/torch/w8_lstm.py
// checks against torch float64.
// gradc's parallel loops and OpenBLAS run on --threads threads (default 1);
// the hand-written C++ is single-threaded.
//   gradc-bench --blas-core      (the kernel set OpenBLAS chose)
//   gradc-bench --compile-only   (only parse, differentiate and compile each
//                                 workload and print its compile times: for
//                                 timing the JIT alone, e.g. under valgrind)
//
//===----------------------------------------------------------------------===//
#include "BenchUtil.h"
#include "baselines/Baselines.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/Codegen/Jit.h"
#include "gradc/IR/Inline.h"
#include "gradc/Parser/Parser.h"
#include "gradc/Transforms/Passes.h"
#include "gradc/Verifier/Verifier.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <cblas.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#ifndef GRADC_BENCH_WORKLOADS
#define GRADC_BENCH_WORKLOADS "bench/workloads"
#endif

using namespace gradc;
using namespace gradc::bench;

namespace {

constexpr size_t kW1Calls = 1000000; // W1: calls per timed unit
constexpr size_t kW1Check = 1000;    // W1: calls whose results are checked
constexpr double kTolerance = 1e-4;

struct Workload {
  const char *id, *file, *unit;
  std::vector<std::string> wrt; // the gradients, in order
  Buffers inputs; // the float arguments, in the order of @f's arguments
  std::unique_ptr<Baseline> cpp;
  /// The integer (i64) arguments: (position among @f's arguments, values).
  std::vector<std::pair<size_t, std::vector<int64_t>>> intArgs = {};
};

std::vector<int64_t> labels(uint64_t seed, size_t n, int mod) {
  std::vector<int> v = ints(seed, n, mod);
  return std::vector<int64_t>(v.begin(), v.end());
}

std::vector<Workload> makeWorkloads() {
  std::vector<Workload> ws;
  ws.push_back(
      {"w1", "w1_scalar.gir", "ns/call", {"x", "y", "z"}, {}, nullptr});
  ws.back().inputs = {uniform(101, kW1Calls, 1.f), uniform(102, kW1Calls, 1.f),
                      uniform(103, kW1Calls, 1.f)};

  ws.push_back({"w2", "w2_logreg.gir", "ms", {"w", "b"}, {}, nullptr});
  std::vector<float> y(4096);
  std::vector<int> yi = ints(204, 4096, 2);
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = float(yi[i]);
  ws.back().inputs = {uniform(201, 4096 * 512, 1.f), uniform(202, 512, 0.05f),
                      uniform(203, 1, 0.1f), y};

  ws.push_back(
      {"w3", "w3_mlp.gir", "ms", {"W1", "b1", "W2", "b2"}, {}, nullptr});
  std::vector<float> Y(256 * 10, 0.f);
  std::vector<int> cls = ints(306, 256, 10);
  for (int i = 0; i < 256; ++i)
    Y[i * 10 + cls[i]] = 1.f;
  ws.back().inputs = {
      uniform(301, 256 * 784, 1.f), uniform(302, 784 * 256, 0.06f),
      uniform(303, 256, 0.1f),      uniform(304, 256 * 10, 0.1f),
      uniform(305, 10, 0.1f),       Y};

  ws.push_back({"w4", "w4_elementwise.gir", "ms", {"x"}, {}, nullptr});
  ws.back().inputs = {uniform(401, 4194304, 3.f)};

  ws.push_back({"w5", "w5_deep.gir", "ms", {}, {}, nullptr});
  ws.back().inputs.push_back(uniform(500, 32 * 64, 1.f));
  for (int k = 0; k < 8; ++k) {
    ws.back().wrt.push_back("W" + std::to_string(k));
    ws.back().wrt.push_back("b" + std::to_string(k));
    ws.back().inputs.push_back(uniform(510 + k, 64 * 64, 0.2165f));
    ws.back().inputs.push_back(uniform(520 + k, 64, 0.1f));
  }

  // W6-W8: the inputs of ../shared/peers/py/w6_cnn.py ... w8_lstm.py (and
  // bench/torch/): the same seeds and scales. W6 and W7 have no hand-written
  // C++; gradc is checked against torch float64 by the bench/torch scripts.
  // W8's C++ (baselines/Lstm.cpp) is checked there too (--dump).
  ws.push_back({"w6",
                "w6_cnn.gir",
                "ms",
                {"c1w", "c1b", "c2w", "c2b", "W3", "b3", "W4", "b4"},
                {},
                nullptr});
  ws.back().inputs = {
      uniform(601, 64 * 28 * 28, 1.f), uniform(603, 20 * 25, 0.2f),
      uniform(604, 20, 0.1f),          uniform(605, 50 * 20 * 25, 0.045f),
      uniform(606, 50, 0.1f),          uniform(607, 800 * 500, 0.035f),
      uniform(608, 500, 0.1f),         uniform(609, 500 * 10, 0.045f),
      uniform(610, 10, 0.1f)};
  ws.back().intArgs.push_back({9, labels(602, 64, 10)});

  ws.push_back({"w7",
                "w7_transformer.gir",
                "ms",
                {"g1", "s1", "Wq", "bq", "Wk", "Wv", "bv", "Wo", "bo", "g2",
                 "s2", "W1", "b1", "W2", "b2"},
                {},
                nullptr});
  {
    const size_t B = 8, S = 128, D = 256, M = 1024;
    const float sd = 1.f / 16.f, sm = 1.f / 32.f; // 1/sqrt(D), 1/sqrt(M)
    std::vector<float> ones(D, 1.f), zeros(D, 0.f);
    ws.back().inputs = {uniform(701, B * S * D, 1.f),
                        uniform(702, B * S * D, 1.f),
                        ones,
                        zeros,
                        uniform(703, D * D, sd),
                        uniform(704, D, 0.02f),
                        uniform(705, D * D, sd),
                        uniform(707, D * D, sd),
                        uniform(708, D, 0.02f),
                        uniform(709, D * D, sd),
                        uniform(710, D, 0.02f),
                        ones,
                        zeros,
                        uniform(711, D * M, sd),
                        uniform(712, M, 0.02f),
                        uniform(713, M * D, sm),
                        uniform(714, D, 0.02f)};
  }

  ws.push_back({"w8",
                "w8_lstm.gir",
                "ms",
                {"Wih", "Whh", "b", "Wout", "bout"},
                {},
                nullptr});
  ws.back().inputs = {
      uniform(801, 32 * 16 * 64, 1.f),   uniform(803, 64 * 1024, 0.0625f),
      uniform(804, 256 * 1024, 0.0625f), uniform(805, 1024, 0.0625f),
      uniform(806, 256 * 64, 0.0625f),   uniform(807, 64, 0.0625f)};
  ws.back().intArgs.push_back({6, labels(802, 32 * 16, 64)});
  // W8 again, the cell written once and run by `scan` (gen_w8.py --scan):
  // the same inputs, the same loss.
  ws.push_back({"w8s",
                "w8_lstm_scan.gir",
                "ms",
                {"Wih", "Whh", "b", "Wout", "bout"},
                {},
                nullptr});
  ws.back().inputs = ws[ws.size() - 2].inputs;
  ws.back().intArgs = ws[ws.size() - 2].intArgs;
  return ws;
}

std::unique_ptr<Baseline> makeBaseline(const Workload &w) {
  std::string id = w.id;
  if (id == "w1")
    return makeScalar(w.inputs, kW1Check);
  if (id == "w2")
    return makeLogreg(w.inputs);
  if (id == "w3")
    return makeMlp(w.inputs);
  if (id == "w4")
    return makeElementwise(w.inputs);
  if (id == "w5")
    return makeDeep(w.inputs);
  if (id == "w8" || id == "w8s") // the same function
    return makeLstm(w.inputs, w.intArgs.at(0).second);
  return nullptr; // W6, W7: no hand-written C++
}

/// matmul/dot through CBLAS unless gradc was built without it
/// (-DGRADC_USE_BLAS=OFF); the baselines call OpenBLAS either way.
/// --threads: gradc's parallel loops and OpenBLAS (default 1: compiled
/// without parallel loops, as `gradc run --threads 1`).
int benchThreads = 1;

LowerOptions lowerOptions() {
  LowerOptions lo;
  lo.parallel = benchThreads > 1;
#ifndef GRADC_HAVE_CBLAS
  lo.blas = false;
#endif
  return lo;
}

double millisSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - t0)
      .count();
}

/// max |got - ref| / max |ref| (the peers' inf-norm relative error).
double relError(const std::vector<float> &got, const std::vector<float> &ref) {
  if (got.size() != ref.size())
    return INFINITY;
  double err = 0, scale = 1e-300;
  for (size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, std::fabs(double(got[i]) - double(ref[i])));
    scale = std::max(scale, std::fabs(double(ref[i])));
  }
  return err / scale;
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

struct Row {
  std::string id, unit;
  double cppFwd, cppGrad, fwd, grad, compileMs;
  bool pass;
};

/// The compiled @f and @f.grad of one workload, with their buffers.
class Compiled {
public:
  bool load(const std::string &path, const Workload &w) {
    auto t0 = std::chrono::steady_clock::now();
    auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
    if (!buf) {
      fprintf(stderr, "error: cannot read %s\n", path.c_str());
      return false;
    }
    sm_.AddNewSourceBuffer(std::move(*buf), llvm::SMLoc());
    DiagEngine diag(sm_);
    m_ = parseModule(diag);
    if (!m_ || !verify(*m_, diag))
      return false;
    f_ = m_->lookup("f");
    if (!f_)
      return fprintf(stderr, "error: no @f in %s\n", path.c_str()), false;
    GradOptions opts;
    opts.wrt = w.wrt;
    auto g = buildGradient(*m_, *f_, opts);
    if (!g)
      return report(g.takeError());
    g_ = *g;
    if (!PassManager(simplificationPipeline()).run(*g_))
      return false;
    inlineCalls(*m_); // as `gradc run` does: the backends see no `call`
    frontMs = millisSince(t0);
    auto jit = Jit::create(*m_, lowerOptions());
    if (!jit)
      return report(jit.takeError());
    jit_ = std::move(*jit);
    if (auto e = jit_->setThreads(benchThreads))
      return report(std::move(e));
    compileMs = jit_->compileMillis();
    // Also each function alone (what `gradc run [--grad]` compiles).
    for (auto [fn, ms] :
         {std::pair{f_, &fwdOnlyMs}, std::pair{g_, &gradOnlyMs}}) {
      LowerOptions lo = lowerOptions();
      lo.only = fn;
      auto one = Jit::create(*m_, lo);
      if (!one)
        return report(one.takeError());
      *ms = (*one)->compileMillis();
    }
    auto fwd = jit_->lookup(*f_);
    auto grad = jit_->lookup(*g_);
    if (!fwd || !grad)
      return report(fwd ? grad.takeError() : fwd.takeError());
    fwd_ = *fwd;
    grad_ = *grad;
    // W1's typed entry points: its scalars by value (Jit::lookupTyped).
    if (w.id == std::string("w1")) {
      auto tf = jit_->lookupTyped(*f_);
      auto tg = jit_->lookupTyped(*g_);
      if (!tf || !tg)
        return report(tf ? tg.takeError() : tf.takeError());
      typedFwd_ = reinterpret_cast<TypedFwd>(*tf);
      typedGrad_ = reinterpret_cast<TypedGrad>(*tg);
      // And by value: the outputs returned in registers.
      valuesFwd_ = reinterpret_cast<ValuesFwd>(jit_->lookupValues(*f_));
      // @f.grad without its seed (1), like the C++ gradient.
      valuesGrad_ = reinterpret_cast<ValuesGrad>(
          jit_->lookupValues(*g_, /*noseed=*/true));
      if (!valuesFwd_ || !valuesGrad_)
        return report(llvm::createStringError(
            llvm::inconvertibleErrorCode(), "W1 has no by-value entry point"));
    }
    for (const Type &t : g_->resultTypes)
      out_.emplace_back(t.numElements());
    for (const auto &v : w.inputs)
      in_.push_back(const_cast<float *>(v.data()));
    inPtr_.assign(in_.begin(), in_.end());
    for (const auto &[pos, v] : w.intArgs)
      inPtr_.insert(inPtr_.begin() + pos, const_cast<int64_t *>(v.data()));
    inPtr_.push_back(&one_); // the seed cotangent of @f.grad
    for (auto &o : out_)
      outPtr_.push_back(o.data());
    return true;
  }

  /// One call of @f (W1: one per input element).
  void forward(size_t calls) {
    if (calls == 1) {
      failed_ |= fwd_(inPtr_.data(), dims_, outPtr_.data());
      sink(out_[0][0]);
      return;
    }
    // W1: everything the loop touches is local, as in the C++ baseline.
    if (entry == Entry::Values && valuesFwd_) {
      ValuesFwd fn = valuesFwd_;
      const float *x = in_[0], *y = in_[1], *z = in_[2];
      float acc = 0;
      for (size_t i = 0; i < calls; ++i)
        acc += fn(x[i], y[i], z[i]);
      sink(acc);
      return;
    }
    if (entry == Entry::Typed && typedFwd_) {
      TypedFwd fn = typedFwd_;
      const float *x = in_[0], *y = in_[1], *z = in_[2];
      float f = 0, acc = 0;
      int bad = 0;
      for (size_t i = 0; i < calls; ++i) {
        bad |= fn(x[i], y[i], z[i], &f);
        acc += f;
      }
      failed_ |= bad;
      sink(acc);
      return;
    }
    Jit::PackedFn fn = fwd_;
    float *x = in_[0], *y = in_[1], *z = in_[2], f = 0, acc = 0;
    void *in[3], *out[1] = {&f};
    int bad = 0;
    for (size_t i = 0; i < calls; ++i) {
      in[0] = x + i;
      in[1] = y + i;
      in[2] = z + i;
      bad |= fn(in, dims_, out);
      acc += f;
    }
    failed_ |= bad;
    sink(acc);
  }

  /// One call of @f.grad (W1: one per input element).
  void valueAndGrad(size_t calls) {
    if (calls == 1) {
      failed_ |= grad_(inPtr_.data(), dims_, outPtr_.data());
      sink(out_[0][0]);
      return;
    }
    if (entry == Entry::Values && valuesGrad_) {
      ValuesGrad fn = valuesGrad_;
      const float *x = in_[0], *y = in_[1], *z = in_[2];
      float acc = 0;
      for (size_t i = 0; i < calls; ++i) {
        Out4 o = fn(x[i], y[i], z[i]);
        acc += o.f + o.dx + o.dy + o.dz;
      }
      sink(acc);
      return;
    }
    if (entry == Entry::Typed && typedGrad_) {
      TypedGrad fn = typedGrad_;
      const float *x = in_[0], *y = in_[1], *z = in_[2];
      float o[4] = {}, acc = 0;
      int bad = 0;
      for (size_t i = 0; i < calls; ++i) {
        bad |= fn(x[i], y[i], z[i], one_, &o[0], &o[1], &o[2], &o[3]);
        acc += o[0] + o[1] + o[2] + o[3];
      }
      failed_ |= bad;
      sink(acc);
      return;
    }
    Jit::PackedFn fn = grad_;
    float *x = in_[0], *y = in_[1], *z = in_[2], o[4] = {}, acc = 0;
    void *in[4] = {nullptr, nullptr, nullptr, &one_};
    void *out[4] = {&o[0], &o[1], &o[2], &o[3]};
    int bad = 0;
    for (size_t i = 0; i < calls; ++i) {
      in[0] = x + i;
      in[1] = y + i;
      in[2] = z + i;
      bad |= fn(in, dims_, out);
      acc += o[0] + o[1] + o[2] + o[3];
    }
    failed_ |= bad;
    sink(acc);
  }

  /// The results of @f.grad (W1: of the first `calls` calls, like the
  /// baseline's).
  Buffers results(size_t calls) {
    if (calls == 1) {
      valueAndGrad(1);
      return out_;
    }
    Buffers r(out_.size(), std::vector<float>(calls));
    for (size_t i = 0; i < calls; ++i) {
      void *in[4] = {in_[0] + i, in_[1] + i, in_[2] + i, &one_};
      failed_ |= grad_(in, dims_, outPtr_.data());
      for (size_t k = 0; k < out_.size(); ++k)
        r[k][i] = out_[k][0];
      // The typed and by-value entry points give the same bits.
      if (typedGrad_) {
        float o[4];
        failed_ |= typedGrad_(in_[0][i], in_[1][i], in_[2][i], one_, &o[0],
                              &o[1], &o[2], &o[3]);
        for (size_t k = 0; k < 4 && k < out_.size(); ++k)
          failed_ |= std::memcmp(&o[k], &out_[k][0], 4) != 0;
      }
      if (valuesGrad_) {
        Out4 v = valuesGrad_(in_[0][i], in_[1][i], in_[2][i]);
        float o[4] = {v.f, v.dx, v.dy, v.dz};
        for (size_t k = 0; k < 4 && k < out_.size(); ++k)
          failed_ |= std::memcmp(&o[k], &out_[k][0], 4) != 0;
      }
    }
    return r;
  }

  bool failed() const { return failed_ != 0; }
  /// What one call of @f.grad holds at its peak beyond its inputs: the
  /// intermediate buffers (`gradc run --stats`) and the results.
  int64_t peakBytes() const {
    int64_t bytes = workspaceBytes(*g_, SymEnv());
    for (const auto &o : out_)
      bytes += int64_t(o.size() * sizeof(float));
    return bytes;
  }
  double frontMs = 0, compileMs = 0, fwdOnlyMs = 0, gradOnlyMs = 0;

private:
  bool report(llvm::Error e) {
    fprintf(stderr, "error: %s\n", llvm::toString(std::move(e)).c_str());
    return false;
  }

  llvm::SourceMgr sm_;
  std::unique_ptr<Module> m_;
  Function *f_ = nullptr, *g_ = nullptr;
  std::unique_ptr<Jit> jit_;
  Jit::PackedFn fwd_ = nullptr, grad_ = nullptr;
  using TypedFwd = int (*)(float, float, float, float *);
  using TypedGrad = int (*)(float, float, float, float, float *, float *,
                            float *, float *);
  TypedFwd typedFwd_ = nullptr;
  TypedGrad typedGrad_ = nullptr;
  /// gradc_f__values and gradc_f_grad_noseed__values: @f.grad's four
  /// scalars returned as a C struct, its seed 1.
  struct Out4 {
    float f, dx, dy, dz;
  };
  using ValuesFwd = float (*)(float, float, float);
  using ValuesGrad = Out4 (*)(float, float, float);
  ValuesFwd valuesFwd_ = nullptr;
  ValuesGrad valuesGrad_ = nullptr;
  std::vector<float *> in_;
  std::vector<void *> inPtr_, outPtr_;
  Buffers out_;
  float one_ = 1.f;
  const int64_t dims_[1] = {0}; // the workloads have no symbolic dims
  int failed_ = 0;

public:
  /// Which entry points W1 is timed through: by value (the outputs in
  /// registers), typed (the scalar inputs by value, the outputs through
  /// pointers) or packed.
  enum class Entry { Values, Typed, Packed } entry = Entry::Values;
};

} // namespace

int main(int argc, char **argv) {
  std::string dir = GRADC_BENCH_WORKLOADS;
  int reps = 9;
  bool compileOnly = false;
  std::string dump;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--workloads") && i + 1 < argc)
      dir = argv[++i];
    else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
      dump = argv[++i];
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = std::max(7, atoi(argv[++i]));
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
      benchThreads = std::max(1, atoi(argv[++i]));
    else if (!strcmp(argv[i], "--compile-only"))
      compileOnly = true;
    else if (!strcmp(argv[i], "--blas-core"))
      return printf("%s\n", openblas_get_corename()), 0;
    else if (argv[i][0] == '-')
      return fprintf(stderr,
                     "usage: %s [--workloads DIR] [--reps N>=7] [--threads N] "
                     "[--dump DIR] [--blas-core] [--compile-only] [w1 ... w8 "
                     "w8s]\n",
                     argv[0]),
             2;
    else
      only.push_back(argv[i]);
  }
  openblas_set_num_threads(benchThreads);
  printf("INFO|OpenBLAS core %s, %d thread(s) for gradc (parallel loops and "
         "BLAS); gradc matmul through %s\n",
         openblas_get_corename(), benchThreads,
         lowerOptions().blas ? "CBLAS" : "loops");
  printf("INFO|load average at start: %s\n", loadAverage().c_str());
  std::vector<Row> rows;
  bool allPass = true;
  for (Workload &w : makeWorkloads()) {
    if (!only.empty() &&
        std::find(only.begin(), only.end(), w.id) == only.end())
      continue;
    Compiled c;
    if (!c.load(dir + "/" + w.file, w))
      return 1;
    if (compileOnly) {
      printf("INFO|%s|JIT compile of @f and @f.grad together %.1f ms, @f "
             "alone %.1f ms, @f.grad alone %.1f ms\n",
             w.id, c.compileMs, c.fwdOnlyMs, c.gradOnlyMs);
      continue;
    }
    w.cpp = makeBaseline(w);
    bool batch = std::string(w.id) == "w1";
    size_t calls = batch ? kW1Calls : 1;
    // W1 is timed per batch of calls and reported per call.
    double scale = batch ? 1e6 / double(kW1Calls) : 1.0;
    Row r{w.id, w.unit, NAN, NAN, 0, 0, c.compileMs, true};
    if (w.cpp) {
      r.cppFwd = benchMs([&] { w.cpp->forward(); }, reps) * scale;
      r.cppGrad = benchMs([&] { w.cpp->valueAndGrad(); }, reps) * scale;
      printf("RESULT|%s|c++|%.6g|%.6g|%s\n", w.id, r.cppFwd, r.cppGrad, w.unit);
    }
    r.fwd = benchMs([&] { c.forward(calls); }, reps) * scale;
    r.grad = benchMs([&] { c.valueAndGrad(calls); }, reps) * scale;
    printf("RESULT|%s|gradc|%.6g|%.6g|%s\n", w.id, r.fwd, r.grad, w.unit);
    if (batch) { // W1 also through the other entry points, for comparison
      for (auto [e, name] :
           {std::pair{Compiled::Entry::Typed, "gradc typed"},
            std::pair{Compiled::Entry::Packed, "gradc packed"}}) {
        c.entry = e;
        double f = benchMs([&] { c.forward(calls); }, reps) * scale;
        double g = benchMs([&] { c.valueAndGrad(calls); }, reps) * scale;
        printf("RESULT|%s|%s|%.6g|%.6g|%s\n", w.id, name, f, g, w.unit);
      }
      c.entry = Compiled::Entry::Values;
    }
    printf("MEM|%s|gradc|%lld\n", w.id, (long long)c.peakBytes());
    printf("INFO|%s|parse+grad+simplify %.2f ms; JIT compile of @f and "
           "@f.grad together %.1f ms, @f alone %.1f ms, @f.grad alone %.1f "
           "ms\n",
           w.id, c.frontMs, c.compileMs, c.fwdOnlyMs, c.gradOnlyMs);

    if (!w.cpp) {
      // Checked against torch float64 by bench/torch/<id>_*.py instead.
      r.pass = !c.failed();
      allPass &= r.pass;
      printf("INFO|%s|no hand-written C++: gradc's value and gradients are "
             "checked against torch float64 by bench/torch/%s_*.py\n",
             w.id, w.id);
      if (!r.pass)
        printf("CHECK|%s|gradc|-|FAIL|an entry point returned an error\n",
               w.id);
      fflush(stdout);
      rows.push_back(r);
      continue;
    }
    w.cpp->valueAndGrad();
    Buffers ref = w.cpp->results();
    if (!dump.empty()) {
      std::ofstream out(dump + "/" + w.id + "_cpp.f32", std::ios::binary);
      for (const std::vector<float> &b : ref)
        out.write(reinterpret_cast<const char *>(b.data()),
                  std::streamsize(b.size() * sizeof(float)));
      if (!out)
        return fprintf(stderr, "error: cannot write to %s\n", dump.c_str()), 1;
    }
    Buffers got = c.results(batch ? kW1Check : 1);
    double worst = 0;
    std::string detail;
    for (size_t k = 0; k < ref.size(); ++k) {
      double e = k < got.size() ? relError(got[k], ref[k]) : INFINITY;
      worst = std::max(worst, e);
      char buf[64];
      snprintf(buf, sizeof buf, " %s=%.2e",
               k == 0 ? "value" : ("d" + w.wrt[k - 1]).c_str(), e);
      detail += buf;
    }
    r.pass = worst < kTolerance && !c.failed() && got.size() == ref.size();
    allPass &= r.pass;
    printf("CHECK|%s|gradc vs c++|%.3e|%s|value c++ %.9g gradc %.9g;%s\n", w.id,
           worst, r.pass ? "PASS" : "FAIL", ref[0][0], got[0][0],
           detail.c_str());
    fflush(stdout);
    rows.push_back(r);
  }
  printf("INFO|load average at end: %s\n\n", loadAverage().c_str());
  if (compileOnly)
    return 0;
  printf("| workload | unit | C++ fwd | C++ fwd+grad | gradc fwd | gradc "
         "fwd+grad | gradc/C++ fwd | gradc/C++ fwd+grad | C++ grad/fwd | "
         "gradc grad/fwd | compile ms | check |\n");
  printf("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
  auto cell = [](double v, const char *fmt) {
    char buf[32];
    if (std::isnan(v))
      return std::string("-");
    snprintf(buf, sizeof buf, fmt, v);
    return std::string(buf);
  };
  for (const Row &r : rows)
    printf("| %s | %s | %s | %s | %.4g | %.4g | %s | %s | %s | %.2f "
           "| %.1f | %s |\n",
           r.id.c_str(), r.unit.c_str(), cell(r.cppFwd, "%.4g").c_str(),
           cell(r.cppGrad, "%.4g").c_str(), r.fwd, r.grad,
           cell(r.fwd / r.cppFwd, "%.2f").c_str(),
           cell(r.grad / r.cppGrad, "%.2f").c_str(),
           cell(r.cppGrad / r.cppFwd, "%.2f").c_str(), r.grad / r.fwd,
           r.compileMs, r.pass ? "PASS" : "FAIL");
  return allPass ? 0 : 1;
}
