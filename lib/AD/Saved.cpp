//===- Saved.cpp - What a gradient function keeps for its backward pass ---===//
#include "gradc/AD/Autodiff.h"

#include "llvm/ADT/DenseSet.h"

#include <fmt/format.h>

namespace gradc {

std::vector<SavedValue> savedValues(const Function &g, size_t numPrimalArgs) {
  // Backward values: everything that depends on a cotangent argument.
  llvm::DenseSet<const Value *> bwd;
  for (size_t i = numPrimalArgs; i < g.args.size(); ++i)
    bwd.insert(g.args[i]);
  for (const auto &op : g.ops)
    if (llvm::any_of(op->operands,
                     [&](const Value *v) { return bwd.contains(v); }))
      for (const Value *r : op->allResults())
        bwd.insert(r);
  // Forward values: those depending on a primal argument (constants are
  // not kept: they are recomputed for nothing).
  llvm::DenseSet<const Value *> fwd;
  for (size_t i = 0; i < numPrimalArgs && i < g.args.size(); ++i)
    fwd.insert(g.args[i]);
  for (const auto &op : g.ops)
    if (llvm::any_of(op->operands,
                     [&](const Value *v) { return fwd.contains(v); }))
      for (const Value *r : op->allResults())
        fwd.insert(r);
  // Saved: forward values read by a backward op, in definition order.
  llvm::DenseSet<const Value *> used;
  for (const auto &op : g.ops)
    if (bwd.contains(op->result))
      for (const Value *v : op->operands)
        if (!bwd.contains(v) && fwd.contains(v))
          used.insert(v);
  std::vector<SavedValue> out;
  auto add = [&](const Value *v, std::string from) {
    SavedValue s;
    s.value = v;
    s.from = std::move(from);
    int64_t bytes = dtypeSize(v->type.dtype);
    std::vector<std::string> syms;
    for (const Dim &d : v->type.dims)
      if (d.isSym())
        syms.push_back(d.sym);
      else
        bytes *= d.size;
    s.bytes = bytes;
    s.symbols = syms;
    out.push_back(std::move(s));
  };
  for (size_t i = 0; i < numPrimalArgs && i < g.args.size(); ++i)
    if (used.contains(g.args[i]))
      add(g.args[i], "argument");
  for (const auto &op : g.ops) {
    std::vector<Value *> res = op->allResults();
    for (size_t i = 0; i < res.size(); ++i) {
      if (!used.contains(res[i]))
        continue;
      std::string from =
          "%" + op->result->name + " = " + mnemonic(op->kind).str();
      // A reshaped argument is the argument's memory.
      if (op->kind == OpKind::Reshape && op->operands[0]->isArg())
        from = "argument %" + op->operands[0]->name + ", reshaped";
      if (!op->callees.empty())
        from += " @" + op->callees[0];
      // The stacked carries the adjoint of a scan adds (its last results).
      size_t nc = op->intAttr("carries", 0);
      if (op->kind == OpKind::Scan &&
          llvm::StringRef(op->callees[0]).ends_with(".saved") &&
          i >= res.size() - nc)
        from += ", the carry each step starts from";
      add(res[i], from);
    }
  }
  return out;
}

std::string formatBytes(const SavedValue &s) {
  std::string b = std::to_string(s.bytes);
  for (const std::string &sym : s.symbols)
    b += "*" + sym;
  return b;
}

} // namespace gradc
