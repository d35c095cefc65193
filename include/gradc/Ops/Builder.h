//===- Builder.h - Typed construction of ops --------------------*- C++ -*-===//
#ifndef GRADC_OPS_BUILDER_H
#define GRADC_OPS_BUILDER_H

#include "gradc/IR/IR.h"

#include <initializer_list>
#include <string>

namespace gradc {

/// Appends ops to the end of a function, inferring each result type. Creating
/// an ill-typed op is a programming error (it aborts with the reason).
class Builder {
public:
  explicit Builder(Function &f) : f_(f) {}
  Function &function() { return f_; }

  /// Name hint for the next op created (made unique); default "t".
  void setNameHint(std::string hint) { hint_ = std::move(hint); }

  /// `declared` is the `: T` written after the op (the element type of a
  /// `cast`, `one_hot`, `iota`, `argmax`).
  Value *create(OpKind k, std::vector<Value *> operands,
                std::vector<NamedAttr> attrs = {},
                std::optional<Type> declared = std::nullopt);

  /// A `call` (one callee) or `cond` (then, else; the predicate is the
  /// first operand) with one result per result of the callee, each named
  /// after `names[i]` where given.
  std::vector<Value *> control(OpKind k, std::vector<Function *> callees,
                               std::vector<Value *> operands,
                               const std::vector<std::string> &names = {},
                               std::vector<NamedAttr> attrs = {});

  Value *add(Value *a, Value *b) { return create(OpKind::Add, {a, b}); }
  Value *sub(Value *a, Value *b) { return create(OpKind::Sub, {a, b}); }
  Value *mul(Value *a, Value *b) { return create(OpKind::Mul, {a, b}); }
  Value *div(Value *a, Value *b) { return create(OpKind::Div, {a, b}); }
  Value *neg(Value *a) { return create(OpKind::Neg, {a}); }
  Value *exp(Value *a) { return create(OpKind::Exp, {a}); }
  Value *log(Value *a) { return create(OpKind::Log, {a}); }
  Value *gt(Value *a, Value *b) { return create(OpKind::Gt, {a, b}); }
  Value *select(Value *c, Value *a, Value *b) {
    return create(OpKind::Select, {c, a, b});
  }
  Value *matmul(Value *a, Value *b) { return create(OpKind::MatMul, {a, b}); }
  Value *transpose(Value *a) { return create(OpKind::Transpose, {a}); }
  Value *transpose(Value *a, const std::vector<int64_t> &perm);
  Value *cast(Value *a, DType t) {
    return create(OpKind::Cast, {a}, {}, Type{t, {}});
  }
  /// `slice` of the given axes, step 1.
  Value *slice(Value *v, const std::vector<int64_t> &axes,
               const std::vector<int64_t> &starts,
               const std::vector<int64_t> &ends,
               const std::vector<int64_t> &steps = {});
  Value *pad(Value *v, const std::vector<int64_t> &pads);
  /// Scalar constant of the given element type.
  Value *constant(double v, DType t);
  /// `v` broadcast (or reshaped) to `t`'s dims.
  Value *broadcastTo(Value *v, const Type &t);
  Value *reshape(Value *v, const std::vector<Dim> &dims);
  Value *sum(Value *v, std::vector<int64_t> axes, bool keepdims);
  /// A tensor of type `t` filled with `v`.
  Value *splat(double v, const Type &t);
  /// Copies the ops of `src` to the end of this function, with `args` in
  /// place of its arguments; returns the values `src` returns. Names are kept
  /// where they are free.
  std::vector<Value *> inlineCall(const Function &src,
                                  llvm::ArrayRef<Value *> args);
  /// Sums `g` over the axes along which `t` was broadcast to `g`'s shape and
  /// reshapes it to `t` (the adjoint of numpy broadcasting).
  Value *sumToShape(Value *g, const Type &t);

private:
  Function &f_;
  std::string hint_;
};

} // namespace gradc

#endif
