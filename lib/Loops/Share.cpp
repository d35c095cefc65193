//===- Share.cpp - One function for loop nests that repeat ----------------===//
//
// A deep model lowers to the same loop nests again and again: W5's eight
// layers (batch 32, width 64) give eight `tanh(a + b)` nests, seven nests of
// the tanh derivative and eight column sums that differ only in the buffers
// they read and write. Rendered in place, LLVM optimizes, vectorizes and
// generates code for every copy, which made its JIT compile three times the
// 50 ms target.
//
// shareNests numbers the top-level loop nests of a set of functions (a
// module's) that are equal up to their buffers, symbolic dims and variable
// names and occur at least twice (Stmt::shared). A renderer compiles one
// function per number, whose parameters are the nest's buffers (in order of
// first use, sharedParams) and symbolic dims, and calls it at each place.
// Since each buffer is a parameter of its own, the function's pointers are
// noalias: its loops vectorize without run-time overlap checks.
//
// A nest is shared only if it is self-contained -- no scalar variable it
// names is named by another top-level statement -- and holds no statement
// that leaves the function (FailIf) or invokes another function (Invoke),
// and if its buffers are distinct memory (no two views of one slot).
//
//===----------------------------------------------------------------------===//
#include "Walk.h"

#include "gradc/Loops/LoopIR.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <map>

namespace gradc::loops {

namespace {

/// The canonical text of a top-level statement: equal texts, equal code up
/// to the buffers (numbered by first use), symbolic dims and variables
/// (numbered by first mention). Empty if the statement cannot be shared.
class KeyWriter {
public:
  KeyWriter(const LoopFunction &fn, const Stmt &s) : fn_(fn) {
    Uses u = usesOf(s);
    for (const Buffer *b : u.buffers)
      buf_.try_emplace(b, buf_.size());
    for (const std::string &d : u.syms)
      sym_.try_emplace(d, sym_.size());
    // Distinct memory: no two buffers of one slot (or argument, output).
    std::map<std::pair<int, unsigned>, const Buffer *> mem;
    for (const Buffer *b : u.buffers) {
      if (b->kind == Buffer::Const) {
        // A constant is rendered by its elements, not passed.
        os_ << "c" << dtypeName(b->dtype) << "[";
        if (b->data->data.size() <= 64)
          for (double x : b->data->data)
            os_ << bits(x) << ",";
        else
          os_ << b->data;
        os_ << "]";
        continue;
      }
      os_ << "b" << dtypeName(b->dtype) << ";";
      if (!mem.try_emplace({int(b->kind), b->index}, b).second)
        ok_ = false;
    }
    os_ << "|";
    stmt(s);
  }

  /// The key, or "" if the statement cannot be shared.
  std::string take() {
    os_.flush();
    return ok_ ? std::move(key_) : std::string();
  }

private:
  static uint64_t bits(double x) {
    uint64_t u;
    std::memcpy(&u, &x, 8);
    return u;
  }

  void var(unsigned v) {
    auto [it, fresh] = var_.try_emplace(v, var_.size());
    os_ << "v" << it->second;
    if (fresh)
      os_ << ":" << int(fn_.vars[v].kind) << int(fn_.vars[v].type);
  }

  void buffer(const Buffer *b) {
    if (b)
      os_ << "B" << buf_.lookup(b);
    else
      os_ << "_";
  }

  void expr(const Expr *e) {
    if (!e) {
      os_ << "_";
      return;
    }
    os_ << "(" << int(e->kind) << "," << int(e->type);
    switch (e->kind) {
    case Expr::Int:
      os_ << "," << e->i;
      break;
    case Expr::Float:
      os_ << "," << bits(e->f);
      break;
    case Expr::Sym:
      os_ << ",D" << sym_.lookup(e->sym);
      break;
    case Expr::Read:
      os_ << ",";
      var(e->var);
      break;
    case Expr::Load:
      os_ << ",";
      buffer(e->buf);
      break;
    case Expr::Apply:
    case Expr::Shared:
      os_ << "," << int(e->op) << "," << e->i;
      break;
    default:
      break;
    }
    for (const Expr *a : e->args) {
      os_ << " ";
      expr(a);
    }
    os_ << ")";
  }

  void stmts(llvm::ArrayRef<Stmt> body) {
    os_ << "{";
    for (const Stmt &t : body)
      stmt(t);
    os_ << "}";
  }

  void stmt(const Stmt &s) {
    if (s.kind == Stmt::FailIf || s.kind == Stmt::Invoke)
      ok_ = false;
    if (s.kind == Stmt::Comment)
      return; // renders to nothing, whatever it says
    os_ << "[" << int(s.kind) << ",";
    if (s.kind == Stmt::For || s.kind == Stmt::Let || s.kind == Stmt::Assign ||
        s.kind == Stmt::Accumulate)
      var(s.var);
    os_ << ",";
    expr(s.a);
    expr(s.b);
    os_ << "," << s.step << ",";
    buffer(s.buf);
    buffer(s.src);
    if (s.kind == Stmt::Call) {
      const KernelCall &c = s.call;
      os_ << "," << int(c.kind) << dtypeName(c.dtype) << c.transA << c.transB
          << c.accumulate;
      for (const Expr *e :
           {c.m, c.n, c.k, c.lda, c.ldb, c.offA, c.offB, c.offC})
        expr(e);
      for (const Buffer *b : {c.a, c.b, c.c})
        buffer(b);
    }
    os_ << "," << s.parallel << s.contract;
    for (unsigned r : s.reduce)
      var(r);
    expr(s.work);
    stmts(s.body);
    stmts(s.orelse);
    os_ << "]";
  }

  const LoopFunction &fn_;
  llvm::DenseMap<const Buffer *, unsigned> buf_;
  llvm::StringMap<unsigned> sym_;
  llvm::DenseMap<unsigned, unsigned> var_;
  std::string key_;
  llvm::raw_string_ostream os_{key_};
  bool ok_ = true;
};

/// For each top-level statement of `fn`: no variable it names is named by
/// another top-level statement.
std::vector<bool> selfContained(const LoopFunction &fn) {
  size_t n = fn.body.size();
  // The top-level statements that name each variable (SIZE_MAX: several).
  std::vector<size_t> owner(fn.vars.size(), n);
  std::vector<std::vector<unsigned>> named(n);
  for (size_t i = 0; i < n; ++i) {
    llvm::DenseSet<const Expr *> seen;
    auto use = [&](unsigned v) {
      if (owner[v] == n)
        owner[v] = i;
      else if (owner[v] != i)
        owner[v] = SIZE_MAX;
      named[i].push_back(v);
    };
    walkNames(fn.body[i], seen, use, [] {});
  }
  std::vector<bool> alone(n);
  for (size_t i = 0; i < n; ++i)
    alone[i] =
        llvm::all_of(named[i], [&](unsigned v) { return owner[v] == i; });
  return alone;
}

} // namespace

std::string sharedKey(const LoopFunction &fn, const Stmt &s) {
  if (s.kind != Stmt::For)
    return "";
  return KeyWriter(fn, s).take();
}

unsigned shareNests(llvm::ArrayRef<LoopFunction *> fns) {
  llvm::StringMap<std::vector<Stmt *>> classes;
  std::vector<llvm::StringRef> order; // keys in order of first occurrence
  for (LoopFunction *fn : fns) {
    std::vector<bool> alone = selfContained(*fn);
    for (size_t i = 0; i < fn->body.size(); ++i) {
      Stmt &s = fn->body[i];
      s.shared = 0;
      if (!alone[i])
        continue;
      std::string key = sharedKey(*fn, s);
      if (key.empty())
        continue;
      auto it = classes.try_emplace(key).first;
      if (it->second.empty())
        order.push_back(it->first());
      it->second.push_back(&s);
    }
  }
  unsigned count = 0;
  for (llvm::StringRef key : order) {
    std::vector<Stmt *> &members = classes[key];
    if (members.size() < 2)
      continue;
    ++count;
    for (Stmt *s : members)
      s->shared = count;
  }
  return count;
}

} // namespace gradc::loops
