//===- CppEmitter.cpp - C++ source for a module --------------------------===//
//
// Writes readable C++17 for a verified module: one function per IR function
// under the C ABI of gradc/IR/ABI.h. Each function is lowered to the loop IR
// (gradc/Loops/Lower.h), which has decided fusion, loop groups, storage and
// every op's loops, and rendered here statement by statement: buffers are
// the parameters, static arrays and one std::vector per arena slot; a `let`
// is a `const` local; an elementwise op's formula is its OpDef's C++ (an
// operator or a `gir::` template of the prelude); a kernel call is a CBLAS
// call under `#ifdef GRADC_USE_CBLAS`, with its loops under `#else`. Each
// block keeps its IR line as a comment, and C++ names are the IR's.
//
//===----------------------------------------------------------------------===//
#include "gradc/CppGen/CppEmitter.h"
#include "gradc/IR/ABI.h"
#include "gradc/Loops/Lower.h"
#include "gradc/Ops/OpDef.h"

#include "Prelude.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/ErrorHandling.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <utility>

namespace gradc {
namespace cppgen {

using loops::Buffer;
using loops::Expr;
using loops::LoopFunction;
using loops::Scalar;
using loops::Stmt;

static const char *const kKeywords[] = {
    "alignas",   "alignof",  "and",      "asm",       "auto",    "bool",
    "break",     "case",     "catch",    "char",      "class",   "const",
    "constexpr", "continue", "default",  "delete",    "do",      "double",
    "else",      "enum",     "explicit", "export",    "extern",  "false",
    "float",     "for",      "friend",   "goto",      "if",      "inline",
    "int",       "long",     "mutable",  "namespace", "new",     "noexcept",
    "not",       "nullptr",  "operator", "or",        "private", "protected",
    "public",    "register", "return",   "short",     "signed",  "sizeof",
    "static",    "struct",   "switch",   "template",  "this",    "throw",
    "true",      "try",      "typedef",  "typename",  "union",   "unsigned",
    "using",     "virtual",  "void",     "volatile",  "while",   "xor",
    "std",       "gir",      "int64_t",  "size_t",    "main"};

std::string prelude() {
  std::string s = "namespace gir {\n\n";
  for (unsigned k = 0; k < kNumOps; ++k) {
    const OpDef &d = opDef(OpKind(k));
    if (!d.cppBody)
      continue;
    s += "template <typename T> T " + mnemonic(d.kind).str() + "(";
    for (unsigned i = 0; i < arity(d.kind); ++i)
      s += std::string(i ? ", " : "") + "T " + char('a' + i);
    s += ") {\n  " + std::string(d.cppBody) + "\n}\n";
    if (d.cppShared) // Expr::Shared
      s += "template <typename T> T " + mnemonic(d.kind).str() +
           "_shared(T x, T e, T u, T r) {\n  " + d.cppShared + "\n}\n";
  }
  return s + kReductionHelpers;
}

namespace {

class Renderer {
public:
  /// `inner`: the name of a function that another one invokes
  /// (Stmt::Invoke), `static` in namespace gradc_callees, its arena slots
  /// passed by its caller; `callees`: the names of this one's callees.
  /// `nests`: the names of the shared loop nests (Stmt::shared) emitted
  /// so far, per number (null: none is shared).
  Renderer(const LoopFunction &fn, std::string inner = "",
           std::vector<std::string> callees = {},
           std::map<unsigned, std::string> *nests = nullptr)
      : fn_(fn), f_(*fn.source), inner_(std::move(inner)),
        callees_(std::move(callees)), nests_(nests) {}
  void emit(llvm::raw_ostream &os);

private:
  std::string fresh(llvm::StringRef base);
  static const char *ctype(DType t) { return cTypeName(t); }
  static const char *ctype(Scalar s) {
    switch (s) {
    case Scalar::I1:
      return "bool";
    case Scalar::I64:
      return "int64_t";
    case Scalar::F32:
      return "float";
    case Scalar::F64:
      return "double";
    }
    llvm_unreachable("scalar type");
  }
  std::string number(double v, Scalar t) const;
  void line(const llvm::Twine &s) {
    body_ += std::string(2 * indent_, ' ') + s.str() + "\n";
  }
  /// The value of a splat constant buffer (all elements equal), if it is one.
  const double *splat(const Buffer *b) const;
  std::string expr(const Expr *e, bool top = false);
  std::string term(const Expr *x, bool inSum);
  std::string load(const Buffer *b, const Expr *offset);
  void declare(const Stmt &s);
  void stmts(llvm::ArrayRef<Stmt> body);
  void sharedNest(const Stmt &s);
  std::string parts();
  void stmt(const Stmt &s);
  void forLoop(const Stmt &s, const std::string &begin, const std::string &end);
  void parallelFor(const Stmt &s);
  std::string call(const loops::KernelCall &c);
  void invoke(const loops::Invocation &iv);
  std::string buf(const Buffer *b) {
    const std::string &n = names_.at(b);
    read_.insert(n);
    return n;
  }
  std::string var(unsigned v) {
    read_.insert(vars_[v]);
    return vars_[v];
  }

  const LoopFunction &fn_;
  const Function &f_;
  std::string body_;
  unsigned indent_ = 1;
  std::set<std::string> taken_, read_;
  llvm::DenseMap<const Buffer *, std::string> names_;
  std::vector<std::string> vars_;
  std::vector<unsigned> reads_;
  llvm::StringMap<std::string> dims_;
  std::string inner_;
  std::vector<std::string> callees_;
  std::map<unsigned, std::string> *nests_;
  std::string nestDefs_; // the shared nests this function defines
};

/// Calls each statement body of `s` (a loop's, a branch's) with `f`.
template <typename F> void forBodies(const Stmt &s, F &&f) {
  f(s.body);
  f(s.orelse);
}

std::string Renderer::fresh(llvm::StringRef base) {
  std::string s;
  for (char c : base)
    s += std::isalnum((unsigned char)c) ? c : '_';
  if (s.empty() || std::isdigit((unsigned char)s[0]))
    s = "v" + s;
  if (llvm::StringRef(s).starts_with("gradc_") || s.find("__") != s.npos)
    s = "v_" + s;
  std::string name = s;
  for (unsigned n = 1; taken_.count(name); ++n)
    name = s + "_" + std::to_string(n);
  taken_.insert(name);
  return name;
}

std::string Renderer::number(double v, Scalar t) const {
  if (t == Scalar::I64)
    return std::to_string(int64_t(v));
  const char *T = t == Scalar::F32 ? "float" : "double";
  if (std::isnan(v))
    return std::string("std::numeric_limits<") + T + ">::quiet_NaN()";
  if (std::isinf(v))
    return std::string(v < 0 ? "-" : "") + "std::numeric_limits<" + T +
           ">::infinity()";
  char b[64];
  std::snprintf(b, sizeof b, t == Scalar::F32 ? "%.9g" : "%.17g", v);
  std::string s = b;
  if (s.find_first_of(".e") == s.npos)
    s += ".0";
  return t == Scalar::F32 ? s + "f" : s;
}

const double *Renderer::splat(const Buffer *b) const {
  if (b->kind != Buffer::Const || b->data->data.empty())
    return nullptr;
  const std::vector<double> &d = b->data->data;
  for (double x : d)
    if (!(x == d[0]) && !(std::isnan(x) && std::isnan(d[0])))
      return nullptr;
  return &d[0];
}

std::string Renderer::load(const Buffer *b, const Expr *offset) {
  if (const double *v = splat(b))
    return number(*v, loops::scalarOf(b->dtype));
  std::string x = buf(b) + "[" + expr(offset, true) + "]";
  // Integer scalars are int64_t (as in the LLVM backend).
  return b->dtype == DType::I32 ? "int64_t(" + x + ")" : x;
}

/// An operand of index arithmetic: parenthesized unless atomic, a product,
/// or (in a sum) a sum.
std::string Renderer::term(const Expr *x, bool inSum) {
  bool bare = x->kind == Expr::Read || x->kind == Expr::Sym ||
              x->kind == Expr::Load || x->kind == Expr::Mul ||
              (x->kind == Expr::Int && x->i >= 0) ||
              (inSum && (x->kind == Expr::Add || x->kind == Expr::SAdd));
  return expr(x, bare);
}

/// `e` as C++ (parenthesized unless `top` or atomic).
std::string Renderer::expr(const Expr *e, bool top) {
  auto paren = [&](const std::string &s) { return top ? s : "(" + s + ")"; };
  auto call = [&](const std::string &name) {
    std::string s = name + "(";
    for (size_t i = 0; i < e->args.size(); ++i)
      s += (i ? ", " : "") + expr(e->args[i], true);
    return s + ")";
  };
  // A double-valued helper of the prelude, rounded to the expression's type.
  auto rounded = [&](const std::string &s) {
    return e->type == Scalar::F32 ? "float(" + s + ")" : s;
  };
  switch (e->kind) {
  case Expr::Int:
    if (e->i == INT64_MIN) // no literal spells it
      return "std::numeric_limits<int64_t>::min()";
    return e->i < 0 ? paren(std::to_string(e->i)) : std::to_string(e->i);
  case Expr::Float: {
    std::string n = number(e->f, e->type);
    return n[0] == '-' ? paren(n) : n;
  }
  case Expr::Sym:
    read_.insert(dims_.lookup(e->sym));
    return dims_.lookup(e->sym);
  case Expr::Read:
    return var(e->var);
  case Expr::Load:
    return load(e->buf, e->args[0]);
  case Expr::Add: // of indices: sums and products need no parentheses
    return paren(term(e->args[0], true) + " + " + term(e->args[1], true));
  case Expr::Mul:
    return paren(term(e->args[0], false) + " * " + term(e->args[1], false));
  case Expr::Min:
    return "std::min<int64_t>(" + expr(e->args[0], true) + ", " +
           expr(e->args[1], true) + ")";
  case Expr::Apply: {
    // The op's C++ formula is part of its one declaration (OpDef::cppOperator
    // and cppBody, lib/Ops/Elementwise.cpp).
    const OpDef &d = opDef(e->op);
    if (e->type == Scalar::I64) {
      // Integer arithmetic wraps around (docs/ir.md): in uint64_t, then
      // modulo 2^32 for an i32 result; the templates serve the rest.
      auto u = [&](const Expr *x) { return "uint64_t(" + expr(x, true) + ")"; };
      std::string r;
      if (e->op == OpKind::Neg)
        r = "int64_t(0 - " + u(e->args[0]) + ")";
      else if (e->op == OpKind::Abs)
        r = call("gir::iabs");
      else if (d.cppOperator)
        r = "int64_t(" + u(e->args[0]) + " " + d.cppOperator + " " +
            u(e->args[1]) + ")";
      else
        return call("gir::" + mnemonic(e->op).str());
      return e->i == 32 ? "gir::wrap32(" + r + ")" : r;
    }
    if (!d.cppOperator)
      return call("gir::" + mnemonic(e->op).str());
    if (e->args.size() == 1) {
      std::string a = expr(e->args[0]);
      return paren(a[0] == '-' ? "-(" + a + ")" : "-" + a);
    }
    return paren(expr(e->args[0]) + " " + d.cppOperator + " " +
                 expr(e->args[1]));
  }
  case Expr::Cast:
    if (e->type == Scalar::I64 && e->args[0]->type != Scalar::I64)
      return call("gir::toInt64"); // toward zero; NaN, out of range: INT64_MIN
    return std::string(ctype(e->type)) + "(" + expr(e->args[0], true) + ")";
  case Expr::SAdd:
    return paren(term(e->args[0], true) + " + " + term(e->args[1], true));
  case Expr::ILt:
    return paren(expr(e->args[0]) + " < " + expr(e->args[1]));
  case Expr::IEq:
    return paren(expr(e->args[0]) + " == " + expr(e->args[1]));
  case Expr::MaxStep:
    return call("gir::maxStep");
  case Expr::IsNewMax:
    return call("gir::isNewMax");
  case Expr::ExpShifted:
    return rounded(call("gir::expShifted"));
  case Expr::LogSumExp:
    return rounded(call("gir::logSumExp"));
  case Expr::Select:
    return paren(expr(e->args[0]) + " ? " + expr(e->args[1]) + " : " +
                 expr(e->args[2]));
  case Expr::NonZero: // NaN != 0 holds
    return paren(expr(e->args[0]) + " != 0");
  case Expr::Shared:
    return call("gir::" + mnemonic(e->op).str() + "_shared");
  }
  llvm_unreachable("expression kind");
}

static std::string intArg(const std::string &d) {
  return std::isdigit((unsigned char)d[0]) ? d : "int(" + d + ")";
}

std::string Renderer::call(const loops::KernelCall &c) {
  bool f32 = c.dtype == DType::F32;
  std::string p = f32 ? "cblas_s" : "cblas_d", one = f32 ? "1.0f" : "1.0",
              zero = f32 ? "0.0f" : "0.0";
  auto flag = [](bool t) { return t ? "CblasTrans" : "CblasNoTrans"; };
  auto i = [&](const Expr *e) { return intArg(expr(e, true)); };
  switch (c.kind) {
  case loops::KernelCall::Gemm: {
    auto at = [&](const loops::Buffer *b, const Expr *off) {
      return off ? "(" + buf(b) + " + " + expr(off, true) + ")" : buf(b);
    };
    return p + "gemm(CblasRowMajor, " + flag(c.transA) + ", " + flag(c.transB) +
           ", " + i(c.m) + ", " + i(c.n) + ", " + i(c.k) + ", " + one + ", " +
           at(c.a, c.offA) + ", " + i(c.lda) + ", " + at(c.b, c.offB) + ", " +
           i(c.ldb) + ", " + (c.accumulate ? one : zero) + ", " +
           at(c.c, c.offC) + ", " + i(c.n) + ");";
  }
  case loops::KernelCall::Gemv:
    return p + "gemv(CblasRowMajor, " + flag(c.transA) + ", " + i(c.m) + ", " +
           i(c.n) + ", " + one + ", " + buf(c.a) + ", " + i(c.lda) + ", " +
           buf(c.b) + ", 1, " + zero + ", " + buf(c.c) + ", 1);";
  case loops::KernelCall::Dot:
    return buf(c.c) + "[0] = " + p + "dot(" + i(c.m) + ", " + buf(c.a) +
           ", 1, " + buf(c.b) + ", 1);";
  }
  llvm_unreachable("kernel kind");
}

/// Declares the mutable variables (accumulators) that `s` uses, before it,
/// unless declared already; a kernel call's loops declare their own.
void Renderer::declare(const Stmt &s) {
  std::function<void(unsigned)> need = [&](unsigned v) {
    if (fn_.vars[v].kind != loops::Var::Mutable || !vars_[v].empty())
      return;
    vars_[v] = fresh(fn_.vars[v].name);
    line(std::string(ctype(fn_.vars[v].type)) + " " + vars_[v] + " = 0;");
  };
  std::function<void(const Expr *)> inExpr = [&](const Expr *e) {
    if (!e)
      return;
    if (e->kind == Expr::Read)
      need(e->var);
    for (const Expr *a : e->args)
      inExpr(a);
  };
  std::function<void(const Stmt &)> inStmt = [&](const Stmt &t) {
    if (t.kind == Stmt::Assign || t.kind == Stmt::Accumulate)
      need(t.var);
    inExpr(t.a);
    inExpr(t.b);
    if (t.kind != Stmt::Call)
      forBodies(t, [&](const std::vector<Stmt> &b) {
        for (const Stmt &u : b)
          inStmt(u);
      });
  };
  inStmt(s);
}

void Renderer::stmts(llvm::ArrayRef<Stmt> body) {
  for (const Stmt &s : body) {
    if (s.shared && nests_) {
      sharedNest(s);
      continue;
    }
    // A parallel loop's variables are declared inside it (each thread's
    // own), its reductions' totals before it.
    if (s.kind == Stmt::For && s.parallel) {
      for (unsigned r : s.reduce)
        if (vars_[r].empty()) {
          vars_[r] = fresh(fn_.vars[r].name);
          line(std::string(ctype(fn_.vars[r].type)) + " " + vars_[r] + " = 0;");
        }
    } else {
      declare(s);
    }
    stmt(s);
  }
}

void Renderer::forLoop(const Stmt &s, const std::string &begin,
                       const std::string &end) {
  std::string i = fresh(fn_.vars[s.var].name);
  vars_[s.var] = i;
  std::string step =
      s.step == 1 ? "++" + i : i + " += " + std::to_string(s.step);
  line("for (int64_t " + i + " = " + begin + "; " + i + " < " + end + "; " +
       step + ") {");
  ++indent_;
  stmts(s.body);
  --indent_;
  line("}");
  taken_.erase(i); // a later loop may use the name again
}

/// A loop the loop IR marks parallel: with more than one thread and enough
/// work, one block of iterations per thread (an OpenMP loop over the
/// blocks, or a plain one without -fopenmp: the same blocks, the same
/// sums); the reductions sum each block from zero and add the blocks' sums
/// in block order.
void Renderer::parallelFor(const Stmt &s) {
  std::string begin = expr(s.a, true), end = expr(s.b, true);
  std::string nb = fresh("blocks");
  line("const int64_t " + nb + " = gir::blocks(" + expr(s.work, true) + ");");
  line("if (" + nb + " > 1) {");
  ++indent_;
  // The names of the variables the loop uses, put back after each copy of
  // the loop (each declares its own); only those, so that the emitter stays
  // linear in the program however many parallel loops it has.
  std::vector<std::pair<unsigned, std::string>> saved;
  {
    llvm::DenseSet<unsigned> seen;
    auto save = [&](unsigned v) {
      if (seen.insert(v).second)
        saved.push_back({v, vars_[v]});
    };
    std::function<void(const Expr *)> inExpr = [&](const Expr *e) {
      if (e->kind == Expr::Read)
        save(e->var);
      for (const Expr *a : e->args)
        inExpr(a);
    };
    std::function<void(const Stmt &)> inStmt = [&](const Stmt &t) {
      if (t.kind == Stmt::For || t.kind == Stmt::Let ||
          t.kind == Stmt::Assign || t.kind == Stmt::Accumulate)
        save(t.var);
      for (const Expr *e : {t.a, t.b})
        if (e)
          inExpr(e);
      for (const Stmt &u : t.body)
        inStmt(u);
    };
    inStmt(s);
    for (unsigned r : s.reduce)
      save(r);
  }
  auto restore = [&] {
    for (const auto &[v, name] : saved)
      vars_[v] = name;
  };
  std::string n = fresh("iters"), parts = fresh("parts"), c = fresh("block");
  std::string span = begin == "0" ? end : "(" + end + " - " + begin + ")";
  line("const int64_t " + n + " = " +
       (s.step == 1 ? span
                    : "(" + span + " + " + std::to_string(s.step - 1) + ") / " +
                          std::to_string(s.step)) +
       ";");
  size_t nred = s.reduce.size();
  if (nred)
    line("std::vector<double> " + parts + "(static_cast<size_t>(" + nb +
         ") * " + std::to_string(nred) + ");");
  body_ += "#ifdef _OPENMP\n";
  line("#pragma omp parallel for num_threads(" + nb + ") schedule(static, 1)");
  body_ += "#endif\n";
  line("for (int64_t " + c + " = 0; " + c + " < " + nb + "; ++" + c + ") {");
  ++indent_;
  std::vector<std::string> red;
  for (unsigned r : s.reduce) {
    red.push_back(fresh(fn_.vars[r].name + ".block"));
    line(std::string(ctype(fn_.vars[r].type)) + " " + red.back() + " = 0;");
    vars_[r] = red.back();
  }
  auto bound = [&](const std::string &k) {
    std::string b = n + " * " + k + " / " + nb;
    if (s.step != 1)
      b = "(" + b + ") * " + std::to_string(s.step);
    return begin == "0" ? b : begin + " + " + b;
  };
  forLoop(s, bound(c), bound("(" + c + " + 1)"));
  for (size_t k = 0; k < nred; ++k)
    line(parts + "[static_cast<size_t>(" + c + ") * " + std::to_string(nred) +
         " + " + std::to_string(k) + "] = " + red[k] + ";");
  --indent_;
  line("}");
  restore();
  for (size_t k = 0; k < nred; ++k)
    line("for (int64_t " + c + " = 0; " + c + " < " + nb + "; ++" + c + ") " +
         var(s.reduce[k]) + " += static_cast<" +
         ctype(fn_.vars[s.reduce[k]].type) + ">(" + parts +
         "[static_cast<size_t>(" + c + ") * " + std::to_string(nred) + " + " +
         std::to_string(k) + "]);");
  --indent_;
  line("} else {");
  ++indent_;
  forLoop(s, begin, end);
  restore();
  --indent_;
  line("}");
}

void Renderer::stmt(const Stmt &s) {
  switch (s.kind) {
  case Stmt::For:
    if (s.parallel)
      return parallelFor(s);
    return forLoop(s, expr(s.a, true), expr(s.b, true));
  case Stmt::Let: {
    if (!reads_[s.var])
      return;
    std::string rhs = expr(s.a, true);
    vars_[s.var] = fresh(fn_.vars[s.var].name);
    line("const " + std::string(ctype(fn_.vars[s.var].type)) + " " +
         vars_[s.var] + " = " + rhs + ";");
    return;
  }
  case Stmt::Assign:
    line(var(s.var) + " = " + expr(s.a, true) + ";");
    return;
  case Stmt::Accumulate:
    line(var(s.var) + " += " + expr(s.a, true) + ";");
    return;
  case Stmt::Store:
    line(buf(s.buf) + "[" + expr(s.a, true) + "] = " + expr(s.b, true) + ";");
    return;
  case Stmt::Call:
    if (s.body.empty()) {
      line(call(s.call));
      return;
    }
    body_ += "#ifdef GRADC_USE_CBLAS\n";
    line(call(s.call));
    body_ += "#else\n";
    stmts(s.body);
    body_ += "#endif\n";
    return;
  case Stmt::Memset:
  case Stmt::Copy: {
    // dst[i] = 0, src[i], or a splat constant's value, for i < count.
    bool one = s.a->kind == Expr::Int && s.a->i == 1;
    std::string i = one ? "0" : fresh("i");
    std::string rhs;
    if (s.kind == Stmt::Memset)
      rhs = number(0, loops::scalarOf(s.buf->dtype));
    else if (const double *v = splat(s.src))
      rhs = number(*v, loops::scalarOf(s.src->dtype));
    else
      rhs = buf(s.src) + "[" + i + "]";
    if (one) {
      line(buf(s.buf) + "[0] = " + rhs + ";");
      return;
    }
    line("for (int64_t " + i + " = 0; " + i + " < " + expr(s.a, true) + "; ++" +
         i + ")");
    line("  " + buf(s.buf) + "[" + i + "] = " + rhs + ";");
    taken_.erase(i);
    return;
  }
  case Stmt::Comment:
    line("// " + s.text);
    return;
  case Stmt::FailIf: // an index out of range
    line("if (" + expr(s.a, true) + ")");
    line("  return 3;");
    return;
  case Stmt::If:
    line("if (" + expr(s.a, true) + ") {");
    ++indent_;
    stmts(s.body);
    --indent_;
    if (!s.orelse.empty()) {
      line("} else {");
      ++indent_;
      stmts(s.orelse);
      --indent_;
    }
    line("}");
    return;
  case Stmt::Invoke:
    return invoke(s.invoke);
  }
}

/// A shared loop nest (Stmt::shared, lib/Loops/Share.cpp), as the LLVM
/// backend renders it: one static function of the module per nest,
/// `gradc_nestK`, of the nest's buffers (the constants it reads among them,
/// unless written as numbers) and symbolic dims, defined before the first
/// function that calls it.
void Renderer::sharedNest(const Stmt &s) {
  std::vector<const Buffer *> params = loops::sharedParams(s);
  loops::Uses uses = loops::usesOf(s);
  for (const Buffer *b : uses.buffers)
    if (b->kind == Buffer::Const && !splat(b))
      params.push_back(b);
  std::string args;
  for (const Buffer *b : params)
    args += (args.empty() ? "" : ", ") + buf(b);
  for (const std::string &d : uses.syms) {
    args += (args.empty() ? "" : ", ") + dims_.lookup(d);
    read_.insert(dims_.lookup(d));
  }
  auto [it, first] =
      nests_->try_emplace(s.shared, "gradc_nest" + std::to_string(s.shared));
  line(it->second + "(" + args + ");");
  if (!first)
    return;
  // The buffers the nest writes (the others are const).
  llvm::DenseSet<const Buffer *> written;
  std::function<void(const Stmt &)> writes = [&](const Stmt &t) {
    if (t.kind == Stmt::Store || t.kind == Stmt::Memset || t.kind == Stmt::Copy)
      written.insert(t.buf);
    if (t.kind == Stmt::Call)
      written.insert(t.call.c);
    forBodies(t, [&](const std::vector<Stmt> &b) {
      for (const Stmt &u : b)
        writes(u);
    });
  };
  writes(s);
  std::string decls;
  std::vector<std::string> names;
  for (const Buffer *b : params) {
    decls += std::string(decls.empty() ? "" : ", ") +
             (written.contains(b) ? "" : "const ") + ctype(b->dtype) + " *" +
             names_.at(b);
    names.push_back(names_.at(b));
  }
  for (const std::string &d : uses.syms) {
    decls += (decls.empty() ? "int64_t " : ", int64_t ") + dims_.lookup(d);
    names.push_back(dims_.lookup(d));
  }
  // The nest's body, rendered with this function's names for its buffers.
  std::string outer = std::move(body_);
  std::set<std::string> outerRead = std::move(read_);
  unsigned outerIndent = indent_;
  body_.clear();
  read_.clear();
  indent_ = 1;
  auto *nests = std::exchange(nests_, nullptr);
  stmts(llvm::ArrayRef(&s, 1)); // rendered in place, not called
  nests_ = nests;
  nestDefs_ += "static void " + it->second + "(" + decls + ") {\n";
  for (const std::string &n : names)
    if (!read_.count(n))
      nestDefs_ += "  (void)" + n + "; // unused\n";
  nestDefs_ += body_ + "}\n\n";
  body_ = std::move(outer);
  read_.merge(outerRead);
  indent_ = outerIndent;
}

/// A long function cut into parts (LoopFunction::cuts): each part is a
/// static function of the buffers and symbolic dims it uses, returning 0 or
/// 3 (an index out of range), called in order from the function, as the
/// LLVM backend does (a C++ compiler's time is superlinear in the size of a
/// function too). Returns the parts' definitions; the calls go to body_.
std::string Renderer::parts() {
  std::string defs;
  std::vector<std::pair<size_t, size_t>> ranges = fn_.parts();
  for (size_t k = 0; k < ranges.size(); ++k) {
    auto [begin, end] = ranges[k];
    llvm::ArrayRef<Stmt> body =
        llvm::ArrayRef(fn_.body).slice(begin, end - begin);
    loops::Uses uses = loops::usesOf(body);
    std::string name = cSymbolName(f_.name) + "__part" + std::to_string(k);
    std::string params, args;
    std::vector<std::string> names;
    auto param = [&](const std::string &decl, const std::string &n) {
      params += (params.empty() ? "" : ", ") + decl;
      args += (args.empty() ? "" : ", ") + n;
      names.push_back(n);
      read_.insert(n);
    };
    for (const Buffer *b : uses.buffers) {
      if (b->kind == Buffer::Const && splat(b))
        continue; // written as a number
      bool in = b->kind == Buffer::Arg || b->kind == Buffer::Const;
      param(std::string(in ? "const " : "") + ctype(b->dtype) + " *" +
                names_.at(b),
            names_.at(b));
    }
    for (const std::string &d : uses.syms)
      param("int64_t " + dims_.lookup(d), dims_.lookup(d));
    // The part's own body, and which of its parameters it reads.
    std::string outer = std::move(body_);
    std::set<std::string> outerRead = std::move(read_);
    body_.clear();
    read_.clear();
    stmts(body);
    defs += "static int " + name + "(" + params + ") {\n";
    for (const std::string &n : names)
      if (!read_.count(n))
        defs += "  (void)" + n + "; // unused\n";
    defs += body_ + "  return 0;\n}\n\n";
    body_ = std::move(outer);
    read_.merge(outerRead);
    line("if (int status = " + name + "(" + args + "))");
    line("  return status;");
  }
  return defs;
}

/// A call of the callee's function (buffers at their offsets, its dims, its
/// arena slots); a nonzero return (an index out of range) is passed on.
void Renderer::invoke(const loops::Invocation &iv) {
  auto ref = [&](const loops::BufferRef &r) {
    return r.offset ? buf(r.buf) + " + " + expr(r.offset) : buf(r.buf);
  };
  std::string args;
  auto add = [&](const std::string &a) {
    args += (args.empty() ? "" : ", ") + a;
  };
  for (const loops::BufferRef &r : iv.args)
    add(ref(r));
  for (const Expr *d : iv.dims)
    add(expr(d, true));
  for (const loops::BufferRef &r : iv.results)
    add(ref(r));
  for (const Buffer *sl : iv.slots)
    add(buf(sl));
  line("if (const int rc = gradc_callees::" + callees_[iv.callee] + "(" + args +
       "))");
  line("  return rc;");
}

void Renderer::emit(llvm::raw_ostream &os) {
  for (const char *k : kKeywords)
    taken_.insert(k);
  for (size_t i = 0; i < f_.resultTypes.size(); ++i)
    taken_.insert("out" + std::to_string(i));
  // The parameters: inputs, symbolic dims, outputs.
  std::string params;
  std::vector<std::string> paramNames;
  for (size_t i = 0; i < f_.args.size(); ++i) {
    const Buffer *b = fn_.arg(i);
    names_[b] = fresh(b->name);
    paramNames.push_back(names_[b]);
    params += (params.empty() ? "const " : ", const ") +
              std::string(ctype(b->dtype)) + " *" + names_[b];
  }
  for (const std::string &d : symbolicDims(f_)) {
    dims_[d] = fresh(d);
    paramNames.push_back(dims_[d]);
    params += (params.empty() ? "int64_t " : ", int64_t ") + dims_[d];
  }
  for (size_t i = 0; i < f_.resultTypes.size(); ++i)
    params += std::string(params.empty() ? "" : ", ") +
              ctype(f_.resultTypes[i].dtype) + " *out" + std::to_string(i);
  // Storage: constants, outputs named after their values, one vector per
  // arena slot.
  // Buffers passed to an invoked function need storage, splats included.
  llvm::DenseSet<const Buffer *> passed;
  std::function<void(const std::vector<Stmt> &)> findPassed =
      [&](const std::vector<Stmt> &body) {
        for (const Stmt &t : body) {
          if (t.kind == Stmt::Invoke)
            for (const auto *refs : {&t.invoke.args, &t.invoke.results})
              for (const loops::BufferRef &r : *refs)
                passed.insert(r.buf);
          forBodies(t, findPassed);
        }
      };
  findPassed(fn_.body);
  std::vector<std::string> locals;
  for (const auto &bp : fn_.buffers) {
    const Buffer *b = bp.get();
    if (b->kind == Buffer::Const && (!splat(b) || passed.contains(b))) {
      names_[b] = fresh(b->name);
      std::string init;
      for (size_t i = 0; i < b->data->data.size(); ++i)
        init += (i ? ", " : "") +
                number(b->data->data[i], loops::scalarOf(b->dtype));
      line("static const " + std::string(ctype(b->dtype)) + " " + names_[b] +
           "[" + std::to_string(b->data->data.size()) + "] = {" + init + "};");
      locals.push_back(names_[b]);
    } else if (b->kind == Buffer::Result) {
      std::string out = "out" + std::to_string(b->index);
      if (b->name == out) {
        names_[b] = out;
        continue;
      }
      names_[b] = fresh(b->name);
      line(std::string(ctype(b->dtype)) + " *" + names_[b] + " = " + out + ";");
      locals.push_back(names_[b]);
    }
  }
  std::vector<std::string> slots;
  for (size_t k = 0; k < fn_.slots.size(); ++k) {
    const loops::Slot &sl = fn_.slots[k];
    slots.push_back(fresh("slot" + std::to_string(k)));
    if (!inner_.empty()) { // the caller's: a parameter
      params += std::string(params.empty() ? "" : ", ") + ctype(sl.dtype) +
                " *" + slots[k];
      paramNames.push_back(slots[k]);
      continue;
    }
    std::string count;
    for (const Dim &d : sl.dims)
      count += (count.empty() ? "" : " * ") +
               (d.isSym() ? dims_.lookup(d.sym) : std::to_string(d.size));
    for (const Dim &d : sl.dims)
      if (d.isSym())
        read_.insert(dims_.lookup(d.sym));
    line("std::vector<" + std::string(ctype(sl.dtype)) + "> " + slots[k] +
         "(static_cast<size_t>(" + (count.empty() ? "1" : count) + "));");
  }
  for (const auto &bp : fn_.buffers) {
    const Buffer *b = bp.get();
    if (b->kind != Buffer::Arena)
      continue;
    names_[b] = fresh(b->name);
    line(std::string(ctype(b->dtype)) + " *" + names_[b] + " = " +
         slots[b->index] + (inner_.empty() ? ".data();" : ";"));
    read_.insert(slots[b->index]);
    locals.push_back(names_[b]);
  }
  vars_.assign(fn_.vars.size(), "");
  // Reads of each variable: a `let` nothing reads (a dead value) is dropped.
  reads_.assign(fn_.vars.size(), 0);
  std::function<void(const Expr *)> count = [&](const Expr *e) {
    if (!e)
      return;
    if (e->kind == Expr::Read)
      ++reads_[e->var];
    for (const Expr *a : e->args)
      count(a);
  };
  std::function<void(const std::vector<Stmt> &)> walk =
      [&](const std::vector<Stmt> &body) {
        for (const Stmt &t : body) {
          count(t.a);
          count(t.b);
          for (const Expr *d : t.invoke.dims)
            count(d);
          forBodies(t, walk);
        }
      };
  walk(fn_.body);
  // Dropping a dead `let` may leave the ones it read dead too.
  std::vector<const Stmt *> lets;
  std::function<void(const std::vector<Stmt> &)> collect =
      [&](const std::vector<Stmt> &body) {
        for (const Stmt &t : body) {
          if (t.kind == Stmt::Let)
            lets.push_back(&t);
          forBodies(t, collect);
        }
      };
  collect(fn_.body);
  std::function<void(const Expr *)> uncount = [&](const Expr *e) {
    if (e->kind == Expr::Read)
      --reads_[e->var];
    for (const Expr *a : e->args)
      uncount(a);
  };
  std::vector<bool> dropped(fn_.vars.size());
  for (auto it = lets.rbegin(); it != lets.rend(); ++it)
    if (!reads_[(*it)->var] && !dropped[(*it)->var]) {
      dropped[(*it)->var] = true;
      uncount((*it)->a);
    }
  std::string partFns = fn_.cuts.empty() ? "" : parts();
  if (fn_.cuts.empty())
    stmts(fn_.body);

  os << nestDefs_ << partFns;
  // The body, with a `(void)` for each parameter and local it never reads.
  auto body = [&] {
    for (const std::string &p : paramNames)
      if (!read_.count(p))
        os << "  (void)" << p << "; // unused\n";
    os << body_;
    for (const std::string &l : locals)
      if (!read_.count(l))
        os << "  (void)" << l << "; // unused\n";
    os << "  return 0;\n";
  };
  if (!inner_.empty()) {
    // Invoked by another function, which catches what it throws.
    os << "// func @" << f_.name << ", as invoked\n";
    os << "namespace gradc_callees {\nstatic int " << inner_ << "(" << params
       << ") {\n";
    body();
    os << "}\n} // namespace gradc_callees\n";
    return;
  }
  os << "// func @" << f_.name << "\n";
  os << "int " << cSymbolName(f_.name) << "(" << params << ") try {\n";
  body();
  os << "} catch (const std::bad_alloc &) {\n  return 1;\n} "
        "catch (const std::length_error &) {\n  return 1;\n}\n";
}

} // namespace

/// The C++ name of each invoked function emitted so far.
using EmittedCallees = llvm::DenseMap<const LoopFunction *, std::string>;

/// Emits the functions `fn` invokes that are not emitted yet (theirs
/// first); returns their names, per LoopFunction::callees.
static std::vector<std::string> emitCallees(const LoopFunction &fn,
                                            llvm::raw_ostream &os,
                                            EmittedCallees &emitted) {
  std::vector<std::string> names;
  for (const auto &c : fn.callees) {
    if (auto it = emitted.find(c.get()); it != emitted.end()) {
      names.push_back(it->second);
      continue;
    }
    std::vector<std::string> inner = emitCallees(*c, os, emitted);
    std::string name;
    for (char ch : c->source->name)
      name += std::isalnum((unsigned char)ch) ? ch : '_';
    name = "f" + std::to_string(emitted.size()) + "_" + name;
    Renderer(*c, name, std::move(inner)).emit(os);
    os << "\n";
    emitted[c.get()] = name;
    names.push_back(name);
  }
  return names;
}

} // namespace cppgen

llvm::Error emitCpp(const Module &m, llvm::raw_ostream &os,
                    llvm::StringRef headerName) {
  if (auto e = checkCompiled(m, CompiledBy::Cpp))
    return e;
  os << "// Generated by gradc: C++17, standard library only. Each function\n"
        "// follows the C ABI of the gradc header (inputs, symbolic dims,\n"
        "// outputs; returns 0, or 1 if its buffers could not be "
        "allocated).\n"
        "// Define GRADC_USE_CBLAS (and link a CBLAS) to run matmul and dot\n"
        "// through cblas_?gemm/?gemv/?dot; otherwise they are plain loops.\n"
        "// Sums, dot products and matmuls accumulate in double, like the\n"
        "// gradc interpreter, and round once to the element type.\n\n";
  os << "#include <algorithm>\n#include <cmath>\n#include <cstddef>\n"
        "#include <limits>\n"
        "#include <new>\n#include <stdexcept>\n#include <stdint.h>\n"
        "#include <vector>\n#ifdef GRADC_USE_CBLAS\n#include <cblas.h>\n"
        "#endif\n\n";
  if (!headerName.empty()) {
    os << "#include \"" << headerName << "\"\n\n";
  } else {
    os << "extern \"C\" {\n";
    for (const auto &f : m.functions)
      for (const std::string &p : cPrototypes(m, *f))
        os << p << ";\n";
    os << "}\n\n";
  }
  os << "#ifdef _OPENMP\n#include <omp.h>\n#endif\n\n";
  std::string threads = cppgen::kThreadsPrelude;
  threads.replace(threads.find("@WORK@"), 6,
                  std::to_string(loops::kParallelWork));
  os << threads;
  os << cppgen::prelude();
  loops::CalleeCache lowered; // functions invoked by several, lowered once
  cppgen::EmittedCallees callees;
  std::vector<std::unique_ptr<loops::LoopFunction>> lfs;
  std::vector<loops::LoopFunction *> all;
  for (const auto &f : m.functions) {
    loops::LoopOptions opts;
    opts.kernelFallback = true;   // #ifdef GRADC_USE_CBLAS ... #else loops
    opts.chunkF32Sums = false;    // every element added in double
    opts.wideAccumulators = true; // as the interpreter
    lfs.push_back(loops::lowerToLoops(*f, opts, &lowered));
    all.push_back(lfs.back().get());
  }
  // Loop nests that repeat, one static function each (as in the JIT).
  loops::shareNests(all);
  std::map<unsigned, std::string> nests;
  for (const auto &lf : lfs) {
    os << "\n";
    cppgen::Renderer(*lf, "", cppgen::emitCallees(*lf, os, callees), &nests)
        .emit(os);
  }
  // The ABI's checked and seedless entry points (docs/c-abi.md).
  os << "\n// The checked and seedless entry points (docs/c-abi.md).\n";
  for (const auto &f : m.functions)
    os << "\n" << cWrapperDefinitions(m, *f);
  return llvm::Error::success();
}

} // namespace gradc
