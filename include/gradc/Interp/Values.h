//===- Values.h - Reading and printing tensor values ------------*- C++ -*-===//
#ifndef GRADC_INTERP_VALUES_H
#define GRADC_INTERP_VALUES_H

#include "gradc/IR/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <utility>
#include <vector>

namespace gradc {

using NamedTensor = std::pair<std::string, Tensor>;

/// Parses a number or a nested list (`-2`, `[[1,2],[3,4]]`; also `NaN`,
/// `Infinity`, `-Infinity`, `nan`, `inf`). The result is f64.
llvm::Expected<Tensor> parseValue(llvm::StringRef text);
/// Reads a value from a `.npy` file (C order; float32/float64, or integers
/// and booleans, which must convert exactly to f64) or a `.json` file.
/// `*integral` (if given) is set when the file holds integers or booleans.
llvm::Expected<Tensor> loadValueFile(llvm::StringRef path,
                                     bool *integral = nullptr);
/// Writes `t` as a `.npy` file in its element type.
llvm::Error saveNpy(const Tensor &t, llvm::StringRef path);
/// Writes `t` in numpy's .npy format (version 1.0) to `os`.
void writeNpy(const Tensor &t, llvm::raw_ostream &os);
/// Writes the named tensors as numpy's .npz (an uncompressed zip of
/// `NAME.npy` files, what numpy.savez writes; np.load reads it back).
llvm::Error writeNpz(llvm::ArrayRef<NamedTensor> arrays, llvm::raw_ostream &os);

/// A number as JSON: 17 significant digits for f64, 9 for f32, an integer
/// for i32/i64; `NaN`, `Infinity`, `-Infinity`.
std::string jsonNumber(double v, DType t);
/// A scalar as a number, a tensor as a nested list.
void printJsonValue(const Tensor &t, llvm::raw_ostream &os);

/// `{"outputs": [...], "gradients": {"x": ...}}` and a newline.
void printJson(llvm::ArrayRef<Tensor> outputs,
               llvm::ArrayRef<NamedTensor> gradients, llvm::raw_ostream &os);
/// A human-readable listing: name, type and value, matrices aligned. With
/// `summarize`, a tensor of more than 1000 elements shows only the first
/// and last 3 entries of each longer axis, with `...` between (numpy's
/// threshold and edgeitems).
void printText(llvm::ArrayRef<NamedTensor> outputs,
               llvm::ArrayRef<NamedTensor> gradients, llvm::raw_ostream &os,
               bool summarize = false);

} // namespace gradc

#endif
