//===- Index.cpp - slice, concat, pad, gather, scatter, one_hot, ... -----===//
//
// Indexing follows numpy/ONNX: negative indices count from the end of the
// axis; an index out of range is a run-time error (each op's `check`), never
// a silent read. gather and scatter_add (and gather_elements and
// scatter_add_elements) are each other's transposes, which is how their
// adjoints are written.
//
//===----------------------------------------------------------------------===//
#include "OpsImpl.h"

#include "gradc/Loops/LoopBuilder.h"

#include <algorithm>
#include <cmath>

namespace gradc::ops {
namespace {

using Grads = std::vector<Value *>;

std::string opName(const Op &op) { return "'" + mnemonic(op.kind).str() + "'"; }

bool needIndices(const Op &op, const Type &t, const char *what,
                 std::string &err) {
  if (isInt(t.dtype))
    return true;
  err = opName(op) + " needs integer (i32 or i64) " + what + ", got " + t.str();
  return false;
}

/// The `axis` attribute (default `dflt`), resolved against `rank`.
bool axisAttr(const Op &op, unsigned rank, int64_t dflt, int64_t &axis,
              std::string &err) {
  int64_t v = op.intAttr("axis", dflt);
  if (v < -int64_t(rank) || v >= int64_t(rank)) {
    err = "axis " + std::to_string(v) + " is out of range for " + opName(op) +
          " on rank " + std::to_string(rank);
    return false;
  }
  axis = v < 0 ? v + rank : v;
  return true;
}

std::string shapeStr(const Shape &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

/// Every index in `idx` must lie in [-size, size).
std::string checkRange(const Tensor &idx, int64_t size, int64_t axis) {
  Shape st = stridesOf(idx.shape);
  for (int64_t i = 0; i < idx.size(); ++i) {
    double v = idx.data[i];
    if (v >= -double(size) && v < double(size))
      continue;
    Shape pos;
    for (size_t k = 0; k < st.size(); ++k)
      pos.push_back(i / st[k] % idx.shape[k]);
    return "index " + std::to_string(int64_t(v)) + " (at " + shapeStr(pos) +
           " of the indices) is out of range for axis " + std::to_string(axis) +
           " of size " + std::to_string(size);
  }
  return {};
}

int64_t wrap(double v, int64_t size) {
  int64_t i = int64_t(v);
  return i < 0 ? i + size : i;
}

//===-------------------------------------------------------------------===//
// slice
//===-------------------------------------------------------------------===//

/// One axis of a slice: the first index, the step and the count; `whole`
/// when a symbolic dim is taken entirely.
struct SliceAxis {
  int64_t start = 0, step = 1, count = 0;
  bool sliced = false, whole = false;
};

/// Resolves the slice attributes against `dims` (sizes from `syms` when
/// given, else symbolic dims must be taken whole).
bool decodeSlice(const Op &op, const std::vector<Dim> &dims, const SymEnv *syms,
                 std::vector<SliceAxis> &out, std::string &err) {
  unsigned rank = dims.size();
  const Attr *starts = op.attr("starts"), *ends = op.attr("ends");
  if (!starts || !ends) {
    err = "'slice' needs 'starts' and 'ends'";
    return false;
  }
  size_t n = starts->list.size();
  if (ends->list.size() != n) {
    err = "'slice' has " + std::to_string(n) + " starts but " +
          std::to_string(ends->list.size()) + " ends";
    return false;
  }
  std::vector<int64_t> axes, steps;
  if (!intListAttr(op, "axes", axes, err) ||
      !intListAttr(op, "steps", steps, err))
    return false;
  if (!op.attr("axes"))
    for (size_t i = 0; i < n; ++i)
      axes.push_back(i);
  if (!op.attr("steps"))
    steps.assign(n, 1);
  if (axes.size() != n || steps.size() != n) {
    err = "'slice' needs as many " +
          std::string(axes.size() != n ? "axes" : "steps") + " as starts (" +
          std::to_string(n) + ")";
    return false;
  }
  if (n > rank) {
    err = "'slice' has " + std::to_string(n) + " starts but the operand has " +
          "rank " + std::to_string(rank);
    return false;
  }
  out.assign(rank, SliceAxis());
  for (size_t i = 0; i < n; ++i) {
    int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (a < 0 || a >= int64_t(rank)) {
      err = "axis " + std::to_string(axes[i]) +
            " is out of range for 'slice' on rank " + std::to_string(rank);
      return false;
    }
    SliceAxis &s = out[a];
    if (s.sliced) {
      err = "axis " + std::to_string(a) + " is given twice in 'slice'";
      return false;
    }
    s.sliced = true;
    if (steps[i] <= 0) {
      err = "'slice' steps must be positive, got " + std::to_string(steps[i]);
      return false;
    }
    s.step = steps[i];
    const Dim &d = dims[a], &st = starts->list[i], &en = ends->list[i];
    if (d.isSym() && !syms) {
      // The size is unknown: only the whole axis has a type.
      bool fromZero = !st.isSym() && st.size == 0;
      bool toEnd = (en.isSym() && en.sym == d.sym) ||
                   (!en.isSym() && en.size >= kMaxDim - 1);
      if (!fromZero || !toEnd || s.step != 1) {
        err = "'slice' of the symbolic dim '" + d.sym + "' (axis " +
              std::to_string(a) +
              ") must take the whole axis (starts=[0], "
              "ends=[" +
              d.sym + "], step 1)";
        return false;
      }
      s.whole = true;
      continue;
    }
    int64_t size = d.isSym() ? syms->lookup(d.sym) : d.size; // syms may be null
    auto bound = [&](const Dim &b, int64_t &v) {
      if (b.isSym()) {
        if (!(d.isSym() && b.sym == d.sym)) {
          err = "'slice' bound '" + b.sym + "' is not the size of axis " +
                std::to_string(a) + " (" + d.str() + ")";
          return false;
        }
        v = size;
        return true;
      }
      v = b.size < 0 ? b.size + size : b.size;
      v = std::clamp<int64_t>(v, 0, size);
      return true;
    };
    int64_t b, e;
    if (!bound(st, b) || !bound(en, e))
      return false;
    s.start = b;
    s.count = e > b ? (e - b + s.step - 1) / s.step : 0;
    if (s.count == 0) {
      err = "'slice' of axis " + std::to_string(a) + " (size " +
            std::to_string(size) + ") from " + st.str() + " to " + en.str() +
            " is empty";
      return false;
    }
  }
  return true;
}

/// The slice of a verified op; `syms` resolves symbolic dims (run time) or
/// is null (compile time).
std::vector<SliceAxis> sliceOf(const Op &op, const SymEnv *syms) {
  return verifiedAttr<std::vector<SliceAxis>>(op, [&](auto &ax, auto &err) {
    return decodeSlice(op, op.operands[0]->type.dims, syms, ax, err);
  });
}

Type inferSlice(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  std::vector<SliceAxis> ax;
  if (!decodeSlice(op, in[0].dims, nullptr, ax, err))
    return Type::invalid();
  Type out = in[0];
  for (size_t a = 0; a < ax.size(); ++a)
    if (ax[a].sliced && !ax[a].whole)
      out.dims[a] = Dim::fixed(ax[a].count);
  return out;
}

Tensor evalSlice(const Op &op, llvm::ArrayRef<const Tensor *> in,
                 const SymEnv &syms) {
  const Tensor &x = *in[0];
  std::vector<SliceAxis> ax = sliceOf(op, &syms);
  Shape s = x.shape;
  for (size_t a = 0; a < s.size(); ++a)
    if (ax[a].sliced)
      s[a] = ax[a].count;
  Tensor out(x.dtype, s);
  Shape xs = stridesOf(x.shape), idx(s.size(), 0);
  for (int64_t flat = 0; flat < out.size(); ++flat) {
    int64_t off = 0;
    for (size_t a = 0; a < s.size(); ++a)
      off += (ax[a].start + idx[a] * ax[a].step) * xs[a];
    out.data[flat] = x.data[off];
    for (int a = int(s.size()) - 1; a >= 0 && ++idx[a] == s[a]; --a)
      idx[a] = 0;
  }
  return out;
}

// y = x[start : start + count*step : step] on each sliced axis: dx is dy put
// back in place, zeros elsewhere. A step s > 1 spreads dy first: each element
// gets s - 1 zeros after it (reshape to [n,1], pad to [n,s], reshape to
// [n*s], trimmed to the axis); then one pad puts everything in place.
Grads vjpSlice(Builder &b, const Op &op, Value *dy) {
  Value *x = op.operands[0];
  std::vector<SliceAxis> ax = sliceOf(op, nullptr);
  unsigned rank = x->type.rank();
  Value *g = dy;
  std::vector<int64_t> pads(2 * rank, 0);
  bool padded = false;
  for (unsigned a = 0; a < rank; ++a) {
    const SliceAxis &s = ax[a];
    if (!s.sliced || s.whole)
      continue;
    int64_t size = x->type.dims[a].size, len = s.count;
    if (s.step > 1) {
      std::vector<Dim> dims = g->type.dims, split = dims;
      split[a] = Dim::fixed(len);
      split.insert(split.begin() + a + 1, Dim::fixed(1));
      g = b.reshape(g, split);
      std::vector<int64_t> p(2 * (rank + 1), 0);
      p[rank + 1 + a + 1] = s.step - 1;
      g = b.pad(g, p);
      dims[a] = Dim::fixed(len * s.step);
      g = b.reshape(g, dims);
      len = std::min(len * s.step, size - s.start);
      if (len < s.count * s.step)
        g = b.slice(g, {a}, {0}, {len});
    }
    pads[a] = s.start;
    pads[rank + a] = size - s.start - len;
    padded |= pads[a] || pads[rank + a];
  }
  return {padded ? b.pad(g, pads) : g};
}

//===-------------------------------------------------------------------===//
// concat, pad
//===-------------------------------------------------------------------===//

Type inferConcat(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  if (!op.attr("axis")) {
    err = "'concat' needs an 'axis' attribute";
    return Type::invalid();
  }
  if (!sameDType(in, "concat", err))
    return Type::invalid();
  int64_t axis;
  if (in[0].rank() == 0) {
    err = "'concat' needs operands of rank >= 1";
    return Type::invalid();
  }
  if (!axisAttr(op, in[0].rank(), 0, axis, err))
    return Type::invalid();
  Type out = in[0];
  int64_t total = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const Type &t = in[i];
    bool same = t.rank() == in[0].rank();
    for (size_t a = 0; same && a < t.rank(); ++a)
      same = int64_t(a) == axis || t.dims[a] == in[0].dims[a];
    if (!same) {
      err = "operands of 'concat' must have equal shapes except on axis " +
            std::to_string(axis) + ": " + in[0].str() + " vs " + t.str();
      return Type::invalid();
    }
    if (t.dims[axis].isSym()) {
      err = "'concat' needs static sizes on axis " + std::to_string(axis) +
            ", got " + t.str();
      return Type::invalid();
    }
    total += t.dims[axis].size;
  }
  out.dims[axis] = Dim::fixed(total);
  return out;
}

Tensor evalConcat(const Op &op, llvm::ArrayRef<const Tensor *> in,
                  const SymEnv &) {
  int64_t axis = axisOf(op, in[0]->rank(), 0);
  Shape s = in[0]->shape;
  s[axis] = 0;
  for (const Tensor *t : in)
    s[axis] += t->shape[axis];
  Tensor out(in[0]->dtype, s);
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a)
    outer *= s[a];
  for (size_t a = axis + 1; a < s.size(); ++a)
    inner *= s[a];
  int64_t pos = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor *t : in) {
      int64_t n = t->shape[axis] * inner;
      std::copy_n(t->data.begin() + o * n, n, out.data.begin() + pos);
      pos += n;
    }
  return out;
}

// Each operand's cotangent is its slice of dy.
Grads vjpConcat(Builder &b, const Op &op, Value *dy) {
  int64_t axis = axisOf(op, dy->type.rank(), 0);
  Grads g;
  int64_t off = 0;
  for (Value *x : op.operands) {
    int64_t n = x->type.dims[axis].size;
    g.push_back(
        op.operands.size() == 1 ? dy : b.slice(dy, {axis}, {off}, {off + n}));
    off += n;
  }
  return g;
}

bool decodePads(const Op &op, const Type &t, std::vector<int64_t> &pads,
                std::string &err) {
  if (!op.attr("pads")) {
    err = "'pad' needs a 'pads' attribute";
    return false;
  }
  if (!intListAttr(op, "pads", pads, err))
    return false;
  unsigned r = t.rank();
  if (pads.size() != 2 * r) {
    err = "'pads' of 'pad' needs " + std::to_string(2 * r) +
          " entries (begins then ends) for rank " + std::to_string(r) +
          ", got " + std::to_string(pads.size());
    return false;
  }
  for (unsigned i = 0; i < 2 * r; ++i) {
    if (pads[i] < 0) {
      err = "'pad' pads must be non-negative, got " + std::to_string(pads[i]);
      return false;
    }
    if (pads[i] && t.dims[i % r].isSym()) {
      err = "'pad' needs a static size on axis " + std::to_string(i % r) +
            " to pad it, got " + t.str();
      return false;
    }
  }
  return true;
}

Type inferPad(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  std::vector<int64_t> pads;
  if (!decodePads(op, in[0], pads, err))
    return Type::invalid();
  Type out = in[0];
  unsigned r = out.rank();
  for (unsigned a = 0; a < r; ++a)
    if (!out.dims[a].isSym())
      out.dims[a].size += pads[a] + pads[r + a];
  return out;
}

Tensor evalPad(const Op &op, llvm::ArrayRef<const Tensor *> in,
               const SymEnv &) {
  const Tensor &x = *in[0];
  std::vector<int64_t> pads = padsOf(op);
  unsigned r = x.rank();
  Shape s = x.shape;
  for (unsigned a = 0; a < r; ++a)
    s[a] += pads[a] + pads[r + a];
  Tensor out(x.dtype, s, op.floatAttr("value", 0.0));
  out.roundToType();
  Shape os = stridesOf(s), idx(r, 0);
  for (int64_t flat = 0; flat < x.size(); ++flat) {
    int64_t off = 0;
    for (unsigned a = 0; a < r; ++a)
      off += (idx[a] + pads[a]) * os[a];
    out.data[off] = x.data[flat];
    for (int a = int(r) - 1; a >= 0 && ++idx[a] == x.shape[a]; --a)
      idx[a] = 0;
  }
  return out;
}

// dx is the interior of dy.
Grads vjpPad(Builder &b, const Op &op, Value *dy) {
  Value *x = op.operands[0];
  std::vector<int64_t> pads = padsOf(op), axes, starts, ends;
  unsigned r = x->type.rank();
  for (unsigned a = 0; a < r; ++a)
    if (pads[a] || pads[r + a]) {
      axes.push_back(a);
      starts.push_back(pads[a]);
      ends.push_back(pads[a] + x->type.dims[a].size);
    }
  return {axes.empty() ? dy : b.slice(dy, axes, starts, ends)};
}

//===-------------------------------------------------------------------===//
// gather, scatter_add
//===-------------------------------------------------------------------===//

/// x.shape[:k] + idx.shape + x.shape[k+1:]
std::vector<Dim> takeDims(const Type &x, const Type &idx, int64_t k) {
  std::vector<Dim> d(x.dims.begin(), x.dims.begin() + k);
  d.insert(d.end(), idx.dims.begin(), idx.dims.end());
  d.insert(d.end(), x.dims.begin() + k + 1, x.dims.end());
  return d;
}

Type inferGather(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  int64_t k;
  if (in[0].rank() == 0) {
    err = "'gather' needs an operand of rank >= 1";
    return Type::invalid();
  }
  if (!needIndices(op, in[1], "indices", err) ||
      !axisAttr(op, in[0].rank(), 0, k, err))
    return Type::invalid();
  return Type{in[0].dtype, takeDims(in[0], in[1], k)};
}

std::string checkGather(const Op &op, llvm::ArrayRef<const Tensor *> in) {
  int64_t k = axisOf(op, in[0]->rank(), 0);
  return checkRange(*in[1], in[0]->shape[k], k);
}

/// Calls fn(x offset, y offset) for every element of take(x, idx, axis=k).
template <typename Fn>
void forEachTake(const Shape &x, const Tensor &idx, int64_t k, Fn fn) {
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < k; ++a)
    outer *= x[a];
  for (size_t a = k + 1; a < x.size(); ++a)
    inner *= x[a];
  int64_t n = idx.size(), size = x[k];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < n; ++j) {
      int64_t i = wrap(idx.data[j], size);
      for (int64_t q = 0; q < inner; ++q)
        fn((o * size + i) * inner + q, (o * n + j) * inner + q);
    }
}

Tensor evalGather(const Op &op, llvm::ArrayRef<const Tensor *> in,
                  const SymEnv &) {
  const Tensor &x = *in[0], &idx = *in[1];
  int64_t k = axisOf(op, x.rank(), 0);
  Shape s(x.shape.begin(), x.shape.begin() + k);
  s.insert(s.end(), idx.shape.begin(), idx.shape.end());
  s.insert(s.end(), x.shape.begin() + k + 1, x.shape.end());
  Tensor out(x.dtype, s);
  forEachTake(x.shape, idx, k,
              [&](int64_t xi, int64_t yi) { out.data[yi] = x.data[xi]; });
  return out;
}

std::vector<NamedAttr> axisAttrOf(int64_t k) {
  return {{"axis", Attr::integer(k), {}}};
}

// y = take(x, idx): dx = scatter_add(0, idx, dy), repeated indices adding up.
Grads vjpGather(Builder &b, const Op &op, Value *dy) {
  Value *x = op.operands[0];
  int64_t k = axisOf(op, x->type.rank(), 0);
  return {b.create(OpKind::ScatterAdd,
                   {b.splat(0, x->type), op.operands[1], dy}, axisAttrOf(k)),
          nullptr};
}

Type inferScatterAdd(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  int64_t k;
  if (in[0].rank() == 0) {
    err = "'scatter_add' needs a base of rank >= 1";
    return Type::invalid();
  }
  if (!needIndices(op, in[1], "indices", err) ||
      !axisAttr(op, in[0].rank(), 0, k, err) ||
      !sameDType({in[0], in[2]}, "scatter_add", err))
    return Type::invalid();
  Type want{in[0].dtype, takeDims(in[0], in[1], k)};
  if (in[2] != want) {
    err = "'scatter_add' updates must have type " + want.str() +
          " (base.shape[:axis] + indices.shape + base.shape[axis+1:]), got " +
          in[2].str();
    return Type::invalid();
  }
  return in[0];
}

Tensor evalScatterAdd(const Op &op, llvm::ArrayRef<const Tensor *> in,
                      const SymEnv &) {
  Tensor out = *in[0];
  int64_t k = axisOf(op, out.rank(), 0);
  forEachTake(out.shape, *in[1], k,
              [&](int64_t xi, int64_t yi) { out.data[xi] += in[2]->data[yi]; });
  out.roundToType();
  return out;
}

// y = base + scatter(upd): dbase = dy, dupd = take(dy, idx).
Grads vjpScatterAdd(Builder &b, const Op &op, Value *dy) {
  int64_t k = axisOf(op, dy->type.rank(), 0);
  return {dy, nullptr,
          b.create(OpKind::Gather, {dy, op.operands[1]}, axisAttrOf(k))};
}

//===-------------------------------------------------------------------===//
// gather_elements, scatter_add_elements
//===-------------------------------------------------------------------===//

bool elementsLayout(const Op &op, const Type &x, const Type &idx, int64_t &k,
                    std::string &err) {
  if (x.rank() == 0) {
    err = opName(op) + " needs an operand of rank >= 1";
    return false;
  }
  if (!needIndices(op, idx, "indices", err) ||
      !axisAttr(op, x.rank(), 0, k, err))
    return false;
  bool ok = idx.rank() == x.rank();
  for (size_t a = 0; ok && a < x.rank(); ++a)
    ok = int64_t(a) == k || idx.dims[a] == x.dims[a];
  if (!ok) {
    err = opName(op) +
          " indices must have the operand's rank and its dims "
          "off axis " +
          std::to_string(k) + ": " + x.str() + " vs " + idx.str();
    return false;
  }
  return true;
}

Type inferGatherElements(const Op &op, llvm::ArrayRef<Type> in,
                         std::string &err) {
  int64_t k;
  if (!elementsLayout(op, in[0], in[1], k, err))
    return Type::invalid();
  return Type{in[0].dtype, in[1].dims};
}

std::string checkElements(const Op &op, llvm::ArrayRef<const Tensor *> in) {
  int64_t k = axisOf(op, in[0]->rank(), 0);
  return checkRange(*in[1], in[0]->shape[k], k);
}

/// Calls fn(x offset, idx offset) for every element of the index tensor.
template <typename Fn>
void forEachElement(const Shape &x, const Tensor &idx, int64_t k, Fn fn) {
  Shape xs = stridesOf(x), pos(idx.rank(), 0);
  for (int64_t j = 0; j < idx.size(); ++j) {
    int64_t off = 0;
    for (size_t a = 0; a < pos.size(); ++a)
      off += (int64_t(a) == k ? wrap(idx.data[j], x[k]) : pos[a]) * xs[a];
    fn(off, j);
    for (int a = int(pos.size()) - 1; a >= 0 && ++pos[a] == idx.shape[a]; --a)
      pos[a] = 0;
  }
}

Tensor evalGatherElements(const Op &op, llvm::ArrayRef<const Tensor *> in,
                          const SymEnv &) {
  const Tensor &x = *in[0], &idx = *in[1];
  Tensor out(x.dtype, idx.shape);
  forEachElement(x.shape, idx, axisOf(op, x.rank(), 0),
                 [&](int64_t xi, int64_t j) { out.data[j] = x.data[xi]; });
  return out;
}

// dx = scatter_add_elements(0, idx, dy)
Grads vjpGatherElements(Builder &b, const Op &op, Value *dy) {
  Value *x = op.operands[0];
  int64_t k = axisOf(op, x->type.rank(), 0);
  return {b.create(OpKind::ScatterAddElements,
                   {b.splat(0, x->type), op.operands[1], dy}, axisAttrOf(k)),
          nullptr};
}

Type inferScatterAddElements(const Op &op, llvm::ArrayRef<Type> in,
                             std::string &err) {
  int64_t k;
  if (!elementsLayout(op, in[0], in[1], k, err) ||
      !sameDType({in[0], in[2]}, mnemonic(op.kind), err))
    return Type::invalid();
  if (in[2].dims != in[1].dims) {
    err = "'scatter_add_elements' updates must have the indices' shape: " +
          in[1].str() + " vs " + in[2].str();
    return Type::invalid();
  }
  return in[0];
}

Tensor evalScatterAddElements(const Op &op, llvm::ArrayRef<const Tensor *> in,
                              const SymEnv &) {
  Tensor out = *in[0];
  forEachElement(
      out.shape, *in[1], axisOf(op, out.rank(), 0),
      [&](int64_t xi, int64_t j) { out.data[xi] += in[2]->data[j]; });
  out.roundToType();
  return out;
}

// dbase = dy, dupd = gather_elements(dy, idx)
Grads vjpScatterAddElements(Builder &b, const Op &op, Value *dy) {
  int64_t k = axisOf(op, dy->type.rank(), 0);
  return {
      dy, nullptr,
      b.create(OpKind::GatherElements, {dy, op.operands[1]}, axisAttrOf(k))};
}

//===-------------------------------------------------------------------===//
// one_hot, iota, argmax, cumsum
//===-------------------------------------------------------------------===//

Type inferOneHot(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  if (!needIndices(op, in[0], "indices", err))
    return Type::invalid();
  const Attr *d = op.attr("depth");
  if (!d || d->i <= 0) {
    err = "'one_hot' needs a positive 'depth'";
    return Type::invalid();
  }
  Type out{declaredDType(op, DType::F32), in[0].dims};
  out.dims.push_back(Dim::fixed(d->i));
  return out;
}

// An index outside [0, depth) gives a zero row (as jax.nn.one_hot).
Tensor evalOneHot(const Op &op, llvm::ArrayRef<const Tensor *> in,
                  const SymEnv &) {
  int64_t depth = op.intAttr("depth", 1);
  Shape s = in[0]->shape;
  s.push_back(depth);
  Tensor out(op.result->type.dtype, s, 0.0);
  for (int64_t i = 0; i < in[0]->size(); ++i) {
    double v = in[0]->data[i];
    if (v >= 0 && v < depth)
      out.data[i * depth + int64_t(v)] = 1;
  }
  return out;
}

Type inferIota(const Op &op, llvm::ArrayRef<Type>, std::string &err) {
  const Attr *s = op.attr("shape");
  if (!s) {
    err = "'iota' needs a 'shape' attribute";
    return Type::invalid();
  }
  for (const Dim &d : s->list)
    if (!d.isSym() && d.size <= 0) {
      err = "'shape' dimensions must be positive, got " + d.str();
      return Type::invalid();
    }
  int64_t axis;
  if (s->list.empty()) {
    err = "'iota' needs a shape of rank >= 1";
    return Type::invalid();
  }
  if (!axisAttr(op, s->list.size(), 0, axis, err))
    return Type::invalid();
  return Type{declaredDType(op, DType::I64), s->list};
}

Tensor evalIota(const Op &op, llvm::ArrayRef<const Tensor *>,
                const SymEnv &syms) {
  Shape s = resolve(op.attr("shape")->list, syms);
  int64_t axis = axisOf(op, s.size(), 0);
  Tensor out(op.result->type.dtype, s);
  Shape st = stridesOf(s);
  for (int64_t i = 0; i < out.size(); ++i)
    out.data[i] = double(i / st[axis] % s[axis]);
  return out;
}

Type inferArgMax(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  int64_t axis;
  if (in[0].rank() == 0) {
    err = "'argmax' needs an operand of rank >= 1";
    return Type::invalid();
  }
  if (!axisAttr(op, in[0].rank(), -1, axis, err))
    return Type::invalid();
  if (declaredDType(op, DType::I64) != DType::I64) {
    err = "'argmax' yields i64, not " + op.declaredType->str();
    return Type::invalid();
  }
  Type out = reduceType(in[0], {axis}, false);
  out.dtype = DType::I64;
  return out;
}

// The first maximal index; a NaN counts as the maximum (numpy).
Tensor evalArgMax(const Op &op, llvm::ArrayRef<const Tensor *> in,
                  const SymEnv &) {
  const Tensor &x = *in[0];
  int64_t axis = axisOf(op, x.rank(), -1);
  Shape keep = x.shape, s = x.shape;
  keep[axis] = 1;
  s.erase(s.begin() + axis);
  Tensor out(DType::I64, s);
  std::vector<int64_t> best(numElements(keep), -1);
  int64_t stride = stridesOf(x.shape)[axis];
  forEachReduced(x.shape, {axis}, [&](int64_t o, int64_t i) {
    int64_t &b = best[o];
    if (b < 0 || (!std::isnan(x.data[b]) &&
                  (x.data[i] > x.data[b] || std::isnan(x.data[i]))))
      b = i;
  });
  for (size_t o = 0; o < best.size(); ++o)
    out.data[o] = double(best[o] / stride % x.shape[axis]);
  return out;
}

Type inferCumSum(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  int64_t axis;
  if (in[0].rank() == 0) {
    err = "'cumsum' needs an operand of rank >= 1";
    return Type::invalid();
  }
  if (!axisAttr(op, in[0].rank(), -1, axis, err))
    return Type::invalid();
  return in[0];
}

// Running sums along the axis; `exclusive` leaves out the element itself,
// `reverse` sums from the end (ONNX CumSum).
Tensor evalCumSum(const Op &op, llvm::ArrayRef<const Tensor *> in,
                  const SymEnv &) {
  const Tensor &x = *in[0];
  int64_t axis = axisOf(op, x.rank(), -1);
  bool excl = op.boolAttr("exclusive", false),
       rev = op.boolAttr("reverse", false);
  Tensor out(x.dtype, x.shape);
  int64_t n = x.shape[axis], inner = stridesOf(x.shape)[axis];
  int64_t outer = x.size() / (n * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t q = 0; q < inner; ++q) {
      double acc = 0;
      for (int64_t j = 0; j < n; ++j) {
        int64_t i = rev ? n - 1 - j : j;
        int64_t off = (o * n + i) * inner + q;
        if (excl) {
          out.data[off] = acc;
          acc += x.data[off];
        } else {
          acc += x.data[off];
          out.data[off] = acc;
        }
        if (x.dtype == DType::F32)
          acc = double(float(acc));
      }
    }
  out.roundToType();
  return out;
}

// The transpose of a running sum is the running sum the other way.
Grads vjpCumSum(Builder &b, const Op &op, Value *dy) {
  int64_t axis = axisOf(op, dy->type.rank(), -1);
  std::vector<NamedAttr> attrs = {{"axis", Attr::integer(axis), {}}};
  if (op.boolAttr("exclusive", false))
    attrs.push_back({"exclusive", Attr::boolean(true), {}});
  if (!op.boolAttr("reverse", false))
    attrs.push_back({"reverse", Attr::boolean(true), {}});
  return {b.create(OpKind::CumSum, {dy}, attrs)};
}

//===-------------------------------------------------------------------===//
// Loop lowerings
//===-------------------------------------------------------------------===//

using loops::Expr;
using loops::LoopBuilder;

// y[i] = x[start + i*step] on the sliced axes.
void loopsSlice(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  std::vector<SliceAxis> ax = sliceOf(op, nullptr);
  b.loops(b.shape(op.result->type.dims), [&](loops::Index idx) {
    std::vector<const Expr *> in(idx.begin(), idx.end());
    for (size_t a = 0; a < ax.size(); ++a)
      if (ax[a].sliced && !ax[a].whole)
        in[a] = b.add(b.i(ax[a].start), b.mul(idx[a], b.i(ax[a].step)));
    b.store(op.result, idx, b.element(x, in));
  });
}

// Each operand is copied to its offset along the axis.
void loopsConcat(LoopBuilder &b, const Op &op) {
  int64_t axis = axisOf(op, op.result->type.rank(), 0), off = 0;
  for (const Value *x : op.operands) {
    b.loops(b.shape(x->type.dims), [&](loops::Index idx) {
      std::vector<const Expr *> out(idx.begin(), idx.end());
      out[axis] = b.add(idx[axis], b.i(off));
      b.store(op.result, out, b.element(x, idx));
    });
    off += x->type.dims[axis].size;
  }
}

// The index along the axis, converted to the element type (a float iota;
// integer tensors are not compiled yet).
void loopsIota(LoopBuilder &b, const Op &op) {
  int64_t axis = axisOf(op, op.result->type.rank(), 0);
  loops::Scalar et = loops::scalarOf(op.result->type.dtype);
  b.loops(b.shape(op.result->type.dims), [&](loops::Index idx) {
    b.store(op.result, idx, b.cast(idx[axis], et));
  });
}

// The result is filled with the value, then x is stored at its offset.
void loopsPad(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  std::vector<int64_t> pads = padsOf(op);
  loops::Scalar et = loops::scalarOf(x->type.dtype);
  double value = op.floatAttr("value", 0.0);
  const Expr *fill =
      isInt(x->type.dtype) ? b.i(int64_t(value)) : b.f(value, et);
  b.loops(b.shape(op.result->type.dims),
          [&](loops::Index idx) { b.store(op.result, idx, fill); });
  b.loops(b.shape(x->type.dims), [&](loops::Index idx) {
    std::vector<const Expr *> out(idx.begin(), idx.end());
    for (size_t a = 0; a < out.size(); ++a)
      out[a] = b.add(idx[a], b.i(pads[a]));
    b.store(op.result, out, b.element(x, idx));
  });
}

/// The index of take(x, idx, axis=k) for the result index `out`: x's index
/// with the (checked, wrapped) index read from idx.
std::vector<const Expr *> takeIndex(LoopBuilder &b, const Value *x,
                                    const Value *idx, int64_t k,
                                    loops::Index out) {
  unsigned ri = idx->type.rank();
  std::vector<const Expr *> ii(out.begin() + k, out.begin() + k + ri);
  std::vector<const Expr *> xi(out.begin(), out.begin() + k);
  xi.push_back(b.checkedIndex(b.element(idx, ii), b.dim(x->type.dims[k])));
  xi.insert(xi.end(), out.begin() + k + ri, out.end());
  return xi;
}

// y[pre, j, post] = x[pre, idx[j], post], each index checked.
void loopsGather(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0], *idx = op.operands[1];
  int64_t k = axisOf(op, x->type.rank(), 0);
  b.loops(b.shape(op.result->type.dims), [&](loops::Index out) {
    b.store(op.result, out, b.element(x, takeIndex(b, x, idx, k, out)));
  });
}

// y = base; then y[pre, idx[j], post] += upd[pre, j, post].
void loopsScatterAdd(LoopBuilder &b, const Op &op) {
  const Value *base = op.operands[0], *idx = op.operands[1],
              *upd = op.operands[2], *y = op.result;
  int64_t k = axisOf(op, base->type.rank(), 0);
  std::vector<const Expr *> ys = b.shape(y->type.dims);
  const loops::Buffer *out = b.bufferOf(y);
  b.loops(ys, [&](loops::Index i) { b.store(y, i, b.element(base, i)); });
  b.loops(b.shape(upd->type.dims), [&](loops::Index u) {
    const Expr *off = b.let("off", b.linear(takeIndex(b, base, idx, k, u), ys));
    b.storeAt(out, off,
              b.apply(OpKind::Add, {b.load(out, off), b.element(upd, u)}));
  });
}

/// The index into x for element `i` of gather_elements' index tensor.
std::vector<const Expr *> elementIndex(LoopBuilder &b, const Value *x,
                                       const Value *idx, int64_t k,
                                       loops::Index i) {
  std::vector<const Expr *> xi(i.begin(), i.end());
  xi[k] = b.checkedIndex(b.element(idx, i), b.dim(x->type.dims[k]));
  return xi;
}

void loopsGatherElements(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0], *idx = op.operands[1];
  int64_t k = axisOf(op, x->type.rank(), 0);
  b.loops(b.shape(op.result->type.dims), [&](loops::Index i) {
    b.store(op.result, i, b.element(x, elementIndex(b, x, idx, k, i)));
  });
}

void loopsScatterAddElements(LoopBuilder &b, const Op &op) {
  const Value *base = op.operands[0], *idx = op.operands[1],
              *upd = op.operands[2], *y = op.result;
  int64_t k = axisOf(op, base->type.rank(), 0);
  std::vector<const Expr *> ys = b.shape(y->type.dims);
  const loops::Buffer *out = b.bufferOf(y);
  b.loops(ys, [&](loops::Index i) { b.store(y, i, b.element(base, i)); });
  b.loops(b.shape(idx->type.dims), [&](loops::Index i) {
    const Expr *off =
        b.let("off", b.linear(elementIndex(b, base, idx, k, i), ys));
    b.storeAt(out, off,
              b.apply(OpKind::Add, {b.load(out, off), b.element(upd, i)}));
  });
}

// 1 where the index equals the position along the new last axis (so an
// index out of [0, depth) gives a zero row).
void loopsOneHot(LoopBuilder &b, const Op &op) {
  const Value *idx = op.operands[0], *y = op.result;
  DType dt = y->type.dtype;
  loops::Scalar et = loops::scalarOf(dt);
  const Expr *one = isInt(dt) ? b.i(1) : b.f(1, et);
  const Expr *zero = isInt(dt) ? b.i(0) : b.f(0, et);
  b.loops(b.shape(y->type.dims), [&](loops::Index i) {
    std::vector<const Expr *> ii(i.begin(), i.end() - 1);
    b.store(y, i, b.select(b.ieq(b.element(idx, ii), i.back()), one, zero));
  });
}

// The first maximal position along the axis (a NaN counts as maximal).
void loopsArgMax(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  int64_t axis = axisOf(op, x->type.rank(), -1);
  loops::Scalar et = loops::scalarOf(x->type.dtype);
  unsigned best = b.local("best", et), at = b.local("at", loops::Scalar::I64);
  b.reductionLoops(
      x, {axis},
      [&](loops::Index) {
        b.assign(at, b.i(-1));
        b.assign(best, b.f(0, et));
      },
      [&](loops::Index full) {
        const Expr *e = b.element(x, full);
        const Expr *bv = b.let("best.old", b.read(best));
        const Expr *bi = b.let("at.old", b.read(at));
        const Expr *take = b.let("take", b.isNewMax(e, bv, bi));
        b.assign(best, b.select(take, e, bv));
        b.assign(at, b.select(take, full[axis], bi));
      },
      [&](loops::Index, const Expr *out) {
        b.storeAt(b.bufferOf(op.result), out, b.read(at));
      });
}

// A running sum along the axis in the element type (as the interpreter
// rounds an f32 sum at every step); `reverse` walks from the end.
void loopsCumSum(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  int64_t axis = axisOf(op, x->type.rank(), -1);
  bool excl = op.boolAttr("exclusive", false),
       rev = op.boolAttr("reverse", false);
  loops::Scalar et = loops::scalarOf(x->type.dtype);
  std::vector<const Expr *> ext = b.shape(x->type.dims);
  const Expr *n = ext[axis];
  ext[axis] = b.i(1);
  unsigned acc = b.local("acc", et);
  b.loops(ext, [&](loops::Index outer) {
    b.assign(acc, b.f(0, et));
    b.forLoop(b.i(0), n, 1, [&](const Expr *j) {
      std::vector<const Expr *> idx(outer.begin(), outer.end());
      idx[axis] =
          rev ? b.let("pos", b.sadd(b.sadd(n, b.i(-1)), b.mul(j, b.i(-1)))) : j;
      const Expr *e = b.element(x, idx);
      if (excl)
        b.store(op.result, idx, b.read(acc));
      b.assign(acc, b.apply(OpKind::Add, {b.read(acc), e}));
      if (!excl)
        b.store(op.result, idx, b.read(acc));
    });
  });
}

OpDef def(OpKind k, std::vector<AttrSpec> attrs, InferFn infer, EvalFn eval,
          VjpFn vjp, CheckFn check = nullptr) {
  OpDef d{k, std::move(attrs), infer, eval, vjp};
  d.check = check;
  d.integers = true; // the index ops move any element type
  return d;
}

} // namespace

void addIndexOps(std::vector<OpDef> &d) {
  const AttrSpec axis{"axis", Attr::Int};
  d.push_back(def(OpKind::Slice,
                  {{"starts", Attr::List},
                   {"ends", Attr::List},
                   {"axes", Attr::List},
                   {"steps", Attr::List}},
                  inferSlice, evalSlice, vjpSlice)
                  .withLoops(loopsSlice));
  d.push_back(def(OpKind::Concat, {axis}, inferConcat, evalConcat, vjpConcat)
                  .withLoops(loopsConcat));
  d.push_back(def(OpKind::Pad, {{"pads", Attr::List}, {"value", Attr::Float}},
                  inferPad, evalPad, vjpPad)
                  .withLoops(loopsPad));
  d.push_back(def(OpKind::Gather, {axis}, inferGather, evalGather, vjpGather,
                  checkGather)
                  .withLoops(loopsGather));
  d.push_back(def(OpKind::ScatterAdd, {axis}, inferScatterAdd, evalScatterAdd,
                  vjpScatterAdd, checkGather)
                  .withLoops(loopsScatterAdd));
  d.push_back(def(OpKind::GatherElements, {axis}, inferGatherElements,
                  evalGatherElements, vjpGatherElements, checkElements)
                  .withLoops(loopsGatherElements));
  d.push_back(def(OpKind::ScatterAddElements, {axis}, inferScatterAddElements,
                  evalScatterAddElements, vjpScatterAddElements, checkElements)
                  .withLoops(loopsScatterAddElements));
  d.push_back(def(OpKind::OneHot, {{"depth", Attr::Int}}, inferOneHot,
                  evalOneHot, nullptr)
                  .withLoops(loopsOneHot));
  d.push_back(def(OpKind::Iota, {{"shape", Attr::List}, axis}, inferIota,
                  evalIota, nullptr)
                  .withLoops(loopsIota));
  d.push_back(def(OpKind::ArgMax, {axis}, inferArgMax, evalArgMax, nullptr)
                  .withLoops(loopsArgMax));
  for (OpKind k : {OpKind::OneHot, OpKind::Iota, OpKind::ArgMax})
    for (OpDef &o : d)
      if (o.kind == k)
        o.typeFromDecl = true;
  d.push_back(def(OpKind::CumSum,
                  {axis, {"exclusive", Attr::Bool}, {"reverse", Attr::Bool}},
                  inferCumSum, evalCumSum, vjpCumSum)
                  .withLoops(loopsCumSum));
}

} // namespace gradc::ops

namespace gradc {

int64_t axisOf(const Op &op, unsigned rank, int64_t dflt) {
  return verifiedAttr<int64_t>(op, [&](int64_t &axis, std::string &err) {
    return ops::axisAttr(op, rank, dflt, axis, err);
  });
}

std::vector<int64_t> padsOf(const Op &op) {
  return verifiedAttr<std::vector<int64_t>>(op, [&](auto &pads, auto &err) {
    return ops::decodePads(op, op.operands[0]->type, pads, err);
  });
}

} // namespace gradc
