//===- Control.cpp - `call` and `cond` ------------------------------------===//
//
// Both refer to functions by name. Their results are typed by the callee's
// signature (inferCallTypes); the interpreter runs the callee, the adjoint
// pass inlines `call` (or uses a custom VJP) and differentiates `cond`
// branch by branch (lib/AD/ReverseMode.cpp).
//
//===----------------------------------------------------------------------===//
#include "OpsImpl.h"

#include "gradc/Ops/Control.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/ErrorHandling.h"

namespace gradc {

std::string signatureString(const Function &f) {
  std::string s = "(";
  for (size_t i = 0; i < f.args.size(); ++i)
    s += (i ? ", " : "") + f.args[i]->type.str();
  s += ") -> ";
  if (f.resultTypes.size() == 1)
    return s + f.resultTypes[0].str();
  s += "(";
  for (size_t i = 0; i < f.resultTypes.size(); ++i)
    s += (i ? ", " : "") + f.resultTypes[i].str();
  return s + ")";
}

bool inferCallTypes(const Op &op, llvm::ArrayRef<Type> in,
                    std::vector<Type> &out, std::string &err) {
  out.clear();
  if (op.calleeFns.empty() || !op.calleeFns[0])
    return err = "'" + mnemonic(op.kind).str() + "' has no function", false;
  const Function &g = *op.calleeFns[0];
  if (op.kind == OpKind::Cond) {
    if (in.empty() || !in[0].isScalar()) {
      err = "the predicate of 'cond' must be a scalar, got " +
            (in.empty() ? std::string("nothing") : in[0].str());
      return false;
    }
    in = in.drop_front();
  }
  if (in.size() != g.args.size()) {
    err = "'@" + g.name + "' takes " + std::to_string(g.args.size()) +
          " argument" + (g.args.size() == 1 ? "" : "s") + " but " +
          std::to_string(in.size()) + (in.size() == 1 ? " is" : " are") +
          " passed";
    return false;
  }
  if (g.resultTypes.empty()) {
    err = "'@" + g.name + "' returns nothing";
    return false;
  }
  llvm::StringMap<Dim> bound;
  for (size_t i = 0; i < in.size(); ++i) {
    const Type &p = g.args[i]->type;
    auto mismatch = [&](const std::string &why) {
      err = "argument " + std::to_string(i) + " of '@" + g.name + "' (%" +
            g.args[i]->name + ": " + p.str() + ") is passed " + in[i].str() +
            why;
      return false;
    };
    if (p.dtype != in[i].dtype || p.rank() != in[i].rank())
      return mismatch("");
    for (size_t d = 0; d < p.dims.size(); ++d) {
      const Dim &want = p.dims[d], &got = in[i].dims[d];
      if (!want.isSym()) {
        if (!(want == got))
          return mismatch("");
        continue;
      }
      auto [it, fresh] = bound.try_emplace(want.sym, got);
      if (!fresh && !(it->second == got))
        return mismatch("; its dimension '" + want.sym + "' is already " +
                        it->second.str() + " at this call");
    }
  }
  for (Type t : g.resultTypes) {
    for (Dim &d : t.dims)
      if (d.isSym())
        if (auto it = bound.find(d.sym); it != bound.end())
          d = it->second;
    out.push_back(std::move(t));
  }
  return true;
}

namespace ops {
namespace {

Type inferControl(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  std::vector<Type> out;
  if (!inferCallTypes(op, in, out, err))
    return Type::invalid();
  return out[0];
}

/// The interpreter runs the callee itself (several results); no kernel of
/// the table ever sees these ops.
Tensor evalControl(const Op &op, llvm::ArrayRef<const Tensor *>,
                   const SymEnv &) {
  llvm::report_fatal_error("gradc: internal error: '" + mnemonic(op.kind) +
                           "' reached an op kernel");
}

} // namespace

void addControlOps(std::vector<OpDef> &d) {
  for (OpKind k : {OpKind::Call, OpKind::Cond}) {
    d.push_back({k, {}, inferControl, evalControl, nullptr});
    d.back().integers = true;
  }
}

} // namespace ops
} // namespace gradc
