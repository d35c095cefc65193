//===- Linalg.cpp - matmul, dot, transpose --------------------------------===//
#include "OpsImpl.h"

namespace gradc::ops {
namespace {

using Grads = std::vector<Value *>;

Type inferMatMul(const Op &, llvm::ArrayRef<Type> in, std::string &err) {
  const Type &a = in[0], &b = in[1];
  if (!sameDType(in, "matmul", err))
    return Type::invalid();
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

// C[m,n] = sum_k A[m,k] B[k,n]; a 1-D A is a row, a 1-D B a column.
Tensor evalMatMul(const Op &, llvm::ArrayRef<const Tensor *> in,
                  const SymEnv &) {
  const Tensor &a = *in[0], &b = *in[1];
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
bool permutation(const Op &op, unsigned rank, std::vector<int64_t> &perm,
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
  if (!permutation(op, in[0].rank(), perm, err))
    return Type::invalid();
  Type out{in[0].dtype, {}};
  for (int64_t p : perm)
    out.dims.push_back(in[0].dims[p]);
  return out;
}

Tensor evalTranspose(const Op &op, llvm::ArrayRef<const Tensor *> in,
                     const SymEnv &) {
  const Tensor &x = *in[0];
  std::vector<int64_t> perm;
  std::string err;
  permutation(op, x.rank(), perm, err);
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
  std::vector<int64_t> perm;
  std::string err;
  permutation(op, op.operands[0]->type.rank(), perm, err);
  if (!op.attr("perm"))
    return {b.transpose(dy)};
  std::vector<Dim> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inv[perm[i]] = Dim::fixed(i);
  return {b.create(OpKind::Transpose, {dy}, {{"perm", Attr::dims(inv), {}}})};
}

} // namespace

void addLinalgOps(std::vector<OpDef> &d) {
  d.push_back(
      OpDef{OpKind::MatMul, {}, inferMatMul, evalMatMul, vjpMatMul}.knownAs(
          {"mm", "gemm", "linear"}));
  d.push_back({OpKind::Dot, {}, inferDot, evalDot, vjpDot});
  d.push_back(OpDef{OpKind::Transpose,
                    {{"perm", Attr::List}},
                    inferTranspose,
                    evalTranspose,
                    vjpTranspose}
                  .knownAs({"permute", "permute_dims"}));
}

} // namespace gradc::ops
