//===- Tensor.h - Dense row-major values ------------------------*- C++ -*-===//
//
// The value type of the reference interpreter and of `const` ops. Elements are
// held as double; an f32 tensor holds values already rounded to float, and
// every kernel rounds its results again, so f32 arithmetic is emulated exactly
// for single operations. An i32/i64 tensor holds whole numbers (of magnitude
// below 2^53, so exactly); roundToType wraps an i32 result around modulo 2^32
// (docs/ir.md, "Integer arithmetic").
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_IR_TENSOR_H
#define GRADC_IR_TENSOR_H

#include "gradc/IR/Type.h"

#include <cstdint>
#include <vector>

namespace gradc {

using Shape = std::vector<int64_t>;

int64_t numElements(const Shape &s);
/// Row-major strides of a shape.
Shape stridesOf(const Shape &s);

struct Tensor {
  DType dtype = DType::F64;
  Shape shape;
  std::vector<double> data;

  Tensor() = default;
  Tensor(DType t, Shape s, double fill = 0.0)
      : dtype(t), shape(std::move(s)), data(numElements(shape), fill) {}

  static Tensor scalar(DType t, double v) { return Tensor(t, {}, v); }
  int64_t size() const { return data.size(); }
  unsigned rank() const { return shape.size(); }
  /// Rounds every element to the precision of `dtype`.
  void roundToType();
};

} // namespace gradc

#endif
