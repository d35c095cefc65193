//===- ABI.h - The C calling convention of compiled functions ---*- C++ -*-===//
//
// Every backend (the LLVM JIT, object files, emitted C++) compiles
//   func @f(%a: f32[N,3], %b: f32) -> (f32[N], f32)
// to the same C function:
//   int gradc_f(const float *a, const float *b, int64_t N,
//               float *out0, float *out1);
// inputs (one pointer per argument, row-major, scalars too), then the
// symbolic dims in order of first appearance in the argument types, then one
// caller-allocated output pointer per result. Returns 0, or 1 if the
// intermediate buffers could not be allocated. See docs/c-abi.md.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_IR_ABI_H
#define GRADC_IR_ABI_H

#include "gradc/IR/IR.h"

#include <string>
#include <vector>

namespace gradc {

/// The C type of an element: float, double, int32_t or int64_t.
const char *cTypeName(DType t);

/// `gradc_` and the function name with every character that C does not allow
/// in a name replaced by '_': @f.grad is gradc_f_grad.
std::string cSymbolName(llvm::StringRef functionName);
/// The symbolic dims of `f`, in order of first appearance in its arguments.
std::vector<std::string> symbolicDims(const Function &f);
/// The C names of f's parameters: inputs (after the arguments), symbolic
/// dims, outputs (after the returned values; a name already taken, by an
/// input or an earlier output, gets a suffix: `dz_1`), and the shape
/// parameters of the checked entry point (`x_shape`).
struct CNames {
  std::vector<std::string> inputs, dims, outputs, shapes;
};
CNames cNames(const Function &f);
/// The C prototype of `f` under the ABI, without a trailing ';'.
std::string cPrototype(const Function &f);
/// `gradc_f_checked`: each tensor input followed by its shape
/// (`const int64_t *`); the symbolic dims are read from the shapes, checked
/// against each other and the static dims; returns 2 (GRADC_BAD_SHAPE) if
/// they disagree or a dim is below 1, else what gradc_f returns.
std::string checkedSymbolName(const Function &f);
/// `gradc_f_grad_noseed`: for a gradient of a scalar result (see
/// seededPrimal), the entry point without the seed, which is taken as 1.
std::string noseedSymbolName(const Function &f);
/// If `g` is `@f.grad` as `gradc grad` builds it for a scalar result of `f`
/// (no --vjp, or --has-aux): `f`'s arguments, then one scalar seed of
/// the type of `f`'s first result. Then returns `f`, else null.
const Function *seededPrimal(const Module &m, const Function &g);
/// The prototypes of `f`'s entry points: gradc_f, gradc_f_checked, and for
/// a seeded gradient also gradc_f_noseed and gradc_f_noseed_checked.
std::vector<std::string> cPrototypes(const Module &m, const Function &f);
/// Every C name a header or an object defines for `f`: the entry points,
/// the packed one, and the output helpers (gradc_f_OUT_rank/size/shape).
std::vector<std::string> exportedSymbols(const Module &m, const Function &f);
/// C definitions of the checked and seedless entry points of `f`, in terms
/// of gradc_f (for emitted C++; objects get the same in LLVM IR).
std::string cWrapperDefinitions(const Module &m, const Function &f);
/// A C header declaring every function of `m` (C and C++ compatible): the
/// entry points, status codes, and per output a rank constant and inline
/// functions giving its element count and shape from the symbolic dims.
std::string cHeader(const Module &m, llvm::StringRef guard);

} // namespace gradc

#endif
