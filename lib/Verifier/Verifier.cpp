//===- Verifier.cpp - Shape inference and structural checks ---------------===//
#include "gradc/Verifier/Verifier.h"
#include "gradc/Ops/OpDef.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSet.h"

namespace gradc {
namespace {

/// Why `dims` (of a type or a `shape` attribute) break the limits of
/// Type.h ("has rank 9 (at most 8)"), or "" if they do not. Sizes below 1
/// are the shape rules' business.
std::string limitError(const std::vector<Dim> &dims) {
  if (dims.size() > kMaxRank)
    return "has rank " + std::to_string(dims.size()) + " (at most " +
           std::to_string(kMaxRank) + ")";
  llvm::SmallVector<int64_t, 8> sizes;
  for (const Dim &d : dims)
    if (!d.isSym() && d.size > 0)
      sizes.push_back(d.size);
  if (!checkedProduct(sizes))
    return "has too many elements (at most 2^40)";
  return "";
}

/// `dims` as written in a type, unless there are too many to print.
std::string spell(const std::vector<Dim> &dims) {
  if (dims.size() > kMaxRank)
    return "";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? "," : "") + dims[i].str();
  return s + "] ";
}

class FunctionVerifier {
public:
  FunctionVerifier(Function &f, DiagEngine &diag) : f_(f), diag_(diag) {}

  bool run() {
    unsigned before = diag_.errorCount();
    for (Value *a : f_.args) {
      checkLimits(a->type, a->loc);
      for (const Dim &d : a->type.dims)
        if (d.isSym())
          bound_.insert(d.sym);
    }
    for (const Type &t : f_.resultTypes) {
      checkLimits(t, f_.loc);
      checkBound(t.dims, f_.loc, "the result type");
    }
    for (auto &op : f_.ops)
      verifyOp(*op);
    verifyReturn();
    return diag_.errorCount() == before;
  }

private:
  /// Reports a type past the limits of Type.h; `what` names it.
  bool checkLimits(const Type &t, llvm::SMLoc loc,
                   const llvm::Twine &what = "type") {
    std::string err = limitError(t.dims);
    if (err.empty())
      return true;
    diag_.error(loc, what + " " +
                         (t.dims.size() > kMaxRank ? "" : t.str() + " ") + err);
    return false;
  }
  bool checkBound(const std::vector<Dim> &dims, llvm::SMLoc loc,
                  const llvm::Twine &where) {
    for (const Dim &d : dims)
      if (d.isSym() && !bound_.count(d.sym)) {
        diag_.error(loc, "symbolic dimension '" + d.sym + "' in " + where +
                             " does not appear in the argument types of '@" +
                             f_.name + "'");
        return false;
      }
    return true;
  }

  void verifyOp(Op &op) {
    op.result->type = Type::invalid();
    // A shape attribute is a type in all but name: within the limits, its
    // symbols bound by an argument. Checked before any shape rule sees it.
    for (const NamedAttr &a : op.attrs) {
      if (a.name != "shape" || a.value.kind != Attr::List)
        continue;
      llvm::SMLoc loc = a.loc.isValid() ? a.loc : op.loc;
      if (std::string err = limitError(a.value.list); !err.empty()) {
        diag_.error(loc, "attribute 'shape' " + spell(a.value.list) + err);
        return;
      }
      if (!checkBound(a.value.list, loc, "attribute 'shape'"))
        return;
    }
    std::string err;
    Type t = inferType(op, err);
    if (!t.valid) {
      if (!err.empty())
        diag_.error(op.loc, err);
      return;
    }
    if (!checkLimits(t, op.loc, "result type"))
      return;
    // On ops whose `: T` sets the element type, a bare element type is
    // enough; a full type is checked.
    bool bare = opDef(op.kind).typeFromDecl && op.declaredType &&
                op.declaredType->dims.empty();
    if (op.declaredType && !bare && *op.declaredType != t) {
      diag_.error(op.loc, "'" + mnemonic(op.kind) + "' produces " + t.str() +
                              " but the declared type is " +
                              op.declaredType->str());
      return;
    }
    op.result->type = t;
  }

  void verifyReturn() {
    llvm::SMLoc loc = f_.returnLoc.isValid() ? f_.returnLoc : f_.loc;
    if (f_.results.size() != f_.resultTypes.size()) {
      diag_.error(loc, "'@" + f_.name + "' returns " +
                           llvm::Twine(f_.results.size()) + " value" +
                           (f_.results.size() == 1 ? "" : "s") +
                           " but its signature has " +
                           llvm::Twine(f_.resultTypes.size()));
      return;
    }
    for (size_t i = 0; i < f_.results.size(); ++i) {
      const Type &got = f_.results[i]->type;
      if (got.valid && got != f_.resultTypes[i])
        diag_.error(loc, "result " + llvm::Twine(i) + " of '@" + f_.name +
                             "' has type " + got.str() +
                             " but the signature says " +
                             f_.resultTypes[i].str());
    }
  }

  Function &f_;
  DiagEngine &diag_;
  llvm::StringSet<> bound_;
};

} // namespace

bool verify(Function &f, DiagEngine &diag) {
  return FunctionVerifier(f, diag).run();
}

bool verify(Module &m, DiagEngine &diag) {
  bool ok = true;
  for (auto &f : m.functions)
    ok &= verify(*f, diag);
  return ok;
}

} // namespace gradc
