//===- Plan.cpp - Where each value of a function lives ------------------===//
#include "Plan.h"

#include "gradc/Ops/OpDef.h"

#include <algorithm>
#include <functional>

namespace gradc::codegen {

Plan::Plan(const Function &f) {
  for (const auto &op : f.ops)
    for (const Value *v : op->operands)
      ++uses[v];
  UserMap user; // the last one
  UsersMap users;
  for (const auto &op : f.ops)
    for (const Value *v : op->operands) {
      user[v] = op.get();
      users[v].push_back(op.get());
    }
  llvm::DenseSet<const Value *> results(f.results.begin(), f.results.end());
  for (const auto &op : f.ops) {
    const Value *v = op->result;
    if (results.contains(v) || op->kind == OpKind::Const)
      continue;
    const OpDef &d = opDef(op->kind);
    // A broadcast is only index arithmetic: fuse it into all its users
    // when they are loops over elements.
    if (op->kind == OpKind::BroadcastTo) {
      bool loops = true;
      for (const Op *o : users[v])
        loops &= opDef(o->kind).elementwise || o->kind == OpKind::BroadcastTo ||
                 o->kind == OpKind::Sum || o->kind == OpKind::Mean ||
                 o->kind == OpKind::ReduceMax;
      if (loops) {
        fused.insert(v);
        continue;
      }
    }
    if (d.elementwise && uses.lookup(v) == 1) {
      const Op *u = user[v];
      const OpDef &ud = opDef(u->kind);
      bool reduction = u->kind == OpKind::Sum || u->kind == OpKind::Mean ||
                       u->kind == OpKind::ReduceMax;
      // Recomputing a smaller producer inside a broadcast would multiply
      // its work; only fuse into consumers of the same shape.
      bool sameShape = reduction ? u->operands[0]->type.dims == v->type.dims
                                 : u->result->type.dims == v->type.dims;
      if ((ud.elementwise || reduction || u->kind == OpKind::BroadcastTo) &&
          (sameShape || op->kind == OpKind::BroadcastTo))
        fused.insert(v);
    }
  }
  // A 2-D transpose whose every user is a matmul is folded into BLAS flags.
  for (const auto &op : f.ops) {
    const Value *v = op->result;
    if (op->kind != OpKind::Transpose || op->attr("perm") ||
        results.contains(v))
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
  formGroups(f, users, results);
  for (const auto &op : f.ops) {
    const Value *v = op->result;
    if (op->kind != OpKind::Const && !fused.contains(v) && !views.contains(v) &&
        !foldedTranspose.contains(v) && !outputSlot.count(v) &&
        !registers.contains(v))
      arena.push_back(v);
  }
  assignSlots(f, users);
}

bool Plan::needsLoop(const Op *op) const {
  const Value *v = op->result;
  return op->kind != OpKind::Const && !fused.contains(v) &&
         !views.contains(v) && !foldedTranspose.contains(v);
}

/// The dims a loop-group member loops over: an elementwise op's result, or
/// the operand of a reduction over all its axes; null for other ops.
const std::vector<Dim> *Plan::loopDims(const Op *op) {
  if (opDef(op->kind).elementwise || op->kind == OpKind::BroadcastTo)
    return &op->result->type.dims;
  bool reduction = op->kind == OpKind::Sum || op->kind == OpKind::Mean ||
                   op->kind == OpKind::ReduceMax;
  const Attr *axes = op->attr("axes");
  if (reduction && (!axes || axes->list.size() == op->operands[0]->type.rank()))
    return &op->operands[0]->type.dims;
  return nullptr;
}

/// The buffers (non-fused values) that computing `op` reads.
void Plan::leaves(const Op *op,
                  llvm::SmallVectorImpl<const Value *> &out) const {
  for (const Value *x : op->operands)
    if (x->def && fused.contains(x))
      leaves(x->def, out);
    else
      out.push_back(x);
}

void Plan::formGroups(const Function &f, UsersMap &users,
                      const llvm::DenseSet<const Value *> &results) {
  const std::vector<Dim> *dims = nullptr;
  llvm::DenseSet<const Value *> groupReductions;
  for (const auto &op : f.ops) {
    if (!needsLoop(op.get()))
      continue;
    const std::vector<Dim> *d = loopDims(op.get());
    bool joins = d && dims && *d == *dims;
    if (joins) {
      // A member may not read a reduction of its own group: that value is
      // only complete after the loop.
      llvm::SmallVector<const Value *, 8> in;
      leaves(op.get(), in);
      for (const Value *x : in)
        joins &= !groupReductions.contains(x);
    }
    if (!joins) {
      dims = d;
      groupReductions.clear();
      if (!d)
        continue;
      groups.emplace_back();
    }
    groups.back().push_back(op.get());
    groupOf[op.get()] = groups.size() - 1;
    if (!opDef(op->kind).elementwise && op->kind != OpKind::BroadcastTo)
      groupReductions.insert(op->result);
  }
  // A group member whose every reader is in its group needs no buffer.
  std::function<bool(const Value *, unsigned)> readOnlyIn = [&](const Value *v,
                                                                unsigned g) {
    for (const Op *u : users[v]) {
      if (fused.contains(u->result)) {
        if (!readOnlyIn(u->result, g))
          return false;
        continue;
      }
      auto ug = groupOf.find(u);
      if (ug == groupOf.end() || ug->second != g)
        return false;
    }
    return true;
  };
  for (const auto &op : f.ops) {
    const Value *v = op->result;
    auto g = groupOf.find(op.get());
    if (g != groupOf.end() && !results.contains(v) &&
        opDef(op->kind).elementwise && readOnlyIn(v, g->second))
      registers.insert(v);
  }
}

/// The value whose buffer `v` reads (through views and folded transposes).
const Value *Plan::owner(const Value *v) const {
  while (v->def && (views.contains(v) || foldedTranspose.contains(v)))
    v = v->def->operands[0];
  return v;
}

void Plan::assignSlots(const Function &f, UsersMap &users) {
  llvm::DenseMap<const Op *, size_t> index;
  for (size_t i = 0; i < f.ops.size(); ++i)
    index[f.ops[i].get()] = i;
  // A fused op is evaluated inside its consumers' loops: its operands are
  // read until the last of them (a fused broadcast_to may have several).
  llvm::DenseMap<const Op *, size_t> readAtMemo;
  std::function<size_t(const Op *)> readAt = [&](const Op *op) -> size_t {
    if (!fused.contains(op->result))
      return index[op];
    if (auto it = readAtMemo.find(op); it != readAtMemo.end())
      return it->second;
    size_t last = index[op];
    for (const Op *u : users.lookup(op->result))
      last = std::max(last, readAt(u));
    return readAtMemo[op] = last;
  };
  llvm::DenseMap<const Value *, size_t> lastRead;
  for (const auto &op : f.ops)
    for (const Value *x : op->operands) {
      size_t &last = lastRead[owner(x)];
      last = std::max(last, readAt(op.get()));
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

} // namespace gradc::codegen
