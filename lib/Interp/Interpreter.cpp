//===- Interpreter.cpp - The reference evaluator --------------------------===//
#include "gradc/Interp/Interpreter.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <unordered_map>

namespace gradc {

llvm::Expected<std::vector<Tensor>> evaluate(const Function &f,
                                             std::vector<Tensor> args) {
  auto syms = bindArguments(f, args);
  if (!syms)
    return syms.takeError();
  std::unordered_map<const Value *, Tensor> env; // stable references
  for (size_t i = 0; i < args.size(); ++i)
    env[f.args[i]] = std::move(args[i]);
  for (const auto &op : f.ops) {
    // Refuse to allocate a value larger than the interpreter's limit.
    Shape sizes;
    for (const Dim &d : op->result->type.dims)
      sizes.push_back(d.isSym() ? syms->lookup(d.sym) : d.size);
    if (!checkedProduct(sizes, kMaxEvalElements))
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "'%" + op->result->name + "' of type " + op->result->type.str() +
              " would have more than " + llvm::Twine(kMaxEvalElements) +
              " elements");
    if (op->kind == OpKind::Call || op->kind == OpKind::Cond) {
      // Only the branch taken runs.
      std::vector<Tensor> callArgs;
      size_t first = op->kind == OpKind::Cond;
      for (size_t i = first; i < op->operands.size(); ++i)
        callArgs.push_back(env[op->operands[i]]);
      const Function *g = op->calleeFns[0];
      if (op->kind == OpKind::Cond && env[op->operands[0]].data[0] == 0)
        g = op->calleeFns[1];
      auto res = evaluate(*g, std::move(callArgs));
      if (!res)
        return res.takeError();
      std::vector<Value *> outs = op->allResults();
      for (size_t i = 0; i < outs.size(); ++i)
        env[outs[i]] = std::move((*res)[i]);
      continue;
    }
    std::vector<const Tensor *> in;
    for (const Value *v : op->operands)
      in.push_back(&env[v]);
    const OpDef &def = opDef(op->kind);
    if (def.check) {
      std::string err = def.check(*op, in);
      if (!err.empty())
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "'%" + op->result->name + " = " +
                                           mnemonic(op->kind) + "': " + err);
    }
    env[op->result] = def.eval(*op, in, *syms);
  }
  std::vector<Tensor> out;
  for (const Value *v : f.results)
    out.push_back(env[v]);
  return out;
}

} // namespace gradc
