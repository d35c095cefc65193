//===- Reduction.cpp - sum, mean, reduce_max, logsumexp, softmax ----------===//
//
// logsumexp, softmax and log_softmax subtract the maximum before
// exponentiating, so they do not overflow; their adjoints reuse the forward
// value and are stable too.
//
//===----------------------------------------------------------------------===//
#include "OpsImpl.h"

#include "gradc/Loops/LoopBuilder.h"

#include <cmath>
#include <limits>

namespace gradc::ops {
namespace {

using Grads = std::vector<Value *>;

/// The resolved `axis` of a verified logsumexp/softmax/log_softmax.
int64_t axisOf(const Op &op) {
  return singleAxisOf(op, op.operands[0]->type.rank());
}
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
  std::vector<int64_t> axes = reducedAxesOf(op);
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
  Shape reduced;
  for (int64_t a : reducedAxesOf(op))
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

double minStep(double a, double x) {
  return x < a || std::isnan(x) || std::isnan(a) ? (std::isnan(a) ? a : x) : a;
}

Tensor evalReduceMin(const Op &op, llvm::ArrayRef<const Tensor *> in,
                     const SymEnv &) {
  return reduce(op, *in[0], std::numeric_limits<double>::infinity(), minStep);
}

// y = sum(x): every x_i gets dy.
Grads vjpSum(Builder &b, const Op &op, Value *dy) {
  Value *x = op.operands[0];
  std::vector<int64_t> axes = reducedAxesOf(op);
  return {expandReduced(b, dy, x->type, axes, op.boolAttr("keepdims", false))};
}

// y = mean(x): every x_i gets dy / n. With symbolic reduced dims n is the
// product of their sizes, read at run time with `dim`.
Grads vjpMean(Builder &b, const Op &op, Value *dy) {
  Value *x = op.operands[0];
  std::vector<int64_t> axes = reducedAxesOf(op);
  int64_t n = 1;
  Value *count = nullptr;
  for (int64_t a : axes) {
    const Dim &d = x->type.dims[a];
    if (!d.isSym()) {
      n *= d.size;
      continue;
    }
    Value *size = b.create(OpKind::Dim, {x}, {{"axis", Attr::integer(a), {}}});
    count = count ? b.mul(count, size) : size;
  }
  if (!count || n != 1) {
    Value *c = b.constant(double(n), x->type.dtype);
    count = count ? b.mul(count, c) : c;
  }
  Value *scaled = b.div(dy, count);
  return {
      expandReduced(b, scaled, x->type, axes, op.boolAttr("keepdims", false))};
}

// y = max(x): dy goes to the first maximal element, nothing to the others.
Grads vjpReduceMax(Builder &b, const Op &op, Value *dy) {
  Value *x = op.operands[0];
  std::vector<int64_t> axes = reducedAxesOf(op);
  std::vector<Dim> axesAttr;
  for (int64_t a : axes)
    axesAttr.push_back(Dim::fixed(a));
  Value *mask =
      b.create(OpKind::ArgMaxMask, {x}, {{"axes", Attr::dims(axesAttr), {}}});
  Value *g =
      expandReduced(b, dy, x->type, axes, op.boolAttr("keepdims", false));
  return {b.select(mask, g, b.constant(0, dy->type.dtype))};
}

// y = min(x): dy goes to the first minimal element, the first maximum of -x.
Grads vjpReduceMin(Builder &b, const Op &op, Value *dy) {
  Value *x = op.operands[0];
  std::vector<int64_t> axes = reducedAxesOf(op);
  std::vector<Dim> axesAttr;
  for (int64_t a : axes)
    axesAttr.push_back(Dim::fixed(a));
  Value *mask = b.create(OpKind::ArgMaxMask, {b.neg(x)},
                         {{"axes", Attr::dims(axesAttr), {}}});
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
  std::vector<int64_t> axes = reducedAxesOf(op);
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
  int64_t axis = axisOf(op);
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
  int64_t axis = axisOf(op);
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

// --- Loops -------------------------------------------------------------------
using loops::Expr;
using loops::Index;
using loops::LoopBuilder;
using loops::Scalar;

// sum, mean, reduce_max: loops over the kept axes outside, the reduced axes
// inside (the interpreter's order). Sums accumulate in double, f32 ones
// first in float over blocks of kChunk elements; max in the element type.
void loopsReduce(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  std::vector<int64_t> axes = reducedAxesOf(op);
  DType dt = x->type.dtype;
  Scalar et = loops::scalarOf(dt);
  Fold fold = opDef(op.kind).fold;
  bool isMax = fold == Fold::Max;
  bool chunked = !isMax && dt == DType::F32 && b.options().chunkF32Sums;
  unsigned acc = b.local("acc", isMax ? et : Scalar::F64);
  unsigned part = chunked ? b.local("part", Scalar::F32) : 0;
  LoopBuilder::Chunking blocks{[&] { b.assign(part, b.f(0, Scalar::F32)); },
                               [&] { b.accumulate(acc, b.read(part)); }};
  std::vector<const Expr *> sh = b.shape(x->type.dims);
  const Expr *count = b.i(1);
  for (int64_t a : axes)
    count = b.mul(count, sh[a]);
  b.reductionLoops(
      x, axes,
      [&](Index) {
        b.assign(acc, isMax ? b.f(-INFINITY, et) : b.f(0, Scalar::F64));
      },
      [&](Index full) {
        const Expr *e = b.element(x, full);
        if (isMax)
          b.assign(acc, b.maxStep(b.read(acc), e));
        else
          b.accumulate(chunked ? part : acc, e);
      },
      [&](Index, const Expr *out) {
        const Expr *r = b.read(acc);
        if (fold == Fold::Mean)
          r = b.apply(OpKind::Div, {r, b.cast(count, Scalar::F64)});
        b.storeAt(b.bufferOf(op.result), out, b.cast(r, et));
      },
      chunked ? &blocks : nullptr);
}

// min over the reduced axes: acc = min(acc, x), the first NaN winning (the
// `min` formula with the accumulator first).
void loopsReduceMin(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  Scalar et = loops::scalarOf(x->type.dtype);
  unsigned acc = b.local("acc", et);
  b.reductionLoops(
      x, reducedAxesOf(op), [&](Index) { b.assign(acc, b.f(INFINITY, et)); },
      [&](Index full) {
        b.assign(acc, b.apply(OpKind::Min, {b.read(acc), b.element(x, full)}));
      },
      [&](Index, const Expr *out) {
        b.storeAt(b.bufferOf(op.result), out, b.read(acc));
      });
}

// 1 at the first maximum of each group (row-major order; NaN is maximal).
void loopsArgMaxMask(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  Scalar et = loops::scalarOf(x->type.dtype);
  const loops::Buffer *out = b.bufferOf(op.result);
  std::vector<const Expr *> sh = b.shape(x->type.dims);
  b.memset(out, b.product(sh));
  unsigned best = b.local("best", et), at = b.local("at", Scalar::I64);
  b.reductionLoops(
      x, reducedAxesOf(op),
      [&](Index) {
        b.assign(at, b.i(-1));
        b.assign(best, b.f(0, et));
      },
      [&](Index full) {
        const Expr *e = b.element(x, full);
        const Expr *bv = b.let("best.old", b.read(best));
        const Expr *bi = b.let("at.old", b.read(at));
        const Expr *take = b.let("take", b.isNewMax(e, bv, bi));
        b.assign(best, b.select(take, e, bv));
        b.assign(at, b.select(take, b.linear(full, sh), bi));
      },
      [&](Index, const Expr *) { b.storeAt(out, b.read(at), b.f(1, et)); });
}

// logsumexp, softmax, log_softmax: per slice along the axis, its max m, then
// s = sum exp(x - m) (nothing added when m is -inf), then the results.
void loopsSoftmaxFamily(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  int64_t axis = axisOf(op);
  std::vector<unsigned> kept;
  std::vector<const Expr *> sh = b.shape(x->type.dims), keptDims;
  for (unsigned i = 0; i < x->type.rank(); ++i)
    if (i != axis) {
      kept.push_back(i);
      keptDims.push_back(sh[i]);
    }
  Scalar et = loops::scalarOf(x->type.dtype);
  Scalar at = b.options().wideAccumulators ? Scalar::F64 : et;
  unsigned mx = b.local("mx", at), sum = b.local("se", at);
  auto xAt = [&](llvm::ArrayRef<const Expr *> full) {
    return b.cast(b.element(x, full), at);
  };
  b.loops(keptDims, [&](Index kidx) {
    auto full = [&](const Expr *j) {
      std::vector<const Expr *> idx(x->type.rank());
      for (size_t i = 0; i < kept.size(); ++i)
        idx[kept[i]] = kidx[i];
      idx[axis] = j;
      return idx;
    };
    b.assign(mx, b.f(-INFINITY, at));
    b.loops({sh[axis]}, [&](Index j) {
      b.assign(mx, b.maxStep(b.read(mx), xAt(full(j[0]))));
    });
    const Expr *m = b.let("slice.max", b.read(mx));
    b.assign(sum, b.f(0, at));
    b.loops({sh[axis]}, [&](Index j) {
      b.accumulate(sum, b.expShifted(xAt(full(j[0])), m));
    });
    const Expr *s = b.let("slice.sum", b.read(sum));
    if (op.kind == OpKind::LogSumExp) {
      b.storeAt(b.bufferOf(op.result), b.linear(kidx, keptDims),
                b.cast(b.logSumExp(m, s), et));
      return;
    }
    const Expr *logS = op.kind == OpKind::LogSoftmax
                           ? b.let("slice.logsum", b.apply(OpKind::Log, {s}))
                           : nullptr;
    b.loops({sh[axis]}, [&](Index j) {
      std::vector<const Expr *> idx = full(j[0]);
      const Expr *xm = b.apply(OpKind::Sub, {xAt(idx), m});
      b.store(op.result, idx,
              b.cast(op.kind == OpKind::Softmax
                         ? b.apply(OpKind::Div, {b.apply(OpKind::Exp, {xm}), s})
                         : b.apply(OpKind::Sub, {xm, logS}),
                     et));
    });
  });
}

} // namespace

void addReductionOps(std::vector<OpDef> &d) {
  d.push_back(
      OpDef{OpKind::Sum, kReduceAttrs, inferReduce, evalSum, vjpSum}.withLoops(
          loopsReduce, Fold::Sum));
  d.push_back(OpDef{OpKind::Mean, kReduceAttrs, inferReduce, evalMean, vjpMean}
                  .withLoops(loopsReduce, Fold::Mean));
  d.push_back(OpDef{OpKind::ReduceMax, kReduceAttrs, inferReduce, evalReduceMax,
                    vjpReduceMax}
                  .withLoops(loopsReduce, Fold::Max));
  d.push_back(OpDef{OpKind::ReduceMin, kReduceAttrs, inferReduce, evalReduceMin,
                    vjpReduceMin}
                  .withLoops(loopsReduceMin));
  d.push_back(OpDef{OpKind::ArgMaxMask,
                    {{"axes", Attr::List}},
                    inferArgMaxMask,
                    evalArgMaxMask,
                    nullptr}
                  .withLoops(loopsArgMaxMask));
  // Integer sums (exact below 2^53, i32 ones wrapping), maxima and minima.
  for (OpDef &def : d)
    if (def.kind == OpKind::Sum || def.kind == OpKind::ReduceMax ||
        def.kind == OpKind::ReduceMin)
      def.integers = true;
  d.push_back(OpDef{OpKind::LogSumExp, kAxisAttrs, inferLogSumExp,
                    evalLogSumExp, vjpLogSumExp}
                  .withLoops(loopsSoftmaxFamily));
  d.push_back(
      OpDef{OpKind::Softmax, kAxisAttrs, inferSoftmax, evalSoftmax, vjpSoftmax}
          .withLoops(loopsSoftmaxFamily));
  d.push_back(OpDef{OpKind::LogSoftmax, kAxisAttrs, inferSoftmax,
                    evalLogSoftmax, vjpLogSoftmax}
                  .withLoops(loopsSoftmaxFamily));
}

} // namespace gradc::ops
