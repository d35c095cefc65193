//===- Reduction.cpp - sum, mean, reduce_max, logsumexp, softmax ----------===//
//
// logsumexp, softmax and log_softmax subtract the maximum before
// exponentiating, so they do not overflow; their adjoints reuse the forward
// value and are stable too.
//
//===----------------------------------------------------------------------===//
#include "OpsImpl.h"

#include <cmath>
#include <limits>

namespace gradc::ops {
namespace {

using Grads = std::vector<Value *>;
const std::vector<AttrSpec> kReduceAttrs = {{"axes", Attr::List},
                                            {"keepdims", Attr::Bool}};
const std::vector<AttrSpec> kAxisAttrs = {{"axis", Attr::Int}};

Type inferReduce(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  std::vector<int64_t> axes;
  if (!reductionAxes(op, in[0].rank(), axes, err))
    return Type::invalid();
  return reduceType(in[0], axes, op.boolAttr("keepdims", false));
}

/// Folds the reduced elements of `x` with `step` from `init`; the result has
/// the keepdims shape, then the declared one.
template <typename Step>
Tensor reduce(const Op &op, const Tensor &x, double init, Step step) {
  std::vector<int64_t> axes;
  std::string err;
  reductionAxes(op, x.rank(), axes, err);
  Shape keep = x.shape, out;
  for (int64_t a : axes)
    keep[a] = 1;
  Tensor r(x.dtype, keep, init);
  forEachReduced(x.shape, axes, [&](int64_t o, int64_t i) {
    r.data[o] = step(r.data[o], x.data[i]);
  });
  if (!op.boolAttr("keepdims", false)) {
    for (size_t i = 0; i < x.rank(); ++i)
      if (std::find(axes.begin(), axes.end(), int64_t(i)) == axes.end())
        out.push_back(x.shape[i]);
    r.shape = out;
  }
  return r;
}

/// Product of the reduced dims (the count a mean divides by).
int64_t reducedCount(const Op &op, const Shape &s) {
  std::vector<int64_t> axes;
  std::string err;
  reductionAxes(op, s.size(), axes, err);
  Shape reduced;
  for (int64_t a : axes)
    reduced.push_back(s[a]);
  return numElements(reduced);
}

Tensor evalSum(const Op &op, llvm::ArrayRef<const Tensor *> in,
               const SymEnv &) {
  Tensor r = reduce(op, *in[0], 0.0, [](double a, double x) { return a + x; });
  r.roundToType();
  return r;
}

Tensor evalMean(const Op &op, llvm::ArrayRef<const Tensor *> in,
                const SymEnv &) {
  Tensor r = reduce(op, *in[0], 0.0, [](double a, double x) { return a + x; });
  double n = double(reducedCount(op, in[0]->shape));
  for (double &v : r.data)
    v /= n;
  r.roundToType();
  return r;
}

double maxStep(double a, double x) {
  return x > a || std::isnan(x) || std::isnan(a) ? (std::isnan(a) ? a : x) : a;
}

Tensor evalReduceMax(const Op &op, llvm::ArrayRef<const Tensor *> in,
                     const SymEnv &) {
  return reduce(op, *in[0], -std::numeric_limits<double>::infinity(), maxStep);
}

Value *reducedAxesOf(const Op &op, std::vector<int64_t> &axes) {
  std::string err;
  reductionAxes(op, op.operands[0]->type.rank(), axes, err);
  return op.operands[0];
}

// y = sum(x): every x_i gets dy.
Grads vjpSum(Builder &b, const Op &op, Value *dy) {
  std::vector<int64_t> axes;
  Value *x = reducedAxesOf(op, axes);
  return {expandReduced(b, dy, x->type, axes, op.boolAttr("keepdims", false))};
}

// y = mean(x): every x_i gets dy / n. With symbolic reduced dims n is counted
// at run time as the sum of a broadcast 1.
Grads vjpMean(Builder &b, const Op &op, Value *dy) {
  std::vector<int64_t> axes;
  Value *x = reducedAxesOf(op, axes);
  Type counted{x->type.dtype, {}};
  for (int64_t a : axes)
    counted.dims.push_back(x->type.dims[a]);
  Value *count = !counted.isStatic()
                     ? b.sum(b.splat(1, counted), {}, false)
                     : b.constant(double(counted.numElements()), x->type.dtype);
  Value *scaled = b.div(dy, count);
  return {
      expandReduced(b, scaled, x->type, axes, op.boolAttr("keepdims", false))};
}

// y = max(x): dy goes to the first maximal element, nothing to the others.
Grads vjpReduceMax(Builder &b, const Op &op, Value *dy) {
  std::vector<int64_t> axes;
  Value *x = reducedAxesOf(op, axes);
  std::vector<Dim> axesAttr;
  for (int64_t a : axes)
    axesAttr.push_back(Dim::fixed(a));
  Value *mask =
      b.create(OpKind::ArgMaxMask, {x}, {{"axes", Attr::dims(axesAttr), {}}});
  Value *g =
      expandReduced(b, dy, x->type, axes, op.boolAttr("keepdims", false));
  return {b.select(mask, g, b.constant(0, dy->type.dtype))};
}

Type inferArgMaxMask(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  std::vector<int64_t> axes;
  if (!reductionAxes(op, in[0].rank(), axes, err))
    return Type::invalid();
  return in[0];
}

Tensor evalArgMaxMask(const Op &op, llvm::ArrayRef<const Tensor *> in,
                      const SymEnv &) {
  const Tensor &x = *in[0];
  std::vector<int64_t> axes;
  std::string err;
  reductionAxes(op, x.rank(), axes, err);
  Shape keep = x.shape;
  for (int64_t a : axes)
    keep[a] = 1;
  // Row-major order visits each group's elements in order: the first
  // strictly greater element (or first NaN) wins.
  std::vector<int64_t> best(numElements(keep), -1);
  forEachReduced(x.shape, axes, [&](int64_t o, int64_t i) {
    int64_t &b = best[o];
    if (b < 0 || (!std::isnan(x.data[b]) &&
                  (x.data[i] > x.data[b] || std::isnan(x.data[i]))))
      b = i;
  });
  Tensor m(x.dtype, x.shape, 0.0);
  for (int64_t b : best)
    m.data[b] = 1;
  return m;
}

Type inferLogSumExp(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  int64_t axis;
  if (!singleAxis(op, in[0].rank(), axis, err))
    return Type::invalid();
  return reduceType(in[0], {axis}, false);
}

Type inferSoftmax(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  int64_t axis;
  if (!singleAxis(op, in[0].rank(), axis, err))
    return Type::invalid();
  return in[0];
}

/// For each slice along the axis computes m = max and s = sum(exp(x - m)),
/// then calls fn(slice index, element index, m, s) for each element.
template <typename Fn> void forEachSlice(const Op &op, const Tensor &x, Fn fn) {
  int64_t axis;
  std::string err;
  singleAxis(op, x.rank(), axis, err);
  Shape keep = x.shape;
  keep[axis] = 1;
  int64_t groups = numElements(keep);
  std::vector<double> mx(groups, -INFINITY), acc(groups, 0.0);
  forEachReduced(x.shape, {axis}, [&](int64_t o, int64_t i) {
    mx[o] = maxStep(mx[o], x.data[i]);
  });
  forEachReduced(x.shape, {axis}, [&](int64_t o, int64_t i) {
    // An all -inf slice has m = -inf; x - m would be NaN.
    acc[o] +=
        std::isinf(mx[o]) && mx[o] < 0 ? 0.0 : std::exp(x.data[i] - mx[o]);
  });
  forEachReduced(x.shape, {axis},
                 [&](int64_t o, int64_t i) { fn(o, i, mx[o], acc[o]); });
}

/// log(sum(exp(x))) from the slice's max and shifted sum.
double lse(double m, double s) { return std::isinf(m) ? m : m + std::log(s); }

Tensor evalLogSumExp(const Op &op, llvm::ArrayRef<const Tensor *> in,
                     const SymEnv &) {
  const Tensor &x = *in[0];
  int64_t axis;
  std::string err;
  singleAxis(op, x.rank(), axis, err);
  Shape s = x.shape;
  s.erase(s.begin() + axis);
  Tensor r(x.dtype, s);
  forEachSlice(op, x, [&](int64_t o, int64_t, double m, double sum) {
    r.data[o] = lse(m, sum);
  });
  r.roundToType();
  return r;
}

Tensor evalSoftmax(const Op &op, llvm::ArrayRef<const Tensor *> in,
                   const SymEnv &) {
  Tensor r(in[0]->dtype, in[0]->shape);
  forEachSlice(op, *in[0], [&](int64_t, int64_t i, double m, double sum) {
    r.data[i] = std::exp(in[0]->data[i] - m) / sum;
  });
  r.roundToType();
  return r;
}

Tensor evalLogSoftmax(const Op &op, llvm::ArrayRef<const Tensor *> in,
                      const SymEnv &) {
  Tensor r(in[0]->dtype, in[0]->shape);
  forEachSlice(op, *in[0], [&](int64_t, int64_t i, double m, double sum) {
    r.data[i] = in[0]->data[i] - m - std::log(sum);
  });
  r.roundToType();
  return r;
}

int64_t axisOf(const Op &op) {
  int64_t axis;
  std::string err;
  singleAxis(op, op.operands[0]->type.rank(), axis, err);
  return axis;
}

// y = logsumexp(x): dx = dy * softmax(x) = dy * exp(x - y), all terms <= 1.
Grads vjpLogSumExp(Builder &b, const Op &op, Value *dy) {
  Value *x = op.operands[0];
  int64_t axis = axisOf(op);
  std::vector<Dim> keep = x->type.dims;
  keep[axis] = Dim::fixed(1);
  Value *p = b.exp(b.sub(x, b.reshape(op.result, keep)));
  return {b.mul(b.reshape(dy, keep), p)};
}

// y = softmax(x): dx = y * (dy - sum(dy * y))
Grads vjpSoftmax(Builder &b, const Op &op, Value *dy) {
  Value *y = op.result;
  Value *s = b.sum(b.mul(dy, y), {axisOf(op)}, true);
  return {b.mul(y, b.sub(dy, s))};
}

// y = log_softmax(x): dx = dy - exp(y) * sum(dy)
Grads vjpLogSoftmax(Builder &b, const Op &op, Value *dy) {
  Value *s = b.sum(dy, {axisOf(op)}, true);
  return {b.sub(dy, b.mul(b.exp(op.result), s))};
}

} // namespace

void addReductionOps(std::vector<OpDef> &d) {
  d.push_back({OpKind::Sum, kReduceAttrs, inferReduce, evalSum, vjpSum});
  d.push_back({OpKind::Mean, kReduceAttrs, inferReduce, evalMean, vjpMean});
  d.push_back({OpKind::ReduceMax, kReduceAttrs, inferReduce, evalReduceMax,
               vjpReduceMax});
  d.push_back({OpKind::ArgMaxMask,
               {{"axes", Attr::List}},
               inferArgMaxMask,
               evalArgMaxMask,
               nullptr});
  d.push_back({OpKind::LogSumExp, kAxisAttrs, inferLogSumExp, evalLogSumExp,
               vjpLogSumExp});
  d.push_back(
      {OpKind::Softmax, kAxisAttrs, inferSoftmax, evalSoftmax, vjpSoftmax});
  d.push_back({OpKind::LogSoftmax, kAxisAttrs, inferSoftmax, evalLogSoftmax,
               vjpLogSoftmax});
}

} // namespace gradc::ops
