//===- Lowering.cpp - From the graph IR to LLVM IR ------------------------===//
//
// A function is lowered op by op, in order, following its storage Plan
// (Plan.h). Each value is one of:
//  - an argument, a constant (a global array), or an output (the caller's
//    buffer): no allocation;
//  - fused: an elementwise op used exactly once, by an elementwise op or a
//    sum/mean/reduce_max of its own shape, and not returned, or a
//    broadcast_to read only by such loops: no buffer, it is recomputed inside
//    its consumers' loops;
//  - a view: reshape shares its operand's buffer; a transpose used only by
//    matmuls becomes a BLAS transpose flag;
//  - a register: a member of a loop group read only inside its group;
//  - otherwise stored once in the module's arena, in a slot that a later
//    value of the same type reuses once the last reader of this one is done.
// Consecutive loops over the same dims (a loop group) are emitted as one.
//
//===----------------------------------------------------------------------===//
#include "gradc/Codegen/Lowering.h"

#include "Plan.h"
#include "gradc/IR/ABI.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Verifier.h"

#include <algorithm>
#include <cmath>

namespace gradc {

using llvm::IRBuilder;
using LV = llvm::Value;

std::string packedSymbolName(const Function &f) {
  return cSymbolName(f.name) + "__packed";
}

namespace {

using codegen::eltSize;
using codegen::kAlign;
using codegen::Plan;

class FunctionLowering {
public:
  FunctionLowering(const Function &f, llvm::Module &m, const LowerOptions &o)
      : f_(f), m_(m), ctx_(m.getContext()), b_(ctx_), opts_(o), plan_(f) {}

  llvm::Function *run();

private:
  llvm::Type *elt(DType t) {
    return t == DType::F32 ? b_.getFloatTy() : b_.getDoubleTy();
  }
  llvm::Type *i64() { return b_.getInt64Ty(); }
  LV *c64(int64_t v) { return b_.getInt64(v); }
  LV *fp(DType t, double v) { return llvm::ConstantFP::get(elt(t), v); }

  std::vector<LV *> shapeOf(const Type &t) {
    std::vector<LV *> s;
    for (const Dim &d : t.dims)
      s.push_back(d.isSym() ? dims_.lookup(d.sym) : c64(d.size));
    return s;
  }
  LV *product(llvm::ArrayRef<LV *> s) {
    LV *n = c64(1);
    for (LV *d : s)
      n = b_.CreateMul(n, d);
    return n;
  }
  LV *numBytes(const Type &t) {
    return b_.CreateMul(product(shapeOf(t)), c64(eltSize(t.dtype)));
  }
  /// Row-major linear index of `idx` in `shape`.
  LV *linear(llvm::ArrayRef<LV *> idx, llvm::ArrayRef<LV *> shape) {
    LV *off = c64(0);
    for (size_t i = 0; i < idx.size(); ++i)
      off = b_.CreateAdd(b_.CreateMul(off, shape[i]), idx[i], "", true, true);
    return off;
  }
  /// The index into an operand of type `u` broadcast to type `t`.
  std::vector<LV *> mapIndex(llvm::ArrayRef<LV *> idx, const Type &t,
                             const Type &u) {
    std::vector<LV *> out;
    size_t off = t.rank() - u.rank();
    for (size_t j = 0; j < u.rank(); ++j)
      out.push_back(u.dims[j].isOne() && !t.dims[j + off].isOne()
                        ? c64(0)
                        : idx[j + off]);
    return out;
  }

  llvm::AllocaInst *entryAlloca(llvm::Type *t) {
    IRBuilder<> eb(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
    return eb.CreateAlloca(t);
  }

  /// Emits loops over `dims` (outermost first) around `body`.
  /// f32 sums are first accumulated in float over blocks of this many
  /// elements, each block's sum then added in double: the loop runs on as
  /// many lanes as floats allow, and the total keeps double's accuracy.
  static constexpr int64_t kChunk = 256;
  /// Blocks of the innermost loop, with begin() and end() around each.
  struct Chunking {
    int64_t size;
    std::function<void()> begin, end;
  };

  /// Emits `for (i = begin; i < end; i += step) body(i)`.
  void forLoop(LV *begin, LV *end, int64_t step,
               const std::function<void(LV *)> &body) {
    llvm::BasicBlock *pre = b_.GetInsertBlock();
    auto *header = llvm::BasicBlock::Create(ctx_, "loop", fn_);
    auto *bodyBB = llvm::BasicBlock::Create(ctx_, "body", fn_);
    auto *exit = llvm::BasicBlock::Create(ctx_, "exit", fn_);
    b_.CreateBr(header);
    b_.SetInsertPoint(header);
    llvm::PHINode *i = b_.CreatePHI(i64(), 2, "i");
    i->addIncoming(begin, pre);
    b_.CreateCondBr(b_.CreateICmpSLT(i, end), bodyBB, exit);
    b_.SetInsertPoint(bodyBB);
    body(i);
    i->addIncoming(b_.CreateAdd(i, c64(step), "", true, true),
                   b_.GetInsertBlock());
    b_.CreateBr(header);
    b_.SetInsertPoint(exit);
  }

  /// Emits loops over `dims` (outermost first) around `body`.
  void loopNest(llvm::ArrayRef<LV *> dims,
                const std::function<void(llvm::ArrayRef<LV *>)> &body,
                std::vector<LV *> idx = {}) {
    if (idx.size() == dims.size())
      return body(idx);
    forLoop(c64(0), dims[idx.size()], 1, [&](LV *i) {
      idx.push_back(i);
      loopNest(dims, body, idx);
      idx.pop_back();
    });
  }

  /// Like loopNest, with the innermost loop in blocks of `chunk->size`
  /// iterations and chunk->begin()/end() around each block (no blocks when
  /// `chunk` is null).
  void chunkedLoopNest(llvm::ArrayRef<LV *> dims,
                       const std::function<void(llvm::ArrayRef<LV *>)> &body,
                       const Chunking *chunk) {
    if (!chunk || dims.empty())
      return loopNest(dims, body);
    LV *n = dims.back();
    loopNest(dims.drop_back(), [&](llvm::ArrayRef<LV *> outer) {
      forLoop(c64(0), n, chunk->size, [&](LV *c) {
        chunk->begin();
        LV *stop = b_.CreateBinaryIntrinsic(
            llvm::Intrinsic::smin, b_.CreateAdd(c, c64(chunk->size)), n);
        forLoop(c, stop, 1, [&](LV *j) {
          std::vector<LV *> idx(outer.begin(), outer.end());
          idx.push_back(j);
          body(idx);
        });
        chunk->end();
      });
    });
  }

  /// *into += v, in into's type, reassociable (so that loops vectorize).
  void accumulate(llvm::AllocaInst *into, LV *v) {
    llvm::Type *t = into->getAllocatedType();
    LV *sum = b_.CreateFAdd(b_.CreateLoad(t, into), b_.CreateFPExt(v, t));
    llvm::FastMathFlags fmf;
    fmf.setAllowReassoc();
    llvm::cast<llvm::Instruction>(sum)->setFastMathFlags(fmf);
    b_.CreateStore(sum, into);
  }

  LV *bufferOf(const Value *v) {
    if (LV *p = buffers_.lookup(v))
      return p;
    // A view: a reshape shares its operand's buffer.
    if (plan_.views.contains(v))
      return buffers_[v] = bufferOf(v->def->operands[0]);
    return nullptr;
  }

  /// The element of `v` at `idx` (an index into v's own shape).
  LV *element(const Value *v, llvm::ArrayRef<LV *> idx) {
    // In a group's loop, a member computed earlier in this iteration.
    if (LV *c = inLoop_.lookup(v))
      return c;
    if (plan_.fused.contains(v))
      return compute(*v->def, idx);
    LV *p = bufferOf(v);
    llvm::Type *t = elt(v->type.dtype);
    LV *addr = b_.CreateInBoundsGEP(t, p, linear(idx, shapeOf(v->type)));
    return b_.CreateLoad(t, addr);
  }

  /// Computes an elementwise op (or broadcast_to) at `idx`, fusing producers.
  LV *compute(const Op &op, llvm::ArrayRef<LV *> idx) {
    const Type &t = op.result->type;
    if (op.kind == OpKind::BroadcastTo) {
      const Value *x = op.operands[0];
      return element(x, mapIndex(idx, t, x->type));
    }
    std::vector<LV *> xs;
    for (const Value *x : op.operands)
      xs.push_back(element(x, mapIndex(idx, t, x->type)));
    return opDef(op.kind).lower(b_, xs);
  }

  void store(const Value *v, llvm::ArrayRef<LV *> idx, LV *x) {
    llvm::Type *t = elt(v->type.dtype);
    b_.CreateStore(
        x, b_.CreateInBoundsGEP(t, bufferOf(v), linear(idx, shapeOf(v->type))));
  }

  /// Returns (arena, whether it is the module's cached block). A call takes
  /// the module's cached block (grown when too small) unless another thread
  /// holds it; then it allocates its own. A null arena: out of memory.
  std::pair<LV *, LV *> acquireArena(LV *bytes);
  void releaseArena(LV *arena, LV *cached);
  void lowerOp(const Op &op);
  /// One loop for a group of elementwise ops and full reductions.
  void lowerGroup(llvm::ArrayRef<const Op *> group);
  /// Loops over the kept dims of `x` (outside) and its `axes` (inside):
  /// begin(kept index), step(full index) for each reduced element, then
  /// end(kept index, its linear index in the kept dims).
  void
  reductionLoops(const Value *x, const std::vector<int64_t> &axes,
                 const std::function<void(llvm::ArrayRef<LV *>)> &begin,
                 const std::function<void(llvm::ArrayRef<LV *>)> &step,
                 const std::function<void(llvm::ArrayRef<LV *>, LV *)> &end,
                 const Chunking *chunk = nullptr);
  void lowerReduction(const Op &op);
  void lowerArgMaxMask(const Op &op);
  void lowerSoftmaxFamily(const Op &op);
  void lowerTranspose(const Op &op);
  void lowerMatMul(const Op &op);
  void lowerDot(const Op &op);
  LV *declareBlas(llvm::StringRef name, llvm::Type *ret,
                  llvm::ArrayRef<llvm::Type *> params,
                  llvm::ArrayRef<LV *> args) {
    auto callee = m_.getOrInsertFunction(
        name, llvm::FunctionType::get(ret, params, false));
    return b_.CreateCall(callee, args);
  }
  LV *maxStep(LV *acc, LV *x);

  const Function &f_;
  llvm::Module &m_;
  llvm::LLVMContext &ctx_;
  IRBuilder<> b_;
  const LowerOptions &opts_;
  Plan plan_;
  llvm::Function *fn_ = nullptr;
  llvm::StringMap<LV *> dims_;
  llvm::DenseMap<const Value *, LV *> buffers_;
  llvm::DenseMap<const Value *, LV *> inLoop_; // see lowerGroup
};

/// maxStep of the interpreter: NaN wins, then the larger value.
LV *FunctionLowering::maxStep(LV *acc, LV *x) {
  LV *take = b_.CreateOr(b_.CreateFCmpOGT(x, acc), b_.CreateFCmpUNO(x, x));
  return b_.CreateSelect(b_.CreateFCmpUNO(acc, acc), acc,
                         b_.CreateSelect(take, x, acc));
}

llvm::Function *FunctionLowering::run() {
  llvm::Type *ptr = b_.getPtrTy();
  std::vector<std::string> syms = symbolicDims(f_);
  std::vector<llvm::Type *> params(f_.args.size(), ptr);
  params.insert(params.end(), syms.size(), i64());
  params.insert(params.end(), f_.results.size(), ptr);
  auto *fty = llvm::FunctionType::get(b_.getInt32Ty(), params, false);
  fn_ = llvm::Function::Create(fty, llvm::Function::ExternalLinkage,
                               cSymbolName(f_.name), m_);
  fn_->addFnAttr(llvm::Attribute::NoUnwind);
  b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", fn_));
  unsigned k = 0;
  for (const Value *a : f_.args) {
    llvm::Argument *arg = fn_->getArg(k++);
    arg->setName(a->name);
    arg->addAttr(llvm::Attribute::NoAlias);
    arg->addAttr(llvm::Attribute::ReadOnly);
    buffers_[a] = arg;
  }
  for (const std::string &s : syms) {
    llvm::Argument *arg = fn_->getArg(k++);
    arg->setName(s);
    dims_[s] = arg;
  }
  std::vector<LV *> outs;
  for (size_t i = 0; i < f_.results.size(); ++i) {
    llvm::Argument *arg = fn_->getArg(k++);
    arg->setName("out" + std::to_string(i));
    arg->addAttr(llvm::Attribute::NoAlias);
    outs.push_back(arg);
  }
  for (auto [v, slot] : plan_.outputSlot)
    buffers_[v] = outs[slot];
  // Constants are global arrays.
  for (const auto &op : f_.ops)
    if (op->kind == OpKind::Const) {
      std::vector<llvm::Constant *> elems;
      for (double x : op->constValue.data)
        elems.push_back(llvm::ConstantFP::get(elt(op->constValue.dtype), x));
      auto *aty = llvm::ArrayType::get(elt(op->constValue.dtype), elems.size());
      auto *g = new llvm::GlobalVariable(
          m_, aty, true, llvm::GlobalValue::PrivateLinkage,
          llvm::ConstantArray::get(aty, elems), op->result->name);
      g->setAlignment(llvm::Align(kAlign));
      buffers_[op->result] = g;
    }
  // One arena for every materialized intermediate, slots reused after the
  // last read of their value.
  LV *total = c64(0);
  std::vector<LV *> offsets;
  for (const Value *v : plan_.slots) {
    offsets.push_back(total);
    LV *bytes = numBytes(v->type);
    LV *rounded =
        b_.CreateAnd(b_.CreateAdd(bytes, c64(kAlign - 1)), c64(~(kAlign - 1)));
    total = b_.CreateAdd(total, rounded);
  }
  LV *arena = nullptr, *cached = nullptr;
  llvm::BasicBlock *fail = nullptr;
  if (!plan_.arena.empty()) {
    std::tie(arena, cached) = acquireArena(b_.CreateAdd(total, c64(kAlign)));
    fail = llvm::BasicBlock::Create(ctx_, "nomem", fn_);
    auto *ok = llvm::BasicBlock::Create(ctx_, "start", fn_);
    b_.CreateCondBr(b_.CreateIsNull(arena), fail, ok);
    b_.SetInsertPoint(ok);
    for (const Value *v : plan_.arena)
      buffers_[v] = b_.CreateInBoundsGEP(b_.getInt8Ty(), arena,
                                         offsets[plan_.slotOf.lookup(v)]);
  }
  for (const auto &op : f_.ops) {
    auto g = plan_.groupOf.find(op.get());
    if (g == plan_.groupOf.end())
      lowerOp(*op);
    else if (plan_.groups[g->second].front() == op.get())
      lowerGroup(plan_.groups[g->second]);
  }
  // Results that live elsewhere (arguments, constants, views, a value
  // returned twice) are copied to their output.
  for (size_t i = 0; i < f_.results.size(); ++i) {
    const Value *r = f_.results[i];
    auto it = plan_.outputSlot.find(r);
    if (it != plan_.outputSlot.end() && it->second == i)
      continue;
    b_.CreateMemCpy(outs[i], llvm::MaybeAlign(), bufferOf(r),
                    llvm::MaybeAlign(), numBytes(r->type));
  }
  if (arena) {
    releaseArena(arena, cached);
    b_.CreateRet(b_.getInt32(0));
    b_.SetInsertPoint(fail);
    b_.CreateRet(b_.getInt32(1));
  } else {
    b_.CreateRet(b_.getInt32(0));
  }
  return fn_;
}

void FunctionLowering::lowerGroup(llvm::ArrayRef<const Op *> group) {
  if (group.size() == 1 && !plan_.registers.contains(group[0]->result))
    return lowerOp(*group[0]); // one loop: the op's own lowering
  const Op *first = group.front();
  bool firstReduces =
      !opDef(first->kind).elementwise && first->kind != OpKind::BroadcastTo;
  const Type &loopType =
      firstReduces ? first->operands[0]->type : first->result->type;
  // Reductions accumulate in double (max in the element type); f32 sums
  // first in float over blocks of kChunk elements, as in lowerReduction, so
  // that the loop runs on as many lanes as floats allow.
  llvm::DenseMap<const Op *, llvm::AllocaInst *> acc, part;
  for (const Op *op : group) {
    if (opDef(op->kind).elementwise || op->kind == OpKind::BroadcastTo)
      continue;
    DType dt = op->result->type.dtype;
    bool isMax = op->kind == OpKind::ReduceMax;
    llvm::AllocaInst *a = entryAlloca(isMax ? elt(dt) : b_.getDoubleTy());
    b_.CreateStore(isMax ? fp(dt, -INFINITY)
                         : llvm::ConstantFP::get(b_.getDoubleTy(), 0.0),
                   a);
    acc[op] = a;
    if (!isMax && dt == DType::F32)
      part[op] = entryAlloca(elt(dt));
  }
  auto body = [&](llvm::ArrayRef<LV *> idx) {
    for (const Op *op : group) {
      if (llvm::AllocaInst *a = acc.lookup(op)) {
        LV *e = element(op->operands[0], idx);
        if (llvm::AllocaInst *p = part.lookup(op))
          accumulate(p, e);
        else if (op->kind == OpKind::ReduceMax)
          b_.CreateStore(
              maxStep(b_.CreateLoad(elt(op->result->type.dtype), a), e), a);
        else
          accumulate(a, e);
        continue;
      }
      LV *v = compute(*op, idx);
      if (!plan_.registers.contains(op->result))
        store(op->result, idx, v);
      inLoop_[op->result] = v;
    }
    inLoop_.clear();
  };
  Chunking blocks{kChunk,
                  [&] {
                    for (auto [op, p] : part)
                      b_.CreateStore(fp(DType::F32, 0), p);
                  },
                  [&] {
                    for (auto [op, p] : part)
                      accumulate(acc[op], b_.CreateLoad(elt(DType::F32), p));
                  }};
  chunkedLoopNest(shapeOf(loopType), body, part.empty() ? nullptr : &blocks);
  for (auto [op, a] : acc) {
    DType dt = op->result->type.dtype;
    LV *r = b_.CreateLoad(a->getAllocatedType(), a);
    if (op->kind == OpKind::Mean)
      r = b_.CreateFDiv(r, b_.CreateSIToFP(product(shapeOf(loopType)),
                                           a->getAllocatedType()));
    b_.CreateStore(b_.CreateFPTrunc(r, elt(dt)), bufferOf(op->result));
  }
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

std::pair<LV *, LV *> FunctionLowering::acquireArena(LV *bytes) {
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
  LV *fresh = b_.CreateCall(allocFn, {c64(kAlign), bytes});
  b_.CreateStore(fresh, block);
  b_.CreateStore(b_.CreateSelect(b_.CreateIsNull(fresh), c64(0), bytes), size);
  b_.CreateBr(done);
  // Another thread holds the cache: a block of this call's own.
  b_.SetInsertPoint(own);
  LV *single = b_.CreateCall(allocFn, {c64(kAlign), bytes});
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

void FunctionLowering::releaseArena(LV *arena, LV *cached) {
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

void FunctionLowering::lowerOp(const Op &op) {
  const Value *v = op.result;
  if (op.kind == OpKind::Const || plan_.fused.contains(v) ||
      plan_.views.contains(v) || plan_.foldedTranspose.contains(v))
    return;
  const OpDef &d = opDef(op.kind);
  if (d.elementwise || op.kind == OpKind::BroadcastTo) {
    loopNest(shapeOf(v->type), [&](llvm::ArrayRef<LV *> idx) {
      store(v, idx, compute(op, idx));
    });
    return;
  }
  switch (op.kind) {
  case OpKind::Sum:
  case OpKind::Mean:
  case OpKind::ReduceMax:
    return lowerReduction(op);
  case OpKind::ArgMaxMask:
    return lowerArgMaxMask(op);
  case OpKind::LogSumExp:
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
    return lowerSoftmaxFamily(op);
  case OpKind::Transpose:
    return lowerTranspose(op);
  case OpKind::MatMul:
    return lowerMatMul(op);
  case OpKind::Dot:
    return lowerDot(op);
  case OpKind::Reshape: // a reshape that is returned: copy
    b_.CreateMemCpy(bufferOf(v), llvm::MaybeAlign(), bufferOf(op.operands[0]),
                    llvm::MaybeAlign(), numBytes(v->type));
    return;
  default:
    llvm_unreachable("op without a lowering");
  }
}

/// The axes a reduction-like op (`axes` attribute, default all) reduces.
static std::vector<int64_t> reducedAxes(const Op &op) {
  unsigned rank = op.operands[0]->type.rank();
  std::vector<int64_t> axes;
  if (const Attr *a = op.attr("axes")) {
    for (const Dim &d : a->list)
      axes.push_back(d.size < 0 ? d.size + rank : d.size);
  } else {
    for (unsigned i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  return axes;
}

void FunctionLowering::reductionLoops(
    const Value *x, const std::vector<int64_t> &axes,
    const std::function<void(llvm::ArrayRef<LV *>)> &begin,
    const std::function<void(llvm::ArrayRef<LV *>)> &step,
    const std::function<void(llvm::ArrayRef<LV *>, LV *)> &end,
    const Chunking *chunk) {
  std::vector<LV *> shape = shapeOf(x->type), keptDims, redDims;
  std::vector<unsigned> kept, reduced;
  for (unsigned i = 0; i < x->type.rank(); ++i) {
    bool r = std::find(axes.begin(), axes.end(), int64_t(i)) != axes.end();
    (r ? reduced : kept).push_back(i);
    (r ? redDims : keptDims).push_back(shape[i]);
  }
  loopNest(keptDims, [&](llvm::ArrayRef<LV *> kidx) {
    begin(kidx);
    auto visit = [&](llvm::ArrayRef<LV *> ridx) {
      std::vector<LV *> full(x->type.rank());
      for (size_t i = 0; i < kept.size(); ++i)
        full[kept[i]] = kidx[i];
      for (size_t i = 0; i < reduced.size(); ++i)
        full[reduced[i]] = ridx[i];
      step(full);
    };
    chunkedLoopNest(redDims, visit, chunk);
    end(kidx, linear(kidx, keptDims));
  });
}

void FunctionLowering::lowerReduction(const Op &op) {
  const Value *x = op.operands[0];
  std::vector<int64_t> axes = reducedAxes(op);
  DType dt = x->type.dtype;
  bool isMax = op.kind == OpKind::ReduceMax;
  // Sums accumulate in double, like the interpreter. For f32, blocks of
  // kChunk elements are first summed in float (so that the loop runs on as
  // many lanes as the element type allows), each block then added in double.
  // Reassociation is allowed so that the loops vectorize.
  bool chunked = !isMax && dt == DType::F32;
  llvm::Type *accTy = isMax ? elt(dt) : b_.getDoubleTy();
  llvm::AllocaInst *acc = entryAlloca(accTy);
  llvm::AllocaInst *part = chunked ? entryAlloca(elt(dt)) : nullptr;
  Chunking blocks{kChunk, [&] { b_.CreateStore(fp(dt, 0), part); },
                  [&] { accumulate(acc, b_.CreateLoad(elt(dt), part)); }};
  // The number of elements a mean divides by.
  LV *count = c64(1);
  std::vector<LV *> shape = shapeOf(x->type);
  for (int64_t a : axes)
    count = b_.CreateMul(count, shape[a]);
  reductionLoops(
      x, axes,
      [&](llvm::ArrayRef<LV *>) {
        b_.CreateStore(
            isMax ? fp(dt, -INFINITY) : llvm::ConstantFP::get(accTy, 0.0), acc);
      },
      [&](llvm::ArrayRef<LV *> full) {
        LV *e = element(x, full);
        if (isMax)
          b_.CreateStore(maxStep(b_.CreateLoad(accTy, acc), e), acc);
        else
          accumulate(chunked ? part : acc, e);
      },
      [&](llvm::ArrayRef<LV *>, LV *out) {
        LV *r = b_.CreateLoad(accTy, acc);
        if (op.kind == OpKind::Mean)
          r = b_.CreateFDiv(r, b_.CreateSIToFP(count, accTy));
        r = b_.CreateFPTrunc(r, elt(dt));
        b_.CreateStore(r,
                       b_.CreateInBoundsGEP(elt(dt), bufferOf(op.result), out));
      },
      chunked ? &blocks : nullptr);
}

void FunctionLowering::lowerArgMaxMask(const Op &op) {
  const Value *x = op.operands[0];
  DType dt = x->type.dtype;
  LV *out = bufferOf(op.result);
  b_.CreateMemSet(out, b_.getInt8(0), numBytes(op.result->type),
                  llvm::MaybeAlign());
  llvm::AllocaInst *best = entryAlloca(elt(dt)), *where = entryAlloca(i64());
  std::vector<LV *> shape = shapeOf(x->type);
  reductionLoops(
      x, reducedAxes(op),
      [&](llvm::ArrayRef<LV *>) {
        b_.CreateStore(c64(-1), where);
        b_.CreateStore(fp(dt, 0), best);
      },
      [&](llvm::ArrayRef<LV *> full) {
        LV *e = element(x, full);
        LV *bv = b_.CreateLoad(elt(dt), best);
        LV *bi = b_.CreateLoad(i64(), where);
        // The first strictly greater element (or the first NaN) wins.
        LV *take =
            b_.CreateOr(b_.CreateICmpSLT(bi, c64(0)),
                        b_.CreateAnd(b_.CreateFCmpORD(bv, bv),
                                     b_.CreateOr(b_.CreateFCmpOGT(e, bv),
                                                 b_.CreateFCmpUNO(e, e))));
        b_.CreateStore(b_.CreateSelect(take, e, bv), best);
        b_.CreateStore(b_.CreateSelect(take, linear(full, shape), bi), where);
      },
      [&](llvm::ArrayRef<LV *>, LV *) {
        b_.CreateStore(
            fp(dt, 1),
            b_.CreateInBoundsGEP(elt(dt), out, b_.CreateLoad(i64(), where)));
      });
}

void FunctionLowering::lowerSoftmaxFamily(const Op &op) {
  const Value *x = op.operands[0];
  int64_t axis = op.attr("axis") ? op.attr("axis")->i : -1;
  if (axis < 0)
    axis += x->type.rank();
  std::vector<unsigned> kept;
  std::vector<LV *> shape = shapeOf(x->type), keptDims;
  for (unsigned i = 0; i < x->type.rank(); ++i)
    if (i != axis) {
      kept.push_back(i);
      keptDims.push_back(shape[i]);
    }
  DType dt = x->type.dtype;
  llvm::Type *t = elt(dt);
  // Three passes over each slice: its max, the sum of exp(x - max), the
  // results.
  llvm::AllocaInst *mx = entryAlloca(t), *sum = entryAlloca(t);
  loopNest(keptDims, [&](llvm::ArrayRef<LV *> kidx) {
    auto fullIdx = [&](LV *j) {
      std::vector<LV *> full(x->type.rank());
      for (size_t i = 0; i < kept.size(); ++i)
        full[kept[i]] = kidx[i];
      full[axis] = j;
      return full;
    };
    b_.CreateStore(fp(dt, -INFINITY), mx);
    loopNest({shape[axis]}, [&](llvm::ArrayRef<LV *> j) {
      b_.CreateStore(maxStep(b_.CreateLoad(t, mx), element(x, fullIdx(j[0]))),
                     mx);
    });
    LV *m = b_.CreateLoad(t, mx);
    // An all -inf slice has m = -inf; x - m would be NaN, so add nothing.
    LV *negInf = b_.CreateFCmpOEQ(m, fp(dt, -INFINITY));
    b_.CreateStore(fp(dt, 0), sum);
    loopNest({shape[axis]}, [&](llvm::ArrayRef<LV *> j) {
      LV *e = opDef(OpKind::Exp)
                  .lower(b_, {b_.CreateFSub(element(x, fullIdx(j[0])), m)});
      accumulate(sum, b_.CreateSelect(negInf, fp(dt, 0), e));
    });
    LV *s = b_.CreateLoad(t, sum);
    LV *logS = opDef(OpKind::Log).lower(b_, {s});
    if (op.kind == OpKind::LogSumExp) {
      LV *isInf = b_.CreateFCmpOEQ(
          b_.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, m), fp(dt, INFINITY));
      LV *r = b_.CreateSelect(isInf, m, b_.CreateFAdd(m, logS));
      b_.CreateStore(r, b_.CreateInBoundsGEP(t, bufferOf(op.result),
                                             linear(kidx, keptDims)));
      return;
    }
    loopNest({shape[axis]}, [&](llvm::ArrayRef<LV *> j) {
      std::vector<LV *> full = fullIdx(j[0]);
      LV *xm = b_.CreateFSub(element(x, full), m);
      LV *r = op.kind == OpKind::Softmax
                  ? b_.CreateFDiv(opDef(OpKind::Exp).lower(b_, {xm}), s)
                  : b_.CreateFSub(xm, logS);
      store(op.result, full, r);
    });
  });
}

void FunctionLowering::lowerTranspose(const Op &op) {
  const Value *x = op.operands[0];
  std::vector<int64_t> perm = {1, 0};
  if (const Attr *a = op.attr("perm")) {
    perm.clear();
    for (const Dim &d : a->list)
      perm.push_back(d.size < 0 ? d.size + x->type.rank() : d.size);
  }
  loopNest(shapeOf(op.result->type), [&](llvm::ArrayRef<LV *> idx) {
    std::vector<LV *> in(idx.size());
    for (size_t i = 0; i < idx.size(); ++i)
      in[perm[i]] = idx[i];
    store(op.result, idx, element(x, in));
  });
}

void FunctionLowering::lowerMatMul(const Op &op) {
  // An operand that is a folded transpose is read through its source with a
  // transpose flag: stored[r][c] is the operand's [c][r].
  struct Mat {
    LV *ptr;
    bool trans;
    std::vector<LV *> stored; // dims as stored
  };
  auto operand = [&](const Value *v) {
    if (plan_.foldedTranspose.contains(v)) {
      const Value *src = v->def->operands[0];
      return Mat{bufferOf(src), true, shapeOf(src->type)};
    }
    return Mat{bufferOf(v), false, shapeOf(v->type)};
  };
  Mat a = operand(op.operands[0]), w = operand(op.operands[1]);
  DType dt = op.result->type.dtype;
  llvm::Type *t = elt(dt);
  LV *out = bufferOf(op.result);
  // Logical dims: A is [M,K] (or [K]), W is [K,N] (or [K]).
  auto rows = [](const Mat &m) { return m.trans ? m.stored[1] : m.stored[0]; };
  auto cols = [](const Mat &m) { return m.trans ? m.stored[0] : m.stored[1]; };
  bool aMat = a.stored.size() == 2, wMat = w.stored.size() == 2;
  LV *M = aMat ? rows(a) : c64(1);
  LV *K = aMat ? cols(a) : a.stored[0];
  LV *N = wMat ? cols(w) : c64(1);
  if (opts_.blas) {
    llvm::Type *i32 = b_.getInt32Ty(), *ptr = b_.getPtrTy();
    auto i = [&](LV *v) { return b_.CreateTrunc(v, i32); };
    LV *rowMajor = b_.getInt32(101);
    auto flag = [&](bool trans) { return b_.getInt32(trans ? 112 : 111); };
    std::string p = dt == DType::F32 ? "cblas_s" : "cblas_d";
    LV *one = fp(dt, 1), *zero = fp(dt, 0);
    if (aMat && wMat) {
      declareBlas(
          p + "gemm", b_.getVoidTy(),
          {i32, i32, i32, i32, i32, i32, t, ptr, i32, ptr, i32, t, ptr, i32},
          {rowMajor, flag(a.trans), flag(w.trans), i(M), i(N), i(K), one, a.ptr,
           i(a.stored[1]), w.ptr, i(w.stored[1]), zero, out, i(N)});
    } else {
      // y = A x (A 2-D) or y = x W = W^T x (W 2-D): one gemv on the stored
      // matrix, transposed when the logical one is not.
      const Mat &m = aMat ? a : w;
      LV *vec = aMat ? w.ptr : a.ptr;
      bool trans = aMat ? a.trans : !w.trans;
      declareBlas(p + "gemv", b_.getVoidTy(),
                  {i32, i32, i32, i32, t, ptr, i32, ptr, i32, t, ptr, i32},
                  {rowMajor, flag(trans), i(m.stored[0]), i(m.stored[1]), one,
                   m.ptr, i(m.stored[1]), vec, b_.getInt32(1), zero, out,
                   b_.getInt32(1)});
    }
    return;
  }
  // Plain loops: C[m,n] = sum_k A[m,k] W[k,n], accumulated in the element type.
  auto at = [&](const Mat &m, LV *r, LV *c) -> LV * {
    if (m.stored.size() == 1)
      return b_.CreateLoad(t, b_.CreateInBoundsGEP(t, m.ptr, m.trans ? r : c));
    LV *idx = m.trans ? linear({c, r}, m.stored) : linear({r, c}, m.stored);
    return b_.CreateLoad(t, b_.CreateInBoundsGEP(t, m.ptr, idx));
  };
  llvm::AllocaInst *acc = entryAlloca(t);
  loopNest({M, N}, [&](llvm::ArrayRef<LV *> mn) {
    b_.CreateStore(fp(dt, 0), acc);
    loopNest({K}, [&](llvm::ArrayRef<LV *> k) {
      LV *av = aMat ? at(a, mn[0], k[0]) : at(a, c64(0), k[0]);
      LV *wv = wMat ? at(w, k[0], mn[1])
                    : b_.CreateLoad(t, b_.CreateInBoundsGEP(t, w.ptr, k[0]));
      b_.CreateStore(
          b_.CreateFAdd(b_.CreateLoad(t, acc), b_.CreateFMul(av, wv)), acc);
    });
    b_.CreateStore(b_.CreateLoad(t, acc),
                   b_.CreateInBoundsGEP(t, out, linear(mn, {M, N})));
  });
}

void FunctionLowering::lowerDot(const Op &op) {
  DType dt = op.result->type.dtype;
  llvm::Type *t = elt(dt);
  const Value *a = op.operands[0], *w = op.operands[1];
  LV *n = shapeOf(a->type)[0];
  LV *out = bufferOf(op.result);
  if (opts_.blas) {
    llvm::Type *i32 = b_.getInt32Ty(), *ptr = b_.getPtrTy();
    LV *r = declareBlas(dt == DType::F32 ? "cblas_sdot" : "cblas_ddot", t,
                        {i32, ptr, i32, ptr, i32},
                        {b_.CreateTrunc(n, i32), bufferOf(a), b_.getInt32(1),
                         bufferOf(w), b_.getInt32(1)});
    b_.CreateStore(r, out);
    return;
  }
  llvm::AllocaInst *acc = entryAlloca(b_.getDoubleTy());
  b_.CreateStore(llvm::ConstantFP::get(b_.getDoubleTy(), 0.0), acc);
  loopNest({n}, [&](llvm::ArrayRef<LV *> i) {
    accumulate(acc,
               b_.CreateFMul(b_.CreateFPExt(element(a, i), b_.getDoubleTy()),
                             b_.CreateFPExt(element(w, i), b_.getDoubleTy())));
  });
  b_.CreateStore(b_.CreateFPTrunc(b_.CreateLoad(b_.getDoubleTy(), acc), t),
                 out);
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

} // namespace

std::unique_ptr<llvm::Module>
lowerToLLVM(const Module &m, llvm::LLVMContext &ctx, const LowerOptions &opts) {
  auto mod = std::make_unique<llvm::Module>("gradc", ctx);
  for (const auto &f : m.functions) {
    if (opts.only && opts.only != f.get())
      continue;
    llvm::Function *fn = FunctionLowering(*f, *mod, opts).run();
    addPackedEntry(*f, fn, *mod);
  }
  if (llvm::verifyModule(*mod, &llvm::errs()))
    llvm::report_fatal_error("gradc: internal error: invalid LLVM IR");
  return mod;
}

int64_t workspaceBytes(const Function &f, const SymEnv &syms) {
  Plan plan(f);
  int64_t total = 0;
  for (const Value *v : plan.slots) {
    int64_t n = eltSize(v->type.dtype);
    for (const Dim &d : v->type.dims)
      n *= d.isSym() ? syms.lookup(d.sym) : d.size;
    total += (n + kAlign - 1) & ~(kAlign - 1);
  }
  return total;
}

} // namespace gradc
