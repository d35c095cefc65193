//===- Lower.cpp - From the graph IR to the loop IR -----------------------===//
//
// A function is lowered op by op, in order, following its storage Plan
// (Plan.h). Each value is one of:
//  - an argument, a constant (a constant buffer), or an output (the caller's
//    buffer): no allocation;
//  - fused: an elementwise op used exactly once, by an elementwise op or a
//    reduction of its own shape, and not returned, or a broadcast_to read
//    only by such loops: no buffer, it is computed inside its consumers'
//    loops, once per loop iteration however often it is read (a `let`);
//  - a view: reshape shares its operand's buffer; a transpose used only by
//    matmuls becomes a BLAS transpose flag;
//  - a register: a member of a loop group read only inside its group;
//  - otherwise stored once in the arena, in a slot that a later value of the
//    same type reuses once the last reader of this one is done.
// Consecutive loops over the same dims (a loop group) become one loop. Every
// other op writes its own loops through its OpDef's `loops` hook.
//
//===----------------------------------------------------------------------===//
#include "gradc/Loops/Lower.h"

#include "Plan.h"
#include "gradc/IR/Printer.h"
#include "gradc/Loops/LoopBuilder.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/ErrorHandling.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace gradc::loops {
namespace {

/// The graph IR line of `op` (long constants abbreviated), for comments.
std::string opLine(const Op &op) {
  std::string s;
  for (const Value *r : op.allResults())
    s += (s.empty() ? "%" : ", %") + r->name;
  s += " = " + mnemonic(op.kind).str();
  // `cond %p, @a, @b(%x)` and `scan @body(%c, %xs)` as written: the
  // operands the functions do not take (cond's predicate) come first.
  size_t named = op.operands.size();
  if (!op.calleeFns.empty())
    named -= std::min(named, op.calleeFns[0]->args.size());
  for (size_t i = 0; i < named; ++i)
    s += (i ? ", %" : " %") + op.operands[i]->name;
  if (!op.calleeFns.empty()) {
    for (size_t i = 0; i < op.calleeFns.size(); ++i)
      s += (named || i ? ", @" : " @") + op.calleeFns[i]->name;
    s += "(";
    for (size_t i = named; i < op.operands.size(); ++i)
      s += (i > named ? ", %" : "%") + op.operands[i]->name;
    s += ")";
  }
  if (!op.attrs.empty()) {
    s += " {";
    for (size_t i = 0; i < op.attrs.size(); ++i) {
      s += (i ? ", " : "") + op.attrs[i].name + "=" +
           formatAttr(op.attrs[i].value);
    }
    s += "}";
  }
  return s;
}

class FunctionLowering : public LoopBuilder {
public:
  FunctionLowering(const Function &f, LoopFunction &fn, const LoopOptions &o,
                   CalleeCache &cache, uint64_t inPlace)
      : LoopBuilder(fn), f_(f), opts_(o), plan_(f, inPlace), cache_(cache),
        inPlace_(inPlace) {
    memo_.emplace_back();
  }

  void run();

  const Expr *element(const Value *v, Index idx) override;
  const Buffer *bufferOf(const Value *v) override {
    while (plan_.views.contains(v))
      v = v->def->operands[0];
    if (const Value *into = plan_.accumulatesInto.lookup(v))
      return bufferOf(into);
    return bufs_.lookup(v);
  }
  bool accumulates(const Value *v) const override {
    return plan_.accumulatesInto.count(v);
  }
  Matrix matrix(const Value *v) override {
    if (plan_.foldedTranspose.contains(v)) {
      const Value *src = v->def->operands[0];
      return {bufferOf(src), true, src->type.dims};
    }
    return {bufferOf(v), false, v->type.dims};
  }
  const LoopOptions &options() const override { return opts_; }
  unsigned callee(const Function &g, uint64_t inPlace) override {
    std::pair<const Function *, uint64_t> key{&g, inPlace};
    auto [it, fresh] = callees_.try_emplace(key, fn_.callees.size());
    if (fresh) {
      std::shared_ptr<const LoopFunction> &c = cache_[key];
      if (!c) { // depth is bounded by the nesting limit of calls (docs/ir.md)
        // An invoked function (a scan's body, a cond's branch) is rendered
        // whole: only the top-level function is cut into parts.
        LoopOptions inner = opts_;
        inner.partSize = SIZE_MAX;
        c = lowerToLoops(g, inner, &cache_, inPlace);
      }
      fn_.callees.push_back(c);
    }
    return it->second;
  }
  const Buffer *scratch(llvm::StringRef name, DType dtype,
                        std::vector<Dim> dims) override {
    auto b = std::make_unique<Buffer>();
    b->kind = Buffer::Arena;
    b->index = fn_.slots.size();
    b->name = name.str();
    b->dtype = dtype;
    b->dims = dims;
    fn_.slots.push_back({dtype, std::move(dims)});
    fn_.buffers.push_back(std::move(b));
    return fn_.buffers.back().get();
  }

private:
  void enterScope() override { memo_.emplace_back(); }
  void exitScope() override { memo_.pop_back(); }
  using Key = std::pair<const Value *, std::vector<const Expr *>>;
  const Expr *lookup(const Key &k) const {
    for (auto it = memo_.rbegin(); it != memo_.rend(); ++it)
      if (auto e = it->find(k); e != it->end())
        return e->second;
    return nullptr;
  }

  Buffer *addBuffer(Buffer::Kind k, unsigned index, const Value *v,
                    llvm::StringRef name) {
    auto b = std::make_unique<Buffer>();
    b->kind = k;
    b->index = index;
    b->name = name.str();
    b->dtype = v->type.dtype;
    b->dims = v->type.dims;
    fn_.buffers.push_back(std::move(b));
    return fn_.buffers.back().get();
  }
  /// A fused elementwise op or broadcast_to at `idx`.
  const Expr *compute(const Op &op, Index idx);
  /// Elementwise `op`'s formula over its operands' elements `xs`: the
  /// integer arithmetic of an i32 result wraps to 32 bits (as the
  /// interpreter's) before another op reads it.
  const Expr *applyOp(const Op &op, llvm::ArrayRef<const Expr *> xs) {
    bool arith = op.kind == OpKind::Add || op.kind == OpKind::Sub ||
                 op.kind == OpKind::Mul || op.kind == OpKind::Neg ||
                 op.kind == OpKind::Abs;
    return apply(op.kind, xs, arith && op.result->type.dtype == DType::I32);
  }
  void lowerOp(const Op &op);
  void lowerGroup(llvm::ArrayRef<const Op *> group);

  const Function &f_;
  const LoopOptions &opts_;
  Plan plan_;
  llvm::DenseMap<const Value *, const Buffer *> bufs_;
  std::map<std::pair<const Function *, uint64_t>, unsigned> callees_;
  CalleeCache &cache_;
  uint64_t inPlace_;
  /// Per open scope: elements computed there, by value and index.
  std::vector<std::map<Key, const Expr *>> memo_;
};

const Expr *FunctionLowering::element(const Value *v, Index idx) {
  Key key{v, std::vector<const Expr *>(idx.begin(), idx.end())};
  if (const Expr *e = lookup(key))
    return e;
  if (plan_.fused.contains(v)) {
    // Fused chains are at most kMaxFusedDepth long: bounded recursion.
    const Expr *e = compute(*v->def, idx);
    memo_.back()[key] = e;
    return e;
  }
  const Buffer *b = bufferOf(v);
  if (!b)
    llvm::report_fatal_error(llvm::Twine("gradc: internal error: %") + v->name +
                             " has no storage");
  return load(b, linear(idx, shape(v->type.dims)));
}

const Expr *FunctionLowering::compute(const Op &op, Index idx) {
  const Type &t = op.result->type;
  if (op.kind == OpKind::BroadcastTo) {
    const Value *x = op.operands[0];
    return element(x, mapIndex(idx, t, x->type));
  }
  std::vector<const Expr *> xs;
  for (const Value *x : op.operands)
    xs.push_back(element(x, mapIndex(idx, t, x->type)));
  // Bound to a variable: read as often as needed, computed once.
  return let(op.result->name, applyOp(op, xs));
}

void FunctionLowering::run() {
  fn_.source = &f_;
  for (size_t i = 0; i < f_.args.size(); ++i)
    bufs_[f_.args[i]] = addBuffer(Buffer::Arg, i, f_.args[i], f_.args[i]->name);
  for (const auto &op : f_.ops)
    if (op->kind == OpKind::Const) {
      Buffer *b = addBuffer(Buffer::Const, 0, op->result, op->result->name);
      b->data = &op->constValue;
      bufs_[op->result] = b;
    }
  std::vector<const Buffer *> outs;
  for (size_t i = 0; i < f_.results.size(); ++i) {
    const Value *r = f_.results[i];
    auto it = plan_.outputSlot.find(r);
    bool inPlace = it != plan_.outputSlot.end() && it->second == i;
    Buffer *b = addBuffer(Buffer::Result, i, r,
                          inPlace ? r->name : "out" + std::to_string(i));
    if (inPlace)
      bufs_[r] = b;
    outs.push_back(b);
  }
  // An in-place result's argument is read from the result's memory.
  fn_.inPlace = inPlace_;
  for (size_t k = 0; k < f_.args.size() && k < 64; ++k)
    if (inPlace_ >> k & 1)
      bufs_[f_.args[k]] = outs[k];
  for (const Value *v : plan_.slots)
    fn_.slots.push_back({v->type.dtype, v->type.dims});
  for (const Value *v : plan_.arena)
    bufs_[v] = addBuffer(Buffer::Arena, plan_.slotOf.lookup(v), v, v->name);

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
    if (bufferOf(r) == outs[i])
      continue;
    comment("return %" + r->name + " (copy)");
    copy(outs[i], bufferOf(r), product(shape(r->type.dims)));
  }
}

void FunctionLowering::lowerOp(const Op &op) {
  if (!plan_.needsLoop(&op))
    return;
  comment(opLine(op));
  const OpDef &d = opDef(op.kind);
  if (d.elementwise) {
    const Value *v = op.result;
    loops(shape(v->type.dims), [&](Index idx) {
      std::vector<const Expr *> xs;
      for (const Value *x : op.operands)
        xs.push_back(element(x, mapIndex(idx, v->type, x->type)));
      store(v, idx, applyOp(op, xs));
    });
    return;
  }
  d.loops(*this, op); // every other op has one (checked by the op table)
}

void FunctionLowering::lowerGroup(llvm::ArrayRef<const Op *> group) {
  if (group.size() == 1 && !plan_.registers.contains(group[0]->result))
    return lowerOp(*group[0]); // one loop: the op's own lowering
  std::string members;
  for (const Op *op : group)
    comment(opLine(*op));
  const Op *first = group.front();
  bool firstFolds = opDef(first->kind).fold != Fold::None;
  const Type &loopType =
      firstFolds ? first->operands[0]->type : first->result->type;
  // Reductions accumulate in double (max in the element type); f32 sums
  // first in float over blocks of kChunk elements, so that the loop runs on
  // as many lanes as floats allow.
  llvm::DenseMap<const Op *, unsigned> acc, part;
  std::vector<const Op *> folds;
  for (const Op *op : group) {
    Fold fold = opDef(op->kind).fold;
    if (fold == Fold::None)
      continue;
    DType dt = op->result->type.dtype;
    bool isMax = fold == Fold::Max;
    unsigned a =
        local(op->result->name + ".acc", isMax ? scalarOf(dt) : Scalar::F64);
    assign(a, isMax ? f(-INFINITY, scalarOf(dt)) : f(0, Scalar::F64));
    acc[op] = a;
    folds.push_back(op);
    if (!isMax && dt == DType::F32 && opts_.chunkF32Sums)
      part[op] = local(op->result->name + ".part", Scalar::F32);
  }
  auto body = [&](Index idx) {
    for (const Op *op : group) {
      if (auto a = acc.find(op); a != acc.end()) {
        const Expr *e = element(op->operands[0], idx);
        if (auto p = part.find(op); p != part.end())
          accumulate(p->second, e);
        else if (opDef(op->kind).fold == Fold::Max)
          assign(a->second, maxStep(read(a->second), e));
        else
          accumulate(a->second, e);
        continue;
      }
      const Expr *v = compute(*op, idx);
      if (!plan_.registers.contains(op->result))
        store(op->result, idx, v);
      // Later members read it from here.
      memo_.back()[Key{op->result,
                       std::vector<const Expr *>(idx.begin(), idx.end())}] = v;
    }
  };
  std::vector<const Op *> chunked;
  for (const Op *op : folds)
    if (part.count(op))
      chunked.push_back(op);
  Chunking blocks{[&] {
                    for (const Op *op : chunked)
                      assign(part[op], f(0, Scalar::F32));
                  },
                  [&] {
                    for (const Op *op : chunked)
                      accumulate(acc[op], read(part[op]));
                  }};
  chunkedLoops(shape(loopType.dims), body, chunked.empty() ? nullptr : &blocks);
  for (const Op *op : folds) {
    DType dt = op->result->type.dtype;
    const Expr *r = read(acc[op]);
    if (opDef(op->kind).fold == Fold::Mean)
      r = apply(OpKind::Div,
                {r, cast(product(shape(loopType.dims)), Scalar::F64)});
    storeAt(bufferOf(op->result), i(0), cast(r, scalarOf(dt)));
  }
}

} // namespace

std::unique_ptr<LoopFunction> lowerToLoops(const Function &f,
                                           const LoopOptions &opts,
                                           CalleeCache *cache,
                                           uint64_t inPlace) {
  CalleeCache local;
  auto fn = std::make_unique<LoopFunction>();
  FunctionLowering(f, *fn, opts, cache ? *cache : local, inPlace).run();
  shareExponentials(*fn);
  if (opts.parallel)
    markParallelLoops(*fn);
  splitIntoParts(*fn, opts.partSize);
  return fn;
}

int64_t arenaBytes(const Function &f, const SymEnv &syms) {
  // The arena of a function that invokes others (through a `cond` or a
  // `scan`: an op naming functions that has loops) holds theirs: its size
  // comes from the loops.
  for (const auto &op : f.ops)
    if (!op->calleeFns.empty() && opDef(op->kind).loops)
      return arenaBytes(*lowerToLoops(f, LoopOptions()), syms);
  LoopFunction fn;
  for (const Value *v : Plan(f).slots)
    fn.slots.push_back({v->type.dtype, v->type.dims});
  // The scratch buffers the ops' loops may ask for (OpDef::scratch).
  for (const auto &op : f.ops)
    if (ScratchFn scratch = opDef(op->kind).scratch)
      for (const Type &t : scratch(*op))
        fn.slots.push_back({t.dtype, t.dims});
  return arenaBytes(fn, syms);
}

int64_t arenaBytes(const LoopFunction &fn, const SymEnv &syms) {
  int64_t total = 0;
  for (const Slot &s : fn.slots) {
    int64_t n = dtypeSize(s.dtype);
    for (const Dim &d : s.dims)
      n *= resolve(d, syms);
    total += (n + kArenaAlign - 1) & ~(kArenaAlign - 1);
  }
  return total;
}

} // namespace gradc::loops
