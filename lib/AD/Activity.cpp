//===- Activity.cpp - Which values carry derivatives ----------------------===//
#include "gradc/AD/Activity.h"
#include "gradc/Ops/OpDef.h"

namespace gradc {

Activity::Activity(const Function &f, llvm::ArrayRef<const Value *> from,
                   llvm::ArrayRef<const Value *> to) {
  // Varied: forward from the chosen arguments, through differentiable ops.
  llvm::DenseSet<const Value *> varied(from.begin(), from.end());
  for (const auto &op : f.ops) {
    if (!op->callees.empty()) {
      // `call`, `cond`: each float result varies with any operand.
      if (llvm::any_of(op->operands,
                       [&](const Value *v) { return varied.contains(v); }))
        for (const Value *r : op->allResults())
          if (r->type.isFloat())
            varied.insert(r);
      continue;
    }
    if (!opDef(op->kind).vjp || !op->result->type.isFloat())
      continue; // piecewise constant or an integer: its result does not vary
    for (const Value *v : op->operands)
      if (varied.contains(v)) {
        varied.insert(op->result);
        break;
      }
  }
  // Useful: backward from the chosen outputs.
  llvm::DenseSet<const Value *> useful(to.begin(), to.end());
  for (auto it = f.ops.rbegin(); it != f.ops.rend(); ++it)
    if (llvm::any_of((*it)->allResults(),
                     [&](const Value *r) { return useful.contains(r); }))
      useful.insert((*it)->operands.begin(), (*it)->operands.end());
  for (const Value *v : varied)
    if (useful.contains(v))
      active_.insert(v);
}

} // namespace gradc
