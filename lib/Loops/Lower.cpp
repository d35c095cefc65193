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
  struct Group;
  Group beginGroup(llvm::ArrayRef<const Op *> ops);
  void groupElement(Group &g, Index idx);
  void beginChunk(Group &g);
  void endChunk(Group &g);
  void endGroup(Group &g);
  void lowerGroup(llvm::ArrayRef<const Op *> ops);
  void lowerColumnGroup(llvm::ArrayRef<const Op *> ops);
  void lowerRowFusion(const Op &fwd, llvm::ArrayRef<const Op *> between,
                      const Op &bwd);

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

  llvm::ArrayRef<const Op *> order = plan_.order;
  for (size_t k = 0; k < order.size(); ++k) {
    const Op *op = order[k];
    if (const Op *bwd = plan_.rowFusion.lookup(op)) {
      size_t b = std::find(order.begin() + k, order.end(), bwd) - order.begin();
      lowerRowFusion(*op, order.slice(k + 1, b - k - 1), *bwd);
      k = b;
      continue;
    }
    auto g = plan_.groupOf.find(op);
    if (g == plan_.groupOf.end())
      lowerOp(*op);
    else if (plan_.groups[g->second].front() == op)
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

/// The accumulators of a loop group's reductions: reductions accumulate in
/// double (max in the element type); f32 sums first in float over blocks of
/// kChunk elements (`part`), so that the loop runs on as many lanes as
/// floats allow.
struct FunctionLowering::Group {
  llvm::ArrayRef<const Op *> ops;
  const Type *loopType;
  llvm::DenseMap<const Op *, unsigned> acc, part;
  std::vector<const Op *> folds, chunked;
  /// Column folds (Plan::isColumnFold): each one's scratch buffer of block
  /// sums, and the offset of the current block's row in them.
  llvm::DenseMap<const Op *, const Buffer *> columns;
  const Expr *columnRow = nullptr;
};

FunctionLowering::Group
FunctionLowering::beginGroup(llvm::ArrayRef<const Op *> ops) {
  Group g;
  g.ops = ops;
  for (const Op *op : ops)
    comment(opLine(*op));
  const Op *first = ops.front();
  bool firstFolds = opDef(first->kind).fold != Fold::None;
  g.loopType = firstFolds ? &first->operands[0]->type : &first->result->type;
  for (const Op *op : ops) {
    Fold fold = opDef(op->kind).fold;
    if (fold == Fold::None)
      continue;
    if (Plan::isColumnFold(op)) {
      Type t = Plan::columnBlocksOf(*op);
      g.columns[op] = scratch(op->result->name + ".blocks", t.dtype, t.dims);
      continue;
    }
    DType dt = op->result->type.dtype;
    bool isMax = fold == Fold::Max;
    unsigned a =
        local(op->result->name + ".acc", isMax ? scalarOf(dt) : Scalar::F64);
    assign(a, isMax ? f(-INFINITY, scalarOf(dt)) : f(0, Scalar::F64));
    g.acc[op] = a;
    g.folds.push_back(op);
    if (!isMax && dt == DType::F32 && opts_.chunkF32Sums) {
      g.part[op] = local(op->result->name + ".part", Scalar::F32);
      g.chunked.push_back(op);
    }
  }
  return g;
}

void FunctionLowering::groupElement(Group &g, Index idx) {
  for (const Op *op : g.ops) {
    if (auto c = g.columns.find(op); c != g.columns.end()) {
      const Expr *at = add(g.columnRow, idx[1]);
      storeAt(c->second, at,
              apply(OpKind::Add,
                    {load(c->second, at),
                     cast(element(op->operands[0], idx), Scalar::F64)}));
      continue;
    }
    if (auto a = g.acc.find(op); a != g.acc.end()) {
      const Expr *e = element(op->operands[0], idx);
      if (auto p = g.part.find(op); p != g.part.end())
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
}

void FunctionLowering::beginChunk(Group &g) {
  for (const Op *op : g.chunked)
    assign(g.part[op], f(0, Scalar::F32));
}

void FunctionLowering::endChunk(Group &g) {
  for (const Op *op : g.chunked)
    accumulate(g.acc[op], read(g.part[op]));
}

void FunctionLowering::endGroup(Group &g) {
  // A column fold: the blocks' sums of each column, added in block order.
  for (const Op *op : g.ops) {
    const Buffer *blocks = g.columns.lookup(op);
    if (!blocks)
      continue;
    const Expr *n = dim(g.loopType->dims[0]), *c = dim(g.loopType->dims[1]);
    unsigned sum = local(op->result->name + ".acc", Scalar::F64);
    forLoop(i(0), c, 1, [&](const Expr *j) {
      assign(sum, load(blocks, j));
      if (blocks->dims[0].size > 1)
        forLoop(i(1), dim(blocks->dims[0]), 1, [&](const Expr *b) {
          assign(sum, apply(OpKind::Add,
                            {read(sum), load(blocks, add(mul(b, c), j))}));
        });
      const Expr *r = read(sum);
      if (opDef(op->kind).fold == Fold::Mean)
        r = apply(OpKind::Div, {r, cast(n, Scalar::F64)});
      storeAt(bufferOf(op->result), j,
              cast(r, scalarOf(op->result->type.dtype)));
    });
  }
  for (const Op *op : g.folds) {
    DType dt = op->result->type.dtype;
    const Expr *r = read(g.acc[op]);
    if (opDef(op->kind).fold == Fold::Mean)
      r = apply(OpKind::Div,
                {r, cast(product(shape(g.loopType->dims)), Scalar::F64)});
    storeAt(bufferOf(op->result), i(0), cast(r, scalarOf(dt)));
  }
}

void FunctionLowering::lowerGroup(llvm::ArrayRef<const Op *> ops) {
  if (llvm::any_of(ops, Plan::isColumnFold))
    return lowerColumnGroup(ops);
  if (ops.size() == 1 && !plan_.registers.contains(ops[0]->result))
    return lowerOp(*ops[0]); // one loop: the op's own lowering
  Group g = beginGroup(ops);
  Chunking blocks{[&] { beginChunk(g); }, [&] { endChunk(g); }};
  chunkedLoops(
      shape(g.loopType->dims), [&](Index idx) { groupElement(g, idx); },
      g.chunked.empty() ? nullptr : &blocks);
  endGroup(g);
}

void FunctionLowering::lowerColumnGroup(llvm::ArrayRef<const Op *> ops) {
  // Blocks of rows, each summing its rows of every column fold into its row
  // of the fold's scratch buffer (so that blocks may run on several
  // threads); inside a block, the rows as loops() would run them.
  Group g = beginGroup(ops);
  int64_t n = g.loopType->dims[0].size;
  int64_t rows = Plan::columnBlockRows(g.loopType->dims);
  const Expr *c = dim(g.loopType->dims[1]);
  Chunking blocks{[&] { beginChunk(g); }, [&] { endChunk(g); }};
  auto block = [&](const Expr *blk) {
    g.columnRow = mul(blk, c);
    for (const Op *op : g.ops) // in order: the printed IR is deterministic
      if (const Buffer *buf = g.columns.lookup(op))
        forLoop(i(0), c, 1, [&](const Expr *j) {
          storeAt(buf, add(g.columnRow, j), f(0, Scalar::F64));
        });
    const Expr *first = mul(blk, i(rows));
    const Expr *last =
        n % rows == 0 ? add(first, i(rows)) : min(add(first, i(rows)), i(n));
    forLoop(first, last, 1, [&](const Expr *r) {
      chunkedLoops(
          std::vector{c},
          [&](Index col) {
            groupElement(g, std::vector{r, col[0]});
          },
          g.chunked.empty() ? nullptr : &blocks);
    });
  };
  if (rows == n)
    block(i(0)); // one block
  else
    forLoop(i(0), i((n + rows - 1) / rows), 1, block);
  endGroup(g);
}

void FunctionLowering::lowerRowFusion(const Op &fwd,
                                      llvm::ArrayRef<const Op *> between,
                                      const Op &bwd) {
  // y = X v, the loops over y's rows, z = X^T g, for each block of kChunk
  // rows, kFusedGroup rows at a time: y[i] = X[i,:] . v for those rows, the
  // loops over them, then g[i] X[i,:] added to the block's partial z; each
  // row of X is read from memory once. The blocks' partial z are added in
  // block order at the end, so that blocks may run on several threads with
  // the same bits.
  comment("one pass over the rows of %" + fwd.operands[0]->name + ":");
  comment(opLine(fwd));
  std::vector<Group> groups;
  for (const Op *op : between)
    if (auto gi = plan_.groupOf.find(op);
        gi != plan_.groupOf.end() && plan_.groups[gi->second].front() == op)
      groups.push_back(beginGroup(plan_.groups[gi->second]));
  comment(opLine(bwd));
  Matrix x = matrix(fwd.operands[0]);
  const Value *v = fwd.operands[1], *gv = bwd.operands[1];
  Scalar t = scalarOf(fwd.result->type.dtype);
  // Blocks of a chunk: the group's f32 sums are associated as unfused.
  static_assert(Plan::kFusedRows == kChunk);
  constexpr int64_t kFusedGroup = 16;
  Type blocks = Plan::blocksOf(fwd);
  int64_t n = x.stored[0].size, nblk = blocks.dims[0].size;
  const Expr *k = dim(x.stored[1]);
  const Buffer *parts =
      scratch(bwd.result->name + ".blocks", blocks.dtype, blocks.dims);
  int64_t unroll = n % 4 == 0 ? 4 : 1;
  std::vector<unsigned> dots;
  for (int64_t q = 0; q < unroll; ++q)
    dots.push_back(local(fwd.result->name + ".dot", t));
  forLoop(i(0), i(nblk), 1, [&](const Expr *blk) {
    const Expr *part = mul(blk, k);
    forLoop(i(0), k, 1,
            [&](const Expr *j) { storeAt(parts, add(part, j), f(0, t)); });
    for (Group &g : groups)
      beginChunk(g);
    const Expr *first = mul(blk, i(kChunk));
    const Expr *last = n % kChunk == 0 ? add(first, i(kChunk))
                                       : min(add(first, i(kChunk)), i(n));
    // Rows of a block in groups of kFusedGroup (a vector of floats): their
    // products, their loops (vectorized over the rows), their part of z,
    // the rows still in the L1 cache. The products take `unroll` rows at a
    // time: independent dot products sharing each element of v, and one
    // pass over the partial z adding `unroll` rows.
    forLoop(first, last, kFusedGroup, [&](const Expr *r0) {
      const Expr *stop = n % kFusedGroup == 0
                             ? add(r0, i(kFusedGroup))
                             : min(add(r0, i(kFusedGroup)), i(n));
      auto rowsAt = [&](const Expr *r) {
        std::vector<const Expr *> rows;
        for (int64_t q = 0; q < unroll; ++q)
          rows.push_back(add(r, i(q)));
        return rows;
      };
      forLoop(r0, stop, unroll, [&](const Expr *r) {
        std::vector<const Expr *> rows = rowsAt(r);
        for (unsigned d : dots)
          assign(d, f(0, t));
        forLoop(i(0), k, 1, [&](const Expr *j) {
          const Expr *vj = element(v, std::vector{j});
          for (int64_t q = 0; q < unroll; ++q)
            accumulate(
                dots[q],
                apply(OpKind::Mul, {load(x.buf, add(mul(rows[q], k), j)), vj}),
                /*contract=*/true);
        });
        for (int64_t q = 0; q < unroll; ++q)
          store(fwd.result, std::vector{rows[q]}, read(dots[q]));
      });
      forLoop(r0, stop, 1, [&](const Expr *r) {
        for (Group &g : groups)
          groupElement(g, std::vector{r});
      });
      forLoop(r0, stop, unroll, [&](const Expr *r) {
        // Loaded once, before the loop that stores into the arena.
        std::vector<const Expr *> rows = rowsAt(r), gs;
        for (size_t q = 0; q < rows.size(); ++q)
          gs.push_back(let(gv->name + ".r" + std::to_string(q),
                           element(gv, std::vector{rows[q]})));
        forLoop(i(0), k, 1, [&](const Expr *j) {
          const Expr *at = add(part, j), *z = load(parts, at);
          for (int64_t q = 0; q < unroll; ++q)
            z = apply(
                OpKind::Add,
                {z, apply(OpKind::Mul,
                          {load(x.buf, add(mul(rows[q], k), j)), gs[q]})});
          storeAt(parts, at, z, /*contract=*/true);
        });
      });
    });
    for (Group &g : groups)
      endChunk(g);
  });
  for (Group &g : groups)
    endGroup(g);
  // z[j] = the blocks' partial z[j], added in block order.
  unsigned sum = local(bwd.result->name + ".sum", t);
  forLoop(i(0), k, 1, [&](const Expr *j) {
    assign(sum, load(parts, j));
    forLoop(i(1), i(nblk), 1, [&](const Expr *b) {
      assign(sum,
             apply(OpKind::Add, {read(sum), load(parts, add(mul(b, k), j))}));
    });
    storeAt(bufferOf(bwd.result), j, read(sum));
  });
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
  Plan plan(f);
  for (const Value *v : plan.slots)
    fn.slots.push_back({v->type.dtype, v->type.dims});
  // The scratch buffers the ops' loops may ask for (OpDef::scratch).
  for (const auto &op : f.ops)
    if (ScratchFn scratch = opDef(op->kind).scratch)
      for (const Type &t : scratch(*op))
        fn.slots.push_back({t.dtype, t.dims});
  for (auto [fwd, bwd] : plan.rowFusion) {
    Type t = Plan::blocksOf(*fwd);
    fn.slots.push_back({t.dtype, t.dims});
  }
  for (const auto &group : plan.groups)
    for (const Op *op : group)
      if (Plan::isColumnFold(op)) {
        Type t = Plan::columnBlocksOf(*op);
        fn.slots.push_back({t.dtype, t.dims});
      }
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
