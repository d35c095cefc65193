//===- Verifier.cpp - Shape inference and structural checks ---------------===//
#include "gradc/Verifier/Verifier.h"
#include "gradc/Ops/Control.h"
#include "gradc/Ops/OpDef.h"
#include "gradc/Support/Suggest.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
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
  FunctionVerifier(Function &f, DiagEngine &diag,
                   const llvm::StringMap<Function *> *index = nullptr)
      : f_(f), diag_(diag), index_(index) {}

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
    verifyCustomVjp();
    for (auto &op : f_.ops)
      if (op->kind == OpKind::Call || op->kind == OpKind::Cond ||
          op->kind == OpKind::Scan)
        verifyControl(*op);
      else
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

  /// The function of this function's module named `name`, or null.
  Function *find(llvm::StringRef name) const {
    if (index_)
      return index_->lookup(name);
    return f_.parent ? f_.parent->lookup(name) : nullptr;
  }

  /// The function named `name` in this function's module, or an error at
  /// `loc` (with a suggestion) and null.
  Function *resolve(const std::string &name, llvm::SMLoc loc) {
    Module *m = f_.parent;
    if (Function *g = find(name))
      return g;
    std::vector<std::string> names;
    if (m)
      for (const auto &g : m->functions)
        names.push_back(g->name);
    diag_.error(loc, "call of unknown function '@" + name + "'" +
                         didYouMean(name, names, "@"));
    return nullptr;
  }

  /// `custom_vjp @g`: @g takes @f's arguments and one cotangent per result
  /// of @f, and returns one gradient per argument, all typed as written in
  /// @f's signature.
  void verifyCustomVjp() {
    if (f_.customVjp.empty())
      return;
    Function *g = f_.customVjpFn;
    if (!g) {
      Module *m = f_.parent;
      g = find(f_.customVjp);
      if (!g) {
        std::vector<std::string> names;
        if (m)
          for (const auto &h : m->functions)
            names.push_back(h->name);
        diag_.error(f_.customVjpLoc, "unknown custom VJP function '@" +
                                         f_.customVjp + "'" +
                                         didYouMean(f_.customVjp, names, "@"));
        return;
      }
    }
    if (g == &f_) {
      diag_.error(f_.customVjpLoc,
                  "'@" + f_.name + "' cannot be its own custom VJP");
      return;
    }
    Function want;
    for (Value *a : f_.args)
      want.args.push_back(a);
    std::vector<std::unique_ptr<Value>> cts;
    for (const Type &t : f_.resultTypes) {
      cts.push_back(std::make_unique<Value>());
      cts.back()->type = t;
      want.args.push_back(cts.back().get());
    }
    for (Value *a : f_.args)
      want.resultTypes.push_back(a->type);
    bool same = g->args.size() == want.args.size() &&
                g->resultTypes == want.resultTypes;
    for (size_t i = 0; same && i < want.args.size(); ++i)
      same = g->args[i]->type == want.args[i]->type;
    if (!same) {
      diag_.error(f_.customVjpLoc,
                  "the custom VJP '@" + g->name + "' of '@" + f_.name +
                      "' must have the signature " + signatureString(want) +
                      " (the arguments of '@" + f_.name +
                      "', then a cotangent per result, giving a gradient per "
                      "argument); it has " +
                      signatureString(*g));
      return;
    }
    f_.customVjpFn = g;
  }

  void verifyControl(Op &op) {
    for (Value *r : op.allResults())
      r->type = Type::invalid();
    if (op.calleeFns.size() != op.callees.size()) {
      op.calleeFns.clear();
      for (size_t i = 0; i < op.callees.size(); ++i) {
        Function *g = resolve(op.callees[i], op.calleeLocs[i]);
        if (!g) {
          op.calleeFns.clear();
          return;
        }
        op.calleeFns.push_back(g);
      }
    }
    if (op.kind == OpKind::Cond) {
      const Function &t = *op.calleeFns[0], &e = *op.calleeFns[1];
      std::string st = signatureString(t), se = signatureString(e);
      if (st != se) {
        diag_.error(op.calleeLocs[1],
                    "the branches of 'cond' must have the same signature: '@" +
                        t.name + "' is " + st + " but '@" + e.name + "' is " +
                        se);
        return;
      }
    }
    std::vector<Type> in, out;
    for (Value *v : op.operands) {
      if (!v->type.valid)
        return; // reported where v was defined
      in.push_back(v->type);
    }
    std::string err;
    // inferType checks the attributes (of `scan`) first.
    if (!inferType(op, err).valid || !inferCallTypes(op, in, out, err)) {
      diag_.error(op.loc, err);
      return;
    }
    std::vector<Value *> res = op.allResults();
    if (res.size() != out.size()) {
      diag_.error(res.size() > out.size() ? res[out.size()]->loc : op.loc,
                  "'@" + op.calleeFns[0]->name + "' returns " +
                      llvm::Twine(out.size()) + " value" +
                      (out.size() == 1 ? "" : "s") + " but " +
                      llvm::Twine(res.size()) + " result" +
                      (res.size() == 1 ? " is" : "s are") + " named");
      return;
    }
    for (size_t i = 0; i < res.size(); ++i) {
      if (!checkLimits(out[i], op.loc, "result type"))
        return;
    }
    for (size_t i = 0; i < res.size(); ++i)
      res[i]->type = out[i];
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
  const llvm::StringMap<Function *> *index_; // the module's functions
  llvm::StringSet<> bound_;
};

} // namespace

bool verify(Function &f, DiagEngine &diag) {
  return FunctionVerifier(f, diag).run();
}

/// Reports the first cycle of calls (`call` and `cond` edges): gradc has no
/// recursion. Iterative depth-first search, so deep call chains are fine.
static bool checkRecursion(Module &m, DiagEngine &diag) {
  enum { White, Grey, Black };
  llvm::DenseMap<const Function *, int> color;
  struct Frame {
    const Function *f;
    size_t op = 0, callee = 0;
    const Op *via = nullptr; // the op of the caller that led here
  };
  for (auto &root : m.functions) {
    if (color[root.get()] != White)
      continue;
    std::vector<Frame> stack = {{root.get()}};
    color[root.get()] = Grey;
    while (!stack.empty()) {
      Frame &fr = stack.back();
      if (fr.op == fr.f->ops.size()) {
        color[fr.f] = Black;
        stack.pop_back();
        continue;
      }
      const Op &op = *fr.f->ops[fr.op];
      if (fr.callee >= op.calleeFns.size()) {
        ++fr.op;
        fr.callee = 0;
        continue;
      }
      size_t ci = fr.callee++;
      const Function *g = op.calleeFns[ci];
      int &c = color[g];
      if (c == Black)
        continue;
      if (c == Grey) {
        std::string chain;
        size_t start = 0;
        while (stack[start].f != g)
          ++start;
        for (size_t i = start; i < stack.size(); ++i)
          chain += "@" + stack[i].f->name + " -> ";
        chain += "@" + g->name;
        diag.error(op.calleeLocs[ci], "recursion is not supported: '@" +
                                          g->name + "' calls itself (" + chain +
                                          ")");
        return false;
      }
      c = Grey;
      stack.push_back({g, 0, 0, &op});
    }
  }
  return true;
}

/// The number of ops of `f` with its calls inlined (saturating past
/// kMaxOps). Memoized, so linear in the module even where calls nest so that
/// inlining doubles at each level; an explicit stack, as call chains may be
/// deep.
/// Also the depth of nested calls below `f` (`call`, `cond`, `scan`: the
/// interpreter runs callees recursively) in `depth`.
static uint64_t inlinedOps(const Function &root,
                           llvm::DenseMap<const Function *, uint64_t> &memo,
                           llvm::DenseMap<const Function *, unsigned> &depth) {
  std::vector<const Function *> stack = {&root};
  while (!stack.empty()) {
    const Function *f = stack.back();
    if (memo.count(f)) {
      stack.pop_back();
      continue;
    }
    bool ready = true;
    uint64_t n = 0;
    unsigned d = 0;
    for (const auto &op : f->ops) {
      for (const Function *c : op->calleeFns) {
        if (!memo.count(c)) {
          ready = false;
          stack.push_back(c);
          continue;
        }
        d = std::max(d, depth[c] + 1);
      }
      if (!ready)
        continue;
      n += op->kind == OpKind::Call && !op->calleeFns.empty()
               ? memo[op->calleeFns[0]]
               : 1;
      n = std::min<uint64_t>(n, kMaxOps + 1);
    }
    if (ready) {
      memo[f] = n;
      depth[f] = d;
      stack.pop_back();
    }
  }
  return memo[&root];
}

bool verify(Module &m, DiagEngine &diag) {
  bool ok = true;
  llvm::StringMap<Function *> index; // name lookups in constant time
  for (auto &f : m.functions)
    index.try_emplace(f->name, f.get());
  for (auto &f : m.functions)
    ok &= FunctionVerifier(*f, diag, &index).run();
  if (!ok || !checkRecursion(m, diag))
    return false;
  // Inlining (before differentiation and compilation) must stay within the
  // limits.
  llvm::DenseMap<const Function *, uint64_t> memo;
  llvm::DenseMap<const Function *, unsigned> depth;
  for (auto &f : m.functions) {
    if (inlinedOps(*f, memo, depth) > kMaxOps) {
      diag.error(f->loc, "inlining the calls of '@" + f->name +
                             "' would give more than " +
                             std::to_string(kMaxOps) + " operations");
      return false;
    }
    if (depth[f.get()] > kMaxCallDepth) {
      diag.error(f->loc, "calls nest more than " +
                             std::to_string(kMaxCallDepth) + " deep below '@" +
                             f->name + "'");
      return false;
    }
  }
  return true;
}

} // namespace gradc
