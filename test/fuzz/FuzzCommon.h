//===- FuzzCommon.h - Shared parts of the libFuzzer harnesses ---*- C++ -*-===//
//
// Each harness takes its input as the text of a .gir module. A broken
// invariant is reported with the module and ends the run with abort(), which
// libFuzzer records as a crash (the input is saved as crash-<sha1>).
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_TEST_FUZZ_FUZZCOMMON_H
#define GRADC_TEST_FUZZ_FUZZCOMMON_H

#include "gradc/IR/Printer.h"
#include "gradc/Interp/Interpreter.h"
#include "gradc/Parser/Parser.h"
#include "gradc/Verifier/Verifier.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace gradc::fuzz {

/// Parses and verifies `text`; diagnostics go to `os` (by default nowhere).
/// Null on error.
inline std::unique_ptr<Module> load(llvm::StringRef text, llvm::SourceMgr &sm,
                                    llvm::raw_ostream &os = llvm::nulls()) {
  sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.gir"),
                        llvm::SMLoc());
  DiagEngine diag(sm, os);
  auto m = parseModule(diag);
  if (!m || !verify(*m, diag))
    return nullptr;
  return m;
}

inline std::string printed(const Module &m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  print(m, os);
  return s;
}

[[noreturn]] inline void fail(const char *what, const std::string &module,
                              const std::string &detail = "") {
  llvm::errs() << "gradc-fuzz: broken invariant: " << what << "\n";
  if (!detail.empty())
    llvm::errs() << detail << "\n";
  llvm::errs() << "--- module ---\n" << module << "--------------\n";
  std::abort();
}

/// Small sizes for the symbolic dims of `f`, and whether every value of `f`
/// is then small enough (at most `maxElements`) to evaluate quickly.
inline bool smallSizes(const Function &f, SymEnv &syms, int64_t maxElements,
                       size_t maxOps) {
  if (f.ops.size() > maxOps)
    return false;
  int64_t next = 2;
  for (const Value *a : f.args)
    for (const Dim &d : a->type.dims)
      if (d.isSym() && !syms.count(d.sym))
        syms[d.sym] = next++ % 3 + 1; // 3, 1, 2, 3, ...
  auto small = [&](const Type &t) {
    Shape s;
    for (const Dim &d : t.dims)
      s.push_back(d.isSym() ? syms.lookup(d.sym) : d.size);
    return bool(checkedProduct(s, maxElements));
  };
  for (const Value *a : f.args)
    if (!small(a->type))
      return false;
  for (const auto &op : f.ops)
    if (!small(op->result->type))
      return false;
  return true;
}

/// Deterministic arguments for `f`: values in [-1.5, -0.5] u [0.5, 1.5].
inline std::vector<Tensor> arguments(const Function &f, const SymEnv &syms,
                                     uint64_t seed) {
  std::vector<Tensor> args;
  for (const Value *a : f.args) {
    Shape s;
    for (const Dim &d : a->type.dims)
      s.push_back(d.isSym() ? syms.lookup(d.sym) : d.size);
    Tensor t(a->type.dtype, s);
    for (double &x : t.data) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      double u = double(seed >> 11) / double(1ull << 53); // [0, 1)
      x = (0.5 + u) * ((seed >> 7) & 1 ? 1 : -1);
    }
    t.roundToType();
    args.push_back(std::move(t));
  }
  return args;
}

/// Compares two results where both are finite: |a-b| <= tol * max(1, |a|).
/// Returns a description of the first difference, or "".
inline std::string compare(const std::vector<Tensor> &a,
                           const std::vector<Tensor> &b, double tolF64,
                           double tolF32) {
  if (a.size() != b.size())
    return "different numbers of results";
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].shape != b[i].shape)
      return "result " + std::to_string(i) + ": different shapes";
    double tol = a[i].dtype == DType::F32 ? tolF32 : tolF64;
    for (size_t k = 0; k < a[i].data.size(); ++k) {
      double x = a[i].data[k], y = b[i].data[k];
      if (!std::isfinite(x) || !std::isfinite(y))
        continue;
      if (std::fabs(x - y) > tol * std::max(1.0, std::fabs(x)))
        return "result " + std::to_string(i) + " element " + std::to_string(k) +
               ": " + std::to_string(x) + " vs " + std::to_string(y);
    }
  }
  return "";
}

} // namespace gradc::fuzz

#endif
