//===- Interpreter.cpp - The reference evaluator --------------------------===//
#include "gradc/Interp/Interpreter.h"

#include <unordered_map>

namespace gradc {

static std::string shapeStr(const Shape &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

llvm::Expected<SymEnv> bindArguments(const Function &f,
                                     std::vector<Tensor> &args) {
  auto fail = [](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  if (args.size() != f.args.size())
    return fail("'@" + f.name + "' takes " + llvm::Twine(f.args.size()) +
                " argument(s), got " + llvm::Twine(args.size()));
  SymEnv syms;
  llvm::StringMap<std::string> boundBy;
  for (size_t i = 0; i < args.size(); ++i) {
    const Value *a = f.args[i];
    Tensor &t = args[i];
    const Type &ty = a->type;
    if (t.rank() != ty.rank())
      return fail("argument '%" + a->name + "' has type " + ty.str() +
                  " but the value has shape " + shapeStr(t.shape));
    for (size_t d = 0; d < ty.rank(); ++d) {
      const Dim &dim = ty.dims[d];
      if (!dim.isSym()) {
        if (dim.size != t.shape[d])
          return fail("argument '%" + a->name + "' has type " + ty.str() +
                      " but the value has shape " + shapeStr(t.shape));
        continue;
      }
      auto [it, fresh] = syms.try_emplace(dim.sym, t.shape[d]);
      if (fresh)
        boundBy[dim.sym] = a->name;
      else if (it->second != t.shape[d])
        return fail("symbolic dimension '" + dim.sym + "' is " +
                    llvm::Twine(it->second) + " in '%" + boundBy[dim.sym] +
                    "' but " + llvm::Twine(t.shape[d]) + " in '%" + a->name +
                    "'");
    }
    t.dtype = ty.dtype;
    t.roundToType();
  }
  return syms;
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
    Shape sizes;
    for (const Dim &d : op->result->type.dims)
      sizes.push_back(d.isSym() ? syms->lookup(d.sym) : d.size);
    if (!checkedProduct(sizes, kMaxEvalElements))
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          "'%" + op->result->name + "' of type " + op->result->type.str() +
              " would have more than " + llvm::Twine(kMaxEvalElements) +
              " elements");
    std::vector<const Tensor *> in;
    for (const Value *v : op->operands)
      in.push_back(&env[v]);
    env[op->result] = opDef(op->kind).eval(*op, in, *syms);
  }
  std::vector<Tensor> out;
  for (const Value *v : f.results)
    out.push_back(env[v]);
  return out;
}

} // namespace gradc
