//===- Verifier.cpp - Shape inference and structural checks ---------------===//
#include "gradc/Verifier/Verifier.h"
#include "gradc/Ops/OpDef.h"

#include "llvm/ADT/StringSet.h"

namespace gradc {
namespace {

/// Whether the static part of `t` has at most kMaxElements elements.
bool sizeOk(const Type &t) {
  int64_t n = 1;
  for (const Dim &d : t.dims)
    if (!d.isSym()) {
      if (d.size > kMaxElements / n)
        return false;
      n *= d.size;
    }
  return true;
}

class FunctionVerifier {
public:
  FunctionVerifier(Function &f, DiagEngine &diag) : f_(f), diag_(diag) {}

  bool run() {
    unsigned before = diag_.errorCount();
    for (Value *a : f_.args) {
      checkSize(a->type, a->loc);
      for (const Dim &d : a->type.dims)
        if (d.isSym())
          bound_.insert(d.sym);
    }
    for (const Type &t : f_.resultTypes) {
      checkSize(t, f_.loc);
      checkBound(t.dims, f_.loc, "the result type");
    }
    for (auto &op : f_.ops)
      verifyOp(*op);
    verifyReturn();
    return diag_.errorCount() == before;
  }

private:
  void checkSize(const Type &t, llvm::SMLoc loc) {
    if (!sizeOk(t))
      diag_.error(loc, "type " + t.str() + " has too many elements");
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
    // Symbols in a shape attribute must be bound by an argument.
    for (const NamedAttr &a : op.attrs)
      if (a.name == "shape" && a.value.kind == Attr::List &&
          !checkBound(a.value.list, a.loc.isValid() ? a.loc : op.loc,
                      "attribute 'shape'"))
        return;
    std::string err;
    Type t = inferType(op, err);
    if (!t.valid) {
      if (!err.empty())
        diag_.error(op.loc, err);
      return;
    }
    if (!sizeOk(t)) {
      diag_.error(op.loc, "result type " + t.str() + " has too many elements");
      return;
    }
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
