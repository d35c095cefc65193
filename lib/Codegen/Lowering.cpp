//===- Lowering.cpp - Rendering the loop IR as LLVM IR --------------------===//
//
// Each function is lowered to the loop IR (gradc/Loops/Lower.h), which has
// decided fusion, loop groups, storage and every op's loops; this file only
// renders it: buffers become the C ABI's pointers, constant globals and
// offsets into one arena; loops become counted loops with a phi; `let`s SSA
// values, mutable variables allocas; the formula of an elementwise op comes
// from its OpDef (vector math included); kernel calls become CBLAS calls.
// Sums are reassociable (fast-math `reassoc`) so that their loops vectorize.
//
//===----------------------------------------------------------------------===//
#include "gradc/Codegen/Lowering.h"

#include "gradc/IR/ABI.h"
#include "gradc/Loops/Lower.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/MDBuilder.h"
#include "llvm/IR/Verifier.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/Utils/ModuleUtils.h"

#include <cmath>
#include <functional>
#include <map>

namespace gradc {

using llvm::IRBuilder;
using LV = llvm::Value;
using loops::Buffer;
using loops::Expr;
using loops::kArenaAlign;
using loops::LoopFunction;
using loops::Scalar;
using loops::Stmt;

std::string packedSymbolName(const Function &f) {
  return cSymbolName(f.name) + "__packed";
}

std::string releaseSymbolName(const Module &m, const LowerOptions &opts) {
  for (const auto &f : m.functions)
    if (!opts.only || opts.only == f.get())
      return cSymbolName(f->name) + "__release";
  return "";
}

namespace {

/// What a module's functions share: the LLVM function of each invoked
/// LoopFunction, and of each shared loop nest (Stmt::shared).
struct RenderedCallees {
  llvm::DenseMap<const LoopFunction *, llvm::Function *> callees;
  llvm::DenseMap<unsigned, llvm::Function *> nests;
};

class Renderer {
public:
  Renderer(const LoopFunction &lf, llvm::Module &m, RenderedCallees &rendered)
      : lf_(lf), f_(*lf.source), m_(m), ctx_(m.getContext()), b_(ctx_),
        rendered_(rendered) {}
  /// A function that another one invokes (Stmt::Invoke): internal, named
  /// `name`, with one more pointer parameter per arena slot (the caller's
  /// arena holds them).
  Renderer(const LoopFunction &lf, llvm::Module &m, RenderedCallees &rendered,
           std::string name)
      : Renderer(lf, m, rendered) {
    inner_ = std::move(name);
  }

  llvm::Function *run();

private:
  llvm::Type *elt(DType t) {
    switch (t) {
    case DType::F32:
      return b_.getFloatTy();
    case DType::F64:
      return b_.getDoubleTy();
    case DType::I32:
      return b_.getInt32Ty();
    case DType::I64:
      return b_.getInt64Ty();
    }
    llvm_unreachable("element type");
  }
  llvm::Type *type(Scalar s) {
    switch (s) {
    case Scalar::I1:
      return b_.getInt1Ty();
    case Scalar::I64:
      return b_.getInt64Ty();
    case Scalar::F32:
      return b_.getFloatTy();
    case Scalar::F64:
      return b_.getDoubleTy();
    }
    llvm_unreachable("scalar type");
  }
  llvm::Type *i64() { return b_.getInt64Ty(); }
  LV *c64(int64_t v) { return b_.getInt64(v); }
  LV *bytes(const Buffer *b, LV *count) {
    return b_.CreateMul(count, c64(dtypeSize(b->dtype)));
  }

  LV *expr(const Expr *e);
  void tagAccess(LV *access, const Buffer *b);
  void stmts(llvm::ArrayRef<Stmt> body);
  void parts();
  void stmt(const Stmt &s);
  /// An alloca for each mutable variable assigned in `roots` or inside them.
  void allocateMutables(std::vector<const Stmt *> roots);
  void sharedNest(const Stmt &s);
  /// The loop of `s` from `begin` to `end` (null: s's own end).
  void forLoop(const Stmt &s, LV *begin, LV *end);
  void parallelFor(const Stmt &s);
  LV *threadCount();
  void call(const loops::KernelCall &c);
  void invoke(const loops::Invocation &iv);
  void ifElse(const Stmt &s);
  LV *maxStep(LV *acc, LV *x);
  LV *intApply(const Expr &e, llvm::ArrayRef<LV *> a);
  std::pair<LV *, LV *> acquireArena(LV *bytes);
  void releaseArena(LV *arena, LV *cached);

  const LoopFunction &lf_;
  const Function &f_;
  llvm::Module &m_;
  llvm::LLVMContext &ctx_;
  IRBuilder<> b_;
  llvm::Function *fn_ = nullptr;
  llvm::StringMap<LV *> dims_;
  llvm::DenseMap<const Buffer *, LV *> ptrs_;
  llvm::BasicBlock *badIndex_ = nullptr; // where FailIf goes
  std::vector<LV *> vars_; // loop indices and lets: values; mutables: allocas
  unsigned parallelCount_ = 0;
  // Parts (LoopFunction::cuts): the arena and each slot's byte offset in it.
  LV *arena_ = nullptr;
  std::vector<LV *> offsets_;
  std::string inner_;                            // set: an invoked function
  llvm::MDNode *scopes_[2] = {nullptr, nullptr}; // tagAccess: args, arena
  std::vector<llvm::Function *> callees_;        // per LoopFunction::callees
  RenderedCallees &rendered_;
};

/// `int gradc_num_threads`: the thread count parallel loops use (0: OpenMP's
/// default). One per program: every object defines it, weak_odr.
llvm::GlobalVariable *threadsGlobal(llvm::Module &m) {
  if (auto *g = m.getNamedGlobal("gradc_num_threads"))
    return g;
  llvm::Type *i32 = llvm::Type::getInt32Ty(m.getContext());
  return new llvm::GlobalVariable(
      m, i32, false, llvm::GlobalValue::WeakODRLinkage,
      llvm::ConstantInt::get(i32, 0), "gradc_num_threads");
}

/// maxStep of the interpreter: NaN wins, then the larger value.
LV *Renderer::maxStep(LV *acc, LV *x) {
  if (x->getType()->isIntegerTy())
    return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, acc, x);
  LV *take = b_.CreateOr(b_.CreateFCmpOGT(x, acc), b_.CreateFCmpUNO(x, x));
  return b_.CreateSelect(b_.CreateFCmpUNO(acc, acc), acc,
                         b_.CreateSelect(take, x, acc));
}

/// An elementwise op on integers (i64 scalars; docs/ir.md, "Integer
/// arithmetic"): add, sub, mul, neg and abs wrap around modulo 2^64 (no
/// nsw), then modulo 2^32 for an i32 result; comparisons give 0/1.
LV *Renderer::intApply(const Expr &e, llvm::ArrayRef<LV *> a) {
  LV *r;
  switch (e.op) {
  case OpKind::Add:
    r = b_.CreateAdd(a[0], a[1]);
    break;
  case OpKind::Sub:
    r = b_.CreateSub(a[0], a[1]);
    break;
  case OpKind::Mul:
    r = b_.CreateMul(a[0], a[1]);
    break;
  case OpKind::Neg:
    r = b_.CreateNeg(a[0]);
    break;
  case OpKind::Abs: // abs(INT_MIN) wraps to INT_MIN
    r = b_.CreateBinaryIntrinsic(llvm::Intrinsic::abs, a[0], b_.getFalse());
    break;
  case OpKind::Max:
    return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, a[0], a[1]);
  case OpKind::Min:
    return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, a[0], a[1]);
  case OpKind::Select:
    return b_.CreateSelect(b_.CreateICmpNE(a[0], c64(0)), a[1], a[2]);
  case OpKind::Gt:
  case OpKind::Ge:
  case OpKind::Lt:
  case OpKind::Le:
  case OpKind::Eq:
    return opDef(e.op).lower(b_, a); // signed integer comparisons
  default:
    llvm::report_fatal_error("gradc: internal error: '" + mnemonic(e.op) +
                             "' of integers reached the LLVM backend");
  }
  if (e.i == 32)
    r = b_.CreateSExt(b_.CreateTrunc(r, b_.getInt32Ty()), i64());
  return r;
}

LV *Renderer::expr(const Expr *e) {
  std::vector<LV *> a;
  if (e->kind != Expr::Load) // a load's offset is rendered below
    for (const Expr *x : e->args)
      a.push_back(expr(x));
  switch (e->kind) {
  case Expr::Int:
    return c64(e->i);
  case Expr::Float:
    return llvm::ConstantFP::get(type(e->type), e->f);
  case Expr::Sym:
    return dims_.lookup(e->sym);
  case Expr::Read: {
    const loops::Var &v = lf_.vars[e->var];
    if (v.kind == loops::Var::Mutable)
      return b_.CreateLoad(type(v.type), vars_[e->var]);
    return vars_[e->var];
  }
  case Expr::Load: {
    llvm::Type *t = elt(e->buf->dtype);
    LV *v = b_.CreateLoad(
        t, b_.CreateInBoundsGEP(t, ptrs_.lookup(e->buf), expr(e->args[0])));
    tagAccess(v, e->buf);
    return e->buf->dtype == DType::I32 ? b_.CreateSExt(v, i64()) : v;
  }
  case Expr::SAdd:
    return b_.CreateAdd(a[0], a[1], "", false, true);
  case Expr::ILt:
    return b_.CreateICmpSLT(a[0], a[1]);
  case Expr::IEq:
    return b_.CreateICmpEQ(a[0], a[1]);
  case Expr::Add:
    return b_.CreateAdd(a[0], a[1], "", true, true);
  case Expr::Mul:
    return b_.CreateMul(a[0], a[1]);
  case Expr::Min:
    return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, a[0], a[1]);
  case Expr::Apply:
    if (e->type == Scalar::I64)
      return intApply(*e, a);
    return opDef(e->op).lower(b_, a);
  case Expr::Cast: {
    Scalar from = e->args[0]->type;
    if (from == Scalar::I64)
      return b_.CreateSIToFP(a[0], type(e->type));
    if (e->type == Scalar::I64) {
      // Toward zero; NaN and values out of range give INT64_MIN (numpy).
      llvm::Type *t = a[0]->getType();
      LV *inRange = b_.CreateAnd(
          b_.CreateFCmpOGE(a[0],
                           llvm::ConstantFP::get(t, -9223372036854775808.0)),
          b_.CreateFCmpOLT(a[0],
                           llvm::ConstantFP::get(t, 9223372036854775808.0)));
      return b_.CreateSelect(inRange, b_.CreateFPToSI(a[0], i64()),
                             c64(INT64_MIN));
    }
    return e->type == Scalar::F64 ? b_.CreateFPExt(a[0], type(e->type))
                                  : b_.CreateFPTrunc(a[0], type(e->type));
  }
  case Expr::MaxStep:
    return maxStep(a[0], a[1]);
  case Expr::IsNewMax: {
    // The first strictly greater element (or the first NaN) wins.
    LV *x = a[0], *best = a[1], *at = a[2];
    if (x->getType()->isIntegerTy())
      return b_.CreateOr(b_.CreateICmpSLT(at, c64(0)),
                         b_.CreateICmpSGT(x, best));
    return b_.CreateOr(b_.CreateICmpSLT(at, c64(0)),
                       b_.CreateAnd(b_.CreateFCmpORD(best, best),
                                    b_.CreateOr(b_.CreateFCmpOGT(x, best),
                                                b_.CreateFCmpUNO(x, x))));
  }
  case Expr::ExpShifted: {
    // An all -inf slice has m = -inf; x - m would be NaN, so add nothing.
    llvm::Type *t = type(e->type);
    LV *negInf = b_.CreateFCmpOEQ(a[1], llvm::ConstantFP::getInfinity(t, true));
    LV *ex = opDef(OpKind::Exp).lower(b_, {b_.CreateFSub(a[0], a[1])});
    return b_.CreateSelect(negInf, llvm::ConstantFP::get(t, 0.0), ex);
  }
  case Expr::LogSumExp: {
    llvm::Type *t = type(e->type);
    LV *logS = opDef(OpKind::Log).lower(b_, {a[1]});
    LV *isInf =
        b_.CreateFCmpOEQ(b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, a[0]),
                         llvm::ConstantFP::getInfinity(t));
    return b_.CreateSelect(isInf, a[0], b_.CreateFAdd(a[0], logS));
  }
  case Expr::Shared:
    return opDef(e->op).lowerShared(b_, a);
  case Expr::Select:
    return b_.CreateSelect(a[0], a[1], a[2]);
  case Expr::NonZero: // NaN is nonzero
    return a[0]->getType()->isIntegerTy()
               ? b_.CreateICmpNE(a[0],
                                 llvm::Constant::getNullValue(a[0]->getType()))
               : b_.CreateFCmpUNE(a[0],
                                  llvm::ConstantFP::get(a[0]->getType(), 0.0));
  }
  llvm_unreachable("expression kind");
}

/// Loads and stores of the arguments and outputs, and of the arena, in a
/// function that allocates its arena (not an invoked one, whose arena and
/// arguments are both its caller's): two alias scopes that never overlap,
/// so that a loop reading an argument and writing an arena slot vectorizes
/// without a run-time overlap check and the scalar copy of the loop it
/// keeps for when they overlap (the arena pointer, a phi of malloc and a
/// cached block, is not known to alias no argument otherwise).
void Renderer::tagAccess(LV *access, const Buffer *b) {
  if (!inner_.empty() || b->kind == Buffer::Const)
    return;
  llvm::MDNode *&argsScope = scopes_[0], *&arenaScope = scopes_[1];
  if (!argsScope) {
    llvm::MDBuilder md(ctx_);
    llvm::MDNode *domain = md.createAnonymousAliasScopeDomain("gradc.memory");
    argsScope = llvm::MDNode::get(
        ctx_, md.createAnonymousAliasScope(domain, "arguments"));
    arenaScope =
        llvm::MDNode::get(ctx_, md.createAnonymousAliasScope(domain, "arena"));
  }
  bool arena = b->kind == Buffer::Arena;
  auto *i = llvm::cast<llvm::Instruction>(access);
  i->setMetadata(llvm::LLVMContext::MD_alias_scope,
                 arena ? arenaScope : argsScope);
  i->setMetadata(llvm::LLVMContext::MD_noalias, arena ? argsScope : arenaScope);
}

void Renderer::stmts(llvm::ArrayRef<Stmt> body) {
  for (const Stmt &s : body)
    if (s.shared)
      sharedNest(s);
    else
      stmt(s);
}

/// A shared loop nest (Stmt::shared, lib/Loops/Share.cpp): one internal
/// function per nest of the module, `gradc.nestK(ptr..., i64...)`, taking
/// the nest's buffers (noalias; readonly those it only reads) and symbolic
/// dims, never inlined (compiling each nest once is its point); rendered
/// from the nest's first occurrence and called at each.
void Renderer::sharedNest(const Stmt &s) {
  std::vector<const Buffer *> params = loops::sharedParams(s);
  std::vector<std::string> syms = loops::usesOf(s).syms;
  llvm::Function *&fn = rendered_.nests[s.shared];
  if (!fn) {
    // The buffers the nest writes.
    llvm::DenseSet<const Buffer *> written;
    std::vector<const Stmt *> todo{&s};
    while (!todo.empty()) {
      const Stmt *t = todo.back();
      todo.pop_back();
      if (t->kind == Stmt::Store || t->kind == Stmt::Memset ||
          t->kind == Stmt::Copy)
        written.insert(t->buf);
      if (t->kind == Stmt::Call)
        written.insert(t->call.c);
      for (const Stmt &u : t->body)
        todo.push_back(&u);
      for (const Stmt &u : t->orelse)
        todo.push_back(&u);
    }
    std::vector<llvm::Type *> types(params.size(), b_.getPtrTy());
    types.insert(types.end(), syms.size(), i64());
    fn = llvm::Function::Create(
        llvm::FunctionType::get(b_.getVoidTy(), types, false),
        llvm::Function::InternalLinkage, "gradc.nest" + llvm::Twine(s.shared),
        m_);
    fn->addFnAttr(llvm::Attribute::NoUnwind);
    fn->addFnAttr(llvm::Attribute::NoInline);
    // Render the nest into it, with its own pointers, dims and variables;
    // the caller's are put back afterwards.
    auto savedIP = b_.saveIP();
    llvm::Function *savedFn = fn_;
    llvm::BasicBlock *savedBad = badIndex_;
    std::vector<std::pair<const Buffer *, LV *>> savedPtrs;
    std::vector<std::pair<std::string, LV *>> savedDims;
    std::vector<LV *> savedVars = vars_;
    fn_ = fn;
    badIndex_ = nullptr; // a shared nest has no FailIf
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn));
    for (size_t k = 0; k < params.size(); ++k) {
      llvm::Argument *arg = fn->getArg(k);
      arg->setName(params[k]->name);
      arg->addAttr(llvm::Attribute::NoAlias);
      if (!written.contains(params[k]))
        arg->addAttr(llvm::Attribute::ReadOnly);
      savedPtrs.push_back({params[k], ptrs_.lookup(params[k])});
      ptrs_[params[k]] = arg;
    }
    for (size_t d = 0; d < syms.size(); ++d) {
      llvm::Argument *arg = fn->getArg(params.size() + d);
      arg->setName(syms[d]);
      savedDims.push_back({syms[d], dims_.lookup(syms[d])});
      dims_[syms[d]] = arg;
    }
    // The nest's mutable variables (no other statement names them).
    allocateMutables({&s});
    stmt(s);
    b_.CreateRetVoid();
    fn_ = savedFn;
    badIndex_ = savedBad;
    for (auto &[bb, p] : savedPtrs)
      ptrs_[bb] = p;
    for (auto &[d, v] : savedDims)
      dims_[d] = v;
    vars_ = std::move(savedVars);
    b_.restoreIP(savedIP);
  }
  std::vector<LV *> args;
  for (const Buffer *bb : params)
    args.push_back(ptrs_.lookup(bb));
  for (const std::string &d : syms)
    args.push_back(dims_.lookup(d));
  b_.CreateCall(fn, args);
}

/// While alive: the floating-point instructions built may contract (fuse
/// a multiply into the add it feeds), if `on` (Stmt::contract).
struct Contract {
  Contract(llvm::IRBuilder<> &b, bool on) : guard(b) {
    if (on) {
      llvm::FastMathFlags f = b.getFastMathFlags();
      f.setAllowContract();
      b.setFastMathFlags(f);
    }
  }
  llvm::IRBuilder<>::FastMathFlagGuard guard;
};

void Renderer::allocateMutables(std::vector<const Stmt *> todo) {
  llvm::DenseSet<unsigned> allocated;
  while (!todo.empty()) {
    const Stmt *t = todo.back();
    todo.pop_back();
    if ((t->kind == Stmt::Assign || t->kind == Stmt::Accumulate) &&
        lf_.vars[t->var].kind == loops::Var::Mutable &&
        allocated.insert(t->var).second)
      vars_[t->var] = b_.CreateAlloca(type(lf_.vars[t->var].type), nullptr,
                                      lf_.vars[t->var].name);
    for (const Stmt &u : t->body)
      todo.push_back(&u);
    for (const Stmt &u : t->orelse)
      todo.push_back(&u);
  }
}

void Renderer::stmt(const Stmt &s) {
  switch (s.kind) {
  case Stmt::For:
    if (s.parallel)
      return parallelFor(s);
    return forLoop(s, expr(s.a), nullptr);
  case Stmt::Let:
    vars_[s.var] = expr(s.a);
    return;
  case Stmt::Assign:
    b_.CreateStore(expr(s.a), vars_[s.var]);
    return;
  case Stmt::Accumulate: {
    llvm::Type *t = type(lf_.vars[s.var].type);
    Contract scope(b_, s.contract);
    LV *x = expr(s.a);
    LV *sum = b_.CreateFAdd(b_.CreateLoad(t, vars_[s.var]), x);
    llvm::FastMathFlags fmf = b_.getFastMathFlags();
    fmf.setAllowReassoc();
    llvm::cast<llvm::Instruction>(sum)->setFastMathFlags(fmf);
    b_.CreateStore(sum, vars_[s.var]);
    return;
  }
  case Stmt::Store: {
    llvm::Type *t = elt(s.buf->dtype);
    Contract scope(b_, s.contract);
    LV *x = expr(s.b);
    if (s.buf->dtype == DType::I32)
      x = b_.CreateTrunc(x, t);
    tagAccess(b_.CreateStore(
                  x, b_.CreateInBoundsGEP(t, ptrs_.lookup(s.buf), expr(s.a))),
              s.buf);
    return;
  }
  case Stmt::Call:
    return call(s.call);
  case Stmt::Memset:
    b_.CreateMemSet(ptrs_.lookup(s.buf), b_.getInt8(0), bytes(s.buf, expr(s.a)),
                    llvm::MaybeAlign());
    return;
  case Stmt::Copy:
    b_.CreateMemCpy(ptrs_.lookup(s.buf), llvm::MaybeAlign(),
                    ptrs_.lookup(s.src), llvm::MaybeAlign(),
                    bytes(s.buf, expr(s.a)));
    return;
  case Stmt::Comment:
    return;
  case Stmt::FailIf: {
    if (!badIndex_)
      badIndex_ = llvm::BasicBlock::Create(ctx_, "bad_index", fn_);
    auto *ok = llvm::BasicBlock::Create(ctx_, "index_ok", fn_);
    b_.CreateCondBr(expr(s.a), badIndex_, ok);
    b_.SetInsertPoint(ok);
    return;
  }
  case Stmt::If:
    return ifElse(s);
  case Stmt::Invoke:
    return invoke(s.invoke);
  }
}

void Renderer::ifElse(const Stmt &s) {
  auto *then = llvm::BasicBlock::Create(ctx_, "then", fn_);
  auto *orelse = llvm::BasicBlock::Create(ctx_, "else", fn_);
  auto *done = llvm::BasicBlock::Create(ctx_, "endif", fn_);
  b_.CreateCondBr(expr(s.a), then, orelse);
  b_.SetInsertPoint(then);
  stmts(s.body);
  b_.CreateBr(done);
  b_.SetInsertPoint(orelse);
  stmts(s.orelse);
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

/// A call of the callee's function: buffers at their offsets, its dims, its
/// arena slots; a nonzero return (an index out of range) is passed on.
void Renderer::invoke(const loops::Invocation &iv) {
  auto ref = [&](const loops::BufferRef &r) {
    LV *p = ptrs_.lookup(r.buf);
    return r.offset ? b_.CreateInBoundsGEP(elt(r.buf->dtype), p, expr(r.offset))
                    : p;
  };
  std::vector<LV *> args;
  for (const loops::BufferRef &r : iv.args)
    args.push_back(ref(r));
  for (const Expr *d : iv.dims)
    args.push_back(expr(d));
  for (const loops::BufferRef &r : iv.results)
    args.push_back(ref(r));
  for (const Buffer *sl : iv.slots)
    args.push_back(ptrs_.lookup(sl));
  LV *rc = b_.CreateCall(callees_[iv.callee], args);
  if (!badIndex_)
    badIndex_ = llvm::BasicBlock::Create(ctx_, "bad_index", fn_);
  auto *ok = llvm::BasicBlock::Create(ctx_, "invoke_ok", fn_);
  b_.CreateCondBr(b_.CreateICmpNE(rc, b_.getInt32(0)), badIndex_, ok);
  b_.SetInsertPoint(ok);
}

void Renderer::forLoop(const Stmt &s, LV *begin, LV *end) {
  // for i = a to a + C (a block of a chunked loop) counts k from 0 to C
  // (i = a + k), so that the vectorizer sees a constant trip count (SCEV
  // does not carry the add's nsw over to prove a < a + C) and adds no
  // vector epilogue or scalar remainder when C is a multiple of its width.
  const Expr *e = s.b;
  bool counted = !end && s.step == 1 && e->kind == Expr::Add &&
                 e->args[0] == s.a && e->args[1]->kind == Expr::Int;
  if (!end && !counted)
    end = expr(s.b);
  llvm::BasicBlock *pre = b_.GetInsertBlock();
  auto *header = llvm::BasicBlock::Create(ctx_, "loop", fn_);
  auto *body = llvm::BasicBlock::Create(ctx_, "body", fn_);
  auto *exit = llvm::BasicBlock::Create(ctx_, "exit", fn_);
  b_.CreateBr(header);
  b_.SetInsertPoint(header);
  llvm::PHINode *i = b_.CreatePHI(i64(), 2, lf_.vars[s.var].name);
  i->addIncoming(counted ? c64(0) : begin, pre);
  b_.CreateCondBr(b_.CreateICmpSLT(i, counted ? c64(e->args[1]->i) : end), body,
                  exit);
  b_.SetInsertPoint(body);
  vars_[s.var] = counted ? b_.CreateAdd(begin, i, "", true, true) : i;
  stmts(s.body);
  i->addIncoming(b_.CreateAdd(i, c64(s.step), "", true, true),
                 b_.GetInsertBlock());
  llvm::BranchInst *latch = b_.CreateBr(header);
  // A loop that only sums (a dot product) keeps four partial sums, so that
  // the adds of the vectorized loop do not wait for each other: interleaved
  // four times (the pipeline interleaves no other loop).
  bool sumOnly = s.body.size() == 1 && s.body[0].kind == Stmt::Accumulate;
  bool shortLoop = (counted ? e->args[1] : s.b)->kind == Expr::Int &&
                   (counted ? e->args[1] : s.b)->i < 256;
  if (sumOnly && !shortLoop) {
    llvm::Metadata *count[] = {
        llvm::MDString::get(ctx_, "llvm.loop.interleave.count"),
        llvm::ConstantAsMetadata::get(b_.getInt32(4))};
    llvm::MDNode *loop = llvm::MDNode::getDistinct(
        ctx_, {nullptr, llvm::MDNode::get(ctx_, count)});
    loop->replaceOperandWith(0, loop);
    latch->setMetadata(llvm::LLVMContext::MD_loop, loop);
  }
  b_.SetInsertPoint(exit);
}

/// A libgomp function, referenced weakly: a program linked without libgomp
/// (-fopenmp or -lgomp) sees null and runs every loop on one thread.
static llvm::Function *ompFunction(llvm::Module &m, llvm::StringRef name,
                                   llvm::FunctionType *t) {
  if (llvm::Function *f = m.getFunction(name))
    return f;
  return llvm::Function::Create(t, llvm::GlobalValue::ExternalWeakLinkage, name,
                                m);
}

/// The thread count: gradc_num_threads (set by gradc_set_num_threads), or
/// OpenMP's default (OMP_NUM_THREADS, else every core) when it is 0; 1
/// without libgomp.
LV *Renderer::threadCount() {
  llvm::Type *i32 = b_.getInt32Ty();
  LV *n = b_.CreateLoad(i32, threadsGlobal(m_));
  llvm::Function *maxFn = ompFunction(m_, "omp_get_max_threads",
                                      llvm::FunctionType::get(i32, false));
  llvm::Function *gomp = ompFunction(
      m_, "GOMP_parallel",
      llvm::FunctionType::get(b_.getVoidTy(),
                              {b_.getPtrTy(), b_.getPtrTy(), i32, i32}, false));
  LV *haveOmp =
      b_.CreateAnd(b_.CreateIsNotNull(maxFn), b_.CreateIsNotNull(gomp));
  LV *set = b_.CreateICmpSGT(n, b_.getInt32(0));
  auto *dflt = llvm::BasicBlock::Create(ctx_, "threads.default", fn_);
  auto *done = llvm::BasicBlock::Create(ctx_, "threads", fn_);
  llvm::BasicBlock *pre = b_.GetInsertBlock();
  // Without libgomp: one thread; with it: the count set, else its default.
  LV *fixed = b_.CreateSelect(haveOmp, n, b_.getInt32(1));
  b_.CreateCondBr(b_.CreateAnd(haveOmp, b_.CreateNot(set)), dflt, done);
  b_.SetInsertPoint(dflt);
  LV *m = b_.CreateCall(maxFn);
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
  llvm::PHINode *phi = b_.CreatePHI(i32, 2, "nthreads");
  phi->addIncoming(fixed, pre);
  phi->addIncoming(m, dflt);
  return phi;
}

/// A loop the loop IR marks parallel. Its body is compiled once, as a
/// function over the blocks [n*c/nb, n*(c+1)/nb) with c = tid, tid + team,
/// ... < nb: when there is more than one thread and enough work, libgomp's
/// GOMP_parallel runs it on every thread of the team (nb = team); otherwise
/// it is called once, on this thread, for one block. Each block sums its
/// reductions from zero into its own slot, and the slots are added in block
/// order afterwards, so that a thread count always gives the same result.
void Renderer::parallelFor(const Stmt &s) {
  llvm::Type *i32 = b_.getInt32Ty(), *ptr = b_.getPtrTy();
  LV *begin = expr(s.a), *end = expr(s.b);
  LV *nt = threadCount();
  LV *go =
      b_.CreateAnd(b_.CreateICmpSGT(nt, b_.getInt32(1)),
                   b_.CreateICmpSGE(expr(s.work), c64(loops::kParallelWork)));

  // What the body reads from outside: buffers, symbolic dims, variables.
  std::vector<const Buffer *> bufs;
  std::vector<std::string> syms;
  std::vector<unsigned> vars, privates;
  llvm::DenseSet<const Buffer *> seenB;
  llvm::StringSet<> seenS;
  llvm::DenseSet<unsigned> inner{s.var}, seenV;
  // Variables defined or assigned in the body are its own (private, or a
  // reduction's partial sum).
  std::function<void(const Stmt &)> defined = [&](const Stmt &t) {
    if (t.kind == Stmt::Assign || t.kind == Stmt::Accumulate ||
        t.kind == Stmt::For || t.kind == Stmt::Let)
      if (inner.insert(t.var).second &&
          lf_.vars[t.var].kind == loops::Var::Mutable)
        privates.push_back(t.var);
    for (const Stmt &u : t.body)
      defined(u);
  };
  std::function<void(const Expr *)> inExpr = [&](const Expr *e) {
    if (e->kind == Expr::Load && seenB.insert(e->buf).second)
      bufs.push_back(e->buf);
    if (e->kind == Expr::Sym && seenS.insert(e->sym).second)
      syms.push_back(e->sym);
    if (e->kind == Expr::Read && !inner.count(e->var) &&
        seenV.insert(e->var).second)
      vars.push_back(e->var);
    for (const Expr *a : e->args)
      inExpr(a);
  };
  std::function<void(const Stmt &)> used = [&](const Stmt &t) {
    if (t.kind == Stmt::Store && seenB.insert(t.buf).second)
      bufs.push_back(t.buf);
    if (t.a)
      inExpr(t.a);
    if (t.b)
      inExpr(t.b);
    for (const Stmt &u : t.body)
      used(u);
  };
  for (const Stmt &t : s.body)
    defined(t);
  for (const Stmt &t : s.body)
    used(t);
  // One pointer per distinct memory (views and values sharing an arena
  // slot share it), so that each can be noalias in the outlined body.
  std::vector<const Buffer *> mems;
  llvm::DenseMap<const Buffer *, unsigned> memOf;
  {
    std::map<std::pair<int, uintptr_t>, unsigned> index;
    for (const Buffer *bb : bufs) {
      std::pair<int, uintptr_t> key =
          bb->kind == Buffer::Const
              ? std::pair<int, uintptr_t>{int(Buffer::Const), uintptr_t(bb)}
              : std::pair<int, uintptr_t>{int(bb->kind), bb->index};
      auto [it, fresh] = index.try_emplace(key, mems.size());
      if (fresh)
        mems.push_back(bb);
      memOf[bb] = it->second;
    }
  }
  // The body's parameters: begin, step count, block count, the reductions'
  // slots, memories, dims, variables; then (not in the frame) the first
  // block and the stride between this thread's blocks.
  std::vector<llvm::Type *> fields = {i64(), i64(), i64(), ptr};
  for (size_t k = 0; k < mems.size(); ++k)
    fields.push_back(ptr);
  for (size_t k = 0; k < syms.size(); ++k)
    fields.push_back(i64());
  for (unsigned v : vars)
    fields.push_back(type(lf_.vars[v].type));
  auto *frameTy = llvm::StructType::get(ctx_, fields);
  LV *blocks = b_.CreateSelect(go, b_.CreateZExt(nt, i64()), c64(1));
  // The reductions' partial sums: blocks x reductions, as doubles.
  size_t nred = s.reduce.size();
  LV *parts = b_.CreateAlloca(
      b_.getDoubleTy(), b_.CreateMul(blocks, c64(std::max<size_t>(nred, 1))),
      "parts");
  // Iterations: ceil((end - begin) / step).
  LV *iters = b_.CreateSDiv(
      b_.CreateAdd(b_.CreateSub(end, begin), c64(s.step - 1)), c64(s.step));
  std::vector<LV *> vals = {begin, iters, blocks, parts};
  for (const Buffer *bb : mems)
    vals.push_back(ptrs_.lookup(bb));
  for (const std::string &sy : syms)
    vals.push_back(dims_.lookup(sy));
  for (unsigned v : vars)
    vals.push_back(lf_.vars[v].kind == loops::Var::Mutable
                       ? b_.CreateLoad(type(lf_.vars[v].type), vars_[v])
                       : vars_[v]);

  // The body (never inlined: it is the loop's one copy), its memory
  // pointers noalias like gradc_f's, so that the loops vectorize without
  // run-time overlap checks.
  std::string name =
      (fn_->getName() + ".par" + llvm::Twine(parallelCount_++)).str();
  std::vector<llvm::Type *> params = fields;
  params.push_back(i64());
  params.push_back(i64());
  auto *bodyFn = llvm::Function::Create(
      llvm::FunctionType::get(b_.getVoidTy(), params, false),
      llvm::Function::InternalLinkage, name + ".body", m_);
  bodyFn->addFnAttr(llvm::Attribute::NoUnwind);
  bodyFn->addFnAttr(llvm::Attribute::NoInline);
  for (unsigned k = 3; k < 4 + mems.size(); ++k)
    bodyFn->getArg(k)->addAttr(llvm::Attribute::NoAlias);
  {
    auto savedIP = b_.saveIP();
    llvm::Function *savedFn = fn_;
    // What the body's rendering changes, put back afterwards (only that:
    // linear in the program however many parallel loops it has).
    std::vector<std::pair<std::string, LV *>> savedDims;
    std::vector<std::pair<const Buffer *, LV *>> savedPtrs;
    std::vector<std::pair<unsigned, LV *>> savedVars;
    for (const std::string &sy : syms)
      savedDims.push_back({sy, dims_.lookup(sy)});
    for (const Buffer *bb : bufs)
      savedPtrs.push_back({bb, ptrs_.lookup(bb)});
    for (unsigned v : inner)
      savedVars.push_back({v, vars_[v]});
    for (unsigned v : vars)
      savedVars.push_back({v, vars_[v]});
    fn_ = bodyFn;
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));
    unsigned g = 0;
    auto get = [&](llvm::Type *) -> LV * { return fn_->getArg(g++); };
    LV *b0 = get(i64()), *n = get(i64()), *nb = get(i64()), *pp = get(ptr);
    for (const Buffer *bb : bufs)
      ptrs_[bb] = fn_->getArg(4 + memOf[bb]);
    g += mems.size();
    for (const std::string &sy : syms)
      dims_[sy] = get(i64());
    for (unsigned v : vars) {
      LV *x = get(type(lf_.vars[v].type));
      if (lf_.vars[v].kind == loops::Var::Mutable) {
        vars_[v] = b_.CreateAlloca(x->getType());
        b_.CreateStore(x, vars_[v]);
      } else {
        vars_[v] = x;
      }
    }
    LV *first = get(i64()), *stride = get(i64());
    // Private mutables and reductions: this thread's own.
    for (unsigned v : privates)
      vars_[v] =
          b_.CreateAlloca(type(lf_.vars[v].type), nullptr, lf_.vars[v].name);
    // for (c = first; c < nb; c += stride): iterations [n*c/nb, n*(c+1)/nb).
    llvm::BasicBlock *pre = b_.GetInsertBlock();
    auto *head = llvm::BasicBlock::Create(ctx_, "block", fn_);
    auto *body = llvm::BasicBlock::Create(ctx_, "block.body", fn_);
    auto *exit = llvm::BasicBlock::Create(ctx_, "block.exit", fn_);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    llvm::PHINode *c = b_.CreatePHI(i64(), 2, "c");
    c->addIncoming(first, pre);
    b_.CreateCondBr(b_.CreateICmpSLT(c, nb), body, exit);
    b_.SetInsertPoint(body);
    auto bound = [&](LV *k) {
      return b_.CreateAdd(
          b0, b_.CreateMul(b_.CreateSDiv(b_.CreateMul(n, k), nb), c64(s.step)));
    };
    LV *lo = bound(c), *hi = bound(b_.CreateAdd(c, c64(1)));
    for (unsigned r : s.reduce)
      b_.CreateStore(llvm::ConstantFP::get(type(lf_.vars[r].type), 0.0),
                     vars_[r]);
    forLoop(s, lo, hi);
    for (size_t k = 0; k < nred; ++k) {
      unsigned r = s.reduce[k];
      LV *x = b_.CreateLoad(type(lf_.vars[r].type), vars_[r]);
      if (!x->getType()->isDoubleTy())
        x = b_.CreateFPExt(x, b_.getDoubleTy());
      b_.CreateStore(x, b_.CreateInBoundsGEP(
                            b_.getDoubleTy(), pp,
                            b_.CreateAdd(b_.CreateMul(c, c64(nred)), c64(k))));
    }
    c->addIncoming(b_.CreateAdd(c, stride), b_.GetInsertBlock());
    b_.CreateBr(head);
    b_.SetInsertPoint(exit);
    b_.CreateRetVoid();
    fn_ = savedFn;
    for (auto &[sy, d] : savedDims)
      dims_[sy] = d;
    for (auto &[bb, p] : savedPtrs)
      ptrs_[bb] = p;
    for (auto &[v, x] : savedVars)
      vars_[v] = x;
    b_.restoreIP(savedIP);
  }
  // What every thread of the team runs: void fn(frame *), passing the
  // frame's fields, its thread number and the team's size to the body.
  auto *outFn = llvm::Function::Create(
      llvm::FunctionType::get(b_.getVoidTy(), {ptr}, false),
      llvm::Function::InternalLinkage, name, m_);
  outFn->addFnAttr(llvm::Attribute::NoUnwind);
  {
    IRBuilder<> w(llvm::BasicBlock::Create(ctx_, "entry", outFn));
    std::vector<LV *> args;
    for (unsigned k = 0; k < fields.size(); ++k)
      args.push_back(w.CreateLoad(
          fields[k], w.CreateStructGEP(frameTy, outFn->getArg(0), k)));
    for (const char *f : {"omp_get_thread_num", "omp_get_num_threads"})
      args.push_back(w.CreateZExt(
          w.CreateCall(ompFunction(m_, f, llvm::FunctionType::get(i32, false))),
          i64()));
    w.CreateCall(bodyFn, args);
    w.CreateRetVoid();
  }

  auto *par = llvm::BasicBlock::Create(ctx_, "par", fn_);
  auto *serial = llvm::BasicBlock::Create(ctx_, "serial", fn_);
  auto *join = llvm::BasicBlock::Create(ctx_, "par.join", fn_);
  b_.CreateCondBr(go, par, serial);
  b_.SetInsertPoint(par);
  LV *frame = b_.CreateAlloca(frameTy, nullptr, "frame");
  for (unsigned k = 0; k < fields.size(); ++k)
    b_.CreateStore(vals[k], b_.CreateStructGEP(frameTy, frame, k));
  llvm::Function *gomp = ompFunction(
      m_, "GOMP_parallel",
      llvm::FunctionType::get(b_.getVoidTy(), {ptr, ptr, i32, i32}, false));
  b_.CreateCall(gomp, {outFn, frame, nt, b_.getInt32(0)});
  b_.CreateBr(join);
  b_.SetInsertPoint(serial);
  std::vector<LV *> one = vals;
  one[2] = c64(1); // one block, this thread's
  one.push_back(c64(0));
  one.push_back(c64(1));
  b_.CreateCall(bodyFn, one);
  b_.CreateBr(join);
  b_.SetInsertPoint(join);
  // The blocks' sums, in block order (no reassociation).
  for (size_t k = 0; k < nred; ++k) {
    unsigned r = s.reduce[k];
    llvm::Type *t = type(lf_.vars[r].type);
    llvm::BasicBlock *pre = b_.GetInsertBlock();
    auto *head = llvm::BasicBlock::Create(ctx_, "sum", fn_);
    auto *body = llvm::BasicBlock::Create(ctx_, "sum.body", fn_);
    auto *exit = llvm::BasicBlock::Create(ctx_, "sum.exit", fn_);
    b_.CreateBr(head);
    b_.SetInsertPoint(head);
    llvm::PHINode *c = b_.CreatePHI(i64(), 2, "c");
    c->addIncoming(c64(0), pre);
    b_.CreateCondBr(b_.CreateICmpSLT(c, blocks), body, exit);
    b_.SetInsertPoint(body);
    LV *x = b_.CreateLoad(
        b_.getDoubleTy(),
        b_.CreateInBoundsGEP(b_.getDoubleTy(), parts,
                             b_.CreateAdd(b_.CreateMul(c, c64(nred)), c64(k))));
    if (!t->isDoubleTy())
      x = b_.CreateFPTrunc(x, t);
    b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(t, vars_[r]), x), vars_[r]);
    c->addIncoming(b_.CreateAdd(c, c64(1)), b_.GetInsertBlock());
    b_.CreateBr(head);
    b_.SetInsertPoint(exit);
  }
}

void Renderer::call(const loops::KernelCall &c) {
  llvm::Type *t = elt(c.dtype), *i32 = b_.getInt32Ty(), *ptr = b_.getPtrTy();
  auto blas = [&](llvm::StringRef name, llvm::Type *ret,
                  llvm::ArrayRef<llvm::Type *> params,
                  llvm::ArrayRef<LV *> args) {
    auto callee = m_.getOrInsertFunction(
        name, llvm::FunctionType::get(ret, params, false));
    return b_.CreateCall(callee, args);
  };
  auto i = [&](const Expr *e) { return b_.CreateTrunc(expr(e), i32); };
  LV *rowMajor = b_.getInt32(101);
  auto flag = [&](bool trans) { return b_.getInt32(trans ? 112 : 111); };
  std::string p = c.dtype == DType::F32 ? "cblas_s" : "cblas_d";
  LV *one = llvm::ConstantFP::get(t, 1.0),
     *zero = llvm::ConstantFP::get(t, 0.0);
  LV *a = ptrs_.lookup(c.a), *bb = ptrs_.lookup(c.b), *out = ptrs_.lookup(c.c);
  auto offset = [&](LV *p, const Expr *off) {
    return off ? b_.CreateInBoundsGEP(t, p, expr(off)) : p;
  };
  a = offset(a, c.offA), bb = offset(bb, c.offB), out = offset(out, c.offC);
  switch (c.kind) {
  case loops::KernelCall::Gemm:
    blas(p + "gemm", b_.getVoidTy(),
         {i32, i32, i32, i32, i32, i32, t, ptr, i32, ptr, i32, t, ptr, i32},
         {rowMajor, flag(c.transA), flag(c.transB), i(c.m), i(c.n), i(c.k), one,
          a, i(c.lda), bb, i(c.ldb), c.accumulate ? one : zero, out, i(c.n)});
    return;
  case loops::KernelCall::Gemv:
    blas(p + "gemv", b_.getVoidTy(),
         {i32, i32, i32, i32, t, ptr, i32, ptr, i32, t, ptr, i32},
         {rowMajor, flag(c.transA), i(c.m), i(c.n), one, a, i(c.lda), bb,
          b_.getInt32(1), zero, out, b_.getInt32(1)});
    return;
  case loops::KernelCall::Dot: {
    LV *r = blas(p + "dot", t, {i32, ptr, i32, ptr, i32},
                 {i(c.m), a, b_.getInt32(1), bb, b_.getInt32(1)});
    b_.CreateStore(r, out);
    return;
  }
  }
}

llvm::Function *Renderer::run() {
  llvm::Type *ptr = b_.getPtrTy();
  std::vector<std::string> syms = symbolicDims(f_);
  std::vector<llvm::Type *> params(f_.args.size(), ptr);
  params.insert(params.end(), syms.size(), i64());
  params.insert(params.end(), f_.results.size(), ptr);
  if (!inner_.empty())
    params.insert(params.end(), lf_.slots.size(), ptr);
  auto *fty = llvm::FunctionType::get(b_.getInt32Ty(), params, false);
  fn_ = llvm::Function::Create(fty,
                               inner_.empty() ? llvm::Function::ExternalLinkage
                                              : llvm::Function::InternalLinkage,
                               inner_.empty() ? cSymbolName(f_.name) : inner_,
                               m_);
  fn_->addFnAttr(llvm::Attribute::NoUnwind);
  // The functions this one invokes, each one LLVM function (internal)
  // however many functions invoke it.
  for (const auto &c : lf_.callees) {
    llvm::Function *&r = rendered_.callees[c.get()];
    if (!r)
      r = Renderer(*c, m_, rendered_, cSymbolName(c->source->name) + ".invoked")
              .run();
    callees_.push_back(r);
  }
  b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));
  unsigned k = 0;
  std::vector<LV *> args, outs;
  for (const Value *a : f_.args) {
    llvm::Argument *arg = fn_->getArg(k++);
    arg->setName(a->name);
    arg->addAttr(llvm::Attribute::NoAlias);
    arg->addAttr(llvm::Attribute::ReadOnly);
    args.push_back(arg);
  }
  for (const std::string &s : syms) {
    llvm::Argument *arg = fn_->getArg(k++);
    arg->setName(s);
    dims_[s] = arg;
  }
  for (size_t i = 0; i < f_.results.size(); ++i) {
    llvm::Argument *arg = fn_->getArg(k++);
    arg->setName("out" + std::to_string(i));
    arg->addAttr(llvm::Attribute::NoAlias);
    outs.push_back(arg);
  }
  std::vector<LV *> slotArgs; // an invoked function's arena slots
  if (!inner_.empty())
    for (size_t i = 0; i < lf_.slots.size(); ++i) {
      llvm::Argument *arg = fn_->getArg(k++);
      arg->setName("slot" + std::to_string(i));
      arg->addAttr(llvm::Attribute::NoAlias);
      slotArgs.push_back(arg);
    }
  // Mutable variables live in the entry block (of their part, if the
  // function is cut into parts).
  vars_.assign(lf_.vars.size(), nullptr);
  for (size_t v = 0; v < lf_.vars.size() && lf_.cuts.empty(); ++v)
    if (lf_.vars[v].kind == loops::Var::Mutable)
      vars_[v] =
          b_.CreateAlloca(type(lf_.vars[v].type), nullptr, lf_.vars[v].name);
  // One arena for every stored intermediate, slots reused after the last
  // read of their value.
  LV *total = c64(0);
  std::vector<LV *> offsets;
  for (const loops::Slot &s : lf_.slots) {
    offsets.push_back(total);
    LV *n = c64(dtypeSize(s.dtype));
    for (const Dim &d : s.dims)
      n = b_.CreateMul(n, d.isSym() ? dims_.lookup(d.sym) : c64(d.size));
    LV *rounded = b_.CreateAnd(b_.CreateAdd(n, c64(kArenaAlign - 1)),
                               c64(~(kArenaAlign - 1)));
    total = b_.CreateAdd(total, rounded);
  }
  LV *arena = nullptr, *cached = nullptr;
  llvm::BasicBlock *fail = nullptr;
  if (!lf_.slots.empty() && inner_.empty()) {
    std::tie(arena, cached) =
        acquireArena(b_.CreateAdd(total, c64(kArenaAlign)));
    fail = llvm::BasicBlock::Create(ctx_, "nomem", fn_);
    auto *ok = llvm::BasicBlock::Create(ctx_, "start", fn_);
    b_.CreateCondBr(b_.CreateIsNull(arena), fail, ok);
    b_.SetInsertPoint(ok);
  }
  for (const auto &buf : lf_.buffers) {
    const Buffer *b = buf.get();
    switch (b->kind) {
    case Buffer::Arg:
      ptrs_[b] = args[b->index];
      break;
    case Buffer::Result:
      ptrs_[b] = outs[b->index];
      break;
    case Buffer::Const: {
      std::vector<llvm::Constant *> elems;
      for (double x : b->data->data)
        elems.push_back(isInt(b->dtype)
                            ? llvm::ConstantInt::get(elt(b->dtype), int64_t(x),
                                                     /*IsSigned=*/true)
                            : llvm::ConstantFP::get(elt(b->dtype), x));
      auto *aty = llvm::ArrayType::get(elt(b->dtype), elems.size());
      auto *g = new llvm::GlobalVariable(
          m_, aty, true, llvm::GlobalValue::PrivateLinkage,
          llvm::ConstantArray::get(aty, elems), b->name);
      g->setAlignment(llvm::Align(kArenaAlign));
      ptrs_[b] = g;
      break;
    }
    case Buffer::Arena:
      ptrs_[b] =
          arena ? b_.CreateInBoundsGEP(b_.getInt8Ty(), arena, offsets[b->index])
                : slotArgs[b->index];
      break;
    }
  }
  if (lf_.cuts.empty()) {
    stmts(lf_.body);
  } else {
    arena_ = arena;
    offsets_ = offsets;
    parts();
  }
  if (arena) {
    releaseArena(arena, cached);
    b_.CreateRet(b_.getInt32(0));
    b_.SetInsertPoint(fail);
    b_.CreateRet(b_.getInt32(1));
  } else {
    b_.CreateRet(b_.getInt32(0));
  }
  // An index out of range: the arena is released, the call returns 3
  // (GRADC_BAD_INDEX).
  if (badIndex_) {
    b_.SetInsertPoint(badIndex_);
    if (arena)
      releaseArena(arena, cached);
    b_.CreateRet(b_.getInt32(3));
  }
  return fn_;
}

/// A long function cut into parts (LoopFunction::cuts, lib/Loops/Parts.cpp):
/// each part becomes an internal function `<f>.partK` that takes the
/// arguments and outputs it uses (noalias, like gradc_f's), the arena
/// (noalias: no argument or output is in it), the slots' offsets in it when
/// some are not constants, and the symbolic dims it reads, and returns 0,
/// or 3 when an index is out of range; the function calls them in order. No
/// scalar variable is live across a cut. Parameters stay few however many
/// arena slots a part uses (a gradient saves thousands of values; a pointer
/// per slot made LLVM's interprocedural passes superlinear). The parts are
/// never inlined: bounding the size of each LLVM function is their point
/// (LLVM's code generation is superlinear in it).
void Renderer::parts() {
  llvm::Function *entry = fn_;
  llvm::BasicBlock *entryBad = nullptr;
  // The offsets that are not constants (symbolic dims), in an array.
  LV *offsetArray = nullptr;
  if (llvm::any_of(offsets_,
                   [](LV *o) { return !llvm::isa<llvm::Constant>(o); })) {
    llvm::IRBuilder<> e(&entry->getEntryBlock(),
                        entry->getEntryBlock().begin());
    offsetArray = e.CreateAlloca(i64(), c64(offsets_.size()), "offsets");
    for (size_t k = 0; k < offsets_.size(); ++k)
      b_.CreateStore(offsets_[k],
                     b_.CreateConstInBoundsGEP1_64(i64(), offsetArray, k));
  }
  std::vector<std::pair<size_t, size_t>> ranges = lf_.parts();
  for (size_t k = 0; k < ranges.size(); ++k) {
    auto [begin, end] = ranges[k];
    llvm::ArrayRef<Stmt> body =
        llvm::ArrayRef(lf_.body).slice(begin, end - begin);
    loops::Uses uses = loops::usesOf(body);
    // Parameters: each argument and output used, then the arena and the
    // offsets (if any slot is used), then the dims.
    std::vector<const Buffer *> mems;
    llvm::DenseMap<const Buffer *, unsigned> memOf;
    std::map<std::pair<int, unsigned>, unsigned> index;
    bool usesArena = false;
    for (const Buffer *bb : uses.buffers) {
      usesArena |= bb->kind == Buffer::Arena;
      if (bb->kind != Buffer::Arg && bb->kind != Buffer::Result)
        continue; // a global, or in the arena
      auto [it, fresh] =
          index.try_emplace({int(bb->kind), bb->index}, mems.size());
      if (fresh)
        mems.push_back(bb);
      memOf[bb] = it->second;
    }
    bool passOffsets = usesArena && offsetArray;
    std::vector<llvm::Type *> params(mems.size(), b_.getPtrTy());
    if (usesArena)
      params.push_back(b_.getPtrTy());
    if (passOffsets)
      params.push_back(b_.getPtrTy());
    size_t firstDim = params.size();
    params.insert(params.end(), uses.syms.size(), i64());
    auto *part = llvm::Function::Create(
        llvm::FunctionType::get(b_.getInt32Ty(), params, false),
        llvm::Function::InternalLinkage,
        entry->getName() + ".part" + llvm::Twine(k), m_);
    part->addFnAttr(llvm::Attribute::NoUnwind);
    part->addFnAttr(llvm::Attribute::NoInline);
    std::vector<LV *> callArgs;
    for (size_t m = 0; m < mems.size(); ++m) {
      llvm::Argument *arg = part->getArg(m);
      arg->setName(mems[m]->name);
      arg->addAttr(llvm::Attribute::NoAlias);
      if (mems[m]->kind == Buffer::Arg)
        arg->addAttr(llvm::Attribute::ReadOnly);
      callArgs.push_back(ptrs_.lookup(mems[m]));
    }
    llvm::Argument *arenaArg = nullptr, *offsetsArg = nullptr;
    if (usesArena) {
      arenaArg = part->getArg(mems.size());
      arenaArg->setName("arena");
      arenaArg->addAttr(llvm::Attribute::NoAlias);
      callArgs.push_back(arena_);
    }
    if (passOffsets) {
      offsetsArg = part->getArg(mems.size() + 1);
      offsetsArg->setName("offsets");
      offsetsArg->addAttr(llvm::Attribute::ReadOnly);
      callArgs.push_back(offsetArray);
    }
    for (size_t d = 0; d < uses.syms.size(); ++d) {
      part->getArg(firstDim + d)->setName(uses.syms[d]);
      callArgs.push_back(dims_.lookup(uses.syms[d]));
    }
    LV *status = b_.CreateCall(part, callArgs);

    // The part's body, with its own pointers and dims; the function's are
    // put back afterwards (only those it uses: linear in the program).
    auto savedIP = b_.saveIP();
    std::vector<std::pair<const Buffer *, LV *>> savedPtrs;
    std::vector<std::pair<std::string, LV *>> savedDims;
    fn_ = part;
    b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", part));
    llvm::DenseMap<unsigned, LV *> slotPtr;
    for (const Buffer *bb : uses.buffers) {
      if (bb->kind == Buffer::Const)
        continue;
      savedPtrs.push_back({bb, ptrs_.lookup(bb)});
      if (bb->kind != Buffer::Arena) {
        ptrs_[bb] = part->getArg(memOf[bb]);
        continue;
      }
      LV *&p = slotPtr[bb->index];
      if (!p) {
        LV *off = offsets_[bb->index];
        if (!llvm::isa<llvm::Constant>(off))
          off = b_.CreateLoad(i64(), b_.CreateConstInBoundsGEP1_64(
                                         i64(), offsetsArg, bb->index));
        p = b_.CreateInBoundsGEP(b_.getInt8Ty(), arenaArg, off);
      }
      ptrs_[bb] = p;
    }
    for (size_t d = 0; d < uses.syms.size(); ++d) {
      savedDims.push_back({uses.syms[d], dims_.lookup(uses.syms[d])});
      dims_[uses.syms[d]] = part->getArg(firstDim + d);
    }
    // The part's mutable variables (none is used by another part).
    std::vector<const Stmt *> roots;
    for (const Stmt &t : body)
      roots.push_back(&t);
    allocateMutables(std::move(roots));
    badIndex_ = nullptr;
    stmts(body);
    b_.CreateRet(b_.getInt32(0));
    bool fails = badIndex_;
    if (badIndex_) {
      b_.SetInsertPoint(badIndex_);
      b_.CreateRet(b_.getInt32(3));
    }
    for (auto &[bb, p] : savedPtrs)
      ptrs_[bb] = p;
    for (auto &[name, d] : savedDims)
      dims_[name] = d;
    fn_ = entry;
    b_.restoreIP(savedIP);
    if (fails) {
      if (!entryBad)
        entryBad = llvm::BasicBlock::Create(ctx_, "bad_index", fn_);
      auto *ok = llvm::BasicBlock::Create(ctx_, "index_ok", fn_);
      b_.CreateCondBr(b_.CreateICmpNE(status, b_.getInt32(0)), entryBad, ok);
      b_.SetInsertPoint(ok);
    }
  }
  badIndex_ = entryBad;
}

/// The module's cached arena: a block, its size, and a flag for its owner.
static llvm::GlobalVariable *moduleGlobal(llvm::Module &m, llvm::StringRef name,
                                          llvm::Type *t) {
  if (auto *g = m.getNamedGlobal(name))
    return g;
  return new llvm::GlobalVariable(m, t, false,
                                  llvm::GlobalValue::InternalLinkage,
                                  llvm::Constant::getNullValue(t), name);
}

std::pair<LV *, LV *> Renderer::acquireArena(LV *bytes) {
  llvm::Type *ptr = b_.getPtrTy();
  auto *block = moduleGlobal(m_, "gradc.arena", ptr);
  auto *size = moduleGlobal(m_, "gradc.arena.size", i64());
  auto *busy = moduleGlobal(m_, "gradc.arena.busy", b_.getInt32Ty());
  auto allocFn = m_.getOrInsertFunction(
      "aligned_alloc", llvm::FunctionType::get(ptr, {i64(), i64()}, false));
  auto freeFn = m_.getOrInsertFunction(
      "free", llvm::FunctionType::get(b_.getVoidTy(), {ptr}, false));
  LV *wasBusy =
      b_.CreateAtomicRMW(llvm::AtomicRMWInst::Xchg, busy, b_.getInt32(1),
                         llvm::MaybeAlign(4), llvm::AtomicOrdering::Acquire);
  LV *mine = b_.CreateICmpEQ(wasBusy, b_.getInt32(0));
  auto *useCache = llvm::BasicBlock::Create(ctx_, "arena.cached", fn_);
  auto *grow = llvm::BasicBlock::Create(ctx_, "arena.grow", fn_);
  auto *own = llvm::BasicBlock::Create(ctx_, "arena.own", fn_);
  auto *done = llvm::BasicBlock::Create(ctx_, "arena", fn_);
  b_.CreateCondBr(mine, useCache, own);
  // The cached block, grown to `bytes` when smaller.
  b_.SetInsertPoint(useCache);
  LV *have = b_.CreateLoad(ptr, block);
  LV *big = b_.CreateICmpUGE(b_.CreateLoad(i64(), size), bytes);
  b_.CreateCondBr(big, done, grow);
  b_.SetInsertPoint(grow);
  b_.CreateCall(freeFn, {have});
  LV *fresh = b_.CreateCall(allocFn, {c64(kArenaAlign), bytes});
  b_.CreateStore(fresh, block);
  b_.CreateStore(b_.CreateSelect(b_.CreateIsNull(fresh), c64(0), bytes), size);
  b_.CreateBr(done);
  // Another thread holds the cache: a block of this call's own.
  b_.SetInsertPoint(own);
  LV *single = b_.CreateCall(allocFn, {c64(kArenaAlign), bytes});
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
  llvm::PHINode *arena = b_.CreatePHI(ptr, 3, "arena");
  arena->addIncoming(have, useCache);
  arena->addIncoming(fresh, grow);
  arena->addIncoming(single, own);
  // Out of memory with the cache held: release it before failing.
  auto *nomem = llvm::BasicBlock::Create(ctx_, "arena.nomem", fn_);
  auto *ok = llvm::BasicBlock::Create(ctx_, "arena.ok", fn_);
  b_.CreateCondBr(b_.CreateAnd(b_.CreateIsNull(arena), mine), nomem, ok);
  b_.SetInsertPoint(nomem);
  b_.CreateAlignedStore(b_.getInt32(0), busy, llvm::Align(4))
      ->setAtomic(llvm::AtomicOrdering::Release);
  b_.CreateBr(ok);
  b_.SetInsertPoint(ok);
  return {arena, mine};
}

void Renderer::releaseArena(LV *arena, LV *cached) {
  auto *busy = moduleGlobal(m_, "gradc.arena.busy", b_.getInt32Ty());
  auto freeFn = m_.getOrInsertFunction(
      "free", llvm::FunctionType::get(b_.getVoidTy(), {b_.getPtrTy()}, false));
  auto *release = llvm::BasicBlock::Create(ctx_, "arena.release", fn_);
  auto *drop = llvm::BasicBlock::Create(ctx_, "arena.free", fn_);
  auto *done = llvm::BasicBlock::Create(ctx_, "arena.done", fn_);
  b_.CreateCondBr(cached, release, drop);
  b_.SetInsertPoint(release);
  b_.CreateAlignedStore(b_.getInt32(0), busy, llvm::Align(4))
      ->setAtomic(llvm::AtomicOrdering::Release);
  b_.CreateBr(done);
  b_.SetInsertPoint(drop);
  b_.CreateCall(freeFn, {arena});
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

/// int gradc_f__packed(void **in, const int64_t *dims, void **out)
void addPackedEntry(const Function &f, llvm::Function *fn, llvm::Module &m) {
  llvm::LLVMContext &ctx = m.getContext();
  IRBuilder<> b(ctx);
  llvm::Type *ptr = b.getPtrTy();
  auto *fty = llvm::FunctionType::get(b.getInt32Ty(), {ptr, ptr, ptr}, false);
  auto *packed = llvm::Function::Create(fty, llvm::Function::ExternalLinkage,
                                        packedSymbolName(f), m);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", packed));
  std::vector<LV *> args;
  auto load = [&](llvm::Type *t, LV *base, size_t i) {
    return b.CreateLoad(t, b.CreateConstInBoundsGEP1_64(t, base, i));
  };
  for (size_t i = 0; i < f.args.size(); ++i)
    args.push_back(load(ptr, packed->getArg(0), i));
  for (size_t i = 0; i < symbolicDims(f).size(); ++i)
    args.push_back(load(b.getInt64Ty(), packed->getArg(1), i));
  for (size_t i = 0; i < f.results.size(); ++i)
    args.push_back(load(ptr, packed->getArg(2), i));
  b.CreateRet(b.CreateCall(fn, args));
}

/// int gradc_f__typed(...): the C ABI function with every scalar (rank-0
/// f32/f64) input passed by value, in a register, instead of by pointer;
/// tensors, dims and outputs as in gradc_f. A small function is inlined
/// into it.
void addTypedEntry(const Function &f, llvm::Function *fn, llvm::Module &m) {
  llvm::LLVMContext &ctx = m.getContext();
  IRBuilder<> b(ctx);
  llvm::FunctionType *inner = fn->getFunctionType();
  std::vector<llvm::Type *> params(inner->param_begin(), inner->param_end());
  auto scalar = [&](size_t i) -> llvm::Type * {
    const Type &t = f.args[i]->type;
    if (t.rank() != 0 || isInt(t.dtype))
      return nullptr;
    return t.dtype == DType::F32 ? b.getFloatTy() : b.getDoubleTy();
  };
  for (size_t i = 0; i < f.args.size(); ++i)
    if (llvm::Type *t = scalar(i))
      params[i] = t;
  auto *typed = llvm::Function::Create(
      llvm::FunctionType::get(b.getInt32Ty(), params, false),
      llvm::Function::ExternalLinkage, typedSymbolName(f), m);
  typed->addFnAttr(llvm::Attribute::NoUnwind);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", typed));
  std::vector<LV *> args;
  for (size_t i = 0; i < params.size(); ++i) {
    LV *a = typed->getArg(i);
    if (i < f.args.size() && scalar(i)) {
      LV *slot = b.CreateAlloca(params[i]);
      b.CreateStore(a, slot);
      a = slot;
    }
    args.push_back(a);
  }
  b.CreateRet(b.CreateCall(fn, args));
}

/// Whether `lf` can fail: it allocates an arena, checks an index or
/// invokes a function (which may do either).
bool canFail(const LoopFunction &lf) {
  if (!lf.slots.empty())
    return true;
  std::function<bool(const std::vector<Stmt> &)> fails =
      [&](const std::vector<Stmt> &body) {
        return llvm::any_of(body, [&](const Stmt &s) {
          return s.kind == Stmt::FailIf || s.kind == Stmt::Invoke ||
                 fails(s.body) || fails(s.orelse);
        });
      };
  return fails(lf.body);
}

/// The x86-64 SysV type of a C struct of `n` scalars of type `t` returned
/// in registers (two floats per SSE register), or null when the struct is
/// returned in memory or the host is another machine.
llvm::Type *valuesType(llvm::Type *t, size_t n) {
  if (llvm::Triple(llvm::sys::getProcessTriple()).getArch() !=
      llvm::Triple::x86_64)
    return nullptr;
  llvm::LLVMContext &ctx = t->getContext();
  if (t->isDoubleTy()) {
    if (n == 1)
      return t;
    return n == 2 ? llvm::StructType::get(ctx, {t, t}) : nullptr;
  }
  llvm::Type *pair = llvm::FixedVectorType::get(t, 2);
  switch (n) {
  case 1:
    return t;
  case 2:
    return pair;
  case 3:
    return llvm::StructType::get(ctx, {pair, t});
  case 4:
    return llvm::StructType::get(ctx, {pair, pair});
  default:
    return nullptr;
  }
}

/// gradc_f__values(...), for a function that cannot fail and returns one to
/// four f32 scalars (or one or two f64): __typed's parameters without the
/// outputs, returning the outputs by value as the C struct
/// `{T r0, r1, ...}` (a lone scalar as itself). A call of a scalar function
/// then touches no memory.
void addValuesEntry(const Module &gm, const Function &f, const LoopFunction &lf,
                    llvm::Module &m) {
  if (f.results.empty() || canFail(lf))
    return;
  DType dt = f.results[0]->type.dtype;
  for (const Value *r : f.results)
    if (r->type.rank() != 0 || r->type.dtype != dt)
      return;
  if (dt != DType::F32 && dt != DType::F64)
    return;
  llvm::LLVMContext &ctx = m.getContext();
  IRBuilder<> b(ctx);
  llvm::Type *t = dt == DType::F32 ? b.getFloatTy() : b.getDoubleTy();
  llvm::Type *ret = valuesType(t, f.results.size());
  llvm::Function *typed = m.getFunction(typedSymbolName(f));
  if (!ret || !typed)
    return;
  llvm::FunctionType *inner = typed->getFunctionType();
  size_t nin = inner->getNumParams() - f.results.size();
  std::vector<llvm::Type *> params(inner->param_begin(),
                                   inner->param_begin() + nin);
  auto *values = llvm::Function::Create(
      llvm::FunctionType::get(ret, params, false),
      llvm::Function::ExternalLinkage, valuesSymbolName(f), m);
  values->addFnAttr(llvm::Attribute::NoUnwind);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", values));
  std::vector<LV *> args, outs;
  for (size_t i = 0; i < nin; ++i)
    args.push_back(values->getArg(i));
  for (size_t i = 0; i < f.results.size(); ++i) {
    outs.push_back(b.CreateAlloca(t));
    args.push_back(outs.back());
  }
  b.CreateCall(typed, args); // cannot fail: returns 0
  std::vector<LV *> r;
  for (LV *o : outs)
    r.push_back(b.CreateLoad(t, o));
  // Pack the scalars as `ret` holds them: pairs of floats in a vector.
  auto pair = [&](size_t k) -> LV * {
    LV *v = llvm::PoisonValue::get(llvm::FixedVectorType::get(t, 2));
    v = b.CreateInsertElement(v, r[k], uint64_t(0));
    return b.CreateInsertElement(v, r[k + 1], uint64_t(1));
  };
  LV *result = nullptr;
  if (r.size() == 1) {
    result = r[0];
  } else if (dt == DType::F64) {
    result = b.CreateInsertValue(
        b.CreateInsertValue(llvm::PoisonValue::get(ret), r[0], 0), r[1], 1);
  } else if (r.size() == 2) {
    result = pair(0);
  } else {
    result = b.CreateInsertValue(llvm::PoisonValue::get(ret), pair(0), 0);
    result = b.CreateInsertValue(result, r.size() == 4 ? pair(2) : r[2], 1);
  }
  b.CreateRet(result);
  // A gradient of a scalar function: also without its seed (the last
  // input), which is 1, as gradc_f_grad_noseed.
  llvm::Type *seed = params.back();
  if (!seededPrimal(gm, f) || !seed->isFloatingPointTy())
    return;
  params.pop_back();
  auto *noseed = llvm::Function::Create(
      llvm::FunctionType::get(ret, params, false),
      llvm::Function::ExternalLinkage, noseedSymbolName(f) + "__values", m);
  noseed->addFnAttr(llvm::Attribute::NoUnwind);
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", noseed));
  std::vector<LV *> with;
  for (llvm::Argument &a : noseed->args())
    with.push_back(&a);
  with.push_back(llvm::ConstantFP::get(seed, 1));
  b.CreateRet(b.CreateCall(values, with));
}

} // namespace

std::string typedSymbolName(const Function &f) {
  return cSymbolName(f.name) + "__typed";
}

std::string valuesSymbolName(const Function &f) {
  return cSymbolName(f.name) + "__values";
}

/// `void name(void)`: frees the cached arena (if any function has one) and
/// clears it; also run at exit through llvm.global_dtors.
static void addRelease(llvm::Module &m, llvm::StringRef name) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  auto *fn =
      llvm::Function::Create(llvm::FunctionType::get(b.getVoidTy(), false),
                             llvm::GlobalValue::ExternalLinkage, name, m);
  fn->setDoesNotThrow();
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
  if (auto *block = m.getNamedGlobal("gradc.arena")) {
    auto freeFn = m.getOrInsertFunction(
        "free", llvm::FunctionType::get(b.getVoidTy(), {b.getPtrTy()}, false));
    b.CreateCall(freeFn, {b.CreateLoad(b.getPtrTy(), block)});
    b.CreateStore(llvm::Constant::getNullValue(b.getPtrTy()), block);
    if (auto *size = m.getNamedGlobal("gradc.arena.size"))
      b.CreateStore(b.getInt64(0), size);
  }
  b.CreateRetVoid();
  llvm::appendToGlobalDtors(m, fn, 65535);
}

/// `void gradc_set_num_threads(int n)`: the thread count of parallel loops
/// and, when the program has OpenBLAS, of its BLAS calls (n <= 0: OpenMP's
/// default). weak_odr, like gradc_num_threads: one per program.
static void addThreadSetter(llvm::Module &m) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::IRBuilder<> b(ctx);
  llvm::Type *i32 = b.getInt32Ty();
  auto *fty = llvm::FunctionType::get(b.getVoidTy(), {i32}, false);
  auto *fn = llvm::Function::Create(fty, llvm::GlobalValue::WeakODRLinkage,
                                    "gradc_set_num_threads", m);
  fn->setDoesNotThrow();
  b.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", fn));
  LV *n = b.CreateSelect(b.CreateICmpSGT(fn->getArg(0), b.getInt32(0)),
                         fn->getArg(0), b.getInt32(0));
  b.CreateStore(n, threadsGlobal(m));
  // OpenBLAS, if linked: a weak reference, null without it.
  auto *blas =
      llvm::Function::Create(fty, llvm::GlobalValue::ExternalWeakLinkage,
                             "openblas_set_num_threads", m);
  auto *call = llvm::BasicBlock::Create(ctx, "blas", fn);
  auto *done = llvm::BasicBlock::Create(ctx, "done", fn);
  // n = 0 leaves OpenBLAS at its own default (OPENBLAS_NUM_THREADS, else
  // every core).
  b.CreateCondBr(
      b.CreateAnd(b.CreateIsNotNull(blas), b.CreateICmpSGT(n, b.getInt32(0))),
      call, done);
  b.SetInsertPoint(call);
  b.CreateCall(blas, {n});
  b.CreateBr(done);
  b.SetInsertPoint(done);
  b.CreateRetVoid();
}

std::unique_ptr<llvm::Module>
lowerToLLVM(const Module &m, llvm::LLVMContext &ctx, const LowerOptions &opts) {
  auto mod = std::make_unique<llvm::Module>("gradc", ctx);
  addThreadSetter(*mod);
  loops::CalleeCache lowered; // functions invoked by several, lowered once
  RenderedCallees rendered;
  std::vector<std::unique_ptr<LoopFunction>> lfs;
  std::vector<LoopFunction *> all;
  for (const auto &f : m.functions) {
    if (opts.only && opts.only != f.get())
      continue;
    loops::LoopOptions lo;
    lo.blas = opts.blas;
    lo.parallel = opts.parallel;
    lo.partSize = opts.partSize;
    lfs.push_back(loops::lowerToLoops(*f, lo, &lowered));
    all.push_back(lfs.back().get());
  }
  // Loop nests that repeat (the layers of a deep model), compiled once.
  loops::shareNests(all);
  for (const auto &lf : lfs) {
    llvm::Function *fn = Renderer(*lf, *mod, rendered).run();
    addPackedEntry(*lf->source, fn, *mod);
    addTypedEntry(*lf->source, fn, *mod);
    addValuesEntry(m, *lf->source, *lf, *mod);
  }
  if (std::string name = releaseSymbolName(m, opts); !name.empty())
    addRelease(*mod, name);
  if (llvm::verifyModule(*mod, &llvm::errs()))
    llvm::report_fatal_error("gradc: internal error: invalid LLVM IR");
  return mod;
}

int64_t workspaceBytes(const Function &f, const SymEnv &syms) {
  return loops::arenaBytes(f, syms);
}

} // namespace gradc
