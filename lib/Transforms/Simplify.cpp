//===- Simplify.cpp - Constant folding and algebraic identities -----------===//
//
// One forward walk: each op's operands are first redirected to their
// replacements, then the op is folded (all operands constant, small result)
// or matched against the identities. A replaced op stays until DCE.
//
//===----------------------------------------------------------------------===//
#include "gradc/Ops/Builder.h"
#include "gradc/Ops/OpDef.h"
#include "gradc/Transforms/Passes.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace gradc {
namespace {

/// Results up to this many elements are folded into constants.
constexpr int64_t kMaxFoldElements = 64;

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
      // Two transposes: compose them; the identity permutation disappears.
      if (x0->def && x0->def->kind == OpKind::Transpose &&
          x0->def->operands[0]->type == op.result->type && !op.attr("perm") &&
          !x0->def->attr("perm"))
        return x0->def->operands[0];
      return nullptr;
    case OpKind::Reshape:
      if (x0->def && x0->def->kind == OpKind::Reshape)
        return b_.reshape(x0->def->operands[0], op.result->type.dims);
      return ifSameType(op, x0);
    case OpKind::BroadcastTo:
      return ifSameType(op, x0);
    case OpKind::Dim: {
      // A static size is a constant.
      int64_t axis = op.attr("axis")->i;
      if (axis < 0)
        axis += x0->type.rank();
      const Dim &d = x0->type.dims[axis];
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
