//===- Lstm.cpp - W8: one-layer LSTM, cross-entropy at every step ---------===//
//
// T = 32 steps of an LSTM (input 64, hidden 256, batch 16; gates i, f, g, o
// from x_t Wih + h Whh + b, h0 = c0 = 0), logits h_t Wout + bout over 64
// symbols, L = mean cross-entropy of the integer targets over all T*N rows.
// What a careful engineer writes with OpenBLAS:
//  - forward: the input projections of all steps in one GEMM (X Wih + b,
//    [T*N, 4H]), then per step one GEMM h_{t-1} Whh accumulated into them
//    and one loop for the gates and the cell; the logits of all steps in
//    one GEMM, then the softmax cross-entropy per row;
//  - backward: dWout, dbout and dH = dlogits Wout^T in one GEMM each over
//    all steps; back through time one loop per step for the gate
//    derivatives (the cell gradient carried over in one [N, H] buffer) and
//    one GEMM dh_{t-1} += dz_t Whh^T; then dWih = X^T dz and dWhh =
//    H_{0..T-2}^T dz_{1..T-1} as one GEMM each over the stacked steps, db a
//    column sum.
// Only the gradients asked for (not dX). Built with -ffast-math (vector
// expf/tanhf from libmvec).
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

constexpr int T = 32, N = 16, I = 64, H = 256, V = 64, G = 4 * H, TN = T * N;

inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

class Lstm final : public Baseline {
public:
  /// `in`: X, Wih, Whh, b, Wout, bout (the .gir's float arguments);
  /// `labels`: the targets y[t, n] of the T*N rows.
  Lstm(const Buffers &in, const std::vector<int64_t> &labels)
      : X_(in[0].data()), Wih_(in[1].data()), Whh_(in[2].data()),
        b_(in[3].data()), Wout_(in[4].data()), bout_(in[5].data()), y_(labels),
        z_(TN * G), c_(TN * H), tc_(TN * H), h_(TN * H), logits_(TN * V),
        dz_(TN * G), dh_(TN * H), dc_(N * H), dWih_(I * G), dWhh_(H * G),
        db_(G), dWout_(H * V), dbout_(V) {}

  void forward() override { sink(value<false>()); }

  void valueAndGrad() override {
    L_ = value<true>();
    const float *dlog = logits_.data(); // dL/dlogits, in place
    float *dh = dh_.data(), *dz = dz_.data(), *dc = dc_.data();
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, V, TN, 1.f,
                h_.data(), H, dlog, V, 0.f, dWout_.data(), V);
    colSum(dlog, TN, V, dbout_.data());
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, TN, H, V, 1.f, dlog, V,
                Wout_, V, 0.f, dh, H);
    std::fill(dc, dc + N * H, 0.f);
    for (int t = T - 1; t >= 0; --t) {
      for (int n = 0; n < N; ++n) {
        const int r = t * N + n;
        const float *gt = &z_[size_t(r) * G], *tc = &tc_[size_t(r) * H];
        const float *cp = t > 0 ? &c_[size_t(r - N) * H] : nullptr;
        float *dzr = dz + size_t(r) * G, *dhr = dh + size_t(r) * H,
              *dcr = dc + n * H;
#pragma omp simd
        for (int j = 0; j < H; ++j) {
          float i = gt[j], f = gt[H + j], g = gt[2 * H + j], o = gt[3 * H + j];
          float dhv = dhr[j];
          float dcv = dcr[j] + dhv * o * (1.f - tc[j] * tc[j]);
          float cprev = cp ? cp[j] : 0.f;
          dzr[j] = dcv * g * i * (1.f - i);
          dzr[H + j] = dcv * cprev * f * (1.f - f);
          dzr[2 * H + j] = dcv * i * (1.f - g * g);
          dzr[3 * H + j] = dhv * tc[j] * o * (1.f - o);
          dcr[j] = dcv * f;
        }
      }
      if (t > 0) // dh_{t-1} += dz_t Whh^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, H, G, 1.f,
                    dz + size_t(t) * N * G, G, Whh_, G, 1.f,
                    dh + size_t(t - 1) * N * H, H);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I, G, TN, 1.f, X_, I,
                dz, G, 0.f, dWih_.data(), G);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, G, TN - N, 1.f,
                h_.data(), H, dz + size_t(N) * G, G, 0.f, dWhh_.data(), G);
    colSum(dz, TN, G, db_.data());
  }

  Buffers results() override {
    return {{L_}, dWih_, dWhh_, db_, dWout_, dbout_};
  }

private:
  static void colSum(const float *a, int rows, int cols, float *out) {
    std::fill(out, out + cols, 0.f);
    for (int r = 0; r < rows; ++r) {
#pragma omp simd
      for (int j = 0; j < cols; ++j)
        out[j] += a[size_t(r) * cols + j];
    }
  }

  /// The loss. With Grad, z_ holds the gates (i, f, g, o after their
  /// nonlinearities), c_ and tc_ the cells and their tanh, and logits_
  /// dL/dlogits.
  template <bool Grad> float value() {
    float *z = z_.data(), *h = h_.data(), *logits = logits_.data();
    for (int r = 0; r < TN; ++r)
      std::memcpy(z + size_t(r) * G, b_, G * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, TN, G, I, 1.f, X_, I,
                Wih_, G, 1.f, z, G);
    for (int t = 0; t < T; ++t) {
      float *zt = z + size_t(t) * N * G;
      if (t > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, G, H, 1.f,
                    h + size_t(t - 1) * N * H, H, Whh_, G, 1.f, zt, G);
      for (int n = 0; n < N; ++n) {
        const int r = t * N + n;
        float *gt = z + size_t(r) * G, *c = &c_[size_t(r) * H],
              *tc = &tc_[size_t(r) * H], *hr = h + size_t(r) * H;
        const float *cp = t > 0 ? &c_[size_t(r - N) * H] : nullptr;
#pragma omp simd
        for (int j = 0; j < H; ++j) {
          float i = sigmoid(gt[j]), f = sigmoid(gt[H + j]),
                g = std::tanh(gt[2 * H + j]), o = sigmoid(gt[3 * H + j]);
          float cv = (cp ? f * cp[j] : 0.f) + i * g;
          float tcv = std::tanh(cv);
          c[j] = cv;
          hr[j] = o * tcv;
          if constexpr (Grad) {
            gt[j] = i;
            gt[H + j] = f;
            gt[2 * H + j] = g;
            gt[3 * H + j] = o;
            tc[j] = tcv;
          }
        }
      }
    }
    for (int r = 0; r < TN; ++r)
      std::memcpy(logits + size_t(r) * V, bout_, V * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, TN, V, H, 1.f, h, H,
                Wout_, V, 1.f, logits, V);
    double loss = 0;
    const float invTN = 1.f / TN;
    for (int r = 0; r < TN; ++r) {
      float *zr = logits + size_t(r) * V;
      float m = *std::max_element(zr, zr + V), se = 0;
      float e[V];
#pragma omp simd reduction(+ : se)
      for (int k = 0; k < V; ++k) {
        e[k] = std::exp(zr[k] - m);
        se += e[k];
      }
      int64_t y = y_[r];
      loss += m + std::log(se) - zr[y];
      if constexpr (Grad) { // dL/dz = (softmax(z) - onehot(y)) / (T N)
        float s = invTN / se;
#pragma omp simd
        for (int k = 0; k < V; ++k)
          zr[k] = e[k] * s;
        zr[y] -= invTN;
      }
    }
    return float(loss / TN);
  }

  const float *X_, *Wih_, *Whh_, *b_, *Wout_, *bout_;
  std::vector<int64_t> y_;
  std::vector<float> z_, c_, tc_, h_, logits_, dz_, dh_, dc_;
  std::vector<float> dWih_, dWhh_, db_, dWout_, dbout_;
  float L_ = 0;
};

} // namespace

std::unique_ptr<Baseline> makeLstm(const Buffers &in,
                                   const std::vector<int64_t> &labels) {
  return std::make_unique<Lstm>(in, labels);
}

} // namespace gradc::bench
