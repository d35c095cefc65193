//===- Interpreter.cpp - The reference evaluator --------------------------===//
#include "gradc/Interp/Interpreter.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <unordered_map>

namespace gradc {

/// `scan @body(carries..., xs..., consts...)`: the body runs once per index
/// t of the xs' leading axis (T-1 down to 0 with `reverse`), on the carries,
/// the slices xs[t] and the constants; its first results are the next
/// carries, the others are stacked at index t.
static llvm::Error evalScan(const Op &op,
                            std::unordered_map<const Value *, Tensor> &env) {
  const Function &body = *op.calleeFns[0];
  size_t nc = op.intAttr("carries", 0), ns = op.intAttr("scanned", 1);
  bool reverse = op.boolAttr("reverse", false);
  std::vector<Tensor> carries;
  for (size_t i = 0; i < nc; ++i)
    carries.push_back(env[op.operands[i]]);
  std::vector<const Tensor *> xs;
  for (size_t i = nc; i < nc + ns; ++i)
    xs.push_back(&env[op.operands[i]]);
  int64_t T = xs[0]->shape[0];
  std::vector<Value *> res = op.allResults();
  std::vector<Tensor> ys;
  for (size_t i = nc; i < res.size(); ++i)
    ys.emplace_back(); // shaped by the first step
  for (int64_t k = 0; k < T; ++k) {
    int64_t t = reverse ? T - 1 - k : k;
    std::vector<Tensor> args = carries;
    for (const Tensor *x : xs) {
      Shape s(x->shape.begin() + 1, x->shape.end());
      Tensor slice(x->dtype, s);
      int64_t n = slice.size();
      std::copy(x->data.begin() + t * n, x->data.begin() + (t + 1) * n,
                slice.data.begin());
      args.push_back(std::move(slice));
    }
    for (size_t i = nc + ns; i < op.operands.size(); ++i)
      args.push_back(env[op.operands[i]]);
    auto out = evaluate(body, std::move(args));
    if (!out)
      return out.takeError();
    for (size_t i = 0; i < nc; ++i)
      carries[i] = std::move((*out)[i]);
    for (size_t j = 0; j < ys.size(); ++j) {
      const Tensor &y = (*out)[nc + j];
      if (ys[j].shape.empty() || ys[j].shape[0] != T) {
        Shape s = {T};
        s.insert(s.end(), y.shape.begin(), y.shape.end());
        ys[j] = Tensor(y.dtype, s);
      }
      std::copy(y.data.begin(), y.data.end(),
                ys[j].data.begin() + t * y.size());
    }
  }
  for (size_t i = 0; i < nc; ++i)
    env[res[i]] = std::move(carries[i]);
  for (size_t j = 0; j < ys.size(); ++j)
    env[res[nc + j]] = std::move(ys[j]);
  return llvm::Error::success();
}

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
    for (const Value *r : op->allResults()) {
      Shape sizes = resolve(r->type.dims, *syms);
      if (!checkedProduct(sizes, kMaxEvalElements))
        return llvm::createStringError(
            llvm::inconvertibleErrorCode(),
            "'%" + r->name + "' of type " + r->type.str() +
                " would have more than " + llvm::Twine(kMaxEvalElements) +
                " elements");
    }
    if (op->kind == OpKind::Scan) {
      if (auto e = evalScan(*op, env))
        return e;
      continue;
    }
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
