//===- OpDef.h - The one declaration of each op -----------------*- C++ -*-===//
//
// Every op has exactly one OpDef, in lib/Ops/: its attributes, its shape rule,
// its interpreter kernel and its adjoint (vector-Jacobian product) rule. The
// verifier, the interpreter and the AD pass only ever go through this table.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_OPS_OPDEF_H
#define GRADC_OPS_OPDEF_H

#include "gradc/IR/IR.h"

#include "llvm/ADT/StringMap.h"

#include <string>
#include <utility>
#include <vector>

namespace llvm {
class IRBuilderBase;
class Value;
} // namespace llvm

namespace gradc {

class Builder;

/// Sizes of the symbolic dims of a function call.
using SymEnv = llvm::StringMap<int64_t>;

struct AttrSpec {
  const char *name;
  Attr::Kind kind;
};

/// Infers the result type from the operand types; on failure returns
/// Type::invalid() and says why in `err`.
using InferFn = Type (*)(const Op &op, llvm::ArrayRef<Type> in,
                         std::string &err);
/// Evaluates the op on concrete values.
using EvalFn = Tensor (*)(const Op &op, llvm::ArrayRef<const Tensor *> in,
                          const SymEnv &syms);
/// Given the cotangent `dy` of the op's result, returns one cotangent per
/// operand (null where none flows). Rules of ops with the `broadcasts` flag
/// return cotangents of the broadcast shape; the AD pass sums them back to
/// each operand's shape. Fan-out sums are the AD pass's business too.
using VjpFn = std::vector<Value *> (*)(Builder &b, const Op &op, Value *dy);

/// The scalar formula of an elementwise op, over its operands' elements.
using ScalarFn = double (*)(const double *x);

/// Emits the scalar formula of an elementwise op as LLVM IR.
using LowerFn = llvm::Value *(*)(llvm::IRBuilderBase &b,
                                 llvm::ArrayRef<llvm::Value *> x);

struct OpDef {
  OpKind kind;
  std::vector<AttrSpec> attrs;
  InferFn infer;
  EvalFn eval;
  VjpFn vjp = nullptr;       // null: not differentiable (gradient zero)
  ScalarFn scalar = nullptr; // elementwise ops only
  LowerFn lower = nullptr;   // elementwise ops only
  /// The formula in emitted C++ (elementwise ops only): an operator ("+",
  /// "-", "*", "/"; "-" is negation for a unary op), or else the body of
  /// `template <typename T> T gir::<mnemonic>(T a, T b, T c)` (as many
  /// parameters as operands).
  const char *cppOperator = nullptr;
  const char *cppBody = nullptr;
  bool broadcasts = false;
  bool elementwise = false;
  bool commutative = false;
  /// What numpy, PyTorch or JAX call this op, suggested when one of these
  /// names is used ("unknown operation 'where'; did you mean 'select'?").
  std::vector<const char *> otherNames = {};

  OpDef knownAs(std::vector<const char *> names) && {
    otherNames = std::move(names);
    return std::move(*this);
  }

  OpDef withCpp(const char *op, const char *body) && {
    cppOperator = op;
    cppBody = body;
    return std::move(*this);
  }
};

const OpDef &opDef(OpKind k);

/// "; did you mean 'select'?" for a name that is not an op: an op's other
/// name (`where`) or a near miss (`matmull`); "" if none fits.
std::string suggestOp(llvm::StringRef name);

/// Infers `op`'s result type with its shape rule after checking attributes.
Type inferType(const Op &op, std::string &err);

} // namespace gradc

#endif
