//===- OpsImpl.h - Helpers shared by the op declarations --------*- C++ -*-===//
#ifndef GRADC_LIB_OPS_OPSIMPL_H
#define GRADC_LIB_OPS_OPSIMPL_H

#include "gradc/Ops/Attrs.h"
#include "gradc/Ops/Builder.h"
#include "gradc/Ops/OpDef.h"

#include <functional>

namespace gradc::ops {

// Each file declares the ops of one family.
void addElementwiseOps(std::vector<OpDef> &defs);
void addLinalgOps(std::vector<OpDef> &defs);
void addReductionOps(std::vector<OpDef> &defs);
void addLayoutOps(std::vector<OpDef> &defs);
void addIndexOps(std::vector<OpDef> &defs);
void addConvOps(std::vector<OpDef> &defs);
void addEinsumOps(std::vector<OpDef> &defs);
void addControlOps(std::vector<OpDef> &defs);

// --- Shape helpers -----------------------------------------------------------
/// numpy broadcasting of two types; on failure sets `err`.
Type broadcastTypes(const Type &a, const Type &b, llvm::StringRef op,
                    std::string &err);
/// Resolves (possibly negative) axes against `rank`; sorted, unique.
bool normalizeAxes(const std::vector<Dim> &axes, unsigned rank,
                   std::vector<int64_t> &out, std::string &err);
/// The `axes` attribute of a reduction (all axes if absent).
bool reductionAxes(const Op &op, unsigned rank, std::vector<int64_t> &out,
                   std::string &err);
/// The `axis` attribute (default -1), resolved against `rank`.
bool singleAxis(const Op &op, unsigned rank, int64_t &axis, std::string &err);
/// `t` with the given axes removed, or set to 1 when `keepdims`.
Type reduceType(const Type &t, const std::vector<int64_t> &axes, bool keepdims);
/// A list attribute of static integers (empty if absent); a symbol in it is
/// an error.
bool intListAttr(const Op &op, const char *name, std::vector<int64_t> &out,
                 std::string &err);

/// Checks that every operand has the same element type.
bool sameDType(llvm::ArrayRef<Type> in, llvm::StringRef op, std::string &err);
std::vector<Dim> dimsOf(const Shape &s);

// --- Kernel helpers
// ------------------------------------------------------------
Shape broadcastShapes(const Shape &a, const Shape &b);
/// Evaluates `fn` elementwise with numpy broadcasting over all inputs.
Tensor mapBroadcast(llvm::ArrayRef<const Tensor *> in, DType t,
                    const std::function<double(const double *)> &fn);
/// Calls fn(outFlat, inFlat) for every element of `in`, where outFlat is the
/// index of the element it reduces into (shape of `in` with `axes` set to 1).
void forEachReduced(const Shape &in, const std::vector<int64_t> &axes,
                    const std::function<void(int64_t, int64_t)> &fn);
/// `in` broadcast to `out` (numpy rules), materialized.
Tensor broadcastTensor(const Tensor &in, const Shape &out);

// --- Adjoint helpers
// ------------------------------------------------------------
/// Reinserts the reduced axes of a reduction result as size-1 dims, then
/// broadcasts to `full`.
Value *expandReduced(Builder &b, Value *v, const Type &full,
                     const std::vector<int64_t> &axes, bool keepdims);

} // namespace gradc::ops

#endif
