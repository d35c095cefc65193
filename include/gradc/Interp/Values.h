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

/// Parses a number or a nested list (`-2`, `[[1,2],[3,4]]`; also `NaN`,
/// `Infinity`, `-Infinity`, `nan`, `inf`). The result is f64.
llvm::Expected<Tensor> parseValue(llvm::StringRef text);
/// Reads a value from a `.npy` file (f32/f64/int32/int64, C order) or a
/// `.json` file.
llvm::Expected<Tensor> loadValueFile(llvm::StringRef path);
/// Writes `t` as a `.npy` file in its element type.
llvm::Error saveNpy(const Tensor &t, llvm::StringRef path);

/// A number as JSON: 17 significant digits for f64, 9 for f32, an integer
/// for i32/i64; `NaN`, `Infinity`, `-Infinity`.
std::string jsonNumber(double v, DType t);
/// A scalar as a number, a tensor as a nested list.
void printJsonValue(const Tensor &t, llvm::raw_ostream &os);

using NamedTensor = std::pair<std::string, Tensor>;

/// `{"outputs": [...], "gradients": {"x": ...}}` and a newline.
void printJson(llvm::ArrayRef<Tensor> outputs,
               llvm::ArrayRef<NamedTensor> gradients, llvm::raw_ostream &os);
/// A human-readable listing: name, type and value, matrices aligned.
void printText(llvm::ArrayRef<NamedTensor> outputs,
               llvm::ArrayRef<NamedTensor> gradients, llvm::raw_ostream &os);

} // namespace gradc

#endif
