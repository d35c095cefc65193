//===- Deep.cpp - W5: 8 tanh layers of 32x64, L = sum(h^2)/2 --------------===//
//
// cblas_sgemm per layer, then bias and tanh in one loop; backward: the tanh'
// and bias gradient in one loop, then dW_k = h_k^T da and dh_k = da W_k^T (not
// for k = 0: dh_0 is not asked for). Built with -ffast-math (vector tanhf).
//
//===----------------------------------------------------------------------===//
#include "../BenchUtil.h"
#include "Baselines.h"

#include <cblas.h>
#include <cmath>
#include <cstring>

namespace gradc::bench {
namespace {

constexpr int K = 8, Bt = 32, Wd = 64;

class Deep final : public Baseline {
public:
  /// `in`: h0, then W_k, b_k for k = 0..7.
  explicit Deep(const Buffers &in)
      : h0_(in[0].data()), dh_(Bt * Wd), da_(Bt * Wd) {
    for (int k = 0; k < K; ++k) {
      W_[k] = in[1 + 2 * k].data();
      b_[k] = in[2 + 2 * k].data();
      dW_[k].resize(Wd * Wd);
      db_[k].resize(Wd);
    }
    for (auto &h : hs_)
      h.resize(Bt * Wd);
  }

  void forward() override { sink(value()); }

  void valueAndGrad() override {
    L_ = value();
    float *dh = dh_.data(), *da = da_.data();
    std::memcpy(dh, hs_[K].data(), Bt * Wd * sizeof(float)); // dL/dh_8 = h_8
    for (int k = K - 1; k >= 0; --k) {
      const float *out = hs_[k + 1].data();
      const float *in = k == 0 ? h0_ : hs_[k].data();
      float *db = db_[k].data();
      std::fill(db, db + Wd, 0.f);
      for (int i = 0; i < Bt; ++i) {
#pragma omp simd
        for (int j = 0; j < Wd; ++j) {
          float t = out[i * Wd + j];
          float g = dh[i * Wd + j] * (1.f - t * t);
          da[i * Wd + j] = g;
          db[j] += g;
        }
      }
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Wd, Wd, Bt, 1.f, in,
                  Wd, da, Wd, 0.f, dW_[k].data(), Wd);
      if (k > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Bt, Wd, Wd, 1.f,
                    da, Wd, W_[k], Wd, 0.f, dh, Wd);
    }
  }

  Buffers results() override {
    Buffers r{{L_}};
    for (int k = 0; k < K; ++k) {
      r.push_back(dW_[k]);
      r.push_back(db_[k]);
    }
    return r;
  }

private:
  float value() {
    const float *in = h0_;
    for (int k = 0; k < K; ++k) {
      float *out = hs_[k + 1].data();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Bt, Wd, Wd, 1.f,
                  in, Wd, W_[k], Wd, 0.f, out, Wd);
      for (int i = 0; i < Bt; ++i) {
#pragma omp simd
        for (int j = 0; j < Wd; ++j) // bias and tanh in one pass
          out[i * Wd + j] = std::tanh(out[i * Wd + j] + b_[k][j]);
      }
      in = out;
    }
    float loss = 0;
    const float *h = hs_[K].data();
#pragma omp simd reduction(+ : loss)
    for (int j = 0; j < Bt * Wd; ++j)
      loss += h[j] * h[j];
    return 0.5f * loss;
  }

  const float *h0_;
  const float *W_[K], *b_[K];
  std::vector<float> hs_[K + 1], dW_[K], db_[K], dh_, da_;
  float L_ = 0;
};

} // namespace

std::unique_ptr<Baseline> makeDeep(const Buffers &in) {
  return std::make_unique<Deep>(in);
}

} // namespace gradc::bench
