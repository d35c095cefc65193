//===- ShareExp.cpp - One exponential for tanh and sigmoid of one x -------===//
//
// tanh(x) and sigmoid(x) both come from e = e^-|x|:
//   sigmoid(x) = 1/(1 + e) for x >= 0, e/(1 + e) below;
//   tanh|x|    = (1 - e^2)/(1 + e^2) = -u (1 + e)/(1 + e^2), u = e^-|x| - 1
// (u = expm1(-|x|) keeps tanh's relative accuracy near 0, where 1 - e^2
// cancels). With r = 1/((1 + e)(1 + e^2)) both need the one division:
// 1/(1 + e) = (1 + e^2) r and (1 + e)/(1 + e^2) = (1 + e)^2 r.
//
// Where one statement list applies both to the same f32 expression x (a
// gradient of tanh(x) * sigmoid(x), an LSTM-like cell), this pass computes
// e, u and r once in `let`s before the first use and replaces both by
// Expr::Shared, whose formulas are the ops' own (OpDef::lowerShared,
// cppShared). exp and expm1 of one operand share their range reduction and
// polynomial in the LLVM backend (lib/Ops/VecMath.h), so the whole costs one
// exponential and one division. f64 keeps the separate formulas (the
// interpreter's bits matter more there than the speed of libm calls).
//
//===----------------------------------------------------------------------===//
#include "gradc/Loops/LoopIR.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/Hashing.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>

#include <cstring>

namespace gradc::loops {
namespace {

/// tanh and sigmoid applications of one operand in one statement list.
struct Group {
  const Expr *x;
  size_t first; // the statement of the first use
  std::vector<std::pair<size_t, const Expr *>> uses; // statement, Apply
  bool tanh = false, sigmoid = false;
  bool open = true; // no statement since the first use changed x
};

class Sharer {
public:
  explicit Sharer(LoopFunction &fn) : fn_(fn), b_(fn) {}

  /// Rewrites `body` and the statement lists nested in it. Linear in their
  /// size: operands are found by a structural hash, and a write ends only
  /// the groups indexed under what it writes.
  void list(std::vector<Stmt> &body) {
    for (Stmt &s : body) {
      list(s.body);
      list(s.orelse);
    }
    groups_.clear();
    byHash_.clear();
    byBuf_.clear();
    byVar_.clear();
    anyDeps_.clear();
    for (size_t k = 0; k < body.size(); ++k) {
      Stmt &s = body[k];
      if (s.kind == Stmt::Let || s.kind == Stmt::Assign ||
          s.kind == Stmt::Accumulate || s.kind == Stmt::Store) {
        llvm::DenseSet<const Expr *> seen;
        for (const Expr *e : {s.a, s.b})
          if (e)
            collect(e, k, seen);
      }
      // What this statement changes ends the groups whose operand reads it.
      switch (s.kind) {
      case Stmt::Let:
      case Stmt::Comment:
      case Stmt::FailIf:
        break;
      case Stmt::Assign:
      case Stmt::Accumulate:
        close(byVar_[s.var]);
        break;
      case Stmt::Store:
      case Stmt::Memset:
      case Stmt::Copy:
        close(byBuf_[s.buf]);
        break;
      default: // loops, kernels, invocations: any buffer, any mutable
        close(anyDeps_);
        break;
      }
    }
    // The groups in the order they were found, which puts a group whose
    // operand lies inside another's operand first; then every statement
    // with a use, once.
    std::vector<std::pair<size_t, Stmt>> inserts;
    map_.clear();
    memo_.clear();
    llvm::SmallVector<size_t> touched;
    for (Group &g : groups_)
      if (g.tanh && g.sigmoid) {
        rewrite(g, inserts);
        for (auto [stmt, apply] : g.uses)
          touched.push_back(stmt);
      }
    llvm::sort(touched);
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (size_t k : touched)
      for (const Expr **p : {&body[k].a, &body[k].b})
        if (*p)
          *p = substitute(*p, k);
    // Insert the lets, last position first so that earlier indices hold.
    llvm::stable_sort(inserts, [](const auto &a, const auto &b) {
      return a.first > b.first;
    });
    // Within one position, keep the order the lets were made in.
    for (size_t k = 0; k < inserts.size();) {
      size_t end = k;
      while (end < inserts.size() && inserts[end].first == inserts[k].first)
        ++end;
      std::vector<Stmt> lets;
      for (size_t j = k; j < end; ++j)
        lets.push_back(std::move(inserts[j].second));
      body.insert(body.begin() + inserts[k].first,
                  std::make_move_iterator(lets.begin()),
                  std::make_move_iterator(lets.end()));
      k = end;
    }
  }

private:
  void close(std::vector<unsigned> &gs) {
    for (unsigned g : gs)
      groups_[g].open = false;
    gs.clear();
  }

  /// A hash of the tree `e` (equal for trees that are sameExpr()).
  uint64_t hash(const Expr *e) {
    if (auto it = hashes_.find(e); it != hashes_.end())
      return it->second;
    uint64_t bits;
    std::memcpy(&bits, &e->f, sizeof bits);
    llvm::hash_code h =
        llvm::hash_combine(e->kind, e->type, e->op, e->i, bits, e->var, e->buf,
                           llvm::hash_value(llvm::StringRef(e->sym)));
    for (const Expr *a : e->args)
      h = llvm::hash_combine(h, hash(a));
    return hashes_[e] = uint64_t(h);
  }

  /// Indexes group `g` under the buffers its operand loads and the mutable
  /// variables it reads.
  void index(const Expr *e, unsigned g, bool &any,
             llvm::DenseSet<const Expr *> &seen) {
    if (!seen.insert(e).second)
      return;
    if (e->kind == Expr::Load) {
      byBuf_[e->buf].push_back(g);
      any = true;
    }
    if (e->kind == Expr::Read && fn_.vars[e->var].kind == Var::Mutable) {
      byVar_[e->var].push_back(g);
      any = true;
    }
    for (const Expr *a : e->args)
      index(a, g, any, seen);
  }

  void collect(const Expr *e, size_t stmt, llvm::DenseSet<const Expr *> &seen) {
    if (!seen.insert(e).second)
      return;
    for (const Expr *a : e->args)
      collect(a, stmt, seen);
    if (e->kind != Expr::Apply || e->type != Scalar::F32 ||
        (e->op != OpKind::Tanh && e->op != OpKind::Sigmoid))
      return;
    const Expr *x = e->args[0];
    std::vector<unsigned> &same_ = byHash_[hash(x)];
    Group *g = nullptr;
    for (unsigned h : same_)
      if (groups_[h].open && sameExpr(groups_[h].x, x))
        g = &groups_[h];
    if (!g) {
      unsigned id = groups_.size();
      groups_.push_back(Group{x, stmt, {}});
      same_.push_back(id);
      bool any = false;
      llvm::DenseSet<const Expr *> visited;
      index(x, id, any, visited);
      if (any)
        anyDeps_.push_back(id);
      g = &groups_[id];
    }
    g->uses.push_back({stmt, e});
    (e->op == OpKind::Tanh ? g->tanh : g->sigmoid) = true;
  }

  const Expr *let(std::vector<std::pair<size_t, Stmt>> &inserts, size_t at,
                  const std::string &name, const Expr *x) {
    fn_.vars.push_back({Var::Let, x->type, name});
    Stmt s;
    s.kind = Stmt::Let;
    s.var = fn_.vars.size() - 1;
    s.a = x;
    unsigned v = s.var;
    inserts.push_back({at, std::move(s)});
    return b_.read(v);
  }

  /// Makes the lets of `g` (before its first use) and maps its uses to
  /// Expr::Shared of them. Its operand is rewritten with the groups before
  /// (those inside it).
  void rewrite(const Group &g, std::vector<std::pair<size_t, Stmt>> &inserts) {
    std::string base = g.x->kind == Expr::Read   ? fn_.vars[g.x->var].name
                       : g.x->kind == Expr::Load ? g.x->buf->name
                                                 : std::string("x");
    // Distinct names for the lets of distinct operands (`%x.e`, `%x.e.1`).
    std::string suffix;
    for (unsigned k = 1; !names_.insert(base + suffix).second; ++k)
      suffix = "." + std::to_string(k);
    const Expr *x = substitute(g.x, g.first);
    Scalar t = x->type;
    auto negAbs = [&] {
      return b_.apply(OpKind::Neg, {b_.apply(OpKind::Abs, {x})});
    };
    const Expr *e = let(inserts, g.first, base + ".e" + suffix,
                        b_.apply(OpKind::Exp, {negAbs()}));
    const Expr *u = let(inserts, g.first, base + ".u" + suffix,
                        b_.apply(OpKind::Expm1, {negAbs()}));
    const Expr *one = b_.f(1, t);
    const Expr *r = let(
        inserts, g.first, base + ".r" + suffix,
        b_.apply(
            OpKind::Div,
            {one, b_.apply(OpKind::Mul,
                           {b_.apply(OpKind::Add, {one, e}),
                            b_.apply(OpKind::Add,
                                     {one, b_.apply(OpKind::Mul, {e, e})})})}));
    for (auto [stmt, apply] : g.uses)
      map_[{stmt, apply}] = b_.shared(apply->op, x, e, u, r);
  }

  /// `e`, read in statement `stmt`, with the uses there of the groups
  /// rewritten so far replaced. (A node may be read by two statements, with
  /// a write in between: its uses are told apart by statement.)
  const Expr *substitute(const Expr *e, size_t stmt) {
    if (auto it = map_.find({stmt, e}); it != map_.end())
      return it->second;
    if (auto it = memo_.find({stmt, e}); it != memo_.end())
      return it->second;
    std::vector<const Expr *> args;
    bool changed = false;
    for (const Expr *a : e->args) {
      args.push_back(substitute(a, stmt));
      changed |= args.back() != a;
    }
    const Expr *r = e;
    if (changed) {
      Expr &copy = fn_.exprs.emplace_back(*e);
      copy.args = std::move(args);
      r = &copy;
    }
    return memo_[{stmt, e}] = r;
  }

  LoopFunction &fn_;
  ExprBuilder b_;
  std::vector<Group> groups_;
  llvm::DenseMap<uint64_t, std::vector<unsigned>> byHash_;
  llvm::DenseMap<const Buffer *, std::vector<unsigned>> byBuf_;
  llvm::DenseMap<unsigned, std::vector<unsigned>> byVar_;
  std::vector<unsigned> anyDeps_; // groups whose operand reads memory
  llvm::DenseMap<const Expr *, uint64_t> hashes_;
  /// A use (statement, Apply) to its Expr::Shared; a node read in a
  /// statement to its rewritten copy.
  using Key = std::pair<size_t, const Expr *>;
  llvm::StringSet<> names_; // the operands' names used so far
  llvm::DenseMap<Key, const Expr *> map_, memo_;
};

} // namespace

void shareExponentials(LoopFunction &fn) { Sharer(fn).list(fn.body); }

} // namespace gradc::loops
