//===- IR.h - Values, ops, functions and modules ----------------*- C++ -*-===//
//
// The graph IR is a list of functions; each function is a list of
// single-result ops in SSA form, in definition order. A Value is either a
// function argument or the result of one op.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_IR_IR_H
#define GRADC_IR_IR_H

#include "gradc/IR/Tensor.h"
#include "gradc/IR/Type.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/SMLoc.h"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gradc {

enum class OpKind : uint8_t {
#define GRADC_OP(Enum, Mnemonic, Arity) Enum,
#include "gradc/IR/OpKinds.def"
};
/// The number of ops (rows of OpKinds.def).
inline constexpr unsigned kNumOps = 0
#define GRADC_OP(Enum, Mnemonic, Arity) +1
#include "gradc/IR/OpKinds.def"
    ;

llvm::StringRef mnemonic(OpKind k);
/// The most operands the op takes.
unsigned arity(OpKind k);
/// The fewest operands the op takes (== arity except for variadic ops).
unsigned minArity(OpKind k);
std::optional<OpKind> lookupOp(llvm::StringRef mnemonic);

/// An attribute value: a bool, an integer, a list of dims (integers or
/// symbols) such as `[1]`, `[N,3]`, a float (`0.5`, `-1e-3`) or a string
/// (`"bij,bjk->bik"`).
struct Attr {
  enum Kind { Bool, Int, List, Float, String } kind = Int;
  bool b = false;
  int64_t i = 0;
  std::vector<Dim> list;
  double f = 0;
  std::string s;

  static Attr boolean(bool v) { return Attr{Bool, v, 0, {}, 0, {}}; }
  static Attr integer(int64_t v) { return Attr{Int, false, v, {}, 0, {}}; }
  static Attr dims(std::vector<Dim> l) {
    return Attr{List, false, 0, std::move(l), 0, {}};
  }
  static Attr real(double v) { return Attr{Float, false, 0, {}, v, {}}; }
  static Attr string(std::string v) {
    return Attr{String, false, 0, {}, 0, std::move(v)};
  }
  /// The value of a Float attribute, or of an Int one written where a float
  /// is expected.
  double asFloat() const { return kind == Int ? double(i) : f; }
  bool operator==(const Attr &o) const {
    return kind == o.kind && b == o.b && i == o.i && list == o.list &&
           (f == o.f || (f != f && o.f != o.f)) && s == o.s;
  }
};

struct NamedAttr {
  std::string name;
  Attr value;
  llvm::SMLoc loc;
};

class Op;
class Function;

class Value {
public:
  std::string name; // without the leading '%'
  Type type;
  Op *def = nullptr; // null for a function argument
  int argIndex = -1; // >= 0 for a function argument
  llvm::SMLoc loc;

  bool isArg() const { return def == nullptr; }
};

class Op {
public:
  OpKind kind;
  std::vector<Value *> operands;
  std::vector<NamedAttr> attrs;
  Value *result = nullptr;
  /// All results, `result` first. Only `call` and `cond` have more than one;
  /// for every other op it is empty or `{result}`.
  std::vector<Value *> results;
  /// The functions a `call` (one) or `cond` (two: then, else) refers to,
  /// by name (without '@') with where each was written; resolved to
  /// `calleeFns` by the verifier.
  std::vector<std::string> callees;
  std::vector<llvm::SMLoc> calleeLocs;
  std::vector<Function *> calleeFns;
  std::optional<Type> declaredType; // the `: type` written in the source
  Tensor constValue;                // for `const` only
  llvm::SMLoc loc;

  const Attr *attr(llvm::StringRef name) const;
  void setAttr(llvm::StringRef name, Attr a);
  bool boolAttr(llvm::StringRef name, bool dflt) const;
  int64_t intAttr(llvm::StringRef name, int64_t dflt) const;
  double floatAttr(llvm::StringRef name, double dflt) const;
  /// The op's results: `results` if set, else `{result}`.
  std::vector<Value *> allResults() const {
    return results.empty() ? std::vector<Value *>{result} : results;
  }
};

class Function {
public:
  std::string name; // without the leading '@'
  std::vector<Value *> args;
  std::vector<Type> resultTypes;
  std::vector<std::unique_ptr<Op>> ops;
  std::vector<Value *> results; // the operands of `return`
  llvm::SMLoc loc, returnLoc;
  /// `custom_vjp @g` in the header: the function computing this one's
  /// vector-Jacobian product, used by the adjoint pass instead of the body.
  std::string customVjp;
  llvm::SMLoc customVjpLoc;
  Function *customVjpFn = nullptr; // resolved by the verifier
  /// The module the function belongs to (set by Module::addFunction).
  class Module *parent = nullptr;

  Value *addArg(std::string name, Type t, llvm::SMLoc loc = {});
  /// Creates a value owned by this function.
  Value *newValue(std::string name, Type t, llvm::SMLoc loc = {});
  /// Returns a name based on `base` that no value of this function has yet.
  std::string uniqueName(llvm::StringRef base);
  Value *lookup(llvm::StringRef name) const;
  /// Removes the ops for which `dead` returns true (their results must be
  /// unused).
  template <typename Pred> void eraseOpsIf(Pred dead);

private:
  std::vector<std::unique_ptr<Value>> values_;
  std::set<std::string, std::less<>> names_; // names taken in this function
  /// Next suffix to try for a base name, so that naming is O(log n).
  std::map<std::string, unsigned, std::less<>> nextSuffix_;
  friend class Module;

public:
  void renameValue(Value *v, std::string newName);
  void forgetName(llvm::StringRef name);
};

template <typename Pred> void Function::eraseOpsIf(Pred dead) {
  std::vector<std::unique_ptr<Op>> kept;
  for (auto &op : ops)
    if (!dead(*op))
      kept.push_back(std::move(op));
    else
      for (Value *r : op->allResults())
        forgetName(r->name);
  ops = std::move(kept);
}

class Module {
public:
  std::vector<std::unique_ptr<Function>> functions;

  Function *lookup(llvm::StringRef name) const;
  Function *addFunction(std::string name);
};

} // namespace gradc

#endif
