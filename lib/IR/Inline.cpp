//===- Inline.cpp - Inlining `call` ops -----------------------------------===//
#include "gradc/IR/Inline.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <unordered_map>

namespace gradc {

static bool expands(const Op &op, bool keepCustomVjp) {
  return op.kind == OpKind::Call && !op.calleeFns.empty() &&
         !(keepCustomVjp && op.calleeFns[0]->customVjpFn);
}

std::vector<Value *> expandCall(Function &dst,
                                std::vector<std::unique_ptr<Op>> &out,
                                const Function &callee,
                                llvm::ArrayRef<Value *> args,
                                bool keepCustomVjp) {
  // The callee's symbols, bound by the argument types at this call site.
  llvm::StringMap<Dim> sub;
  for (size_t i = 0; i < args.size(); ++i) {
    const Type &t = callee.args[i]->type;
    for (size_t d = 0; d < t.dims.size() && d < args[i]->type.dims.size(); ++d)
      if (t.dims[d].isSym())
        sub.try_emplace(t.dims[d].sym, args[i]->type.dims[d]);
  }
  auto substDims = [&](std::vector<Dim> &dims) {
    for (Dim &d : dims)
      if (d.isSym())
        if (auto it = sub.find(d.sym); it != sub.end())
          d = it->second;
  };
  auto substType = [&](Type t) {
    substDims(t.dims);
    return t;
  };
  std::unordered_map<const Value *, Value *> map;
  for (size_t i = 0; i < args.size(); ++i)
    map[callee.args[i]] = args[i];
  for (const auto &op : callee.ops) {
    std::vector<Value *> operands;
    for (Value *v : op->operands)
      operands.push_back(map.at(v));
    if (expands(*op, keepCustomVjp)) {
      std::vector<Value *> res =
          expandCall(dst, out, *op->calleeFns[0], operands, keepCustomVjp);
      std::vector<Value *> olds = op->allResults();
      for (size_t i = 0; i < olds.size(); ++i)
        map[olds[i]] = res[i];
      continue;
    }
    auto copy = std::make_unique<Op>(*op);
    copy->operands = std::move(operands);
    for (NamedAttr &a : copy->attrs)
      if (a.value.kind == Attr::List)
        substDims(a.value.list);
    if (copy->declaredType)
      copy->declaredType = substType(*copy->declaredType);
    std::vector<Value *> olds = op->allResults(), news;
    for (Value *r : olds) {
      Value *n =
          dst.newValue(dst.uniqueName(r->name), substType(r->type), r->loc);
      n->def = copy.get();
      map[r] = n;
      news.push_back(n);
    }
    copy->result = news[0];
    copy->results = op->results.empty() ? std::vector<Value *>() : news;
    out.push_back(std::move(copy));
  }
  std::vector<Value *> results;
  for (const Value *v : callee.results)
    results.push_back(map.at(v));
  return results;
}

bool inlineCalls(Function &f, bool keepCustomVjp) {
  bool any = false;
  for (const auto &op : f.ops)
    any |= expands(*op, keepCustomVjp);
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
    if (!expands(*op, keepCustomVjp)) {
      out.push_back(std::move(op));
      continue;
    }
    size_t mark = out.size();
    std::vector<Value *> res =
        expandCall(f, out, *op->calleeFns[0], op->operands, keepCustomVjp);
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
