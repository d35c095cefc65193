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
#include "llvm/ADT/STLExtras.h"

#include <cstring>

namespace gradc::loops {
namespace {

/// Whether `a` and `b` compute the same value (the same tree).
bool same(const Expr *a, const Expr *b) {
  if (a == b)
    return true;
  if (a->kind != b->kind || a->type != b->type || a->op != b->op ||
      a->i != b->i || std::memcmp(&a->f, &b->f, sizeof a->f) != 0 ||
      a->var != b->var || a->buf != b->buf || a->sym != b->sym ||
      a->args.size() != b->args.size())
    return false;
  for (size_t k = 0; k < a->args.size(); ++k)
    if (!same(a->args[k], b->args[k]))
      return false;
  return true;
}

/// Whether `e` loads from `buf` (null: from any buffer) or reads `var`.
bool reads(const Expr *e, const Buffer *buf, bool anyBuf, int var) {
  if (e->kind == Expr::Load && (anyBuf || e->buf == buf))
    return true;
  if (e->kind == Expr::Read && int(e->var) == var)
    return true;
  return llvm::any_of(
      e->args, [&](const Expr *a) { return reads(a, buf, anyBuf, var); });
}

/// tanh and sigmoid applications of one operand in one statement list.
struct Group {
  const Expr *x;
  size_t first; // the statement of the first use
  std::vector<std::pair<size_t, const Expr *>> uses; // statement, Apply
  bool tanh = false, sigmoid = false;
  bool open = true;
};

class Sharer {
public:
  explicit Sharer(LoopFunction &fn) : fn_(fn), b_(fn) {}

  void list(std::vector<Stmt> &body) {
    for (Stmt &s : body) {
      list(s.body);
      list(s.orelse);
    }
    std::vector<Group> groups;
    for (size_t k = 0; k < body.size(); ++k) {
      Stmt &s = body[k];
      if (s.kind == Stmt::Let || s.kind == Stmt::Assign ||
          s.kind == Stmt::Accumulate || s.kind == Stmt::Store) {
        llvm::DenseSet<const Expr *> seen;
        for (const Expr *e : {s.a, s.b})
          if (e)
            collect(e, k, groups, seen);
      }
      // What this statement changes ends the groups that read it.
      for (Group &g : groups) {
        if (!g.open)
          continue;
        switch (s.kind) {
        case Stmt::Let:
        case Stmt::Comment:
        case Stmt::FailIf:
          break;
        case Stmt::Assign:
        case Stmt::Accumulate:
          g.open = !reads(g.x, nullptr, false, int(s.var));
          break;
        case Stmt::Store:
        case Stmt::Memset:
        case Stmt::Copy:
          g.open = !reads(g.x, s.buf, false, -1);
          break;
        default: // loops, kernels, invocations: any buffer, any mutable
          g.open = !reads(g.x, nullptr, true, -1);
          for (unsigned v = 0; g.open && v < fn_.vars.size(); ++v)
            if (fn_.vars[v].kind == Var::Mutable)
              g.open = !reads(g.x, nullptr, false, int(v));
          break;
        }
      }
    }
    // Rewrite, last group first so that earlier statement indices hold.
    std::vector<std::pair<size_t, Stmt>> inserts;
    for (Group &g : groups)
      if (g.tanh && g.sigmoid)
        rewrite(body, g, inserts);
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
  void collect(const Expr *e, size_t stmt, std::vector<Group> &groups,
               llvm::DenseSet<const Expr *> &seen) {
    if (!seen.insert(e).second)
      return;
    for (const Expr *a : e->args)
      collect(a, stmt, groups, seen);
    if (e->kind != Expr::Apply || e->type != Scalar::F32 ||
        (e->op != OpKind::Tanh && e->op != OpKind::Sigmoid))
      return;
    Group *g = nullptr;
    for (Group &h : groups)
      if (h.open && same(h.x, e->args[0]))
        g = &h;
    if (!g)
      g = &groups.emplace_back(Group{e->args[0], stmt, {}});
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

  void rewrite(std::vector<Stmt> &body, const Group &g,
               std::vector<std::pair<size_t, Stmt>> &inserts) {
    std::string base = g.x->kind == Expr::Read   ? fn_.vars[g.x->var].name
                       : g.x->kind == Expr::Load ? g.x->buf->name
                                                 : std::string("x");
    Scalar t = g.x->type;
    auto negAbs = [&] {
      return b_.apply(OpKind::Neg, {b_.apply(OpKind::Abs, {g.x})});
    };
    const Expr *e =
        let(inserts, g.first, base + ".e", b_.apply(OpKind::Exp, {negAbs()}));
    const Expr *u =
        let(inserts, g.first, base + ".u", b_.apply(OpKind::Expm1, {negAbs()}));
    const Expr *one = b_.f(1, t);
    const Expr *r = let(
        inserts, g.first, base + ".r",
        b_.apply(
            OpKind::Div,
            {one, b_.apply(OpKind::Mul,
                           {b_.apply(OpKind::Add, {one, e}),
                            b_.apply(OpKind::Add,
                                     {one, b_.apply(OpKind::Mul, {e, e})})})}));
    llvm::DenseMap<const Expr *, const Expr *> map;
    for (auto [stmt, apply] : g.uses)
      map[apply] = b_.shared(apply->op, apply->args[0], e, u, r);
    llvm::DenseMap<const Expr *, const Expr *> memo;
    llvm::DenseSet<size_t> done;
    for (auto [stmt, apply] : g.uses) {
      if (!done.insert(stmt).second)
        continue;
      Stmt &s = body[stmt];
      for (const Expr **p : {&s.a, &s.b})
        if (*p)
          *p = substitute(*p, map, memo);
    }
  }

  const Expr *substitute(const Expr *e,
                         const llvm::DenseMap<const Expr *, const Expr *> &map,
                         llvm::DenseMap<const Expr *, const Expr *> &memo) {
    if (auto it = map.find(e); it != map.end())
      return it->second;
    if (auto it = memo.find(e); it != memo.end())
      return it->second;
    std::vector<const Expr *> args;
    bool changed = false;
    for (const Expr *a : e->args) {
      args.push_back(substitute(a, map, memo));
      changed |= args.back() != a;
    }
    const Expr *r = e;
    if (changed) {
      Expr &copy = fn_.exprs.emplace_back(*e);
      copy.args = std::move(args);
      r = &copy;
    }
    return memo[e] = r;
  }

  LoopFunction &fn_;
  ExprBuilder b_;
};

} // namespace

void shareExponentials(LoopFunction &fn) { Sharer(fn).list(fn.body); }

} // namespace gradc::loops
