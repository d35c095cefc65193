//===- Parallel.cpp - Which loops may run on several threads --------------===//
//
// A top-level loop may run its iterations on several threads when they are
// independent:
//  - it holds no kernel call, memset, copy or index check (a thread cannot
//    return early);
//  - every store writes a row of its own iteration: its offset is the
//    loop's index `i`, or the index of an inner loop over a block of i's
//    rows, scaled by a stride, plus in-range inner indices (the row-major
//    offsets the lowering builds), so iterations write disjoint rows;
//    memory written in the loop (an arena slot may hold two values of the
//    same shape, one read and one written) is read back only from the
//    iteration's own rows, through a buffer of the same shape;
//  - every mutable variable it writes is private (assigned, from values not
//    involving itself, before anything else in the iteration uses it) or a
//    float sum that only receives `+=` (a reduction).
// Reductions are split deterministically by the renderers: the iterations
// are cut into as many contiguous blocks as there are threads, each block
// sums from zero, and the blocks' sums are added in block order, so that a
// given thread count always gives the same bits.
//
//===----------------------------------------------------------------------===//
#include "gradc/Loops/LoopBuilder.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <map>
#include <optional>

namespace gradc::loops {

namespace {

/// The memory behind a buffer: views share their operand's kind and index.
std::pair<int, uintptr_t> storage(const Buffer *b) {
  if (b->kind == Buffer::Const)
    return {int(Buffer::Const), uintptr_t(b)};
  return {int(b->kind), b->index};
}

class Analysis {
public:
  Analysis(LoopFunction &fn, Stmt &loop) : fn_(fn), loop_(loop) {}

  bool run() {
    inner_.insert(loop_.var);
    path_.push_back({&loop_.body, 0});
    if (!walk(loop_.body))
      return false;
    return stores() && mutables();
  }

private:
  struct Use {
    bool write, accumulate;
    std::vector<std::pair<const std::vector<Stmt> *, size_t>> path;
  };

  bool walk(const std::vector<Stmt> &body) {
    for (size_t k = 0; k < body.size(); ++k) {
      const Stmt &s = body[k];
      path_.push_back({&body, k});
      switch (s.kind) {
      case Stmt::Call:
      case Stmt::Memset:
      case Stmt::Copy:
      case Stmt::FailIf:
      case Stmt::If:     // a `cond` or
      case Stmt::Invoke: // a `scan` step: run as written
        return false;
      case Stmt::For:
        inner_.insert(s.var);
        block(s);
        expr(s.a);
        expr(s.b);
        if (!walk(s.body))
          return false;
        break;
      case Stmt::Let:
        inner_.insert(s.var);
        expr(s.a);
        break;
      case Stmt::Assign:
      case Stmt::Accumulate:
        expr(s.a);
        uses_[s.var].push_back({true, s.kind == Stmt::Accumulate, path_});
        break;
      case Stmt::Store:
        expr(s.a);
        expr(s.b);
        stores_.push_back(&s);
        break;
      case Stmt::Comment:
        break;
      }
      path_.pop_back();
    }
    return true;
  }

  void expr(const Expr *e) {
    if (e->kind == Expr::Read && fn_.vars[e->var].kind == Var::Mutable)
      uses_[e->var].push_back({false, false, path_});
    if (e->kind == Expr::Load)
      loads_.push_back(e);
    for (const Expr *a : e->args)
      expr(a);
  }

  /// A loop over one block of the iterations of the outer loop or of a
  /// block: for j = i to min(i + step, n), i the outer loop's or a block's
  /// index and step its step (LoopBuilder::chunkedLoops); or, in a loop over
  /// block numbers (step 1), for j = i * c to min(i * c + c, n) (a row
  /// fusion's rows). Blocks of distinct outer iterations are disjoint.
  bool block(const Stmt &s) {
    const Expr *end = s.b;
    if (end->kind == Expr::Min)
      end = end->args[0];
    if (end->kind != Expr::Add || end->args[1]->kind != Expr::Int ||
        !sameExpr(end->args[0], s.a))
      return false;
    int64_t size = end->args[1]->i;
    bool ok = false;
    // Rows of the loop index's own unit (0), or of the rows a block number
    // stands for (1).
    int unit = 0;
    if (s.a->kind == Expr::Read && s.a->var == loop_.var) {
      ok = size == loop_.step;
    } else if (s.a->kind == Expr::Read && blocks_.count(s.a->var)) {
      ok = size == blocks_[s.a->var];
      unit = units_[s.a->var];
    } else if (s.a->kind == Expr::Mul && s.a->args[0]->kind == Expr::Read &&
               s.a->args[0]->var == loop_.var && loop_.step == 1) {
      ok = s.a->args[1]->kind == Expr::Int && s.a->args[1]->i == size;
      unit = 1;
    }
    if (ok) {
      blocks_[s.var] = s.step;
      units_[s.var] = unit;
    }
    return ok;
  }

  /// The unit of the row index at the base of row offset `e` (see block()).
  int unitOf(const Expr *e) const {
    if (e->kind == Expr::Read)
      return e->var == loop_.var ? 0 : units_.lookup(e->var);
    for (const Expr *a : e->args)
      if (std::optional<bool> r = row(a))
        return unitOf(a);
    return 0;
  }

  /// Only constants, symbolic dims and the indices of inner loops.
  bool bounded(const Expr *e) const {
    switch (e->kind) {
    case Expr::Int:
    case Expr::Sym:
      return true;
    case Expr::Read:
      return fn_.vars[e->var].kind == Var::Index && e->var != loop_.var &&
             !blocks_.count(e->var) && inner_.count(e->var);
    case Expr::Add:
    case Expr::Mul:
    case Expr::Min:
      return llvm::all_of(e->args, [&](const Expr *a) { return bounded(a); });
    default:
      return false;
    }
  }
  /// Constants and symbolic dims only.
  static bool stride(const Expr *e) {
    if (e->kind == Expr::Int || e->kind == Expr::Sym)
      return true;
    return e->kind == Expr::Mul &&
           llvm::all_of(e->args, [](const Expr *a) { return stride(a); });
  }
  /// Whether `e` is the loop index, scaled and offset as a row-major
  /// offset: nullopt if not, else whether it was scaled (an offset may be
  /// added only after a scale).
  std::optional<bool> row(const Expr *e) const {
    if (e->kind == Expr::Read && (e->var == loop_.var || blocks_.count(e->var)))
      return false;
    // j + q in a block of step s (q < s): a row of the same block.
    if (e->kind == Expr::Add && e->args[0]->kind == Expr::Read &&
        e->args[1]->kind == Expr::Int && e->args[1]->i >= 0)
      if (auto b = blocks_.find(e->args[0]->var);
          b != blocks_.end() && e->args[1]->i < b->second)
        return false;
    if (e->kind == Expr::Mul || e->kind == Expr::Add)
      for (int k = 0; k < 2; ++k) {
        const Expr *x = e->args[k], *y = e->args[1 - k];
        if (e->kind == Expr::Mul && stride(y))
          if (row(x))
            return true;
        if (e->kind == Expr::Add && bounded(y))
          if (std::optional<bool> r = row(x); r && *r)
            return true;
      }
    return std::nullopt;
  }

  bool stores() {
    std::map<std::pair<int, uintptr_t>, std::vector<const Stmt *>> written;
    for (const Stmt *s : stores_) {
      if (!row(s->a))
        return false;
      auto &w = written[storage(s->buf)];
      if (!w.empty() && (w.front()->buf->dims != s->buf->dims ||
                         unitOf(w.front()->a) != unitOf(s->a)))
        return false;
      w.push_back(s);
    }
    // Memory written in the loop is read back only from the iteration's own
    // rows, through a buffer of the same shape, indexed in the same unit
    // (a block number is not a row of the rows it stands for).
    for (const Expr *l : loads_) {
      auto it = written.find(storage(l->buf));
      if (it == written.end())
        continue;
      const Stmt *w = it->second.front();
      if (w->buf->dims != l->buf->dims || !row(l->args[0]) ||
          unitOf(w->a) != unitOf(l->args[0]))
        return false;
    }
    return true;
  }

  bool mutables() {
    for (auto &[var, uses] : uses_) {
      bool anyWrite = llvm::any_of(uses, [](const Use &u) { return u.write; });
      if (!anyWrite)
        continue; // read only: each thread gets its value
      bool sum = llvm::all_of(uses, [](const Use &u) { return u.accumulate; });
      Scalar t = fn_.vars[var].type;
      if (sum && (t == Scalar::F32 || t == Scalar::F64)) {
        loop_.reduce.push_back(var);
        continue;
      }
      // Private: first an assignment, every other use after it in the same
      // statement list (or inside a later statement of it).
      const Use &first = uses.front();
      if (!first.write || first.accumulate)
        return false;
      size_t depth = first.path.size();
      for (size_t k = 1; k < uses.size(); ++k) {
        const auto &p = uses[k].path;
        if (p.size() < depth ||
            !std::equal(first.path.begin(), first.path.end() - 1, p.begin()) ||
            p[depth - 1].second <= first.path.back().second)
          return false;
      }
    }
    return true;
  }

  LoopFunction &fn_;
  Stmt &loop_;
  llvm::DenseSet<unsigned> inner_;
  llvm::DenseMap<unsigned, int64_t> blocks_; // a block's index -> its step
  llvm::DenseMap<unsigned, int> units_; // a block's index -> its rows' unit
  std::vector<std::pair<const std::vector<Stmt> *, size_t>> path_;
  std::map<unsigned, std::vector<Use>> uses_;
  std::vector<const Stmt *> stores_;
  std::vector<const Expr *> loads_;
};

/// Statements executed by `body`, estimated. A loop whose extent depends on
/// an outer index counts once, except a block `j = v to v + c` (or the min
/// of that and a bound) in steps of s, which counts c / s: unless v is the
/// index of a strided loop counted over its whole extent (a chunk of
/// LoopBuilder::chunkedLoops, whose rows that count already holds).
/// `whole`: the indices of those strided loops.
const Expr *work(ExprBuilder &b, const std::vector<Stmt> &body,
                 llvm::DenseSet<unsigned> &whole) {
  const Expr *w = b.i(0);
  std::function<bool(const Expr *)> invariant = [&](const Expr *e) {
    if (e->kind == Expr::Read || e->kind == Expr::Load)
      return false;
    return llvm::all_of(e->args, invariant);
  };
  for (const Stmt &s : body) {
    if (s.kind == Stmt::Comment)
      continue;
    if (s.kind != Stmt::For) {
      w = b.add(w, b.i(1));
      continue;
    }
    const Expr *end = s.b->kind == Expr::Min ? s.b->args[0] : s.b;
    bool block = end->kind == Expr::Add && end->args[0] == s.a &&
                 end->args[1]->kind == Expr::Int;
    const Expr *n = b.i(1);
    if (invariant(s.b)) {
      n = s.b;
      if (s.step > 1)
        whole.insert(s.var);
    } else if (block && !(s.a->kind == Expr::Read && whole.count(s.a->var))) {
      n = b.i(std::max<int64_t>(1, end->args[1]->i / s.step));
    }
    w = b.add(w, b.mul(n, work(b, s.body, whole)));
  }
  return w;
}

} // namespace

void markParallelLoops(LoopFunction &fn) {
  ExprBuilder b(fn);
  // The mutables each top-level statement uses: a loop's private variables
  // must not be used outside it.
  std::vector<llvm::DenseSet<unsigned>> used(fn.body.size()),
      written(fn.body.size());
  std::function<void(const Expr *, llvm::DenseSet<unsigned> &)> inExpr =
      [&](const Expr *e, llvm::DenseSet<unsigned> &u) {
        if (!e)
          return;
        if (e->kind == Expr::Read)
          u.insert(e->var);
        for (const Expr *a : e->args)
          inExpr(a, u);
      };
  std::function<void(const Stmt &, size_t)> inStmt = [&](const Stmt &s,
                                                         size_t k) {
    if (s.kind == Stmt::Assign || s.kind == Stmt::Accumulate) {
      used[k].insert(s.var);
      written[k].insert(s.var);
    }
    inExpr(s.a, used[k]);
    inExpr(s.b, used[k]);
    for (const Stmt &t : s.body)
      inStmt(t, k);
  };
  for (size_t k = 0; k < fn.body.size(); ++k)
    inStmt(fn.body[k], k);
  for (size_t k = 0; k < fn.body.size(); ++k) {
    Stmt &s = fn.body[k];
    if (s.kind != Stmt::For)
      continue;
    llvm::DenseSet<unsigned> whole;
    if (s.step > 1)
      whole.insert(s.var);
    const Expr *w = b.mul(s.b, work(b, s.body, whole));
    if (w->kind == Expr::Int && w->i < kParallelWork)
      continue;
    bool ok = Analysis(fn, s).run();
    // A variable the loop writes, other than a reduction, is private: no
    // other statement may use it.
    for (unsigned v : written[k])
      if (!llvm::is_contained(s.reduce, v))
        for (size_t j = 0; ok && j < fn.body.size(); ++j)
          if (j != k && used[j].count(v))
            ok = false;
    if (!ok) {
      s.reduce.clear();
      continue;
    }
    s.parallel = true;
    s.work = w;
  }
}

} // namespace gradc::loops
