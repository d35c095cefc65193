//===- Logreg.cpp - W2: logistic regression, grad wrt w, b ----------------===//
//
// s = X w + b by cblas_sgemv; the loss per row in the stable form
// softplus(s) - y s with one exp per row; dw = X^T g by a second sgemv with
// the transpose flag (X is read twice; it stays in the last-level cache).
//
//===----------------------------------------------------------------------===//
#include "../BenchUtil.h"
#include "Baselines.h"

#include <algorithm>
#include <cblas.h>
#include <cmath>

namespace gradc::bench {
namespace {

constexpr int N = 4096, D = 512;

class Logreg final : public Baseline {
public:
  explicit Logreg(const Buffers &in)
      : X_(in[0].data()), w_(in[1].data()), b_(in[2][0]), y_(in[3].data()),
        s_(N), dw_(D) {}

  void forward() override { sink(value<false>()); }
  void valueAndGrad() override {
    L_ = value<true>();
    cblas_sgemv(CblasRowMajor, CblasTrans, N, D, 1.f, X_, D, s_.data(), 1, 0.f,
                dw_.data(), 1);
  }
  Buffers results() override { return {{L_}, dw_, {db_}}; }

private:
  /// The loss; with Grad, also s_ := dL/ds and db_ := sum(dL/ds).
  template <bool Grad> float value() {
    float *__restrict s = s_.data();
    const float *__restrict y = y_;
    const float b = b_;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, N, D, 1.f, X_, D, w_, 1, 0.f, s,
                1);
    float loss = 0, db = 0;
    const float invN = 1.f / N;
#pragma omp simd reduction(+ : loss, db)
    for (int i = 0; i < N; ++i) {
      float si = s[i] + b;
      float e = std::exp(-std::fabs(si)); // one exp: softplus and sigmoid
      loss +=
          std::max(si, 0.f) + std::log(1.f + e) - y[i] * si; // softplus - ys
      if constexpr (Grad) {
        float r = 1.f / (1.f + e);
        float g = ((si >= 0.f ? r : e * r) - y[i]) * invN;
        s[i] = g;
        db += g;
      }
    }
    if constexpr (Grad)
      db_ = db;
    return loss * invN;
  }

  const float *X_, *w_;
  float b_;
  const float *y_;
  std::vector<float> s_, dw_;
  float L_ = 0, db_ = 0;
};

} // namespace

std::unique_ptr<Baseline> makeLogreg(const Buffers &in) {
  return std::make_unique<Logreg>(in);
}

} // namespace gradc::bench
