//===- DCE.cpp - Dead-code elimination and common subexpressions ----------===//
#include "gradc/IR/Printer.h"
#include "gradc/Ops/OpDef.h"
#include "gradc/Transforms/Passes.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <cstring>
#include <unordered_map>

namespace gradc {

bool runDCE(Function &f) {
  llvm::DenseSet<const Value *> live(f.results.begin(), f.results.end());
  // `call` and `cond` are live when any of their results is.
  auto isLive = [&](const Op &op) {
    return llvm::any_of(op.allResults(),
                        [&](const Value *r) { return live.contains(r); });
  };
  for (auto it = f.ops.rbegin(); it != f.ops.rend(); ++it)
    if (isLive(**it))
      live.insert((*it)->operands.begin(), (*it)->operands.end());
  size_t before = f.ops.size();
  f.eraseOpsIf([&](const Op &op) { return !isLive(op); });
  return f.ops.size() != before;
}

/// A key that is equal for ops computing the same value.
static std::string cseKey(const Op &op) {
  std::string key = mnemonic(op.kind).str();
  std::vector<const Value *> operands(op.operands.begin(), op.operands.end());
  if (opDef(op.kind).commutative && operands[1] < operands[0])
    std::swap(operands[0], operands[1]);
  for (const Value *v : operands)
    key += " " + std::to_string(reinterpret_cast<uintptr_t>(v));
  for (const NamedAttr &a : op.attrs)
    key += " " + a.name + "=" + formatAttr(a.value);
  // The result type: a `cast`, `one_hot` or `iota` takes its element type
  // from it.
  key += " : " + op.result->type.str();
  if (op.kind == OpKind::Const) {
    key += " " + op.result->type.str() + ":";
    const auto &data = op.constValue.data;
    key.append(reinterpret_cast<const char *>(data.data()),
               data.size() * sizeof(double));
  }
  return key;
}

bool runCSE(Function &f) {
  std::unordered_map<std::string, const Op *> seen;
  llvm::DenseMap<const Value *, Value *> repl;
  bool changed = false;
  for (auto &op : f.ops) {
    for (Value *&v : op->operands)
      if (Value *r = repl.lookup(v))
        v = r;
    // Calls and conditionals are keyed by their functions too; all their
    // results are replaced.
    std::string key = cseKey(*op);
    for (const std::string &c : op->callees)
      key += " @" + c;
    auto [it, fresh] = seen.try_emplace(key, op.get());
    if (!fresh) {
      std::vector<Value *> mine = op->allResults(),
                           theirs = it->second->allResults();
      for (size_t i = 0; i < mine.size(); ++i)
        repl[mine[i]] = theirs[i];
      changed = true;
    }
  }
  for (Value *&v : f.results)
    if (Value *r = repl.lookup(v))
      v = r;
  if (changed)
    runDCE(f);
  return changed;
}

} // namespace gradc
