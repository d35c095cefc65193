//===- LoopIR.cpp - Building and printing the loop IR ---------------------===//
#include "Walk.h"
#include "gradc/Loops/LoopBuilder.h"

#include "gradc/IR/ABI.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/ErrorHandling.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace gradc::loops {

Scalar scalarOf(DType t) {
  return isInt(t) ? Scalar::I64 : t == DType::F32 ? Scalar::F32 : Scalar::F64;
}

llvm::StringRef scalarName(Scalar s) {
  switch (s) {
  case Scalar::I1:
    return "i1";
  case Scalar::I64:
    return "i64";
  case Scalar::F32:
    return "f32";
  case Scalar::F64:
    return "f64";
  }
  llvm_unreachable("scalar type");
}

Uses usesOf(llvm::ArrayRef<Stmt> body) {
  Uses u;
  llvm::DenseSet<const Buffer *> bufs;
  llvm::StringSet<> syms;
  llvm::DenseSet<const Expr *> seen;
  auto buffer = [&](const Buffer *b) {
    if (b && bufs.insert(b).second)
      u.buffers.push_back(b);
  };
  for (const Stmt &s : body)
    walk(
        s, seen,
        [&](const Stmt &t) {
          buffer(t.buf);
          buffer(t.src);
          if (t.kind == Stmt::Call) {
            buffer(t.call.a);
            buffer(t.call.b);
            buffer(t.call.c);
          }
          if (t.kind == Stmt::Invoke) {
            for (const BufferRef &r : t.invoke.args)
              buffer(r.buf);
            for (const BufferRef &r : t.invoke.results)
              buffer(r.buf);
            for (const Buffer *b : t.invoke.slots)
              buffer(b);
          }
        },
        [&](const Expr &e) {
          if (e.kind == Expr::Load)
            buffer(e.buf);
          if (e.kind == Expr::Sym && syms.insert(e.sym).second)
            u.syms.push_back(e.sym);
        });
  return u;
}

Uses usesOf(const Stmt &s) { return usesOf(llvm::ArrayRef<Stmt>(&s, 1)); }

std::vector<const Buffer *> sharedParams(const Stmt &s) {
  std::vector<const Buffer *> params;
  for (const Buffer *b : usesOf(s).buffers)
    if (b->kind != Buffer::Const)
      params.push_back(b);
  return params;
}

const Buffer *LoopFunction::arg(unsigned i) const {
  for (const auto &b : buffers)
    if (b->kind == Buffer::Arg && b->index == i)
      return b.get();
  return nullptr;
}

const Buffer *LoopFunction::result(unsigned i) const {
  for (const auto &b : buffers)
    if (b->kind == Buffer::Result && b->index == i)
      return b.get();
  return nullptr;
}

std::vector<std::pair<size_t, size_t>> LoopFunction::parts() const {
  std::vector<std::pair<size_t, size_t>> r;
  size_t begin = 0;
  for (size_t c : cuts) {
    r.push_back({begin, c});
    begin = c;
  }
  r.push_back({begin, body.size()});
  return r;
}

// --- ExprBuilder -------------------------------------------------------------

Expr &ExprBuilder::make(Expr::Kind k, Scalar t,
                        llvm::ArrayRef<const Expr *> args) {
  Expr &e = fn_.exprs.emplace_back();
  e.kind = k;
  e.type = t;
  e.args.assign(args.begin(), args.end());
  return e;
}

const Expr *ExprBuilder::i(int64_t v) {
  if (v >= 0 && v < 8) {
    if (small_.empty())
      for (int64_t k = 0; k < 8; ++k)
        small_.push_back(
            &(make(Expr::Int, Scalar::I64).i = k, fn_.exprs.back()));
    return small_[v];
  }
  Expr &e = make(Expr::Int, Scalar::I64);
  e.i = v;
  return &e;
}

const Expr *ExprBuilder::f(double v, Scalar t) {
  if (t == Scalar::I64)
    return i(std::isinf(v) ? (v < 0 ? INT64_MIN : INT64_MAX) : int64_t(v));
  Expr &e = make(Expr::Float, t);
  e.f = v;
  return &e;
}

const Expr *ExprBuilder::sym(llvm::StringRef name) {
  Expr &e = make(Expr::Sym, Scalar::I64);
  e.sym = name.str();
  return &e;
}

const Expr *ExprBuilder::read(unsigned var) {
  Expr &e = make(Expr::Read, fn_.vars[var].type);
  e.var = var;
  return &e;
}

const Expr *ExprBuilder::load(const Buffer *b, const Expr *offset) {
  Expr &e = make(Expr::Load, scalarOf(b->dtype), {offset});
  e.buf = b;
  return &e;
}

static bool isInt(const Expr *e, int64_t v) {
  return e->kind == Expr::Int && e->i == v;
}

const Expr *ExprBuilder::add(const Expr *a, const Expr *b) {
  if (isInt(a, 0))
    return b;
  if (isInt(b, 0))
    return a;
  if (a->kind == Expr::Int && b->kind == Expr::Int)
    return i(a->i + b->i);
  return &make(Expr::Add, Scalar::I64, {a, b});
}

const Expr *ExprBuilder::mul(const Expr *a, const Expr *b) {
  if (isInt(a, 0) || isInt(b, 0))
    return i(0);
  if (isInt(a, 1))
    return b;
  if (isInt(b, 1))
    return a;
  if (a->kind == Expr::Int && b->kind == Expr::Int)
    return i(a->i * b->i);
  return &make(Expr::Mul, Scalar::I64, {a, b});
}

const Expr *ExprBuilder::sadd(const Expr *a, const Expr *b) {
  return &make(Expr::SAdd, Scalar::I64, {a, b});
}

const Expr *ExprBuilder::ilt(const Expr *a, const Expr *b) {
  return &make(Expr::ILt, Scalar::I1, {a, b});
}

const Expr *ExprBuilder::ieq(const Expr *a, const Expr *b) {
  return &make(Expr::IEq, Scalar::I1, {a, b});
}

const Expr *ExprBuilder::nonZero(const Expr *a) {
  return &make(Expr::NonZero, Scalar::I1, {a});
}

const Expr *ExprBuilder::min(const Expr *a, const Expr *b) {
  return &make(Expr::Min, Scalar::I64, {a, b});
}

const Expr *ExprBuilder::apply(OpKind k, llvm::ArrayRef<const Expr *> args,
                               bool wrap32) {
  Expr &e = make(Expr::Apply, args.back()->type, args);
  e.op = k;
  e.i = wrap32 && e.type == Scalar::I64 ? 32 : 0;
  return &e;
}

const Expr *ExprBuilder::cast(const Expr *a, Scalar to) {
  if (a->type == to)
    return a;
  if (a->kind == Expr::Float)
    return f(a->f, to);
  if (a->kind == Expr::Int && (to == Scalar::F32 || to == Scalar::F64))
    return f(double(a->i), to);
  return &make(Expr::Cast, to, {a});
}

const Expr *ExprBuilder::maxStep(const Expr *acc, const Expr *x) {
  return &make(Expr::MaxStep, acc->type, {acc, x});
}

const Expr *ExprBuilder::isNewMax(const Expr *x, const Expr *best,
                                  const Expr *at) {
  return &make(Expr::IsNewMax, Scalar::I1, {x, best, at});
}

const Expr *ExprBuilder::expShifted(const Expr *x, const Expr *m) {
  return &make(Expr::ExpShifted, x->type, {x, m});
}

const Expr *ExprBuilder::logSumExp(const Expr *m, const Expr *s) {
  return &make(Expr::LogSumExp, m->type, {m, s});
}

const Expr *ExprBuilder::shared(OpKind k, const Expr *x, const Expr *e,
                                const Expr *u, const Expr *r) {
  Expr &s = make(Expr::Shared, x->type, {x, e, u, r});
  s.op = k;
  return &s;
}

const Expr *ExprBuilder::select(const Expr *c, const Expr *a, const Expr *b) {
  return &make(Expr::Select, a->type, {c, a, b});
}

std::vector<const Expr *> ExprBuilder::shape(const std::vector<Dim> &dims) {
  std::vector<const Expr *> s;
  for (const Dim &d : dims)
    s.push_back(dim(d));
  return s;
}

const Expr *ExprBuilder::product(llvm::ArrayRef<const Expr *> dims) {
  const Expr *n = i(1);
  for (const Expr *d : dims)
    n = mul(n, d);
  return n;
}

const Expr *ExprBuilder::linear(llvm::ArrayRef<const Expr *> idx,
                                llvm::ArrayRef<const Expr *> shape) {
  const Expr *off = i(0);
  for (size_t k = 0; k < idx.size(); ++k)
    off = add(mul(off, shape[k]), idx[k]);
  return off;
}

// --- LoopBuilder -------------------------------------------------------------

Stmt &LoopBuilder::emit(Stmt::Kind k) {
  Stmt &s = scopes_.back()->emplace_back();
  s.kind = k;
  return s;
}

unsigned LoopBuilder::newVar(Var::Kind k, Scalar t, llvm::StringRef name) {
  std::string n = name.str();
  // Mutable variables live in the whole function: distinct names.
  if (k == Var::Mutable)
    for (unsigned s = 1; !mutableNames_.insert(n).second; ++s)
      n = name.str() + "." + std::to_string(s);
  fn_.vars.push_back({k, t, n});
  return fn_.vars.size() - 1;
}

void LoopBuilder::store(const Value *v, Index idx, const Expr *x) {
  storeAt(bufferOf(v), linear(idx, shape(v->type.dims)), x);
}

void LoopBuilder::storeAt(const Buffer *b, const Expr *offset, const Expr *x,
                          bool contract) {
  Stmt &s = emit(Stmt::Store);
  s.buf = b;
  s.a = offset;
  s.b = x;
  s.contract = contract;
}

void LoopBuilder::forLoop(const Expr *begin, const Expr *end, int64_t step,
                          llvm::function_ref<void(const Expr *)> body) {
  unsigned v =
      newVar(Var::Index, Scalar::I64, "i" + std::to_string(loopDepth_));
  Stmt &s = emit(Stmt::For);
  s.var = v;
  s.a = begin;
  s.b = end;
  s.step = step;
  scopes_.push_back(&s.body);
  ++loopDepth_;
  enterScope();
  body(read(v));
  exitScope();
  --loopDepth_;
  scopes_.pop_back();
}

void LoopBuilder::loops(Index extents, llvm::function_ref<void(Index)> body) {
  // Iterative: one level per extent, innermost last.
  std::vector<const Expr *> idx;
  std::function<void(size_t)> level = [&](size_t k) {
    if (k == extents.size())
      return body(idx);
    if (isInt(extents[k], 1)) {
      idx.push_back(i(0));
      level(k + 1);
      idx.pop_back();
      return;
    }
    forLoop(i(0), extents[k], 1, [&](const Expr *iv) {
      idx.push_back(iv);
      level(k + 1);
      idx.pop_back();
    });
  };
  level(0); // depth: the rank, at most 8
}

void LoopBuilder::chunkedLoops(Index extents,
                               llvm::function_ref<void(Index)> body,
                               const Chunking *chunk) {
  if (!chunk)
    return loops(extents, body);
  if (extents.empty()) { // one element (a scalar), one block
    chunk->begin();
    body({});
    chunk->end();
    return;
  }
  const Expr *n = extents.back();
  loops(extents.drop_back(), [&](Index outer) {
    forLoop(i(0), n, kChunk, [&](const Expr *c) {
      chunk->begin();
      // A whole number of chunks: every chunk is full, and says so (a
      // known trip count needs no vector epilogue or scalar remainder).
      bool whole = n->kind == Expr::Int && n->i % kChunk == 0;
      const Expr *stop = whole ? add(c, i(kChunk)) : min(add(c, i(kChunk)), n);
      forLoop(c, stop, 1, [&](const Expr *j) {
        std::vector<const Expr *> idx(outer.begin(), outer.end());
        idx.push_back(j);
        body(idx);
      });
      chunk->end();
    });
  });
}

void LoopBuilder::reductionLoops(
    const Value *x, llvm::ArrayRef<int64_t> axes,
    llvm::function_ref<void(Index)> begin, llvm::function_ref<void(Index)> step,
    llvm::function_ref<void(Index, const Expr *)> end, const Chunking *chunk) {
  std::vector<const Expr *> sh = shape(x->type.dims), keptDims, redDims;
  std::vector<unsigned> kept, reduced;
  for (unsigned k = 0; k < x->type.rank(); ++k) {
    bool r = llvm::is_contained(axes, int64_t(k));
    (r ? reduced : kept).push_back(k);
    (r ? redDims : keptDims).push_back(sh[k]);
  }
  loops(keptDims, [&](Index kidx) {
    begin(kidx);
    auto visit = [&](Index ridx) {
      std::vector<const Expr *> full(x->type.rank());
      for (size_t k = 0; k < kept.size(); ++k)
        full[kept[k]] = kidx[k];
      for (size_t k = 0; k < reduced.size(); ++k)
        full[reduced[k]] = ridx[k];
      step(full);
    };
    chunkedLoops(redDims, visit, chunk);
    end(kidx, linear(kidx, keptDims));
  });
}

std::vector<const Expr *> LoopBuilder::mapIndex(Index idx, const Type &t,
                                                const Type &u) {
  std::vector<const Expr *> out;
  size_t off = t.rank() - u.rank();
  for (size_t j = 0; j < u.rank(); ++j)
    out.push_back(u.dims[j].isOne() && !t.dims[j + off].isOne() ? i(0)
                                                                : idx[j + off]);
  return out;
}

const Expr *LoopBuilder::let(llvm::StringRef name, const Expr *x) {
  unsigned v = newVar(Var::Let, x->type, name);
  Stmt &s = emit(Stmt::Let);
  s.var = v;
  s.a = x;
  return read(v);
}

unsigned LoopBuilder::local(llvm::StringRef name, Scalar t) {
  return newVar(Var::Mutable, t, name);
}

void LoopBuilder::assign(unsigned var, const Expr *x) {
  Stmt &s = emit(Stmt::Assign);
  s.var = var;
  s.a = x;
}

void LoopBuilder::accumulate(unsigned var, const Expr *x, bool contract) {
  Stmt &s = emit(Stmt::Accumulate);
  s.var = var;
  s.a = cast(x, fn_.vars[var].type);
  s.contract = contract;
}

void LoopBuilder::call(const KernelCall &c,
                       llvm::function_ref<void()> fallback) {
  Stmt &s = emit(Stmt::Call);
  s.call = c;
  if (!options().kernelFallback)
    return;
  scopes_.push_back(&s.body);
  enterScope();
  fallback();
  exitScope();
  scopes_.pop_back();
}

void LoopBuilder::failIf(const Expr *cond) { emit(Stmt::FailIf).a = cond; }

void LoopBuilder::ifElse(const Expr *cond, llvm::function_ref<void()> then,
                         llvm::function_ref<void()> orelse) {
  Stmt &s = emit(Stmt::If);
  s.a = cond;
  for (auto [branch, body] : {std::pair{&s.body, then}, {&s.orelse, orelse}}) {
    scopes_.push_back(branch);
    enterScope();
    body();
    exitScope();
    scopes_.pop_back();
  }
}

void LoopBuilder::invoke(unsigned k, std::vector<BufferRef> args,
                         llvm::ArrayRef<Type> argTypes,
                         std::vector<BufferRef> results) {
  const LoopFunction &callee = *fn_.callees[k];
  const Function &g = *callee.source;
  // The callee's symbols, as the caller's dims.
  llvm::StringMap<Dim> bound;
  for (size_t a = 0; a < g.args.size() && a < argTypes.size(); ++a) {
    const std::vector<Dim> &want = g.args[a]->type.dims;
    for (size_t d = 0; d < want.size() && d < argTypes[a].dims.size(); ++d)
      if (want[d].isSym())
        bound.try_emplace(want[d].sym, argTypes[a].dims[d]);
  }
  auto subst = [&](std::vector<Dim> dims) {
    for (Dim &d : dims)
      if (d.isSym())
        if (auto it = bound.find(d.sym); it != bound.end())
          d = it->second;
    return dims;
  };
  Invocation iv;
  iv.callee = k;
  iv.args = std::move(args);
  iv.results = std::move(results);
  for (const std::string &sy : symbolicDims(g))
    iv.dims.push_back(dim(bound.lookup(sy)));
  // The callee's arena: slots of the caller's, sized for these dims.
  for (size_t sl = 0; sl < callee.slots.size(); ++sl)
    iv.slots.push_back(scratch(g.name + ".slot" + std::to_string(sl),
                               callee.slots[sl].dtype,
                               subst(callee.slots[sl].dims)));
  emit(Stmt::Invoke).invoke = std::move(iv);
}

const Expr *LoopBuilder::checkedIndex(const Expr *index, const Expr *size) {
  const Expr *idx = let("idx", index);
  failIf(ilt(sadd(idx, size), i(0)));  // idx < -size
  failIf(ilt(sadd(size, i(-1)), idx)); // idx >= size
  return let("at", select(ilt(idx, i(0)), sadd(idx, size), idx));
}

void LoopBuilder::memset(const Buffer *b, const Expr *count) {
  Stmt &s = emit(Stmt::Memset);
  s.buf = b;
  s.a = count;
}

void LoopBuilder::copy(const Buffer *dst, const Buffer *src,
                       const Expr *count) {
  Stmt &s = emit(Stmt::Copy);
  s.buf = dst;
  s.src = src;
  s.a = count;
}

void LoopBuilder::comment(const llvm::Twine &text) {
  emit(Stmt::Comment).text = text.str();
}

// --- Printing ----------------------------------------------------------------

namespace {

std::string dimsText(const std::vector<Dim> &dims) {
  std::string s = "[";
  for (size_t k = 0; k < dims.size(); ++k)
    s += (k ? "," : "") +
         (dims[k].isSym() ? dims[k].sym : std::to_string(dims[k].size));
  return s + "]";
}

class Printer {
public:
  Printer(const LoopFunction &fn, llvm::raw_ostream &os) : fn(fn), os(os) {}

  std::string var(unsigned v) { return "%" + fn.vars[v].name; }

  // Expressions print as nested calls; their depth is bounded (lets break
  // fused chains), so recursion is fine here.
  std::string expr(const Expr *e) {
    auto args = [&](llvm::StringRef name) {
      std::string s = name.str() + "(";
      for (size_t k = 0; k < e->args.size(); ++k)
        s += (k ? ", " : "") + expr(e->args[k]);
      return s + ")";
    };
    switch (e->kind) {
    case Expr::Int:
      return std::to_string(e->i);
    case Expr::Float:
      return fmt::format("{}", e->f) +
             (e->type == Scalar::F32 ? std::string("f") : std::string());
    case Expr::Sym:
      return e->sym;
    case Expr::Read:
      return var(e->var);
    case Expr::Load:
      return "%" + e->buf->name + "[" + expr(e->args[0]) + "]";
    case Expr::Add:
      return "(" + expr(e->args[0]) + " + " + expr(e->args[1]) + ")";
    case Expr::Mul:
      return expr(e->args[0]) + "*" + expr(e->args[1]);
    case Expr::Min:
      return args("min");
    case Expr::Apply:
      return args(mnemonic(e->op).str() + (e->i == 32 ? ".i32" : ""));
    case Expr::Cast:
      return args(scalarName(e->type));
    case Expr::MaxStep:
      return args("max_step");
    case Expr::IsNewMax:
      return args("is_new_max");
    case Expr::ExpShifted:
      return args("exp_shifted");
    case Expr::LogSumExp:
      return args("log_sum_exp");
    case Expr::Select:
      return args("select");
    case Expr::SAdd:
      return "(" + expr(e->args[0]) + " +s " + expr(e->args[1]) + ")";
    case Expr::ILt:
      return "(" + expr(e->args[0]) + " < " + expr(e->args[1]) + ")";
    case Expr::IEq:
      return "(" + expr(e->args[0]) + " == " + expr(e->args[1]) + ")";
    case Expr::NonZero:
      return args("nonzero");
    case Expr::Shared:
      return args(mnemonic(e->op).str() + ".shared");
    }
    llvm_unreachable("expression kind");
  }

  void stmts(llvm::ArrayRef<Stmt> body, unsigned indent) {
    std::string pad(indent * 2, ' ');
    for (const Stmt &s : body) {
      os << pad;
      switch (s.kind) {
      case Stmt::For:
        // One function per shared nest, called with these buffers and dims
        // (Stmt::shared).
        if (s.shared) {
          os << "shared " << s.shared << " (";
          Uses u = usesOf(s);
          std::vector<std::string> params;
          for (const Buffer *b : sharedParams(s))
            params.push_back("%" + b->name);
          params.insert(params.end(), u.syms.begin(), u.syms.end());
          os << llvm::join(params, ", ") << ") ";
        }
        os << (s.parallel ? "parallel for " : "for ") << var(s.var) << " = "
           << expr(s.a) << " to " << expr(s.b);
        if (s.step != 1)
          os << " step " << s.step;
        for (size_t k = 0; k < s.reduce.size(); ++k)
          os << (k ? ", " : " reduce ") << var(s.reduce[k]);
        os << " {\n";
        stmts(s.body, indent + 1);
        os << pad << "}\n";
        continue;
      case Stmt::Let:
        os << "let " << var(s.var) << " = " << expr(s.a);
        break;
      case Stmt::Assign:
        os << var(s.var) << " = " << expr(s.a);
        break;
      case Stmt::Accumulate:
        os << var(s.var) << " += " << expr(s.a) << (s.contract ? " (fma)" : "");
        break;
      case Stmt::Store:
        os << "%" << s.buf->name << "[" << expr(s.a) << "] = " << expr(s.b)
           << (s.contract ? " (fma)" : "");
        break;
      case Stmt::Call: {
        const KernelCall &c = s.call;
        std::string p = c.dtype == DType::F32 ? "s" : "d";
        auto t = [](bool x) { return x ? "T" : "N"; };
        auto at = [&](const Expr *off) {
          return off ? " + " + expr(off) : std::string();
        };
        if (c.kind == KernelCall::Gemm)
          os << p << "gemm." << t(c.transA) << t(c.transB) << " %" << c.c->name
             << at(c.offC) << "[" << expr(c.m) << "," << expr(c.n) << "] "
             << (c.accumulate ? "+=" : "=") << " %" << c.a->name << at(c.offA)
             << " (ld " << expr(c.lda) << "), %" << c.b->name << at(c.offB)
             << " (ld " << expr(c.ldb) << "), k " << expr(c.k);
        else if (c.kind == KernelCall::Gemv)
          os << p << "gemv." << t(c.transA) << " %" << c.c->name << " = %"
             << c.a->name << "[" << expr(c.m) << "," << expr(c.n) << "] (ld "
             << expr(c.lda) << "), %" << c.b->name;
        else
          os << p << "dot %" << c.c->name << " = %" << c.a->name << ", %"
             << c.b->name << " over " << expr(c.m);
        if (!s.body.empty()) {
          os << " or {\n";
          stmts(s.body, indent + 1);
          os << pad << "}";
        }
        break;
      }
      case Stmt::Memset:
        os << "memset %" << s.buf->name << "[0 to " << expr(s.a) << "]";
        break;
      case Stmt::Copy:
        os << "copy %" << s.buf->name << "[0 to " << expr(s.a) << "] = %"
           << s.src->name;
        break;
      case Stmt::Comment:
        os << "// " << s.text;
        break;
      case Stmt::FailIf:
        os << "fail_if " << expr(s.a);
        break;
      case Stmt::If:
        os << "if " << expr(s.a) << " {\n";
        stmts(s.body, indent + 1);
        if (!s.orelse.empty()) {
          os << pad << "} else {\n";
          stmts(s.orelse, indent + 1);
        }
        os << pad << "}\n";
        continue;
      case Stmt::Invoke: {
        const Invocation &iv = s.invoke;
        auto ref = [&](const BufferRef &r) {
          return "%" + r.buf->name +
                 (r.offset ? " + " + expr(r.offset) : std::string());
        };
        os << "invoke " << labels->lookup(fn.callees[iv.callee].get()) << " @"
           << fn.callees[iv.callee]->source->name << "(";
        for (size_t k = 0; k < iv.args.size(); ++k)
          os << (k ? ", " : "") << ref(iv.args[k]);
        os << ") -> (";
        for (size_t k = 0; k < iv.results.size(); ++k)
          os << (k ? ", " : "") << ref(iv.results[k]);
        os << ")";
        std::vector<std::string> syms =
            symbolicDims(*fn.callees[iv.callee]->source);
        for (size_t k = 0; k < iv.dims.size(); ++k)
          os << (k ? ", " : " dims ") << syms[k] << " = " << expr(iv.dims[k]);
        for (size_t k = 0; k < iv.slots.size(); ++k)
          os << (k ? ", " : " arena ") << "%" << iv.slots[k]->name;
        break;
      }
      }
      os << "\n";
    }
  }

  void print() {
    const Function &f = *fn.source;
    os << "loops @" << f.name;
    if (std::string l = labels->lookup(&fn); l != "callee")
      os << " (" << l << ")";
    // Results computed in their arguments' memory.
    for (unsigned k = 0, n = 0; k < 64; ++k)
      if (fn.inPlace >> k & 1)
        os << (n++ ? ", " : " in place ") << k;
    os << " {\n";
    for (const auto &b : fn.buffers) {
      os << "  buffer %" << b->name << ": " << dtypeName(b->dtype)
         << dimsText(b->dims) << ", ";
      switch (b->kind) {
      case Buffer::Arg:
        os << "arg " << b->index;
        break;
      case Buffer::Result:
        os << "result " << b->index;
        break;
      case Buffer::Const:
        os << "const";
        break;
      case Buffer::Arena:
        os << "slot " << b->index;
        break;
      }
      os << "\n";
    }
    for (size_t k = 0; k < fn.slots.size(); ++k)
      os << "  slot " << k << ": " << dtypeName(fn.slots[k].dtype)
         << dimsText(fn.slots[k].dims) << "\n";
    for (size_t k = 0; k < fn.vars.size(); ++k)
      if (fn.vars[k].kind == Var::Mutable)
        os << "  var " << var(k) << ": " << scalarName(fn.vars[k].type) << "\n";
    if (fn.cuts.empty()) {
      stmts(fn.body, 1);
    } else {
      // A function of its own per part (LoopFunction::cuts).
      std::vector<std::pair<size_t, size_t>> parts = fn.parts();
      for (size_t k = 0; k < parts.size(); ++k) {
        auto [begin, end] = parts[k];
        os << "  part " << k << " {\n";
        stmts(llvm::ArrayRef(fn.body).slice(begin, end - begin), 2);
        os << "  }\n";
      }
    }
    os << "}\n";
  }

  /// How invocations name each function: `callee` for the function
  /// printed, `callee.0` for its first callee, `callee.0.1` for that one's
  /// second, and so on (a function invoked from several places by the
  /// first path found, breadth first).
  llvm::DenseMap<const LoopFunction *, std::string> *labels = nullptr;

private:
  const LoopFunction &fn;
  llvm::raw_ostream &os;
};

} // namespace

void LoopFunction::print(llvm::raw_ostream &os) const {
  // This function, then each function it invokes (transitively) once.
  llvm::DenseMap<const LoopFunction *, std::string> labels;
  std::vector<const LoopFunction *> order = {this};
  labels[this] = "callee";
  for (size_t i = 0; i < order.size(); ++i)
    for (size_t k = 0; k < order[i]->callees.size(); ++k) {
      const LoopFunction *c = order[i]->callees[k].get();
      if (labels.try_emplace(c, labels[order[i]] + "." + std::to_string(k))
              .second)
        order.push_back(c);
    }
  for (const LoopFunction *f : order) {
    Printer p(*f, os);
    p.labels = &labels;
    p.print();
  }
}

bool sameExpr(const Expr *a, const Expr *b) {
  if (a == b)
    return true;
  if (a->kind != b->kind || a->type != b->type || a->op != b->op ||
      a->i != b->i || std::memcmp(&a->f, &b->f, sizeof(double)) != 0 ||
      a->var != b->var || a->buf != b->buf || a->sym != b->sym ||
      a->args.size() != b->args.size())
    return false;
  for (size_t k = 0; k < a->args.size(); ++k) // depth: bounded by fusion
    if (!sameExpr(a->args[k], b->args[k]))
      return false;
  return true;
}

} // namespace gradc::loops
