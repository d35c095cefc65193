//===- Layout.cpp - reshape, broadcast_to, const --------------------------===//
#include "OpsImpl.h"

#include "gradc/Loops/LoopBuilder.h"

#include <algorithm>

namespace gradc::ops {
namespace {

using Grads = std::vector<Value *>;

/// Whether two dim lists have the same number of elements for every binding
/// of their symbols: equal static products and equal multisets of symbols.
bool sameCount(const std::vector<Dim> &a, const std::vector<Dim> &b) {
  auto split = [](const std::vector<Dim> &ds, std::vector<std::string> &syms) {
    std::vector<int64_t> sizes;
    for (const Dim &d : ds)
      d.isSym() ? syms.push_back(d.sym) : sizes.push_back(d.size);
    std::sort(syms.begin(), syms.end());
    return checkedProduct(sizes); // nullopt past the limit
  };
  std::vector<std::string> sa, sb;
  std::optional<int64_t> pa = split(a, sa), pb = split(b, sb);
  return pa && pb && *pa == *pb && sa == sb;
}

const Attr *requiredShape(const Op &op, std::string &err) {
  const Attr *a = op.attr("shape");
  if (!a)
    err = "'" + mnemonic(op.kind).str() + "' needs a 'shape' attribute";
  else
    for (const Dim &d : a->list)
      if (!d.isSym() && d.size <= 0) {
        err = "'shape' dimensions must be positive, got " + d.str();
        return nullptr;
      }
  return a;
}

Type inferReshape(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  const Attr *s = requiredShape(op, err);
  if (!s)
    return Type::invalid();
  Type out{in[0].dtype, s->list};
  if (!sameCount(in[0].dims, out.dims)) {
    err = "cannot reshape " + in[0].str() + " to " + out.str() +
          ": the number of elements differs";
    return Type::invalid();
  }
  return out;
}

Tensor evalReshape(const Op &op, llvm::ArrayRef<const Tensor *> in,
                   const SymEnv &syms) {
  Tensor t = *in[0];
  t.shape = resolve(op.attr("shape")->list, syms);
  return t;
}

// A reshape moves no element: dx = reshape(dy, shape of x).
Grads vjpReshape(Builder &b, const Op &op, Value *dy) {
  return {b.reshape(dy, op.operands[0]->type.dims)};
}

Type inferBroadcastTo(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  const Attr *s = requiredShape(op, err);
  if (!s)
    return Type::invalid();
  Type target{in[0].dtype, s->list};
  Type out = broadcastTypes(in[0], target, "broadcast_to", err);
  if (out.valid && out != target) {
    err = "cannot broadcast " + in[0].str() + " to " + target.str();
    return Type::invalid();
  }
  if (!out.valid)
    err = "cannot broadcast " + in[0].str() + " to " + target.str();
  return out;
}

Tensor evalBroadcastTo(const Op &op, llvm::ArrayRef<const Tensor *> in,
                       const SymEnv &syms) {
  return broadcastTensor(*in[0], resolve(op.attr("shape")->list, syms));
}

// Broadcasting copies; its adjoint sums the copies: dx = sumToShape(dy).
Grads vjpBroadcastTo(Builder &b, const Op &op, Value *dy) {
  return {b.sumToShape(dy, op.operands[0]->type)};
}

Type inferConst(const Op &op, llvm::ArrayRef<Type>, std::string &err) {
  if (!op.declaredType) {
    err = "'const' needs a type";
    return Type::invalid();
  }
  return *op.declaredType;
}

Tensor evalConst(const Op &op, llvm::ArrayRef<const Tensor *>, const SymEnv &) {
  return op.constValue;
}

// --- Loops -------------------------------------------------------------------
// A reshape is a view of its operand's buffer; one that is returned (or has
// no buffer to share) copies the elements in row-major order.
void loopsReshape(loops::LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  if (const loops::Buffer *src = b.bufferOf(x)) {
    b.copy(b.bufferOf(op.result), src, b.product(b.shape(x->type.dims)));
    return;
  }
  std::vector<const loops::Expr *> xs = b.shape(x->type.dims);
  const loops::Buffer *out = b.bufferOf(op.result);
  b.loops(xs, [&](loops::Index idx) {
    b.storeAt(out, b.linear(idx, xs), b.element(x, idx));
  });
}

// A broadcast_to that is not fused into its readers is stored.
void loopsBroadcastTo(loops::LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  const Type &t = op.result->type;
  b.loops(b.shape(t.dims), [&](loops::Index idx) {
    b.store(op.result, idx, b.element(x, b.mapIndex(idx, t, x->type)));
  });
}

// --- dim ---------------------------------------------------------------------
// y = the size of axis k of x (a scalar of x's element type). Its derivative
// is zero: sizes do not depend on the elements.
Type inferDim(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  if (!op.attr("axis")) {
    err = "'dim' needs an 'axis' attribute";
    return Type::invalid();
  }
  int64_t axis;
  if (!singleAxis(op, in[0].rank(), axis, err))
    return Type::invalid();
  return Type{in[0].dtype, {}};
}

int64_t dimAxis(const Op &op) {
  return singleAxisOf(op, op.operands[0]->type.rank());
}

Tensor evalDim(const Op &op, llvm::ArrayRef<const Tensor *> in,
               const SymEnv &) {
  return Tensor::scalar(in[0]->dtype, double(in[0]->shape[dimAxis(op)]));
}

void loopsDim(loops::LoopBuilder &b, const Op &op) {
  const Value *x = op.operands[0];
  b.storeAt(
      b.bufferOf(op.result), b.i(0),
      b.cast(b.dim(x->type.dims[dimAxis(op)]), loops::scalarOf(x->type.dtype)));
}

} // namespace

void addLayoutOps(std::vector<OpDef> &d) {
  d.push_back(OpDef{OpKind::Reshape,
                    {{"shape", Attr::List}},
                    inferReshape,
                    evalReshape,
                    vjpReshape}
                  .withLoops(loopsReshape));
  d.push_back(OpDef{OpKind::BroadcastTo,
                    {{"shape", Attr::List}},
                    inferBroadcastTo,
                    evalBroadcastTo,
                    vjpBroadcastTo}
                  .withLoops(loopsBroadcastTo));
  d.push_back(
      OpDef{OpKind::Dim, {{"axis", Attr::Int}}, inferDim, evalDim, nullptr}
          .withLoops(loopsDim));
  d.push_back({OpKind::Const, {}, inferConst, evalConst, nullptr});
  // Layout ops move integers as well as floats.
  for (OpDef &def : d)
    if (def.kind == OpKind::Reshape || def.kind == OpKind::BroadcastTo ||
        def.kind == OpKind::Const)
      def.integers = true;
}

} // namespace gradc::ops
