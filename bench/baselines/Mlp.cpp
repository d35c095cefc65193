//===- Mlp.cpp - W3: two-layer MLP, softmax cross-entropy -----------------===//
//
// Five cblas_sgemm calls (two forward; dW2 = h^T dz, dh = dz W2^T,
// dW1 = X^T dpre backward, transposes as BLAS flags, no dX); bias, relu and
// the softmax are single loops around them.
//
//===----------------------------------------------------------------------===//
#include "../BenchUtil.h"
#include "Baselines.h"

#include <algorithm>
#include <cblas.h>
#include <cmath>
#include <cstring>

namespace gradc::bench {
namespace {

constexpr int B = 256, I = 784, H = 256, C = 10;

class Mlp final : public Baseline {
public:
  explicit Mlp(const Buffers &in)
      : X_(in[0].data()), W1_(in[1].data()), b1_(in[2].data()),
        W2_(in[3].data()), b2_(in[4].data()), Y_(in[5].data()), h_(B * H),
        z_(B * C), dz_(B * C), dh_(B * H), dW1_(I * H), db1_(H), dW2_(H * C),
        db2_(C) {}

  void forward() override { sink(value<false>()); }

  void valueAndGrad() override {
    L_ = value<true>();
    const float *h = h_.data(), *dz = dz_.data();
    float *dh = dh_.data(), *db1 = db1_.data(), *db2 = db2_.data();
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, C, B, 1.f, h, H, dz,
                C, 0.f, dW2_.data(), C);
    std::fill(db2, db2 + C, 0.f);
    for (int i = 0; i < B; ++i)
      for (int c = 0; c < C; ++c)
        db2[c] += dz[i * C + c];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, C, 1.f, dz, C,
                W2_, C, 0.f, dh, H);
    std::fill(db1, db1 + H, 0.f);
    for (int i = 0; i < B; ++i) {
#pragma omp simd
      for (int j = 0; j < H; ++j) {
        float g = h[i * H + j] > 0.f ? dh[i * H + j] : 0.f; // relu'
        dh[i * H + j] = g;
        db1[j] += g;
      }
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I, H, B, 1.f, X_, I,
                dh, H, 0.f, dW1_.data(), H);
  }

  Buffers results() override { return {{L_}, dW1_, db1_, dW2_, db2_}; }

private:
  /// The loss; h_ and z_; with Grad also dz_ = dL/dz.
  template <bool Grad> float value() {
    float *h = h_.data(), *z = z_.data();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, I, 1.f, X_, I,
                W1_, H, 0.f, h, H);
    for (int i = 0; i < B; ++i) {
#pragma omp simd
      for (int j = 0; j < H; ++j) // bias and relu in one pass
        h[i * H + j] = std::max(h[i * H + j] + b1_[j], 0.f);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, C, H, 1.f, h, H,
                W2_, C, 0.f, z, C);
    for (int i = 0; i < B; ++i)
      for (int c = 0; c < C; ++c)
        z[i * C + c] += b2_[c];
    float loss = 0;
    const float invB = 1.f / B;
    for (int i = 0; i < B; ++i) {
      const float *zi = z + i * C, *yi = Y_ + i * C;
      float m = *std::max_element(zi, zi + C);
      float e[C], se = 0, yz = 0;
      for (int c = 0; c < C; ++c) {
        e[c] = std::exp(zi[c] - m);
        se += e[c];
        yz += yi[c] * zi[c];
      }
      loss += m + std::log(se) - yz;
      if constexpr (Grad) { // dL/dz = (softmax(z) - Y) / B
        float r = 1.f / se;
        for (int c = 0; c < C; ++c)
          dz_[i * C + c] = (e[c] * r - yi[c]) * invB;
      }
    }
    return loss * invB;
  }

  const float *X_, *W1_, *b1_, *W2_, *b2_, *Y_;
  std::vector<float> h_, z_, dz_, dh_, dW1_, db1_, dW2_, db2_;
  float L_ = 0;
};

} // namespace

std::unique_ptr<Baseline> makeMlp(const Buffers &in) {
  return std::make_unique<Mlp>(in);
}

} // namespace gradc::bench
