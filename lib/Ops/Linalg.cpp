//===- Linalg.cpp - matmul, dot, transpose --------------------------------===//
#include "OpsImpl.h"

#include "gradc/Loops/LoopBuilder.h"

#include <optional>

namespace gradc::ops {
namespace {

using Grads = std::vector<Value *>;

/// numpy.matmul for rank >= 3: a vector operand gains a 1 (prepended for
/// a, appended for b) that the result drops; the leading (batch) dims
/// broadcast.
Type inferBatchedMatMul(const Type &a, const Type &b, std::string &err) {
  Type a2 = a, b2 = b;
  if (a.rank() == 1)
    a2.dims.insert(a2.dims.begin(), Dim::fixed(1));
  if (b.rank() == 1)
    b2.dims.push_back(Dim::fixed(1));
  const Dim &ka = a2.dims.back(), &kb = b2.dims[b2.rank() - 2];
  if (!(ka == kb)) {
    err = "'matmul' contraction dimensions differ: " + ka.str() + " vs " +
          kb.str() + " (" + a.str() + " x " + b.str() + ")";
    return Type::invalid();
  }
  Type ba{a.dtype, {a2.dims.begin(), a2.dims.end() - 2}};
  Type bb{a.dtype, {b2.dims.begin(), b2.dims.end() - 2}};
  Type out = broadcastTypes(ba, bb, "matmul", err);
  if (!out.valid) {
    err = "'matmul' batch dimensions do not broadcast: " + a.str() + " x " +
          b.str();
    return out;
  }
  if (a.rank() > 1)
    out.dims.push_back(a2.dims[a2.rank() - 2]);
  if (b.rank() > 1)
    out.dims.push_back(b2.dims.back());
  return out;
}

Type inferMatMul(const Op &, llvm::ArrayRef<Type> in, std::string &err) {
  const Type &a = in[0], &b = in[1];
  if (!sameDType(in, "matmul", err))
    return Type::invalid();
  if ((a.rank() >= 3 && b.rank() >= 1) || (b.rank() >= 3 && a.rank() >= 1))
    return inferBatchedMatMul(a, b, err);
  if (a.rank() < 1 || a.rank() > 2 || b.rank() < 1 || b.rank() > 2 ||
      (a.rank() == 1 && b.rank() == 1)) {
    err =
        "'matmul' supports 2Dx2D, 2Dx1D and 1Dx2D operands, got " + a.str() +
        " and " + b.str() +
        (a.rank() == 1 && b.rank() == 1 ? " (use 'dot' for two vectors)" : "");
    return Type::invalid();
  }
  const Dim &ka = a.dims.back(), &kb = b.dims[0];
  if (!(ka == kb)) {
    err = "'matmul' contraction dimensions differ: " + ka.str() + " vs " +
          kb.str() + " (" + a.str() + " x " + b.str() + ")";
    return Type::invalid();
  }
  Type out{a.dtype, {}};
  if (a.rank() == 2)
    out.dims.push_back(a.dims[0]);
  if (b.rank() == 2)
    out.dims.push_back(b.dims[1]);
  return out;
}

/// Batched: each (broadcast) batch index multiplies its matrices.
Tensor evalBatchedMatMul(const Tensor &a, const Tensor &b) {
  Shape as = a.shape, bs = b.shape;
  if (as.size() == 1)
    as.insert(as.begin(), 1);
  if (bs.size() == 1)
    bs.push_back(1);
  int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  Shape ba(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
  Shape batch = broadcastShapes(ba, bb);
  size_t r = batch.size();
  auto batchStrides = [&](const Shape &s, int64_t mat) {
    Shape st(r, 0), own = stridesOf(s);
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] != 1)
        st[i + r - s.size()] = own[i] * mat;
    return st;
  };
  Shape sa = batchStrides(ba, m * k), sb = batchStrides(bb, k * n);
  Shape outShape = batch;
  if (a.rank() > 1)
    outShape.push_back(m);
  if (b.rank() > 1)
    outShape.push_back(n);
  Tensor c(a.dtype, outShape);
  Shape idx(r, 0);
  int64_t nb = numElements(batch);
  for (int64_t t = 0; t < nb; ++t) {
    int64_t oa = 0, ob = 0;
    for (size_t i = 0; i < r; ++i) {
      oa += idx[i] * sa[i];
      ob += idx[i] * sb[i];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += a.data[oa + i * k + p] * b.data[ob + p * n + j];
        c.data[(t * m + i) * n + j] = acc;
      }
    for (int i = int(r) - 1; i >= 0 && ++idx[i] == batch[i]; --i)
      idx[i] = 0;
  }
  c.roundToType();
  return c;
}

// C[m,n] = sum_k A[m,k] B[k,n]; a 1-D A is a row, a 1-D B a column.
Tensor evalMatMul(const Op &, llvm::ArrayRef<const Tensor *> in,
                  const SymEnv &) {
  const Tensor &a = *in[0], &b = *in[1];
  if (a.rank() >= 3 || b.rank() >= 3)
    return evalBatchedMatMul(a, b);
  int64_t m = a.rank() == 2 ? a.shape[0] : 1, k = a.shape.back();
  int64_t n = b.rank() == 2 ? b.shape[1] : 1;
  Shape s;
  if (a.rank() == 2)
    s.push_back(m);
  if (b.rank() == 2)
    s.push_back(n);
  Tensor c(a.dtype, s);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p)
        acc += a.data[i * k + p] * b.data[p * n + j];
      c.data[i * n + j] = acc;
    }
  c.roundToType();
  return c;
}

// Y = A B:  dA = dY B^T,  dB = A^T dY. With a vector operand the outer
// product takes the place of one matmul: for y = W x, dW = dy x^T, dx = W^T dy;
// for y = x W, dx = W dy, dW = x dy^T.
Grads vjpMatMul(Builder &b, const Op &op, Value *dy) {
  Value *a = op.operands[0], *w = op.operands[1];
  if (a->type.rank() >= 3 && w->type.rank() == 2) {
    // [..., M, K] x [K, N] (a linear layer on a batch of matrices): the
    // leading dims are rows, so dW = A'^T dY' with A' = A as [P, K] and
    // dY' = dY as [P, N]: one 2-D matmul (one GEMM), not a batch of
    // products summed afterwards. P must be a single dim: the product of
    // fixed ones, or one symbolic dim among ones.
    std::optional<Dim> rows = Dim::fixed(1);
    for (size_t i = 0; i + 1 < a->type.rank(); ++i) {
      const Dim &d = a->type.dims[i];
      if (d.isOne())
        continue;
      if (rows->isOne())
        rows = d;
      else if (!d.isSym() && !rows->isSym())
        rows = Dim::fixed(rows->size * d.size);
      else
        rows.reset();
      if (!rows)
        break;
    }
    if (rows) {
      Value *a2 = b.reshape(a, {*rows, a->type.dims.back()});
      Value *dy2 = b.reshape(dy, {*rows, dy->type.dims.back()});
      return {b.matmul(dy, b.transpose(w)), b.matmul(b.transpose(a2), dy2)};
    }
  }
  if (a->type.rank() >= 3 || w->type.rank() >= 3) {
    // Batched: vectors become [1,K] / [K,1] matrices; dA = dY B^T and
    // dB = A^T dY per batch, summed over the batch dims an operand was
    // broadcast along.
    Value *a2 = a, *w2 = w;
    if (a->type.rank() == 1)
      a2 = b.reshape(a, {Dim::fixed(1), a->type.dims[0]});
    if (w->type.rank() == 1)
      w2 = b.reshape(w, {w->type.dims[0], Dim::fixed(1)});
    std::vector<Dim> yd = dy->type.dims;
    if (a->type.rank() == 1)
      yd.insert(yd.end() - (w->type.rank() == 1 ? 0 : 1), Dim::fixed(1));
    if (w->type.rank() == 1)
      yd.push_back(Dim::fixed(1));
    Value *dy2 = yd == dy->type.dims ? dy : b.reshape(dy, yd);
    auto swapLast = [&](Value *v) {
      std::vector<int64_t> perm;
      for (unsigned i = 0; i < v->type.rank(); ++i)
        perm.push_back(i);
      std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
      return b.transpose(v, perm);
    };
    auto back = [&](Value *g, Value *v2, Value *v) {
      g = b.sumToShape(g, v2->type);
      return g->type.dims == v->type.dims ? g : b.reshape(g, v->type.dims);
    };
    Value *da =
        b.matmul(dy2, w2->type.rank() == 2 ? b.transpose(w2) : swapLast(w2));
    Value *dw =
        b.matmul(a2->type.rank() == 2 ? b.transpose(a2) : swapLast(a2), dy2);
    return {back(da, a2, a), back(dw, w2, w)};
  }
  auto col = [&](Value *v) {
    return b.reshape(v, {v->type.dims[0], Dim::fixed(1)});
  };
  auto row = [&](Value *v) {
    return b.reshape(v, {Dim::fixed(1), v->type.dims[0]});
  };
  if (a->type.rank() == 2 && w->type.rank() == 2)
    return {b.matmul(dy, b.transpose(w)), b.matmul(b.transpose(a), dy)};
  if (a->type.rank() == 2) // y[m] = A[m,k] x[k]
    return {b.matmul(col(dy), row(w)), b.matmul(b.transpose(a), dy)};
  // y[n] = x[k] W[k,n]
  return {b.matmul(w, dy), b.matmul(col(a), row(dy))};
}

Type inferDot(const Op &, llvm::ArrayRef<Type> in, std::string &err) {
  if (!sameDType(in, "dot", err))
    return Type::invalid();
  if (in[0].rank() != 1 || in[1].rank() != 1) {
    err = "'dot' needs two vectors, got " + in[0].str() + " and " + in[1].str();
    return Type::invalid();
  }
  if (!(in[0].dims[0] == in[1].dims[0])) {
    err = "'dot' operands have different lengths: " + in[0].str() + " vs " +
          in[1].str();
    return Type::invalid();
  }
  return Type{in[0].dtype, {}};
}

Tensor evalDot(const Op &, llvm::ArrayRef<const Tensor *> in, const SymEnv &) {
  double acc = 0;
  for (int64_t i = 0; i < in[0]->size(); ++i)
    acc += in[0]->data[i] * in[1]->data[i];
  Tensor t = Tensor::scalar(in[0]->dtype, acc);
  t.roundToType();
  return t;
}

// s = a . b:  da = ds b,  db = ds a
Grads vjpDot(Builder &b, const Op &op, Value *dy) {
  return {b.mul(dy, op.operands[1]), b.mul(dy, op.operands[0])};
}

/// The permutation of a transpose: the `perm` attribute, or a swap of a
/// matrix's two axes.
bool decodePerm(const Op &op, unsigned rank, std::vector<int64_t> &perm,
                std::string &err) {
  const Attr *a = op.attr("perm");
  if (!a) {
    if (rank != 2) {
      err = "'transpose' without 'perm' needs a matrix, got rank " +
            std::to_string(rank);
      return false;
    }
    perm = {1, 0};
    return true;
  }
  if (a->list.size() != rank) {
    err = "'perm' has " + std::to_string(a->list.size()) +
          " entries but the operand has rank " + std::to_string(rank);
    return false;
  }
  if (!normalizeAxes(a->list, rank, perm, err))
    return false;
  perm.clear();
  for (const Dim &d : a->list)
    perm.push_back(d.size < 0 ? d.size + rank : d.size);
  return true;
}

Type inferTranspose(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  std::vector<int64_t> perm;
  if (!decodePerm(op, in[0].rank(), perm, err))
    return Type::invalid();
  Type out{in[0].dtype, {}};
  for (int64_t p : perm)
    out.dims.push_back(in[0].dims[p]);
  return out;
}

Tensor evalTranspose(const Op &op, llvm::ArrayRef<const Tensor *> in,
                     const SymEnv &) {
  const Tensor &x = *in[0];
  std::vector<int64_t> perm = permOf(op);
  Shape s;
  for (int64_t p : perm)
    s.push_back(x.shape[p]);
  Tensor out(x.dtype, s);
  Shape inStrides = stridesOf(x.shape), idx(s.size(), 0);
  for (int64_t flat = 0; flat < out.size(); ++flat) {
    int64_t off = 0;
    for (size_t i = 0; i < s.size(); ++i)
      off += idx[i] * inStrides[perm[i]];
    out.data[flat] = x.data[off];
    for (int i = int(s.size()) - 1; i >= 0 && ++idx[i] == s[i]; --i)
      idx[i] = 0;
  }
  return out;
}

// y = transpose(x, p):  dx = transpose(dy, p^-1)
Grads vjpTranspose(Builder &b, const Op &op, Value *dy) {
  if (isMatrixTranspose(op))
    return {b.transpose(dy)};
  std::vector<int64_t> perm = permOf(op);
  std::vector<Dim> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inv[perm[i]] = Dim::fixed(i);
  return {b.create(OpKind::Transpose, {dy}, {{"perm", Attr::dims(inv), {}}})};
}

// --- Loops -------------------------------------------------------------------
using loops::Expr;
using loops::Index;
using loops::KernelCall;
using loops::LoopBuilder;
using loops::Scalar;

// C = A W. With BLAS: one gemm (both 2-D) or gemv (a vector operand), with
// folded transposes as flags. Else C[m,n] = sum_k A[m,k] W[k,n] in loops,
// accumulated in the element type.
/// Batched (numpy) matmul: one loop nest over the result, an accumulator in
/// double over K (as the interpreter). An operand may be a folded transpose
/// (of its last two axes); its element is read through the stored buffer.
void loopsBatchedMatMul(LoopBuilder &b, const Op &op) {
  const Value *a = op.operands[0], *w = op.operands[1], *y = op.result;
  Scalar et = loops::scalarOf(y->type.dtype);
  unsigned ra = a->type.rank(), rw = w->type.rank(), ry = y->type.rank();
  unsigned batch = ry - (ra > 1) - (rw > 1);
  const Expr *K = b.dim(a->type.dims.back());
  auto read = [&](const Value *v, std::vector<const Expr *> idx) {
    if (v->type.rank() >= 2) {
      LoopBuilder::Matrix m = b.matrix(v);
      if (m.trans) {
        std::swap(idx[idx.size() - 2], idx.back());
        return b.load(m.buf, b.linear(idx, b.shape(m.stored)));
      }
    }
    return b.element(v, idx);
  };
  auto batchIndex = [&](const Value *v, Index idx, unsigned mat) {
    std::vector<const Expr *> r;
    unsigned rb = v->type.rank() - mat;
    for (unsigned i = 0; i < rb; ++i)
      r.push_back(v->type.dims[i].isOne() ? b.i(0) : idx[i + batch - rb]);
    return r;
  };
  unsigned acc = b.local("acc", Scalar::F64);
  b.loops(b.shape(y->type.dims), [&](Index idx) {
    b.assign(acc, b.f(0, Scalar::F64));
    b.loops({K}, [&](Index k) {
      std::vector<const Expr *> ai = batchIndex(a, idx, ra > 1 ? 2 : 1);
      if (ra > 1)
        ai.push_back(idx[batch]);
      ai.push_back(k[0]);
      std::vector<const Expr *> wi = batchIndex(w, idx, rw > 1 ? 2 : 1);
      wi.push_back(k[0]);
      if (rw > 1)
        wi.push_back(idx[ry - 1]);
      b.accumulate(acc,
                   b.apply(OpKind::Mul, {b.cast(read(a, ai), Scalar::F64),
                                         b.cast(read(w, wi), Scalar::F64)}));
    });
    b.store(y, idx, b.cast(b.read(acc), et));
  });
}

/// Batched matmul of two matrices or batches of matrices (rank >= 2, one
/// of them >= 3) with BLAS: loops over the result's batch dims around one
/// GEMM per matrix, at offsets into the buffers (a broadcast batch dim
/// stays at 0). An operand may be a folded transpose (of its last two
/// axes): a transpose flag.
void loopsGemmBatch(LoopBuilder &b, const Op &op) {
  const Value *a = op.operands[0], *w = op.operands[1], *y = op.result;
  unsigned ry = y->type.rank(), batch = ry - 2;
  LoopBuilder::Matrix am = b.matrix(a), wm = b.matrix(w);
  std::vector<const Expr *> as = b.shape(am.stored), ws = b.shape(wm.stored);
  std::vector<const Expr *> ys = b.shape(y->type.dims);
  const Expr *M = ys[ry - 2], *N = ys[ry - 1], *K = b.dim(a->type.dims.back());
  // The offset of the matrix of `v` at the result's batch index `idx`.
  auto offset = [&](const Value *v, Index idx) -> const Expr * {
    unsigned rb = v->type.rank() - 2;
    if (rb == 0)
      return nullptr;
    std::vector<const Expr *> bi, bs;
    for (unsigned i = 0; i < rb; ++i) {
      const Dim &d = v->type.dims[i];
      bi.push_back(d.isOne() ? b.i(0) : idx[i + batch - rb]);
      bs.push_back(b.dim(d));
    }
    const Expr *rows = b.dim(v->type.dims[rb]),
               *cols = b.dim(v->type.dims[rb + 1]);
    return b.mul(b.linear(bi, bs), b.mul(rows, cols));
  };
  DType dt = y->type.dtype;
  const loops::Buffer *out = b.bufferOf(y);
  b.loops(llvm::ArrayRef<const Expr *>(ys).take_front(batch), [&](Index idx) {
    KernelCall c;
    c.kind = KernelCall::Gemm;
    c.dtype = dt;
    c.a = am.buf, c.b = wm.buf, c.c = out;
    c.transA = am.trans, c.transB = wm.trans;
    c.m = M, c.n = N, c.k = K;
    c.lda = as.back(), c.ldb = ws.back();
    c.offA = offset(a, idx), c.offB = offset(w, idx);
    c.offC =
        b.mul(b.linear(idx, llvm::ArrayRef<const Expr *>(ys).take_front(batch)),
              b.mul(M, N));
    b.call(c, [&] {
      // The same matrix in loops: C[m,n] = sum_k A[m,k] W[k,n].
      auto at = [&](const LoopBuilder::Matrix &m,
                    const std::vector<const Expr *> &s, const Expr *off,
                    const Expr *r, const Expr *col) {
        const Expr *ld = s.back();
        const Expr *e =
            m.trans ? b.add(b.mul(col, ld), r) : b.add(b.mul(r, ld), col);
        return b.load(m.buf, off ? b.add(off, e) : e);
      };
      Scalar et = loops::scalarOf(dt);
      Scalar accT = b.options().wideAccumulators ? Scalar::F64 : et;
      unsigned acc = b.local("acc", accT);
      b.loops({M, N}, [&](Index mn) {
        b.assign(acc, b.f(0, accT));
        b.loops({K}, [&](Index k) {
          const Expr *av = at(am, as, c.offA, mn[0], k[0]);
          const Expr *wv = at(wm, ws, c.offB, k[0], mn[1]);
          b.assign(acc, b.apply(OpKind::Add,
                                {b.read(acc),
                                 b.apply(OpKind::Mul, {b.cast(av, accT),
                                                       b.cast(wv, accT)})}));
        });
        b.storeAt(out, b.add(c.offC, b.linear(mn, {M, N})),
                  b.cast(b.read(acc), et));
      });
    });
  });
}

void loopsMatMul(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0], *y = op.operands[1];
  if (x->type.rank() > 2 && y->type.rank() == 2 && b.blas() && b.bufferOf(x)) {
    // [..., M, K] x [K, N]: the leading dims are rows of one GEMM.
    LoopBuilder::Matrix w = b.matrix(y);
    std::vector<const Expr *> xs = b.shape(x->type.dims),
                              ws = b.shape(w.stored);
    KernelCall c;
    c.kind = KernelCall::Gemm;
    c.dtype = op.result->type.dtype;
    c.c = b.bufferOf(op.result);
    c.a = b.bufferOf(x), c.b = w.buf;
    c.transB = w.trans;
    c.m = b.product(llvm::ArrayRef<const Expr *>(xs).drop_back());
    c.k = xs.back();
    c.n = w.trans ? ws[0] : ws[1];
    c.lda = xs.back(), c.ldb = ws[1];
    b.call(c, [&] { loopsBatchedMatMul(b, op); });
    return;
  }
  if (x->type.rank() > 2 || y->type.rank() > 2) {
    auto stored = [&](const Value *v) { return b.matrix(v).buf; };
    if (x->type.rank() >= 2 && y->type.rank() >= 2 && b.blas() && stored(x) &&
        stored(y))
      return loopsGemmBatch(b, op);
    return loopsBatchedMatMul(b, op);
  }
  LoopBuilder::Matrix a = b.matrix(op.operands[0]),
                      w = b.matrix(op.operands[1]);
  DType dt = op.result->type.dtype;
  const loops::Buffer *out = b.bufferOf(op.result);
  // The product added to what `out` holds (only planned for two matrices).
  bool accumulate = b.accumulates(op.result);
  std::vector<const Expr *> as = b.shape(a.stored), ws = b.shape(w.stored);
  // Logical dims: A is [M,K] (or [K]), W is [K,N] (or [K]).
  auto rows = [](const LoopBuilder::Matrix &m,
                 const std::vector<const Expr *> &s) {
    return m.trans ? s[1] : s[0];
  };
  auto cols = [](const LoopBuilder::Matrix &m,
                 const std::vector<const Expr *> &s) {
    return m.trans ? s[0] : s[1];
  };
  bool aMat = as.size() == 2, wMat = ws.size() == 2;
  const Expr *M = aMat ? rows(a, as) : b.i(1);
  const Expr *K = aMat ? cols(a, as) : as[0];
  const Expr *N = wMat ? cols(w, ws) : b.i(1);
  auto inLoops = [&] {
    auto at = [&](const LoopBuilder::Matrix &m,
                  const std::vector<const Expr *> &s, const Expr *r,
                  const Expr *c) {
      if (s.size() == 1)
        return b.load(m.buf, m.trans ? r : c);
      return b.load(m.buf, m.trans ? b.linear({c, r}, s) : b.linear({r, c}, s));
    };
    Scalar et = loops::scalarOf(dt);
    Scalar accT = b.options().wideAccumulators ? Scalar::F64 : et;
    unsigned acc = b.local("acc", accT);
    b.loops({M, N}, [&](Index mn) {
      b.assign(acc, accumulate ? b.cast(b.load(out, b.linear(mn, {M, N})), accT)
                               : b.f(0, accT));
      b.loops({K}, [&](Index k) {
        const Expr *av =
            aMat ? at(a, as, mn[0], k[0]) : at(a, as, b.i(0), k[0]);
        const Expr *wv = wMat ? at(w, ws, k[0], mn[1]) : b.load(w.buf, k[0]);
        b.assign(acc, b.apply(OpKind::Add,
                              {b.read(acc),
                               b.apply(OpKind::Mul,
                                       {b.cast(av, accT), b.cast(wv, accT)})}));
      });
      b.storeAt(out, b.linear(mn, {M, N}), b.cast(b.read(acc), et));
    });
  };
  if (b.blas()) {
    KernelCall c;
    c.dtype = dt;
    c.c = out;
    if (aMat && wMat) {
      c.kind = KernelCall::Gemm;
      c.accumulate = accumulate;
      c.transA = a.trans;
      c.transB = w.trans;
      c.m = M, c.n = N, c.k = K;
      c.a = a.buf, c.b = w.buf;
      c.lda = as[1], c.ldb = ws[1];
    } else {
      // y = A x (A 2-D) or y = x W = W^T x (W 2-D): one gemv on the stored
      // matrix, transposed when the logical one is not.
      const LoopBuilder::Matrix &m = aMat ? a : w;
      const std::vector<const Expr *> &ms = aMat ? as : ws;
      c.kind = KernelCall::Gemv;
      c.transA = aMat ? a.trans : !w.trans;
      c.m = ms[0], c.n = ms[1], c.lda = ms[1];
      c.a = m.buf;
      c.b = aMat ? w.buf : a.buf;
    }
    b.call(c, inLoops);
    return;
  }
  inLoops();
}

// sum_i a[i] w[i]: BLAS dot, or a loop accumulating in double.
void loopsDot(LoopBuilder &b, const Op &op) {
  DType dt = op.result->type.dtype;
  const Value *a = op.operands[0], *w = op.operands[1];
  const Expr *n = b.dim(a->type.dims[0]);
  const loops::Buffer *out = b.bufferOf(op.result);
  const loops::Buffer *ab = b.bufferOf(a), *wb = b.bufferOf(w);
  auto inLoops = [&] {
    unsigned acc = b.local("acc", Scalar::F64);
    b.assign(acc, b.f(0, Scalar::F64));
    b.loops({n}, [&](Index i) {
      b.accumulate(
          acc, b.apply(OpKind::Mul, {b.cast(b.element(a, i), Scalar::F64),
                                     b.cast(b.element(w, i), Scalar::F64)}));
    });
    b.storeAt(out, b.i(0), b.cast(b.read(acc), loops::scalarOf(dt)));
  };
  if (b.blas() && ab && wb) {
    KernelCall c;
    c.kind = KernelCall::Dot;
    c.dtype = dt;
    c.m = n;
    c.a = ab, c.b = wb, c.c = out;
    b.call(c, inLoops);
    return;
  }
  inLoops();
}

// y[idx] = x[idx permuted back].
void loopsTranspose(LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  std::vector<int64_t> perm = permOf(op);
  b.loops(b.shape(op.result->type.dims), [&](Index idx) {
    std::vector<const Expr *> in(idx.size());
    for (size_t i = 0; i < idx.size(); ++i)
      in[perm[i]] = idx[i];
    b.store(op.result, idx, b.element(x, in));
  });
}

} // namespace

void addLinalgOps(std::vector<OpDef> &d) {
  d.push_back(OpDef{OpKind::MatMul, {}, inferMatMul, evalMatMul, vjpMatMul}
                  .withLoops(loopsMatMul)
                  .knownAs({"mm", "gemm", "linear"}));
  d.push_back(
      OpDef{OpKind::Dot, {}, inferDot, evalDot, vjpDot}.withLoops(loopsDot));
  d.push_back(OpDef{OpKind::Transpose,
                    {{"perm", Attr::List}},
                    inferTranspose,
                    evalTranspose,
                    vjpTranspose}
                  .withLoops(loopsTranspose)
                  .knownAs({"permute", "permute_dims"}));
  d.back().integers = true;
}

} // namespace gradc::ops

namespace gradc {

std::vector<int64_t> permOf(const Op &op) {
  return verifiedAttr<std::vector<int64_t>>(op, [&](auto &perm, auto &err) {
    return ops::decodePerm(op, op.operands[0]->type.rank(), perm, err);
  });
}

bool isMatrixTranspose(const Op &op) {
  return op.kind == OpKind::Transpose &&
         permOf(op) == std::vector<int64_t>{1, 0};
}

bool transposesLastTwo(const Op &op) {
  if (op.kind != OpKind::Transpose)
    return false;
  std::vector<int64_t> perm = permOf(op);
  size_t r = perm.size();
  for (size_t i = 0; i < r; ++i)
    if (perm[i] != int64_t(i + 2 < r ? i : i + 2 == r ? r - 1 : r - 2))
      return false;
  return r >= 2;
}

} // namespace gradc
