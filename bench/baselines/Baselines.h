//===- Baselines.h - Hand-written C++ versions of W1-W5, W8 -----*- C++ -*-===//
//
// What a careful engineer writes by hand for W1-W5 and W8 (see
// ../shared/peers/WORKLOADS.md): fused loops, OpenBLAS sgemm/sgemv with
// transpose flags, only the gradients asked for. gradc-bench times them next
// to the JIT-compiled .gir workloads in the same run.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_BENCH_BASELINES_H
#define GRADC_BENCH_BASELINES_H

#include <cstdint>
#include <memory>
#include <vector>

namespace gradc::bench {

/// One float buffer per value.
using Buffers = std::vector<std::vector<float>>;

class Baseline {
public:
  virtual ~Baseline() = default;
  /// The value only.
  virtual void forward() = 0;
  /// The value and the gradients.
  virtual void valueAndGrad() = 0;
  /// The value, then the gradients in the workload's order (W1: f, dx, dy, dz
  /// of the first calls), as computed by the last valueAndGrad().
  virtual Buffers results() = 0;
};

// Each factory takes the inputs in the order of the .gir function's
// arguments; the baseline keeps a reference to them.
/// W1: x, y, z with one value per call; a "call" of forward() or
/// valueAndGrad() is the whole batch, one function-pointer call per element.
std::unique_ptr<Baseline> makeScalar(const Buffers &in, size_t checkCalls);
std::unique_ptr<Baseline> makeLogreg(const Buffers &in);
std::unique_ptr<Baseline> makeMlp(const Buffers &in);
std::unique_ptr<Baseline> makeElementwise(const Buffers &in);
std::unique_ptr<Baseline> makeDeep(const Buffers &in);
/// W8: X, Wih, Whh, b, Wout, bout, and the T*N integer targets.
std::unique_ptr<Baseline> makeLstm(const Buffers &in,
                                   const std::vector<int64_t> &labels);

} // namespace gradc::bench

#endif
