//===- Conv.cpp - conv2d, max_pool2d, avg_pool2d and their adjoints -------===//
//
// NCHW, ONNX semantics: out = floor((in + pad_begin + pad_end -
// dilation*(kernel-1) - 1) / stride) + 1. The adjoints are ops of their own
// (conv2d_grad_input/_filter, avg_pool2d_grad, max_pool2d_argmax with
// scatter_add_elements), each linear in its cotangent, so that their
// adjoints -- the forward mode -- close over the same few ops:
//   y = conv2d(x, w):             dx = grad_input(dy, w), dw = grad_filter(x,
//   dy) g = grad_input(dy, w):        d dy = conv2d(dg, w), dw =
//   grad_filter(dg, dy) h = grad_filter(x, dy):       dx = grad_input(dy, dh),
//   d dy = conv2d(x, dh)
//
//===----------------------------------------------------------------------===//
#include "OpsImpl.h"

#include "gradc/Loops/LoopBuilder.h"

#include <cmath>
#include <limits>
#include <optional>

namespace gradc::ops {
namespace {

using Grads = std::vector<Value *>;

struct Window {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pl = 0, pb = 0, pr = 0, groups = 1;
  int64_t outH(int64_t h) const {
    return (h + pt + pb - dh * (kh - 1) - 1) / sh + 1;
  }
  int64_t outW(int64_t w) const {
    return (w + pl + pr - dw * (kw - 1) - 1) / sw + 1;
  }
};

std::string name(const Op &op) { return "'" + mnemonic(op.kind).str() + "'"; }

bool isConv(OpKind k) {
  return k == OpKind::Conv2D || k == OpKind::Conv2DGradInput ||
         k == OpKind::Conv2DGradFilter;
}

/// Reads strides, pads, dilations and groups (conv) or kernel, strides and
/// pads (pooling); the kernel of a conv comes from its filter's shape.
bool decodeWindow(const Op &op, Window &w, std::string &err) {
  std::vector<int64_t> v;
  auto pair = [&](const char *attr, int64_t &a, int64_t &b, bool required) {
    if (!intListAttr(op, attr, v, err))
      return false;
    if (!op.attr(attr)) {
      if (required)
        err = name(op) + " needs a '" + attr + "' attribute";
      return !required;
    }
    if (v.size() != 2 || v[0] <= 0 || v[1] <= 0) {
      err = "'" + std::string(attr) + "' of " + name(op) +
            " must be two positive integers";
      return false;
    }
    a = v[0];
    b = v[1];
    return true;
  };
  if (!pair("strides", w.sh, w.sw, false))
    return false;
  if (isConv(op.kind)) {
    if (!pair("dilations", w.dh, w.dw, false))
      return false;
    w.groups = op.intAttr("groups", 1);
    if (w.groups <= 0) {
      err = "'groups' of " + name(op) + " must be positive, got " +
            std::to_string(w.groups);
      return false;
    }
  } else if (!pair("kernel", w.kh, w.kw, true)) {
    return false;
  }
  if (!intListAttr(op, "pads", v, err))
    return false;
  if (op.attr("pads")) {
    if (v.size() != 4) {
      err = "'pads' of " + name(op) + " must be [top,left,bottom,right]";
      return false;
    }
    for (int64_t p : v)
      if (p < 0) {
        err = name(op) + " pads must be non-negative, got " + std::to_string(p);
        return false;
      }
    w.pt = v[0];
    w.pl = v[1];
    w.pb = v[2];
    w.pr = v[3];
  }
  if (!isConv(op.kind) &&
      (w.pt >= w.kh || w.pb >= w.kh || w.pl >= w.kw || w.pr >= w.kw)) {
    err = name(op) + " pads must be smaller than the kernel (a window of "
                     "padding alone has no value)";
    return false;
  }
  return true;
}

/// Checks a 4-D NCHW type with static H and W.
bool nchw(const Op &op, const Type &t, const char *what, std::string &err) {
  if (t.rank() != 4 || t.dims[2].isSym() || t.dims[3].isSym()) {
    err = name(op) + " needs a " + what + " of shape [N,C,H,W] with static " +
          "H and W, got " + t.str();
    return false;
  }
  return true;
}

/// The output [N, O, OH, OW] of a conv of `x` with a filter of dims `wd`.
bool convOut(const Op &op, const Window &win, const Type &x,
             const std::vector<Dim> &wd, Type &out, std::string &err) {
  if (!nchw(op, x, "input", err))
    return false;
  if (wd.size() != 4 || wd[2].isSym() || wd[3].isSym()) {
    err = name(op) + " needs a filter of shape [O,C/groups,KH,KW] with "
                     "static KH and KW";
    return false;
  }
  const Dim &c = x.dims[1], &o = wd[0], &cg = wd[1];
  int64_t g = win.groups;
  if (g == 1) {
    if (!(c == cg)) {
      err = name(op) + " input has " + c.str() + " channels but the filter " +
            "expects " + cg.str();
      return false;
    }
  } else {
    if (c.isSym() || o.isSym() || cg.isSym()) {
      err = name(op) + " with groups needs static channel counts";
      return false;
    }
    if (c.size % g || o.size % g) {
      err = name(op) + " channel counts (" + std::to_string(c.size) + " in, " +
            std::to_string(o.size) +
            " out) must be divisible by groups=" + std::to_string(g);
      return false;
    }
    if (cg.size != c.size / g) {
      err = name(op) + " filter has " + std::to_string(cg.size) +
            " input channels per group, expected " +
            std::to_string(c.size / g) + " (" + std::to_string(c.size) +
            " / groups=" + std::to_string(g) + ")";
      return false;
    }
  }
  Window w = win;
  w.kh = wd[2].size;
  w.kw = wd[3].size;
  int64_t h = x.dims[2].size, wi = x.dims[3].size;
  int64_t oh = w.outH(h), ow = w.outW(wi);
  if (h + w.pt + w.pb < w.dh * (w.kh - 1) + 1 ||
      wi + w.pl + w.pr < w.dw * (w.kw - 1) + 1 || oh <= 0 || ow <= 0) {
    err = name(op) + " kernel " + std::to_string(w.kh) + "x" +
          std::to_string(w.kw) + " is larger than the padded input " +
          std::to_string(h + w.pt + w.pb) + "x" +
          std::to_string(wi + w.pl + w.pr);
    return false;
  }
  out = Type{x.dtype, {x.dims[0], o, Dim::fixed(oh), Dim::fixed(ow)}};
  return true;
}

/// Visits every tap (x element, w element, y element) of a conv.
template <typename Fn>
void forEachTap(const Window &w, const Shape &x, const Shape &wt,
                const Shape &y, Fn fn) {
  int64_t n = x[0], c = x[1], h = x[2], wi = x[3];
  int64_t o = wt[0], cg = wt[1], kh = wt[2], kw = wt[3];
  int64_t oh = y[2], ow = y[3], og = o / w.groups;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oc = 0; oc < o; ++oc) {
      int64_t g = oc / og;
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          int64_t yo = ((b * o + oc) * oh + i) * ow + j;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t p = 0; p < kh; ++p) {
              int64_t ih = i * w.sh - w.pt + p * w.dh;
              if (ih < 0 || ih >= h)
                continue;
              for (int64_t q = 0; q < kw; ++q) {
                int64_t iw = j * w.sw - w.pl + q * w.dw;
                if (iw < 0 || iw >= wi)
                  continue;
                int64_t xo = ((b * c + g * cg + ci) * h + ih) * wi + iw;
                int64_t wo = ((oc * cg + ci) * kh + p) * kw + q;
                fn(xo, wo, yo);
              }
            }
        }
    }
}

/// The window of a verified conv or pooling op.
Window windowOf(const Op &op) {
  return verifiedAttr<Window>(op, [&](Window &w, std::string &err) {
    return decodeWindow(op, w, err);
  });
}

Type inferConv(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  Window w;
  Type out;
  if (!sameDType(in, "conv2d", err) || !decodeWindow(op, w, err) ||
      !convOut(op, w, in[0], in[1].dims, out, err))
    return Type::invalid();
  if (in.size() == 3 &&
      (in[2].rank() != 1 || !(in[2].dims[0] == out.dims[1]))) {
    err = "'conv2d' bias must have type " +
          Type{in[0].dtype, {out.dims[1]}}.str() + ", got " + in[2].str();
    return Type::invalid();
  }
  return out;
}

Tensor evalConv(const Op &op, llvm::ArrayRef<const Tensor *> in,
                const SymEnv &syms) {
  const Tensor &x = *in[0], &w = *in[1];
  Tensor y(x.dtype, resolve(op.result->type.dims, syms));
  forEachTap(windowOf(op), x.shape, w.shape, y.shape,
             [&](int64_t xo, int64_t wo, int64_t yo) {
               y.data[yo] += x.data[xo] * w.data[wo];
             });
  if (in.size() == 3) {
    int64_t plane = y.shape[2] * y.shape[3], o = y.shape[1];
    for (int64_t i = 0; i < y.size(); ++i)
      y.data[i] += in[2]->data[i / plane % o];
  }
  y.roundToType();
  return y;
}

/// The attributes of `op` but `shape`, plus `shape` = dims.
std::vector<NamedAttr> withShape(const Op &op, const std::vector<Dim> &dims) {
  std::vector<NamedAttr> attrs;
  for (const NamedAttr &a : op.attrs)
    if (a.name != "shape")
      attrs.push_back({a.name, a.value, {}});
  if (!dims.empty())
    attrs.push_back({"shape", Attr::dims(dims), {}});
  return attrs;
}

Grads vjpConv(Builder &b, const Op &op, Value *dy) {
  Value *x = op.operands[0], *w = op.operands[1];
  Grads g = {
      b.create(OpKind::Conv2DGradInput, {dy, w}, withShape(op, x->type.dims)),
      b.create(OpKind::Conv2DGradFilter, {x, dy}, withShape(op, w->type.dims))};
  if (op.operands.size() == 3)
    g.push_back(b.sum(dy, {0, 2, 3}, false));
  return g;
}

const std::vector<Dim> *shapeAttr(const Op &op, std::string &err) {
  const Attr *s = op.attr("shape");
  if (!s || s->list.size() != 4) {
    err = name(op) + " needs a 4-D 'shape' attribute";
    return nullptr;
  }
  for (const Dim &d : s->list)
    if (!d.isSym() && d.size <= 0) {
      err = "'shape' dimensions must be positive, got " + d.str();
      return nullptr;
    }
  return &s->list;
}

// conv2d_grad_input %dy, %w {shape = x's dims}: the input cotangent.
Type inferGradInput(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  Window w;
  Type y;
  const std::vector<Dim> *xd = shapeAttr(op, err);
  if (!xd || !sameDType(in, mnemonic(op.kind), err) ||
      !decodeWindow(op, w, err))
    return Type::invalid();
  Type x{in[0].dtype, *xd};
  if (!convOut(op, w, x, in[1].dims, y, err))
    return Type::invalid();
  if (y != in[0]) {
    err = name(op) + " cotangent must have type " + y.str() + ", got " +
          in[0].str();
    return Type::invalid();
  }
  return x;
}

Tensor evalGradInput(const Op &op, llvm::ArrayRef<const Tensor *> in,
                     const SymEnv &syms) {
  const Tensor &dy = *in[0], &w = *in[1];
  Tensor dx(dy.dtype, resolve(op.result->type.dims, syms));
  forEachTap(windowOf(op), dx.shape, w.shape, dy.shape,
             [&](int64_t xo, int64_t wo, int64_t yo) {
               dx.data[xo] += dy.data[yo] * w.data[wo];
             });
  dx.roundToType();
  return dx;
}

Grads vjpGradInput(Builder &b, const Op &op, Value *g) {
  Value *dy = op.operands[0], *w = op.operands[1];
  return {
      b.create(OpKind::Conv2D, {g, w}, withShape(op, {})),
      b.create(OpKind::Conv2DGradFilter, {g, dy}, withShape(op, w->type.dims))};
}

// conv2d_grad_filter %x, %dy {shape = w's dims}: the filter cotangent.
Type inferGradFilter(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  Window w;
  Type y;
  const std::vector<Dim> *wd = shapeAttr(op, err);
  if (!wd || !sameDType(in, mnemonic(op.kind), err) ||
      !decodeWindow(op, w, err) || !convOut(op, w, in[0], *wd, y, err))
    return Type::invalid();
  if (y != in[1]) {
    err = name(op) + " cotangent must have type " + y.str() + ", got " +
          in[1].str();
    return Type::invalid();
  }
  return Type{in[0].dtype, *wd};
}

Tensor evalGradFilter(const Op &op, llvm::ArrayRef<const Tensor *> in,
                      const SymEnv &syms) {
  const Tensor &x = *in[0], &dy = *in[1];
  Tensor dw(x.dtype, resolve(op.result->type.dims, syms));
  forEachTap(windowOf(op), x.shape, dw.shape, dy.shape,
             [&](int64_t xo, int64_t wo, int64_t yo) {
               dw.data[wo] += dy.data[yo] * x.data[xo];
             });
  dw.roundToType();
  return dw;
}

Grads vjpGradFilter(Builder &b, const Op &op, Value *h) {
  Value *x = op.operands[0], *dy = op.operands[1];
  return {
      b.create(OpKind::Conv2DGradInput, {dy, h}, withShape(op, x->type.dims)),
      b.create(OpKind::Conv2D, {x, h}, withShape(op, {}))};
}

//===-------------------------------------------------------------------===//
// Pooling
//===-------------------------------------------------------------------===//

bool poolOut(const Op &op, const Type &x, Window &w, Type &out,
             std::string &err) {
  if (!decodeWindow(op, w, err) || !nchw(op, x, "input", err))
    return false;
  int64_t h = x.dims[2].size, wi = x.dims[3].size;
  if (h + w.pt + w.pb < w.kh || wi + w.pl + w.pr < w.kw) {
    err = name(op) + " kernel " + std::to_string(w.kh) + "x" +
          std::to_string(w.kw) + " is larger than the padded input " +
          std::to_string(h + w.pt + w.pb) + "x" +
          std::to_string(wi + w.pl + w.pr);
    return false;
  }
  out = Type{
      x.dtype,
      {x.dims[0], x.dims[1], Dim::fixed(w.outH(h)), Dim::fixed(w.outW(wi))}};
  return true;
}

Type inferPool(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  Window w;
  Type out;
  if (!poolOut(op, in[0], w, out, err))
    return Type::invalid();
  if (op.kind == OpKind::MaxPool2DArgMax)
    out.dtype = DType::I64;
  return out;
}

/// Calls fn(output offset, input plane offset, first element of the window
/// (offset within the plane)..., count) for each window: `taps` holds the
/// in-plane offsets of the real elements of the window in row-major order.
template <typename Fn>
void forEachWindow(const Window &w, const Shape &x, const Shape &y, Fn fn) {
  int64_t h = x[2], wi = x[3], oh = y[2], ow = y[3];
  std::vector<int64_t> taps;
  for (int64_t p = 0; p < x[0] * x[1]; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        taps.clear();
        for (int64_t a = 0; a < w.kh; ++a) {
          int64_t ih = i * w.sh - w.pt + a;
          if (ih < 0 || ih >= h)
            continue;
          for (int64_t c = 0; c < w.kw; ++c) {
            int64_t iw = j * w.sw - w.pl + c;
            if (iw >= 0 && iw < wi)
              taps.push_back(ih * wi + iw);
          }
        }
        fn((p * oh + i) * ow + j, p * h * wi, taps);
      }
}

/// The in-plane offset of the first maximal element of each window (padding
/// never wins; a NaN does, as in reduce_max).
Tensor poolArgMax(const Op &op, const Tensor &x, const Shape &ys) {
  Window w = windowOf(op);
  Tensor idx(DType::I64, ys);
  forEachWindow(w, x.shape, ys,
                [&](int64_t o, int64_t plane, const std::vector<int64_t> &t) {
                  int64_t best = t[0];
                  for (int64_t i : t) {
                    double b = x.data[plane + best], v = x.data[plane + i];
                    if (!std::isnan(b) && (v > b || std::isnan(v)))
                      best = i;
                  }
                  idx.data[o] = double(best);
                });
  return idx;
}

Tensor evalMaxPool(const Op &op, llvm::ArrayRef<const Tensor *> in,
                   const SymEnv &syms) {
  const Tensor &x = *in[0];
  Shape ys = resolve(op.result->type.dims, syms);
  Tensor idx = poolArgMax(op, x, ys);
  if (op.kind == OpKind::MaxPool2DArgMax)
    return idx;
  Tensor y(x.dtype, ys);
  int64_t plane = x.shape[2] * x.shape[3], oplane = ys[2] * ys[3];
  for (int64_t o = 0; o < y.size(); ++o)
    y.data[o] = x.data[o / oplane * plane + int64_t(idx.data[o])];
  return y;
}

// dy goes to the first maximal element of each window; overlapping windows
// add up: dx = scatter_add_elements(0, argmax, dy) over flattened planes.
Grads vjpMaxPool(Builder &b, const Op &op, Value *dy) {
  Value *x = op.operands[0];
  const std::vector<Dim> &xd = x->type.dims, &yd = dy->type.dims;
  Value *idx = b.create(OpKind::MaxPool2DArgMax, {x}, withShape(op, {}));
  std::vector<Dim> flatY = {yd[0], yd[1], Dim::fixed(yd[2].size * yd[3].size)};
  std::vector<Dim> flatX = {xd[0], xd[1], Dim::fixed(xd[2].size * xd[3].size)};
  Value *zero = b.splat(0, Type{x->type.dtype, flatX});
  Value *g = b.create(OpKind::ScatterAddElements,
                      {zero, b.reshape(idx, flatY), b.reshape(dy, flatY)},
                      {{"axis", Attr::integer(2), {}}});
  return {b.reshape(g, xd)};
}

/// The divisor of each window: its real elements, or the whole kernel with
/// count_include_pad.
double divisor(const Op &op, const Window &w, size_t taps) {
  return op.boolAttr("count_include_pad", false) ? double(w.kh * w.kw)
                                                 : double(taps);
}

Tensor evalAvgPool(const Op &op, llvm::ArrayRef<const Tensor *> in,
                   const SymEnv &syms) {
  const Tensor &x = *in[0];
  Window w = windowOf(op);
  Tensor y(x.dtype, resolve(op.result->type.dims, syms));
  forEachWindow(w, x.shape, y.shape,
                [&](int64_t o, int64_t plane, const std::vector<int64_t> &t) {
                  double s = 0;
                  for (int64_t i : t)
                    s += x.data[plane + i];
                  y.data[o] = s / divisor(op, w, t.size());
                });
  y.roundToType();
  return y;
}

Grads vjpAvgPool(Builder &b, const Op &op, Value *dy) {
  return {b.create(OpKind::AvgPool2DGrad, {dy},
                   withShape(op, op.operands[0]->type.dims))};
}

// avg_pool2d_grad %dy {..., shape = x's dims}
Type inferAvgPoolGrad(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  const std::vector<Dim> *xd = shapeAttr(op, err);
  if (!xd)
    return Type::invalid();
  Window w;
  Type x{in[0].dtype, *xd}, y;
  if (!poolOut(op, x, w, y, err))
    return Type::invalid();
  if (y != in[0]) {
    err = name(op) + " cotangent must have type " + y.str() + ", got " +
          in[0].str();
    return Type::invalid();
  }
  return x;
}

Tensor evalAvgPoolGrad(const Op &op, llvm::ArrayRef<const Tensor *> in,
                       const SymEnv &syms) {
  const Tensor &dy = *in[0];
  Window w = windowOf(op);
  Tensor dx(dy.dtype, resolve(op.result->type.dims, syms));
  forEachWindow(w, dx.shape, dy.shape,
                [&](int64_t o, int64_t plane, const std::vector<int64_t> &t) {
                  double g = dy.data[o] / divisor(op, w, t.size());
                  for (int64_t i : t)
                    dx.data[plane + i] += g;
                });
  dx.roundToType();
  return dx;
}

Grads vjpAvgPoolGrad(Builder &b, const Op &op, Value *g) {
  return {b.create(OpKind::AvgPool2D, {g}, withShape(op, {}))};
}

//===-------------------------------------------------------------------===//
// Loop lowerings: direct loops (without BLAS, or with groups). A tap outside
// the input (padding) is masked: its index is clamped to 0 and its value
// replaced.
//===-------------------------------------------------------------------===//

using loops::Expr;
using loops::LoopBuilder;
using loops::Scalar;

struct Tap {
  const Expr *valid;   // i1: inside the input
  const Expr *ih, *iw; // clamped to 0 outside
};

const Expr *falseExpr(LoopBuilder &b) { return b.ilt(b.i(1), b.i(0)); }

/// The input position of kernel tap (p, q) of output (i, j).
Tap tapAt(LoopBuilder &b, const Window &w, int64_t h, int64_t wi, const Expr *i,
          const Expr *j, const Expr *p, const Expr *q) {
  const Expr *ih =
      b.let("ih", b.sadd(b.add(b.mul(i, b.i(w.sh)), b.mul(p, b.i(w.dh))),
                         b.i(-w.pt)));
  const Expr *iw =
      b.let("iw", b.sadd(b.add(b.mul(j, b.i(w.sw)), b.mul(q, b.i(w.dw))),
                         b.i(-w.pl)));
  const Expr *F = falseExpr(b);
  const Expr *inH = b.select(b.ilt(ih, b.i(0)), F, b.ilt(ih, b.i(h)));
  const Expr *inW = b.select(b.ilt(iw, b.i(0)), F, b.ilt(iw, b.i(wi)));
  const Expr *valid = b.let("valid", b.select(inH, inW, F));
  return {valid, b.select(valid, ih, b.i(0)), b.select(valid, iw, b.i(0))};
}

//===-------------------------------------------------------------------===//
// im2col + GEMM (with BLAS, one group): per image, the columns
// col[(c,p,q), (i,j)] = x[n, c, tap (p,q) of output (i,j)] (0 in the
// padding) go to a scratch buffer, and
//   conv2d:             y[n] (as [O, OH*OW]) = w (as [O, C*KH*KW]) col
//   conv2d_grad_filter: dw += dy[n] col^T            (summed over images)
//   conv2d_grad_input:  col = w^T dy[n], then each column added back to
//                       its tap of dx[n] (col2im)
// Each product is one sgemm/dgemm call.
//===-------------------------------------------------------------------===//

/// The loops of a Gemm kernel call: its fallback where CBLAS is not used.
void gemmLoops(LoopBuilder &b, const loops::KernelCall &c) {
  Scalar et = loops::scalarOf(c.dtype);
  Scalar accT = b.options().wideAccumulators ? Scalar::F64 : et;
  auto at = [&](const loops::Buffer *buf, const Expr *off, bool trans,
                const Expr *ld, const Expr *r, const Expr *col) {
    const Expr *e = trans ? b.add(b.mul(col, ld), r) : b.add(b.mul(r, ld), col);
    return b.load(buf, off ? b.add(off, e) : e);
  };
  unsigned acc = b.local("acc", accT);
  b.loops({c.m, c.n}, [&](loops::Index mn) {
    const Expr *co = b.add(b.mul(mn[0], c.n), mn[1]);
    if (c.offC)
      co = b.add(c.offC, co);
    b.assign(acc, c.accumulate ? b.cast(b.load(c.c, co), accT) : b.f(0, accT));
    b.loops({c.k}, [&](loops::Index k) {
      const Expr *av = at(c.a, c.offA, c.transA, c.lda, mn[0], k[0]);
      const Expr *bv = at(c.b, c.offB, c.transB, c.ldb, k[0], mn[1]);
      b.assign(acc, b.apply(OpKind::Add,
                            {b.read(acc),
                             b.apply(OpKind::Mul,
                                     {b.cast(av, accT), b.cast(bv, accT)})}));
    });
    b.storeAt(c.c, co, b.cast(b.read(acc), et));
  });
}

struct Im2Col {
  Window w;
  int64_t C, H, W, KH, KW, OH, OW;
  int64_t rows() const { return C * KH * KW; }
  int64_t cols() const { return OH * OW; }
};

/// The im2col geometry of a conv-family op (x: [N,C,H,W], w: [O,C,KH,KW],
/// y: [N,O,OH,OW]), or nothing when it does not take this path.
std::optional<Im2Col> im2colOf(LoopBuilder &b, const Op &op, const Type &x,
                               const Type &w, const Type &y) {
  Window win = windowOf(op);
  if (!b.blas() || win.groups != 1)
    return std::nullopt;
  for (const Type *t : {&x, &w, &y})
    for (size_t i = 1; i < 4; ++i)
      if (t->dims[i].isSym())
        return std::nullopt;
  if (y.dtype != DType::F32 && y.dtype != DType::F64)
    return std::nullopt;
  return Im2Col{win,
                x.dims[1].size,
                x.dims[2].size,
                x.dims[3].size,
                w.dims[2].size,
                w.dims[3].size,
                y.dims[2].size,
                y.dims[3].size};
}

/// col[(c,p,q), (i,j)] = x[n, c, tap] of image n (0 in the padding).
void fillColumns(LoopBuilder &b, const Im2Col &g, const Value *x, const Expr *n,
                 const loops::Buffer *col, Scalar et) {
  b.loops({b.i(g.C), b.i(g.KH), b.i(g.KW)}, [&](loops::Index t) {
    const Expr *row =
        b.let("col.row", b.mul(b.linear(t, {b.i(g.C), b.i(g.KH), b.i(g.KW)}),
                               b.i(g.cols())));
    b.loops({b.i(g.OH), b.i(g.OW)}, [&](loops::Index ij) {
      Tap tp = tapAt(b, g.w, g.H, g.W, ij[0], ij[1], t[1], t[2]);
      const Expr *xv = b.element(x, {n, t[0], tp.ih, tp.iw});
      b.storeAt(col, b.add(row, b.linear(ij, {b.i(g.OH), b.i(g.OW)})),
                b.select(tp.valid, xv, b.f(0, et)));
    });
  });
}

loops::KernelCall gemmCall(DType dt) {
  loops::KernelCall c;
  c.kind = loops::KernelCall::Gemm;
  c.dtype = dt;
  return c;
}

bool convIm2Col(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0], *wv = op.operands[1], *y = op.result;
  auto g = im2colOf(b, op, x->type, wv->type, y->type);
  const loops::Buffer *wb = b.bufferOf(wv), *out = b.bufferOf(y);
  if (!g || !wb || !out)
    return false;
  Scalar et = loops::scalarOf(y->type.dtype);
  int64_t O = wv->type.dims[0].size;
  const loops::Buffer *col =
      b.scratch("col." + y->name, y->type.dtype,
                {Dim::fixed(g->rows()), Dim::fixed(g->cols())});
  b.loops({b.dim(x->type.dims[0])}, [&](loops::Index n) {
    fillColumns(b, *g, x, n[0], col, et);
    loops::KernelCall c = gemmCall(y->type.dtype);
    c.a = wb, c.b = col, c.c = out;
    c.m = b.i(O), c.n = b.i(g->cols()), c.k = b.i(g->rows());
    c.lda = b.i(g->rows()), c.ldb = b.i(g->cols());
    c.offC = b.mul(n[0], b.i(O * g->cols()));
    b.call(c, [&] { gemmLoops(b, c); });
    if (op.operands.size() == 3)
      b.loops({b.i(O), b.i(g->cols())}, [&](loops::Index oj) {
        const Expr *off = b.add(c.offC, b.linear(oj, {b.i(O), b.i(g->cols())}));
        b.storeAt(out, off,
                  b.apply(OpKind::Add, {b.load(out, off),
                                        b.element(op.operands[2], {oj[0]})}));
      });
  });
  return true;
}

bool gradFilterIm2Col(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0], *dy = op.operands[1], *dw = op.result;
  auto g = im2colOf(b, op, x->type, dw->type, dy->type);
  const loops::Buffer *dyb = b.bufferOf(dy), *out = b.bufferOf(dw);
  if (!g || !dyb || !out)
    return false;
  Scalar et = loops::scalarOf(dw->type.dtype);
  int64_t O = dw->type.dims[0].size;
  const loops::Buffer *col =
      b.scratch("col." + dw->name, dw->type.dtype,
                {Dim::fixed(g->rows()), Dim::fixed(g->cols())});
  b.loops({b.i(O), b.i(g->rows())}, [&](loops::Index k) {
    b.storeAt(out, b.linear(k, {b.i(O), b.i(g->rows())}), b.f(0, et));
  });
  b.loops({b.dim(x->type.dims[0])}, [&](loops::Index n) {
    fillColumns(b, *g, x, n[0], col, et);
    loops::KernelCall c = gemmCall(dw->type.dtype);
    c.a = dyb, c.b = col, c.c = out;
    c.transB = true;
    c.accumulate = true;
    c.m = b.i(O), c.n = b.i(g->rows()), c.k = b.i(g->cols());
    c.lda = b.i(g->cols()), c.ldb = b.i(g->cols());
    c.offA = b.mul(n[0], b.i(O * g->cols()));
    b.call(c, [&] { gemmLoops(b, c); });
  });
  return true;
}

bool gradInputIm2Col(LoopBuilder &b, const Op &op) {
  const Value *dy = op.operands[0], *wv = op.operands[1], *dx = op.result;
  auto g = im2colOf(b, op, dx->type, wv->type, dy->type);
  const loops::Buffer *dyb = b.bufferOf(dy), *wb = b.bufferOf(wv),
                      *out = b.bufferOf(dx);
  if (!g || !dyb || !wb || !out)
    return false;
  Scalar et = loops::scalarOf(dx->type.dtype);
  int64_t O = wv->type.dims[0].size;
  const loops::Buffer *col =
      b.scratch("col." + dx->name, dx->type.dtype,
                {Dim::fixed(g->rows()), Dim::fixed(g->cols())});
  std::vector<const Expr *> xs = b.shape(dx->type.dims);
  b.loops(xs, [&](loops::Index i) { b.store(dx, i, b.f(0, et)); });
  b.loops({xs[0]}, [&](loops::Index n) {
    loops::KernelCall c = gemmCall(dx->type.dtype);
    c.a = wb, c.b = dyb, c.c = col;
    c.transA = true;
    c.m = b.i(g->rows()), c.n = b.i(g->cols()), c.k = b.i(O);
    c.lda = b.i(g->rows()), c.ldb = b.i(g->cols());
    c.offB = b.mul(n[0], b.i(O * g->cols()));
    b.call(c, [&] { gemmLoops(b, c); });
    // col2im: every column back to its tap (the padding's are dropped).
    b.loops({b.i(g->C), b.i(g->KH), b.i(g->KW)}, [&](loops::Index t) {
      const Expr *row = b.let(
          "col.row", b.mul(b.linear(t, {b.i(g->C), b.i(g->KH), b.i(g->KW)}),
                           b.i(g->cols())));
      b.loops({b.i(g->OH), b.i(g->OW)}, [&](loops::Index ij) {
        Tap tp = tapAt(b, g->w, g->H, g->W, ij[0], ij[1], t[1], t[2]);
        const Expr *off =
            b.let("off", b.linear({n[0], t[0], tp.ih, tp.iw}, xs));
        const Expr *v =
            b.load(col, b.add(row, b.linear(ij, {b.i(g->OH), b.i(g->OW)})));
        b.storeAt(out, off,
                  b.apply(OpKind::Add, {b.load(out, off),
                                        b.select(tp.valid, v, b.f(0, et))}));
      });
    });
  });
  return true;
}

void loopsConv(LoopBuilder &b, const Op &op) {
  if (convIm2Col(b, op))
    return;
  const Value *x = op.operands[0], *wv = op.operands[1], *y = op.result;
  Window w = windowOf(op);
  Scalar et = loops::scalarOf(y->type.dtype);
  unsigned acc = b.local("acc", Scalar::F64);
  int64_t h = x->type.dims[2].size, wi = x->type.dims[3].size;
  int64_t og = w.groups > 1 ? wv->type.dims[0].size / w.groups : 0;
  const Expr *cg = b.dim(wv->type.dims[1]);
  if (w.dh == 1 && w.dw == 1 && w.sw == 1 && w.groups == 1 &&
      !b.options().wideAccumulators) {
    // Rows of the output: y[n,o,i,:] = b[o], then for each input channel
    // and kernel tap (p, q), y[n,o,i,j] += w[o,c,p,q] x[n,c,i sh+p-pt,
    // j+q-pl] over the j where the tap is inside the input. The innermost
    // loop runs along a row of x and of y (unit stride: it vectorizes),
    // accumulating in the element type, like the matmul loops.
    std::vector<const Expr *> ys = b.shape(y->type.dims);
    const loops::Buffer *out = b.bufferOf(y);
    int64_t kh = wv->type.dims[2].size, kw = wv->type.dims[3].size;
    const Expr *ow = ys[3];
    auto clampLo = [&](const Expr *v) {
      return b.select(b.ilt(v, b.i(0)), b.i(0), v);
    };
    b.loops({ys[0], ys[1], ys[2]}, [&](loops::Index r) {
      const Expr *row = b.let("row", b.linear({r[0], r[1], r[2], b.i(0)}, ys));
      const Expr *init = op.operands.size() == 3
                             ? b.let("bias", b.element(op.operands[2], {r[1]}))
                             : b.f(0, et);
      b.loops({ow},
              [&](loops::Index j) { b.storeAt(out, b.add(row, j[0]), init); });
      const Expr *h0 = b.let("h0", b.mul(r[2], b.i(w.sh)));
      const Expr *pLo =
          b.let("p.lo", clampLo(b.sadd(b.i(w.pt), b.mul(h0, b.i(-1)))));
      const Expr *pHi = b.let(
          "p.hi", b.min(b.i(kh), b.sadd(b.i(h + w.pt), b.mul(h0, b.i(-1)))));
      b.loops({cg}, [&](loops::Index ci) {
        b.forLoop(pLo, pHi, 1, [&](const Expr *p) {
          const Expr *ih = b.let("ih", b.sadd(b.add(h0, p), b.i(-w.pt)));
          for (int64_t q = 0; q < kw; ++q) {
            // taps inside: 0 <= j + q - pl < W
            const Expr *wq =
                b.let("wq", b.element(wv, {r[1], ci[0], p, b.i(q)}));
            int64_t lo = std::max<int64_t>(0, w.pl - q);
            const Expr *hi = b.min(ow, b.i(wi + w.pl - q));
            b.forLoop(b.i(lo), hi, 1, [&](const Expr *j) {
              const Expr *xv =
                  b.element(x, {r[0], ci[0], ih, b.sadd(j, b.i(q - w.pl))});
              const Expr *off = b.add(row, j);
              b.storeAt(out, off,
                        b.apply(OpKind::Add, {b.load(out, off),
                                              b.apply(OpKind::Mul, {wq, xv})}));
            });
          }
        });
      });
    });
    return;
  }
  if (w.dh == 1 && w.dw == 1) {
    // Undilated: each output's taps inside the input form a rectangle of
    // the kernel, so the loops run over it alone (no masking).
    const Expr *kh = b.i(wv->type.dims[2].size),
               *kw = b.i(wv->type.dims[3].size);
    auto clampLo = [&](const Expr *v) {
      return b.select(b.ilt(v, b.i(0)), b.i(0), v);
    };
    b.loops(b.shape(y->type.dims), [&](loops::Index yi) {
      b.assign(acc,
               op.operands.size() == 3
                   ? b.cast(b.element(op.operands[2], {yi[1]}), Scalar::F64)
                   : b.f(0, Scalar::F64));
      const Expr *h0 = b.let("h0", b.mul(yi[2], b.i(w.sh)));
      const Expr *w0 = b.let("w0", b.mul(yi[3], b.i(w.sw)));
      // taps p with 0 <= h0 + p - pt < H
      const Expr *pLo =
          b.let("p.lo", clampLo(b.sadd(b.i(w.pt), b.mul(h0, b.i(-1)))));
      const Expr *pHi =
          b.let("p.hi", b.min(kh, b.sadd(b.i(h + w.pt), b.mul(h0, b.i(-1)))));
      const Expr *qLo =
          b.let("q.lo", clampLo(b.sadd(b.i(w.pl), b.mul(w0, b.i(-1)))));
      const Expr *qHi =
          b.let("q.hi", b.min(kw, b.sadd(b.i(wi + w.pl), b.mul(w0, b.i(-1)))));
      b.loops({cg}, [&](loops::Index ci) {
        const Expr *c = ci[0];
        for (int64_t g = 1; g < w.groups; ++g)
          c = b.select(b.ilt(yi[1], b.i(g * og)), c,
                       b.add(ci[0], b.i(g * wv->type.dims[1].size)));
        b.forLoop(pLo, pHi, 1, [&](const Expr *p) {
          const Expr *ih = b.let("ih", b.sadd(b.add(h0, p), b.i(-w.pt)));
          b.forLoop(qLo, qHi, 1, [&](const Expr *q) {
            const Expr *iw = b.sadd(b.add(w0, q), b.i(-w.pl));
            const Expr *xv = b.element(x, {yi[0], c, ih, iw});
            const Expr *wvv = b.element(wv, {yi[1], ci[0], p, q});
            b.accumulate(acc, b.apply(OpKind::Mul, {b.cast(xv, Scalar::F64),
                                                    b.cast(wvv, Scalar::F64)}));
          });
        });
      });
      b.store(y, yi, b.cast(b.read(acc), et));
    });
    return;
  }
  b.loops(b.shape(y->type.dims), [&](loops::Index yi) {
    b.assign(acc, op.operands.size() == 3
                      ? b.cast(b.element(op.operands[2], {yi[1]}), Scalar::F64)
                      : b.f(0, Scalar::F64));
    b.loops({cg, b.i(wv->type.dims[2].size), b.i(wv->type.dims[3].size)},
            [&](loops::Index t) {
              Tap tp = tapAt(b, w, h, wi, yi[2], yi[3], t[1], t[2]);
              const Expr *c = t[0];
              for (int64_t g = 1; g < w.groups; ++g)
                c = b.select(b.ilt(yi[1], b.i(g * og)), c,
                             b.add(t[0], b.i(g * wv->type.dims[1].size)));
              const Expr *xv = b.element(x, {yi[0], c, tp.ih, tp.iw});
              const Expr *wvv = b.element(wv, {yi[1], t[0], t[1], t[2]});
              const Expr *prod =
                  b.apply(OpKind::Mul,
                          {b.cast(xv, Scalar::F64), b.cast(wvv, Scalar::F64)});
              b.accumulate(acc, b.select(tp.valid, prod, b.f(0, Scalar::F64)));
            });
    b.store(y, yi, b.cast(b.read(acc), et));
  });
}

// dw[o,c,p,q] = sum over n, i, j of dy[n,o,i,j] x[n, g*C/g + c, tap].
void loopsGradFilter(LoopBuilder &b, const Op &op) {
  if (gradFilterIm2Col(b, op))
    return;
  const Value *x = op.operands[0], *dy = op.operands[1], *dw = op.result;
  Window w = windowOf(op);
  Scalar et = loops::scalarOf(dw->type.dtype);
  unsigned acc = b.local("acc", Scalar::F64);
  int64_t h = x->type.dims[2].size, wi = x->type.dims[3].size;
  int64_t cgs = dw->type.dims[1].size,
          og = w.groups > 1 ? dw->type.dims[0].size / w.groups : 0;
  auto clampLo = [&](const Expr *v) {
    return b.select(b.ilt(v, b.i(0)), b.i(0), v);
  };
  if (w.dh == 1 && w.dw == 1 && w.sh == 1 && w.sw == 1 && w.groups == 1 &&
      !b.options().wideAccumulators) {
    // Unit strides: for each filter tap, the outputs whose tap (p, q) is
    // inside the input form a rectangle; sum over it with the innermost
    // loop along rows of dy and x (it vectorizes), in the element type
    // per image and in double across images.
    unsigned accF = b.local("acc.row", et);
    const Expr *oh = b.dim(dy->type.dims[2]), *ow = b.dim(dy->type.dims[3]);
    b.loops(b.shape(dw->type.dims), [&](loops::Index k) {
      const Expr *p = k[2], *q = k[3];
      const Expr *iLo =
          b.let("i.lo", clampLo(b.sadd(b.i(w.pt), b.mul(p, b.i(-1)))));
      const Expr *iHi =
          b.let("i.hi", b.min(oh, b.sadd(b.i(h + w.pt), b.mul(p, b.i(-1)))));
      const Expr *jLo =
          b.let("j.lo", clampLo(b.sadd(b.i(w.pl), b.mul(q, b.i(-1)))));
      const Expr *jHi =
          b.let("j.hi", b.min(ow, b.sadd(b.i(wi + w.pl), b.mul(q, b.i(-1)))));
      b.assign(acc, b.f(0, Scalar::F64));
      b.loops({b.dim(dy->type.dims[0])}, [&](loops::Index n) {
        b.assign(accF, b.f(0, et));
        b.forLoop(iLo, iHi, 1, [&](const Expr *i) {
          const Expr *ih = b.let("ih", b.sadd(b.add(i, p), b.i(-w.pt)));
          b.forLoop(jLo, jHi, 1, [&](const Expr *j) {
            const Expr *xv =
                b.element(x, {n[0], k[1], ih, b.sadd(b.add(j, q), b.i(-w.pl))});
            const Expr *g = b.element(dy, {n[0], k[0], i, j});
            b.accumulate(accF, b.apply(OpKind::Mul, {g, xv}));
          });
        });
        b.accumulate(acc, b.cast(b.read(accF), Scalar::F64));
      });
      b.store(dw, k, b.cast(b.read(acc), et));
    });
    return;
  }
  b.loops(b.shape(dw->type.dims), [&](loops::Index k) {
    b.assign(acc, b.f(0, Scalar::F64));
    const Expr *c = k[1];
    for (int64_t g = 1; g < w.groups; ++g)
      c = b.select(b.ilt(k[0], b.i(g * og)), c, b.add(k[1], b.i(g * cgs)));
    b.loops({b.dim(dy->type.dims[0]), b.dim(dy->type.dims[2]),
             b.dim(dy->type.dims[3])},
            [&](loops::Index n) {
              Tap tp = tapAt(b, w, h, wi, n[1], n[2], k[2], k[3]);
              const Expr *xv = b.element(x, {n[0], c, tp.ih, tp.iw});
              const Expr *g = b.element(dy, {n[0], k[0], n[1], n[2]});
              const Expr *prod = b.apply(OpKind::Mul, {b.cast(xv, Scalar::F64),
                                                       b.cast(g, Scalar::F64)});
              b.accumulate(acc, b.select(tp.valid, prod, b.f(0, Scalar::F64)));
            });
    b.store(dw, k, b.cast(b.read(acc), et));
  });
}

// dx = 0, then every tap adds dy * w at its (clamped) input position; a tap
// in the padding adds 0.
void loopsGradInput(LoopBuilder &b, const Op &op) {
  if (gradInputIm2Col(b, op))
    return;
  const Value *dy = op.operands[0], *wv = op.operands[1], *dx = op.result;
  Window w = windowOf(op);
  Scalar et = loops::scalarOf(dx->type.dtype);
  std::vector<const Expr *> xs = b.shape(dx->type.dims);
  const loops::Buffer *out = b.bufferOf(dx);
  b.loops(xs, [&](loops::Index i) { b.store(dx, i, b.f(0, et)); });
  int64_t h = dx->type.dims[2].size, wi = dx->type.dims[3].size;
  int64_t og = w.groups > 1 ? wv->type.dims[0].size / w.groups : 0;
  b.loops(b.shape(dy->type.dims), [&](loops::Index yi) {
    b.loops({b.dim(wv->type.dims[1]), b.i(wv->type.dims[2].size),
             b.i(wv->type.dims[3].size)},
            [&](loops::Index t) {
              Tap tp = tapAt(b, w, h, wi, yi[2], yi[3], t[1], t[2]);
              const Expr *c = t[0];
              for (int64_t g = 1; g < w.groups; ++g)
                c = b.select(b.ilt(yi[1], b.i(g * og)), c,
                             b.add(t[0], b.i(g * wv->type.dims[1].size)));
              const Expr *off =
                  b.let("off", b.linear({yi[0], c, tp.ih, tp.iw}, xs));
              const Expr *prod = b.apply(
                  OpKind::Mul, {b.element(dy, yi),
                                b.element(wv, {yi[1], t[0], t[1], t[2]})});
              b.storeAt(
                  out, off,
                  b.apply(OpKind::Add, {b.load(out, off),
                                        b.select(tp.valid, prod, b.f(0, et))}));
            });
  });
}

// Max and first argmax of each window; padding never wins.
void loopsMaxPool(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0], *y = op.result;
  Window w = windowOf(op);
  Scalar et = loops::scalarOf(x->type.dtype);
  int64_t h = x->type.dims[2].size, wi = x->type.dims[3].size;
  bool arg = op.kind == OpKind::MaxPool2DArgMax;
  unsigned best = b.local("best", et), at = b.local("at", Scalar::I64);
  b.loops(b.shape(y->type.dims), [&](loops::Index yi) {
    b.assign(best, b.f(-INFINITY, et));
    b.assign(at, b.i(-1));
    b.loops({b.i(w.kh), b.i(w.kw)}, [&](loops::Index t) {
      Tap tp = tapAt(b, w, h, wi, yi[2], yi[3], t[0], t[1]);
      const Expr *v = b.element(x, {yi[0], yi[1], tp.ih, tp.iw});
      const Expr *bv = b.let("best.old", b.read(best));
      const Expr *bi = b.let("at.old", b.read(at));
      const Expr *take = b.let(
          "take", b.select(tp.valid, b.isNewMax(v, bv, bi), falseExpr(b)));
      b.assign(best, b.select(take, v, bv));
      b.assign(at, b.select(take, b.add(b.mul(tp.ih, b.i(wi)), tp.iw), bi));
    });
    b.store(y, yi, arg ? b.read(at) : b.read(best));
  });
}

/// The divisor of the window of output (i, j).
const Expr *poolCount(LoopBuilder &b, const Op &op, const Window &w, int64_t h,
                      int64_t wi, loops::Index yi, unsigned cnt) {
  if (op.boolAttr("count_include_pad", false))
    return b.f(double(w.kh * w.kw), Scalar::F64);
  b.assign(cnt, b.f(0, Scalar::F64));
  b.loops({b.i(w.kh), b.i(w.kw)}, [&](loops::Index t) {
    Tap tp = tapAt(b, w, h, wi, yi[2], yi[3], t[0], t[1]);
    b.accumulate(cnt,
                 b.select(tp.valid, b.f(1, Scalar::F64), b.f(0, Scalar::F64)));
  });
  return b.let("count", b.read(cnt));
}

void loopsAvgPool(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0], *y = op.result;
  Window w = windowOf(op);
  Scalar et = loops::scalarOf(x->type.dtype);
  int64_t h = x->type.dims[2].size, wi = x->type.dims[3].size;
  unsigned acc = b.local("acc", Scalar::F64), cnt = b.local("cnt", Scalar::F64);
  b.loops(b.shape(y->type.dims), [&](loops::Index yi) {
    const Expr *count = poolCount(b, op, w, h, wi, yi, cnt);
    b.assign(acc, b.f(0, Scalar::F64));
    b.loops({b.i(w.kh), b.i(w.kw)}, [&](loops::Index t) {
      Tap tp = tapAt(b, w, h, wi, yi[2], yi[3], t[0], t[1]);
      const Expr *v =
          b.cast(b.element(x, {yi[0], yi[1], tp.ih, tp.iw}), Scalar::F64);
      b.accumulate(acc, b.select(tp.valid, v, b.f(0, Scalar::F64)));
    });
    b.store(y, yi, b.cast(b.apply(OpKind::Div, {b.read(acc), count}), et));
  });
}

void loopsAvgPoolGrad(LoopBuilder &b, const Op &op) {
  const Value *dy = op.operands[0], *dx = op.result;
  Window w = windowOf(op);
  Scalar et = loops::scalarOf(dx->type.dtype);
  int64_t h = dx->type.dims[2].size, wi = dx->type.dims[3].size;
  std::vector<const Expr *> xs = b.shape(dx->type.dims);
  const loops::Buffer *out = b.bufferOf(dx);
  unsigned cnt = b.local("cnt", Scalar::F64);
  b.loops(xs, [&](loops::Index i) { b.store(dx, i, b.f(0, et)); });
  b.loops(b.shape(dy->type.dims), [&](loops::Index yi) {
    const Expr *count = poolCount(b, op, w, h, wi, yi, cnt);
    const Expr *g = b.let(
        "g", b.cast(b.apply(OpKind::Div,
                            {b.cast(b.element(dy, yi), Scalar::F64), count}),
                    et));
    b.loops({b.i(w.kh), b.i(w.kw)}, [&](loops::Index t) {
      Tap tp = tapAt(b, w, h, wi, yi[2], yi[3], t[0], t[1]);
      const Expr *off =
          b.let("off", b.linear({yi[0], yi[1], tp.ih, tp.iw}, xs));
      b.storeAt(out, off,
                b.apply(OpKind::Add,
                        {b.load(out, off), b.select(tp.valid, g, b.f(0, et))}));
    });
  });
}

/// The im2col columns that loopsConv, loopsGradInput and loopsGradFilter
/// may ask for: [C/groups, KH, KW, OH, OW] (taken with BLAS, one group).
std::vector<Type> im2colScratch(const Op &op) {
  const Type &w = op.kind == OpKind::Conv2DGradFilter ? op.result->type
                                                      : op.operands[1]->type;
  const Type &y = op.kind == OpKind::Conv2D            ? op.result->type
                  : op.kind == OpKind::Conv2DGradInput ? op.operands[0]->type
                                                       : op.operands[1]->type;
  if (w.rank() != 4 || y.rank() != 4)
    return {};
  return {
      Type{y.dtype, {w.dims[1], w.dims[2], w.dims[3], y.dims[2], y.dims[3]}}};
}

} // namespace

void addConvOps(std::vector<OpDef> &d) {
  std::vector<AttrSpec> conv = {{"strides", Attr::List},
                                {"pads", Attr::List},
                                {"dilations", Attr::List},
                                {"groups", Attr::Int}};
  std::vector<AttrSpec> convShape = conv;
  convShape.push_back({"shape", Attr::List});
  std::vector<AttrSpec> pool = {
      {"kernel", Attr::List}, {"strides", Attr::List}, {"pads", Attr::List}};
  std::vector<AttrSpec> avg = pool;
  avg.push_back({"count_include_pad", Attr::Bool});
  std::vector<AttrSpec> avgShape = avg;
  avgShape.push_back({"shape", Attr::List});
  d.push_back(OpDef{OpKind::Conv2D, conv, inferConv, evalConv, vjpConv}
                  .withLoops(loopsConv)
                  .withScratch(im2colScratch));
  d.push_back(OpDef{OpKind::Conv2DGradInput, convShape, inferGradInput,
                    evalGradInput, vjpGradInput}
                  .withLoops(loopsGradInput)
                  .withScratch(im2colScratch));
  d.push_back(OpDef{OpKind::Conv2DGradFilter, convShape, inferGradFilter,
                    evalGradFilter, vjpGradFilter}
                  .withLoops(loopsGradFilter)
                  .withScratch(im2colScratch));
  d.push_back(OpDef{OpKind::MaxPool2D, pool, inferPool, evalMaxPool, vjpMaxPool}
                  .withLoops(loopsMaxPool));
  d.push_back(
      OpDef{OpKind::MaxPool2DArgMax, pool, inferPool, evalMaxPool, nullptr}
          .withLoops(loopsMaxPool));
  d.push_back(OpDef{OpKind::AvgPool2D, avg, inferPool, evalAvgPool, vjpAvgPool}
                  .withLoops(loopsAvgPool));
  d.push_back(OpDef{OpKind::AvgPool2DGrad, avgShape, inferAvgPoolGrad,
                    evalAvgPoolGrad, vjpAvgPoolGrad}
                  .withLoops(loopsAvgPoolGrad));
}

} // namespace gradc::ops
