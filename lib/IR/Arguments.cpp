//===- Arguments.cpp - Binding argument values to a signature -------------===//
#include "gradc/IR/Arguments.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>

namespace gradc {

static std::string shapeStr(const Shape &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? "," : "") + std::to_string(s[i]);
  return r + "]";
}

Shape resolve(llvm::ArrayRef<Dim> dims, const SymEnv &syms) {
  Shape s;
  for (const Dim &d : dims)
    s.push_back(resolve(d, syms));
  return s;
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
    if (isInt(ty.dtype))
      for (double x : t.data)
        if (x != std::trunc(x) || !(std::fabs(x) <= kMaxExactInt) ||
            (ty.dtype == DType::I32 && (x < INT32_MIN || x > INT32_MAX)))
          return fail("argument '%" + a->name + "' has type " + ty.str() +
                      " but the value holds " + fmt::format("{}", x) +
                      ", which is not an " + dtypeName(ty.dtype) + " value");
    t.dtype = ty.dtype;
    t.roundToType();
  }
  return syms;
}

} // namespace gradc
