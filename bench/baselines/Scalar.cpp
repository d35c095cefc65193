//===- Scalar.cpp - W1: f(x,y,z) = (x+y)*z, one call each -----------------===//
//
// Each evaluation is a call through a function pointer the compiler cannot
// see through, as a JIT-compiled entry point is called.
//
//===----------------------------------------------------------------------===//
#include "../BenchUtil.h"
#include "Baselines.h"

namespace gradc::bench {
namespace {

struct Grad {
  float f, dx, dy, dz;
};

__attribute__((noinline)) float scalarValue(float x, float y, float z) {
  return (x + y) * z;
}
__attribute__((noinline)) Grad scalarGrad(float x, float y, float z) {
  float q = x + y;
  return {q * z, z, z, q};
}

using ValueFn = float (*)(float, float, float);
using GradFn = Grad (*)(float, float, float);
ValueFn volatile valueFn = scalarValue;
GradFn volatile gradFn = scalarGrad;

class Scalar final : public Baseline {
public:
  Scalar(const Buffers &in, size_t checkCalls)
      : x_(in[0]), y_(in[1]), z_(in[2]), checkCalls_(checkCalls) {}

  void forward() override {
    ValueFn f = valueFn;
    float acc = 0;
    for (size_t i = 0, n = x_.size(); i < n; ++i)
      acc += f(x_[i], y_[i], z_[i]);
    sink(acc);
  }
  void valueAndGrad() override {
    GradFn g = gradFn;
    float acc = 0;
    for (size_t i = 0, n = x_.size(); i < n; ++i) {
      Grad o = g(x_[i], y_[i], z_[i]);
      acc += o.f + o.dx + o.dy + o.dz;
    }
    sink(acc);
  }
  Buffers results() override {
    Buffers r(4, std::vector<float>(checkCalls_));
    for (size_t i = 0; i < checkCalls_; ++i) {
      Grad o = gradFn(x_[i], y_[i], z_[i]);
      r[0][i] = o.f;
      r[1][i] = o.dx;
      r[2][i] = o.dy;
      r[3][i] = o.dz;
    }
    return r;
  }

private:
  const std::vector<float> &x_, &y_, &z_;
  size_t checkCalls_;
};

} // namespace

std::unique_ptr<Baseline> makeScalar(const Buffers &in, size_t checkCalls) {
  return std::make_unique<Scalar>(in, checkCalls);
}

} // namespace gradc::bench
