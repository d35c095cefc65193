//===- Activity.cpp - Which values carry derivatives ----------------------===//
#include "gradc/AD/Activity.h"
#include "gradc/Ops/OpDef.h"

namespace gradc {

Activity::Activity(const Function &f, llvm::ArrayRef<const Value *> from,
                   llvm::ArrayRef<const Value *> to) {
  // Varied: forward from the chosen arguments, through differentiable ops.
  llvm::DenseSet<const Value *> varied(from.begin(), from.end());
  for (const auto &op : f.ops) {
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
    if (useful.contains((*it)->result))
      useful.insert((*it)->operands.begin(), (*it)->operands.end());
  for (const Value *v : varied)
    if (useful.contains(v))
      active_.insert(v);
}

} // namespace gradc
