//===- OpDef.h - The one declaration of each op -----------------*- C++ -*-===//
//
// Every op has exactly one OpDef, in lib/Ops/: its attributes, its shape rule,
// its interpreter kernel, its adjoint (vector-Jacobian product) rule and its
// lowering (the scalar formula of an elementwise op, or a hook writing the
// op's loop IR). The verifier, the interpreter, the AD pass and the loop
// lowering only ever go through this table.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_OPS_OPDEF_H
#define GRADC_OPS_OPDEF_H

#include "gradc/IR/Arguments.h"
#include "gradc/IR/IR.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace llvm {
class IRBuilderBase;
class Value;
} // namespace llvm

namespace gradc::loops {
class LoopBuilder;
} // namespace gradc::loops

namespace gradc {

class Builder;

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
/// Checks the run-time preconditions of an op (indices in range) before its
/// kernel runs; returns an empty string or what is wrong (naming the op and
/// the offending index).
using CheckFn = std::string (*)(const Op &op,
                                llvm::ArrayRef<const Tensor *> in);
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

/// Writes the loop IR computing the op through `b` (every op that is not
/// elementwise; see include/gradc/Loops/LoopBuilder.h). Elementwise ops are
/// computed from their scalar formula where they are read.
using LoopsFn = void (*)(loops::LoopBuilder &b, const Op &op);
/// The scratch buffers an op's `loops` hook may ask for (a bound), so that
/// the arena can be sized without lowering.
using ScratchFn = std::vector<Type> (*)(const Op &op);

/// How a reduction folds the elements it reduces; ops that fold may join the
/// loop group of the elementwise ops over their operand's shape.
enum class Fold : uint8_t { None, Sum, Mean, Max };

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
  /// tanh and sigmoid: the formula from the exponential that both share
  /// where they are applied to the same f32 operand (loops::
  /// shareExponentials), over (x, e = e^-|x|, u = e^-|x| - 1,
  /// r = 1/((1 + e)(1 + e^2))): as LLVM IR, and as the body of
  /// `template <typename T> T gir::<mnemonic>_shared(T x, T e, T u, T r)`.
  LowerFn lowerShared = nullptr;
  const char *cppShared = nullptr;
  /// Run-time preconditions (null: none).
  CheckFn check = nullptr;
  LoopsFn loops = nullptr; // every op but elementwise ones
  ScratchFn scratch = nullptr;
  Fold fold = Fold::None;
  bool broadcasts = false;
  bool elementwise = false;
  bool commutative = false;
  /// Whether integer (i32/i64) operands are accepted; other ops need floats.
  bool integers = false;
  /// Whether the `: T` after the op gives the result's element type (`cast`,
  /// `one_hot`, `iota`, `argmax`): a bare element type is enough there.
  bool typeFromDecl = false;
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
  OpDef withShared(LowerFn lower, const char *cpp) && {
    lowerShared = lower;
    cppShared = cpp;
    return std::move(*this);
  }
  OpDef withLoops(LoopsFn fn, Fold f = Fold::None) && {
    loops = fn;
    fold = f;
    return std::move(*this);
  }
  OpDef withScratch(ScratchFn fn) && {
    scratch = fn;
    return std::move(*this);
  }
};

const OpDef &opDef(OpKind k);

/// "; did you mean 'select'?" for a name that is not an op: an op's other
/// name (`where`) or a near miss (`matmull`); "" if none fits.
std::string suggestOp(llvm::StringRef name);

/// Infers `op`'s result type with its shape rule after checking attributes.
Type inferType(const Op &op, std::string &err);

/// The compiling backends: the loop IR rendered by LLVM (JIT, objects) and
/// the emitted C++.
enum class CompiledBy { Loops, Cpp };
/// Whether backend `by` lowers `op` yet; if not, `why` says so. Both render
/// the loop IR, which lowers every op with a lowering (an elementwise
/// formula or a `loops` hook), on floats and integers alike. Everything else
/// (conditionals, scans) runs on the interpreter.
bool compiledBy(CompiledBy by, const Op &op, std::string &why);
/// An error naming the first op of `m` (or of `only`) that backend `by` does
/// not lower yet; success if there is none.
llvm::Error checkCompiled(const Module &m, CompiledBy by,
                          const Function *only = nullptr);

/// The element type the `: T` of a typeFromDecl op asks for, or `dflt`.
DType declaredDType(const Op &op, DType dflt);

} // namespace gradc

#endif
