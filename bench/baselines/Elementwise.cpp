//===- Elementwise.cpp - W4: sum(tanh(x) sigmoid(x) + exp(-x^2)) ----------===//
//
// One fused pass: read x, write dL/dx, accumulate L in double. Built with
// -ffast-math so that g++ calls glibc's vector tanhf/expf (libmvec).
//   dL/dx = (1 - t^2) s + t s (1 - s) - 2 x e,
//   t = tanh x, s = sigmoid x, e = exp(-x^2)
//
//===----------------------------------------------------------------------===//
#include "../BenchUtil.h"
#include "Baselines.h"

#include <cmath>

namespace gradc::bench {
namespace {

class Elementwise final : public Baseline {
public:
  explicit Elementwise(const Buffers &in) : x_(in[0]), g_(x_.size()) {}

  void forward() override { sink(value<false>()); }
  void valueAndGrad() override { L_ = value<true>(); }
  Buffers results() override { return {{L_}, g_}; }

private:
  template <bool Grad> float value() {
    const float *__restrict x = x_.data();
    float *__restrict g = g_.data();
    double loss = 0;
    const long n = long(x_.size());
#pragma omp simd reduction(+ : loss)
    for (long i = 0; i < n; ++i) {
      float xi = x[i];
      float t = std::tanh(xi), s = 1.f / (1.f + std::exp(-xi)),
            e = std::exp(-xi * xi);
      loss += t * s + e;
      if constexpr (Grad)
        g[i] = (1.f - t * t) * s + t * s * (1.f - s) - 2.f * xi * e;
    }
    return float(loss);
  }

  const std::vector<float> &x_;
  std::vector<float> g_;
  float L_ = 0;
};

} // namespace

std::unique_ptr<Baseline> makeElementwise(const Buffers &in) {
  return std::make_unique<Elementwise>(in);
}

} // namespace gradc::bench
