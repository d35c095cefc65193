//===- Walk.h - Walking a statement's statements and expressions -*- C++
//-*-===//
//
// Shared by lib/Loops/Parts.cpp and lib/Loops/Share.cpp (internal).
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_LIB_LOOPS_WALK_H
#define GRADC_LIB_LOOPS_WALK_H

#include "gradc/Loops/LoopIR.h"

#include "llvm/ADT/DenseSet.h"

#include <vector>

namespace gradc::loops {

/// Calls `expr` for each expression of `s` (its own, not its body's).
template <typename F> void exprsOf(const Stmt &s, F expr) {
  for (const Expr *e :
       {s.a, s.b, s.work, s.call.m, s.call.n, s.call.k, s.call.lda, s.call.ldb,
        s.call.offA, s.call.offB, s.call.offC})
    if (e)
      expr(e);
  for (const BufferRef &r : s.invoke.args)
    if (r.offset)
      expr(r.offset);
  for (const BufferRef &r : s.invoke.results)
    if (r.offset)
      expr(r.offset);
  for (const Expr *d : s.invoke.dims)
    expr(d);
}

/// Walks the statements of `s` and below, and each distinct expression
/// node they hold (`seen` is shared by the caller across statements).
template <typename S, typename E>
void walk(const Stmt &s, llvm::DenseSet<const Expr *> &seen, S stmt, E expr) {
  std::vector<const Stmt *> todo{&s};
  std::vector<const Expr *> exprs;
  while (!todo.empty()) {
    const Stmt *t = todo.back();
    todo.pop_back();
    stmt(*t);
    exprsOf(*t, [&](const Expr *e) { exprs.push_back(e); });
    while (!exprs.empty()) {
      const Expr *e = exprs.back();
      exprs.pop_back();
      if (!seen.insert(e).second)
        continue;
      expr(*e);
      for (const Expr *a : e->args)
        exprs.push_back(a);
    }
    for (auto it = t->orelse.rbegin(); it != t->orelse.rend(); ++it)
      todo.push_back(&*it);
    for (auto it = t->body.rbegin(); it != t->body.rend(); ++it)
      todo.push_back(&*it);
  }
}

/// Walks `s` like walk(), calling `name(var)` for each variable a statement
/// or an expression names (a loop index, a `let`, an assigned or reduced
/// variable, a read) and `node()` for each statement and expression node.
template <typename N, typename C>
void walkNames(const Stmt &s, llvm::DenseSet<const Expr *> &seen, N name,
               C node) {
  walk(
      s, seen,
      [&](const Stmt &t) {
        node();
        if (t.kind == Stmt::For || t.kind == Stmt::Let ||
            t.kind == Stmt::Assign || t.kind == Stmt::Accumulate)
          name(t.var);
        for (unsigned r : t.reduce)
          name(r);
      },
      [&](const Expr &e) {
        node();
        if (e.kind == Expr::Read)
          name(e.var);
      });
}

} // namespace gradc::loops

#endif
