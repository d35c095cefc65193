//===- Simplify.cpp - Constant folding and algebraic identities -----------===//
//
// One forward walk: each op's operands are first redirected to their
// replacements, then the op is folded (all operands constant, small result)
// or matched against the identities. A replaced op stays until DCE.
//
//===----------------------------------------------------------------------===//
#include "gradc/Ops/Attrs.h"
#include "gradc/Ops/Builder.h"
#include "gradc/Ops/OpDef.h"
#include "gradc/Transforms/Passes.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace gradc {
namespace {

/// Results up to this many elements are folded into constants.
constexpr int64_t kMaxFoldElements = 64;
/// pad(a) + pad(b) -> pad(concat(a, b)) splices a concat's operands into
/// the new concat while it has fewer than this many.
constexpr size_t kMaxConcatFlatten = 256;

/// The resolved axis of a verified concat.
unsigned concatAxis(const Op &op) {
  return axisOf(op, op.result->type.rank(), 0);
}

class Simplifier {
public:
  explicit Simplifier(Function &f) : f_(f), b_(f) {}

  bool run() {
    std::vector<std::unique_ptr<Op>> old = std::move(f_.ops);
    f_.ops.clear();
    for (auto &op : old) {
      for (Value *&v : op->operands)
        v = lookup(v);
      f_.ops.push_back(std::move(op)); // new ops from the builder go after it
      Op &cur = *f_.ops.back();
      b_.setNameHint(cur.result->name);
      if (Value *r = fold(cur); r && r != cur.result) {
        repl_[cur.result] = r;
        changed_ = true;
      }
    }
    for (Value *&v : f_.results)
      v = lookup(v);
    return changed_;
  }

private:
  /// The op whose value `v` is, seen through reshapes and broadcasts
  /// (remembered, so that asking along a long chain stays linear).
  const Op *layoutRoot(const Value *v) {
    llvm::SmallVector<const Value *, 8> chain;
    const Op *op = v->def;
    while (op &&
           (op->kind == OpKind::BroadcastTo || op->kind == OpKind::Reshape)) {
      if (auto it = root_.find(op->result); it != root_.end()) {
        op = it->second;
        break;
      }
      chain.push_back(op->result);
      op = op->operands[0]->def;
    }
    for (const Value *c : chain)
      root_[c] = op;
    return op;
  }

  /// The value of every element of `v`, if they are all the same constant.
  std::optional<double> splatOf(const Value *v) {
    const Op *op = layoutRoot(v);
    if (!op || op->kind != OpKind::Const || op->constValue.data.empty())
      return std::nullopt;
    auto [it, fresh] = splat_.try_emplace(op);
    if (!fresh)
      return it->second; // each constant is scanned once
    double first = op->constValue.data[0];
    for (double x : op->constValue.data)
      if (x != first)
        return std::nullopt; // also rejects NaN
    return it->second = first;
  }

  bool isSplat(const Value *v, double c) {
    auto s = splatOf(v);
    return s && *s == c;
  }

  Value *lookup(Value *v) const {
    while (Value *r = repl_.lookup(v))
      v = r;
    return v;
  }

  /// `v` if it has the op's result type (identities must not change shapes).
  static Value *ifSameType(const Op &op, Value *v) {
    return v->type == op.result->type ? v : nullptr;
  }

  Value *fold(Op &op) {
    if (Value *c = foldConstant(op))
      return c;
    Value *x0 = op.operands.size() > 0 ? op.operands[0] : nullptr;
    Value *x1 = op.operands.size() > 1 ? op.operands[1] : nullptr;
    switch (op.kind) {
    case OpKind::Add:
      if (isSplat(x1, 0))
        return ifSameType(op, x0);
      if (isSplat(x0, 0))
        return ifSameType(op, x1);
      if (Value *c = padsToConcat(op, x0, x1))
        return c;
      return stackedProducts(op, x0, x1);
    case OpKind::Pad:
      // Nothing padded: the operand itself.
      if (llvm::all_of(padsOf(op), [](int64_t p) { return p == 0; }))
        return ifSameType(op, x0);
      return nullptr;
    case OpKind::Sub:
      if (isSplat(x1, 0))
        return ifSameType(op, x0);
      if (isSplat(x0, 0) && x1->type == op.result->type)
        return b_.neg(x1);
      return nullptr;
    case OpKind::Mul:
      if (isSplat(x1, 1))
        return ifSameType(op, x0);
      if (isSplat(x0, 1))
        return ifSameType(op, x1);
      if (isSplat(x0, 0) || isSplat(x1, 0))
        return b_.splat(0, op.result->type);
      return nullptr;
    case OpKind::Div:
      return isSplat(x1, 1) ? ifSameType(op, x0) : nullptr;
    case OpKind::Neg:
      if (x0->def && x0->def->kind == OpKind::Neg)
        return x0->def->operands[0];
      return nullptr;
    case OpKind::Transpose:
      // Two transposes are one, with the composed permutation; none if
      // that is the identity.
      if (x0->def && x0->def->kind == OpKind::Transpose) {
        std::vector<int64_t> inner = permOf(*x0->def), perm;
        bool identity = true;
        for (int64_t p : permOf(op)) {
          identity &= inner[p] == int64_t(perm.size());
          perm.push_back(inner[p]);
        }
        Value *x = x0->def->operands[0];
        return identity ? x : b_.transpose(x, perm);
      }
      return nullptr;
    case OpKind::Reshape:
      if (x0->def && x0->def->kind == OpKind::Reshape)
        return b_.reshape(x0->def->operands[0], op.result->type.dims);
      return ifSameType(op, x0);
    case OpKind::BroadcastTo:
      return ifSameType(op, x0);
    case OpKind::Dim: {
      // A static size is a constant.
      const Dim &d = x0->type.dims[singleAxisOf(op, x0->type.rank())];
      return d.isSym() ? nullptr : b_.constant(double(d.size), x0->type.dtype);
    }
    case OpKind::Select:
      if (x1 == op.operands[2])
        return ifSameType(op, x1);
      if (auto c = splatOf(x0))
        return ifSameType(op, *c != 0 ? x1 : op.operands[2]);
      return nullptr;
    default:
      return nullptr;
    }
  }

  /// pad(a) + pad(b), each padded with zeros along one and the same axis
  /// only, a's slab just before b's: pad(concat(a, b)) (nested concats
  /// flattened). The adjoint of a value's slices (an LSTM's gates, its time
  /// steps) is such a sum: one copy per slab instead of a zero-filled
  /// tensor per slice and a full-size add for each.
  Value *padsToConcat(const Op &op, Value *x0, Value *x1) {
    struct Slab {
      Value *src;
      unsigned axis;
      int64_t begin, end, total;
    };
    auto slab = [&](Value *v) -> std::optional<Slab> {
      const Op *p = v->def;
      if (!p || p->kind != OpKind::Pad || !(v->type == op.result->type) ||
          p->floatAttr("value", 0.0) != 0.0)
        return std::nullopt;
      std::vector<int64_t> pads = padsOf(*p);
      unsigned r = v->type.rank();
      std::optional<unsigned> axis;
      for (unsigned i = 0; i < r; ++i) {
        if (pads[i] == 0 && pads[i + r] == 0)
          continue;
        if (axis)
          return std::nullopt;
        axis = i;
      }
      if (!axis || v->type.dims[*axis].isSym())
        return std::nullopt;
      int64_t total = v->type.dims[*axis].size;
      return Slab{p->operands[0], *axis, pads[*axis], total - pads[*axis + r],
                  total};
    };
    auto a = slab(x0), b = slab(x1);
    if (!a || !b || a->axis != b->axis)
      return nullptr;
    if (b->end == a->begin)
      std::swap(a, b);
    if (a->end != b->begin)
      return nullptr;
    std::vector<Value *> parts;
    for (Value *v : {a->src, b->src}) {
      const Op *d = v->def;
      // Flattened up to kMaxConcatFlatten operands, so that a chain of n
      // slabs costs O(n) and not O(n^2) operand copies.
      if (d && d->kind == OpKind::Concat && concatAxis(*d) == a->axis &&
          d->operands.size() < kMaxConcatFlatten)
        parts.insert(parts.end(), d->operands.begin(), d->operands.end());
      else
        parts.push_back(v);
    }
    Value *c = b_.create(OpKind::Concat, parts,
                         {{"axis", Attr::integer(a->axis), {}}});
    if (a->begin == 0 && b->end == a->total)
      return ifSameType(op, c);
    std::vector<int64_t> pads(2 * op.result->type.rank(), 0);
    pads[a->axis] = a->begin;
    pads[a->axis + op.result->type.rank()] = a->total - b->end;
    return ifSameType(op, b_.pad(c, pads));
  }

  /// A^T B + C^T D (2-D, static) -> concat(A, C)^T concat(B, D) along the
  /// rows: one GEMM instead of two and a full-size add, when copying C and
  /// D costs less than that add (few rows, a large product: the weight
  /// gradient of a recurrent layer, a sum over its time steps). The concats
  /// are extended along a chain, up to kMaxConcatFlatten operands.
  Value *stackedProducts(const Op &op, Value *x0, Value *x1) {
    struct Product {
      Value *a, *b; // a^T b
    };
    auto product = [&](Value *v) -> std::optional<Product> {
      const Op *m = v->def;
      if (!m || m->kind != OpKind::MatMul || v->type.rank() != 2 ||
          !v->type.isStatic())
        return std::nullopt;
      const Op *t = m->operands[0]->def;
      if (!t || !isMatrixTranspose(*t) || t->operands[0]->type.rank() != 2 ||
          m->operands[1]->type.rank() != 2)
        return std::nullopt;
      return Product{t->operands[0], m->operands[1]};
    };
    auto p = product(x0), q = product(x1);
    if (!p || !q || !(x0->type == op.result->type) ||
        !(x1->type == op.result->type) || p->a->type.dtype != q->a->type.dtype)
      return nullptr;
    // Put the one that is already a stack (if any) first.
    auto stacked = [](const Product &r) {
      return r.a->def && r.a->def->kind == OpKind::Concat && r.b->def &&
             r.b->def->kind == OpKind::Concat;
    };
    if (stacked(*q) && !stacked(*p))
      std::swap(p, q);
    int64_t K = op.result->type.dims[0].size, N = op.result->type.dims[1].size;
    int64_t rows = q->a->type.dims[0].size;
    if (q->a->type.dims[0].isSym() || rows * (K + N) >= K * N)
      return nullptr;
    auto parts = [&](Value *v, Value *w, size_t limit) {
      std::vector<Value *> r;
      const Op *d = v->def;
      if (d && d->kind == OpKind::Concat && concatAxis(*d) == 0 &&
          d->operands.size() < limit)
        r.assign(d->operands.begin(), d->operands.end());
      else
        r.push_back(v);
      r.push_back(w);
      return r;
    };
    // Splice only when both sides are stacks of the same length.
    size_t limit = kMaxConcatFlatten;
    if (!stacked(*p) ||
        p->a->def->operands.size() != p->b->def->operands.size())
      limit = 0;
    std::vector<Value *> as = parts(p->a, q->a, limit),
                         bs = parts(p->b, q->b, limit);
    if (as.size() != bs.size())
      return nullptr;
    Value *a = b_.create(OpKind::Concat, as, {{"axis", Attr::integer(0), {}}});
    Value *b = b_.create(OpKind::Concat, bs, {{"axis", Attr::integer(0), {}}});
    return ifSameType(op, b_.matmul(b_.transpose(a), b));
  }

  /// Evaluates an op whose operands are all small constants.
  Value *foldConstant(const Op &op) {
    if (op.kind == OpKind::Const || !op.callees.empty() ||
        !op.result->type.isStatic() ||
        op.result->type.numElements() > kMaxFoldElements)
      return nullptr;
    std::vector<const Tensor *> in;
    for (const Value *v : op.operands) {
      if (!v->def || v->def->kind != OpKind::Const)
        return nullptr;
      in.push_back(&v->def->constValue);
    }
    Tensor t = opDef(op.kind).eval(op, in, SymEnv());
    Value *c = b_.constant(0, t.dtype);
    Op *cop = c->def;
    cop->constValue = std::move(t);
    cop->declaredType = op.result->type;
    c->type = op.result->type;
    return c;
  }

  Function &f_;
  Builder b_;
  llvm::DenseMap<Value *, Value *> repl_;
  llvm::DenseMap<const Value *, const Op *> root_;
  llvm::DenseMap<const Op *, std::optional<double>> splat_;
  bool changed_ = false;
};

} // namespace

bool runSimplify(Function &f) {
  bool changed = Simplifier(f).run();
  if (changed)
    runDCE(f);
  return changed;
}

} // namespace gradc
