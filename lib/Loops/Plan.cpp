//===- Plan.cpp - Where each value of a function lives ------------------===//
#include "Plan.h"

#include "gradc/Loops/LoopIR.h"
#include "gradc/Ops/Attrs.h"
#include "gradc/Ops/OpDef.h"

#include <algorithm>

namespace gradc::loops {

static bool isFold(const Op *op) { return opDef(op->kind).fold != Fold::None; }

Plan::Plan(const Function &f, uint64_t inPlace) {
  UsersMap users;
  for (const auto &op : f.ops)
    for (const Value *v : op->operands) {
      ++uses[v];
      users[v].push_back(op.get());
    }
  llvm::DenseSet<const Value *> results(f.results.begin(), f.results.end());
  // An in-place result `%r = add %arg, %p` (the argument in the result's
  // memory) whose %p is a 2-D matmul read nowhere else: the matmul adds its
  // product to the result's memory (GEMM with beta 1), the add has no loop.
  for (size_t k = 0; k < f.results.size() && k < f.args.size() && k < 64; ++k) {
    const Value *r = f.results[k];
    if (!(inPlace >> k & 1) || !r->def || r->def->kind != OpKind::Add)
      continue;
    const Op &add = *r->def;
    const Value *p = add.operands[0] == f.args[k]   ? add.operands[1]
                     : add.operands[1] == f.args[k] ? add.operands[0]
                                                    : nullptr;
    if (!p || !p->def || p->def->kind != OpKind::MatMul ||
        uses.lookup(p) != 1 || results.contains(p) || p->type != r->type ||
        std::count(f.results.begin(), f.results.end(), r) != 1 ||
        p->def->operands[0]->type.rank() != 2 ||
        p->def->operands[1]->type.rank() != 2)
      continue;
    accumulatesInto[p] = r;
    noLoop.insert(&add);
  }
  // The length of the chain of fused producers ending at each fused value.
  llvm::DenseMap<const Value *, unsigned> depth;
  for (const auto &op : f.ops) {
    const Value *v = op->result;
    if (results.contains(v) || op->kind == OpKind::Const)
      continue;
    const OpDef &d = opDef(op->kind);
    unsigned dv = 1, w = 1;
    for (size_t i = 0; i < op->operands.size(); ++i) {
      const Value *x = op->operands[i];
      bool again = std::find(op->operands.begin(), op->operands.begin() + i,
                             x) != op->operands.begin() + i;
      if (fused.contains(x) && !again) {
        dv = std::max(dv, depth.lookup(x) + 1);
        // An estimate (shared producers count once per path), saturated.
        w = std::min(w + weight_.lookup(x), kMaxGroupOps + 1);
      }
    }
    if (dv > kMaxFusedDepth)
      continue;
    bool fuse = false;
    // A broadcast is only index arithmetic: fuse it into all its users
    // when they are loops over elements.
    if (op->kind == OpKind::BroadcastTo) {
      bool loops = true;
      for (const Op *o : users[v])
        loops &= opDef(o->kind).elementwise || o->kind == OpKind::BroadcastTo ||
                 isFold(o);
      fuse = loops;
    }
    if (!fuse && d.elementwise && uses.lookup(v) == 1) {
      const Op *u = users[v].front();
      const OpDef &ud = opDef(u->kind);
      bool reduction = isFold(u);
      // Recomputing a smaller producer inside a broadcast would multiply
      // its work; only fuse into consumers of the same shape.
      bool sameShape = reduction ? u->operands[0]->type.dims == v->type.dims
                                 : u->result->type.dims == v->type.dims;
      fuse = (ud.elementwise || reduction || u->kind == OpKind::BroadcastTo) &&
             sameShape;
    }
    if (fuse) {
      fused.insert(v);
      depth[v] = dv;
      weight_[v] = w;
    }
  }
  // A transpose of the last two axes (a 2-D one, or a batch of matrices
  // each transposed) whose every user is a matmul is folded into BLAS flags
  // (the batched matmul's loops read through it as well).
  for (const auto &op : f.ops) {
    const Value *v = op->result;
    if (!transposesLastTwo(*op) || results.contains(v))
      continue;
    bool allMatmul = true;
    for (const Op *o : users[v])
      allMatmul &= o->kind == OpKind::MatMul;
    if (allMatmul)
      foldedTranspose.insert(v);
  }
  for (const auto &op : f.ops)
    if (op->kind == OpKind::Reshape && !results.contains(op->result))
      views.insert(op->result);
  for (size_t i = 0; i < f.results.size(); ++i) {
    const Value *r = f.results[i];
    if (r->def && r->def->kind != OpKind::Const &&
        r->def->kind != OpKind::Reshape && !outputSlot.count(r))
      outputSlot[r] = i;
  }
  for (const auto &op : f.ops)
    order.push_back(op.get());
  findRowFusions(users);
  formGroups(users, results);
  for (const Op *op : order)
    for (const Value *v : op->allResults()) // `cond` and `scan` have several
      if (op->kind != OpKind::Const && !fused.contains(v) &&
          !views.contains(v) && !foldedTranspose.contains(v) &&
          !outputSlot.count(v) && !registers.contains(v) &&
          !accumulatesInto.count(v))
        arena.push_back(v);
  assignSlots(f, users);
}

bool Plan::needsLoop(const Op *op) const {
  const Value *v = op->result;
  return op->kind != OpKind::Const && !noLoop.contains(op) &&
         !fused.contains(v) && !views.contains(v) &&
         !foldedTranspose.contains(v);
}

const std::vector<Dim> *Plan::loopDims(const Op *op) {
  if (opDef(op->kind).elementwise || op->kind == OpKind::BroadcastTo)
    return &op->result->type.dims;
  if (isFold(op) &&
      (reducedAxesOf(*op).size() == op->operands[0]->type.rank() ||
       isColumnFold(op)))
    return &op->operands[0]->type.dims;
  return nullptr;
}

bool Plan::isColumnFold(const Op *op) {
  Fold fold = opDef(op->kind).fold;
  if (fold != Fold::Sum && fold != Fold::Mean)
    return false;
  const Type &x = op->operands[0]->type;
  return x.rank() == 2 && !x.dims[0].isSym() &&
         (x.dtype == DType::F32 || x.dtype == DType::F64) &&
         reducedAxesOf(*op) == std::vector<int64_t>{0};
}

int64_t Plan::columnBlockRows(const std::vector<Dim> &x) {
  int64_t n = x[0].size;
  // Too small to run on several threads (kParallelWork): one block.
  if (!x[1].isSym() && n * x[1].size < kParallelWork)
    return n;
  // Blocks of 16 to 256 rows, at most 64 of them up to 16,384 rows.
  int64_t rows = ((n + 63) / 64 + 15) / 16 * 16;
  return std::clamp<int64_t>(rows, 16, 256);
}

Type Plan::columnBlocksOf(const Op &fold) {
  const std::vector<Dim> &x = fold.operands[0]->type.dims;
  int64_t rows = columnBlockRows(x);
  return Type{DType::F64, {Dim::fixed((x[0].size + rows - 1) / rows), x[1]}};
}

void Plan::leaves(const Op *op,
                  llvm::SmallVectorImpl<const Value *> &out) const {
  // Depth-first over fused producers, each visited once (a fused value may
  // be reached along many paths).
  llvm::SmallVector<const Value *, 16> stack(op->operands.begin(),
                                             op->operands.end());
  llvm::DenseSet<const Value *> seen;
  while (!stack.empty()) {
    const Value *x = stack.pop_back_val();
    if (!seen.insert(x).second)
      continue;
    if (x->def && fused.contains(x))
      stack.append(x->def->operands.begin(), x->def->operands.end());
    else
      out.push_back(x);
  }
}

/// A matrix-vector product `matmul %X, %v` of a static X [N,K], in float,
/// of at least kRowFusionBytes: the first product of a row fusion. (A
/// smaller X stays in the caches between two BLAS calls.)
static bool isRowMatvec(const Op *op) {
  if (op->kind != OpKind::MatMul || op->operands[0]->type.rank() != 2 ||
      op->operands[1]->type.rank() != 1)
    return false;
  const Type &x = op->operands[0]->type;
  DType t = x.dtype;
  return x.isStatic() && (t == DType::F32 || t == DType::F64) &&
         x.dims[0].size * x.dims[1].size * dtypeSize(t) >=
             Plan::kRowFusionBytes;
}

Type Plan::blocksOf(const Op &fwd) {
  const std::vector<Dim> &x = fwd.operands[0]->type.dims;
  int64_t blocks = (x[0].size + kFusedRows - 1) / kFusedRows;
  return Type{fwd.result->type.dtype, {Dim::fixed(blocks), x[1]}};
}

void Plan::findRowFusions(UsersMap &users) {
  llvm::DenseMap<const Op *, size_t> pos;
  for (size_t i = 0; i < order.size(); ++i)
    pos[order[i]] = i;
  for (size_t a = 0; a < order.size(); ++a) {
    const Op *fwd = order[a];
    if (!isRowMatvec(fwd) || foldedTranspose.contains(fwd->operands[0]) ||
        accumulatesInto.count(fwd->result))
      continue;
    const Value *x = fwd->operands[0];
    // The first later `matmul %Xt, %g` of a vector %g, %Xt = transpose %X.
    const Op *bwd = nullptr;
    for (const Op *t : users.lookup(x)) {
      if (!foldedTranspose.contains(t->result))
        continue;
      for (const Op *m : users.lookup(t->result))
        if (m->operands[0] == t->result && m->operands[1]->type.rank() == 1 &&
            m->operands[1] != t->result && pos[m] > a &&
            !accumulatesInto.count(m->result) && (!bwd || pos[m] < pos[bwd]))
          bwd = m;
    }
    if (!bwd)
      continue;
    // Between them: the ops that depend on the first product, each a loop
    // over its rows that reads row i of every dependent value (not a
    // reduction of the region, complete only at its end), stay (`region`);
    // the other ops that depend on it, and every op that reads one of
    // those, move after the second product (`sunk`); the rest move before
    // the first.
    const std::vector<Dim> &rows = fwd->result->type.dims;
    llvm::DenseSet<const Value *> dep{fwd->result}, sunkValues;
    std::vector<const Op *> before, region, sunk;
    auto reads = [&](const Op *op, const llvm::DenseSet<const Value *> &vs) {
      return llvm::any_of(op->operands,
                          [&](const Value *v) { return vs.contains(v); });
    };
    for (size_t k = a + 1, b = pos[bwd]; k < b; ++k) {
      const Op *op = order[k];
      if (!reads(op, dep)) {
        before.push_back(op);
        continue;
      }
      for (const Value *r : op->allResults())
        dep.insert(r);
      bool stays = !reads(op, sunkValues);
      if (stays && needsLoop(op)) { // else fused or a view: computed where read
        const std::vector<Dim> *d = loopDims(op);
        stays = d && *d == rows;
        llvm::SmallVector<const Value *, 8> in;
        leaves(op, in);
        for (const Value *v : in)
          stays &= !dep.contains(v) || v->type.dims == rows;
      }
      if (stays) {
        region.push_back(op);
        continue;
      }
      sunk.push_back(op);
      for (const Value *r : op->allResults())
        sunkValues.insert(r);
    }
    if (reads(bwd, sunkValues))
      continue;
    size_t k = a;
    for (const Op *op : before)
      order[k++] = op;
    order[k++] = fwd;
    for (const Op *op : region)
      order[k++] = op;
    order[k] = bwd;
    for (size_t i = 0; i < sunk.size(); ++i)
      order[k + 1 + i] = sunk[i];
    for (size_t i = a; i <= k + sunk.size(); ++i)
      pos[order[i]] = i;
    rowFusion[fwd] = bwd;
    a = k + sunk.size(); // the last op moved
  }
}

void Plan::formGroups(UsersMap &users,
                      const llvm::DenseSet<const Value *> &results) {
  const std::vector<Dim> *dims = nullptr;
  llvm::DenseSet<const Value *> groupReductions;
  unsigned groupOps = 0;
  for (const Op *op : order) {
    if (!needsLoop(op))
      continue;
    const std::vector<Dim> *d = loopDims(op);
    unsigned w = 1;
    for (const Value *x : op->operands)
      w = std::min(w + weight_.lookup(x), kMaxGroupOps + 1);
    bool joins = d && dims && *d == *dims && groupOps + w <= kMaxGroupOps;
    if (joins) {
      // A member may not read a reduction of its own group: that value is
      // only complete after the loop.
      llvm::SmallVector<const Value *, 8> in;
      leaves(op, in);
      for (const Value *x : in)
        joins &= !groupReductions.contains(owner(x)); // through views
    }
    if (!joins) {
      dims = d;
      groupReductions.clear();
      groupOps = 0;
      if (!d)
        continue;
      groups.emplace_back();
    }
    groupOps += w;
    groups.back().push_back(op);
    groupOf[op] = groups.size() - 1;
    if (!opDef(op->kind).elementwise && op->kind != OpKind::BroadcastTo)
      groupReductions.insert(op->result);
  }
  // The one group that reads each value (directly or through fused users),
  // or kMany; computed backwards, users before producers.
  constexpr int kNone = -1, kMany = -2;
  llvm::DenseMap<const Value *, int> readBy;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Value *v = (*it)->result;
    int g = kNone;
    for (const Op *u : users.lookup(v)) {
      int ug = kMany;
      if (fused.contains(u->result)) {
        ug = readBy.lookup(u->result); // set: users come later
      } else if (auto gi = groupOf.find(u); gi != groupOf.end()) {
        ug = gi->second;
      }
      if (ug == kNone)
        continue;
      g = g == kNone || g == ug ? ug : kMany;
    }
    readBy[v] = g;
  }
  for (const Op *op : order) {
    const Value *v = op->result;
    auto g = groupOf.find(op);
    if (g != groupOf.end() && !results.contains(v) &&
        (opDef(op->kind).elementwise || op->kind == OpKind::BroadcastTo) &&
        (readBy.lookup(v) == int(g->second) || readBy.lookup(v) == kNone))
      registers.insert(v);
  }
}

const Value *Plan::owner(const Value *v) const {
  while (v->def && (views.contains(v) || foldedTranspose.contains(v)))
    v = v->def->operands[0];
  return v;
}

void Plan::assignSlots(const Function &f, UsersMap &users) {
  llvm::DenseMap<const Op *, size_t> index;
  for (size_t i = 0; i < order.size(); ++i)
    index[order[i]] = i;
  // A fused op is evaluated inside its consumers' loops: its operands are
  // read until the last of them (a fused broadcast_to may have several).
  // Computed backwards, users before producers.
  llvm::DenseMap<const Op *, size_t> readAt;
  for (size_t i = order.size(); i-- > 0;) {
    const Op *op = order[i];
    size_t last = i;
    if (fused.contains(op->result))
      for (const Op *u : users.lookup(op->result))
        last = std::max(last, readAt.lookup(u));
    readAt[op] = last;
  }
  // A row fusion's first product reads its vector for every row, until
  // the second product.
  for (auto [fwd, bwd] : rowFusion)
    readAt[fwd] = index[bwd];
  llvm::DenseMap<const Value *, size_t> lastRead;
  for (const Op *op : order)
    for (const Value *x : op->operands) {
      size_t &last = lastRead[owner(x)];
      last = std::max(last, readAt.lookup(op));
    }
  for (const Value *r : f.results)
    lastRead[owner(r)] = f.ops.size(); // copied out at the end
  std::vector<size_t> busyUntil;       // per slot: the last read of its value
  for (const Value *v : arena) {
    size_t at = index[v->def];
    unsigned slot = slots.size();
    for (unsigned s = 0; s < slots.size(); ++s)
      if (busyUntil[s] < at && slots[s]->type == v->type) {
        slot = s;
        break;
      }
    if (slot == slots.size()) {
      slots.push_back(v);
      busyUntil.push_back(0);
    }
    busyUntil[slot] = std::max(at, size_t(lastRead.lookup(v)));
    slotOf[v] = slot;
  }
}

} // namespace gradc::loops
