//===- Inline.cpp - Inlining `call` ops -----------------------------------===//
#include "gradc/IR/Inline.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <unordered_map>

namespace gradc {

static bool expands(const Op &op, unsigned keep) {
  return op.kind == OpKind::Call && !op.calleeFns.empty() &&
         !((keep & KeepCustomVjp) && op.calleeFns[0]->customVjpFn) &&
         !((keep & KeepCheckpointed) && op.boolAttr("checkpoint", false));
}

namespace {

/// One function body being copied: its symbols as bound at its call site
/// and its values' copies.
struct Frame {
  const Function *callee;
  llvm::StringMap<Dim> sub;
  std::unordered_map<const Value *, Value *> map;
  size_t next = 0;             // the next op to copy
  const Op *pending = nullptr; // the call whose callee is being copied

  Frame(const Function &g, llvm::ArrayRef<Value *> args) : callee(&g) {
    for (size_t i = 0; i < args.size(); ++i) {
      const Type &t = g.args[i]->type;
      for (size_t d = 0; d < t.dims.size() && d < args[i]->type.dims.size();
           ++d)
        if (t.dims[d].isSym())
          sub.try_emplace(t.dims[d].sym, args[i]->type.dims[d]);
      map[g.args[i]] = args[i];
    }
  }
  void substDims(std::vector<Dim> &dims) const {
    for (Dim &d : dims)
      if (d.isSym())
        if (auto it = sub.find(d.sym); it != sub.end())
          d = it->second;
  }
  Type substType(Type t) const {
    substDims(t.dims);
    return t;
  }
};

} // namespace

std::vector<Value *> expandCall(Function &dst,
                                std::vector<std::unique_ptr<Op>> &out,
                                const Function &callee,
                                llvm::ArrayRef<Value *> args, unsigned keep) {
  // An explicit stack, not recursion: call chains may be deep.
  std::vector<Frame> stack;
  stack.emplace_back(callee, args);
  for (;;) {
    Frame &fr = stack.back();
    if (fr.next == fr.callee->ops.size()) {
      std::vector<Value *> results;
      for (const Value *v : fr.callee->results)
        results.push_back(fr.map.at(v));
      stack.pop_back();
      if (stack.empty())
        return results;
      Frame &parent = stack.back();
      std::vector<Value *> olds = parent.pending->allResults();
      for (size_t i = 0; i < olds.size(); ++i)
        parent.map[olds[i]] = results[i];
      parent.pending = nullptr;
      continue;
    }
    const Op &op = *fr.callee->ops[fr.next++];
    std::vector<Value *> operands;
    for (Value *v : op.operands)
      operands.push_back(fr.map.at(v));
    if (expands(op, keep)) {
      fr.pending = &op;
      stack.emplace_back(*op.calleeFns[0], operands); // invalidates fr
      continue;
    }
    auto copy = std::make_unique<Op>(op);
    copy->operands = std::move(operands);
    for (NamedAttr &a : copy->attrs)
      if (a.value.kind == Attr::List)
        fr.substDims(a.value.list);
    if (copy->declaredType)
      copy->declaredType = fr.substType(*copy->declaredType);
    std::vector<Value *> olds = op.allResults(), news;
    for (Value *r : olds) {
      Value *n =
          dst.newValue(dst.uniqueName(r->name), fr.substType(r->type), r->loc);
      n->def = copy.get();
      fr.map[r] = n;
      news.push_back(n);
    }
    copy->result = news[0];
    copy->results = op.results.empty() ? std::vector<Value *>() : news;
    out.push_back(std::move(copy));
  }
}

bool inlineCalls(Function &f, unsigned keep) {
  bool any = false;
  for (const auto &op : f.ops)
    any |= expands(*op, keep);
  if (!any)
    return false;
  std::vector<std::unique_ptr<Op>> old = std::move(f.ops), out;
  f.ops.clear();
  llvm::DenseMap<const Value *, Value *> repl;
  llvm::DenseMap<const Value *, bool> fresh; // values the inlining created
  for (auto &op : old) {
    for (Value *&v : op->operands)
      if (Value *r = repl.lookup(v))
        v = r;
    if (!expands(*op, keep)) {
      out.push_back(std::move(op));
      continue;
    }
    size_t mark = out.size();
    std::vector<Value *> res =
        expandCall(f, out, *op->calleeFns[0], op->operands, keep);
    for (size_t i = mark; i < out.size(); ++i)
      for (Value *r : out[i]->allResults())
        fresh[r] = true;
    std::vector<Value *> olds = op->allResults();
    for (size_t i = 0; i < olds.size(); ++i) {
      repl[olds[i]] = res[i];
      // The value keeps the name the caller gave it, where it can.
      f.forgetName(olds[i]->name);
      if (fresh.lookup(res[i])) {
        f.renameValue(res[i], olds[i]->name);
        fresh[res[i]] = false;
      }
    }
  }
  for (Value *&v : f.results)
    if (Value *r = repl.lookup(v))
      v = r;
  f.ops = std::move(out);
  return true;
}

void inlineCalls(Module &m) {
  for (auto &f : m.functions)
    inlineCalls(*f);
}

} // namespace gradc
