//===- Type.cpp - Types and tensors ---------------------------------------===//
#include "gradc/IR/Type.h"
#include "gradc/IR/Tensor.h"

#include <cmath>

namespace gradc {

const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  }
  return "?";
}

unsigned dtypeSize(DType t) {
  return t == DType::F32 || t == DType::I32 ? 4 : 8;
}

std::string Dim::str() const { return isSym() ? sym : std::to_string(size); }

bool Type::isStatic() const {
  for (const Dim &d : dims)
    if (d.isSym())
      return false;
  return true;
}

int64_t Type::numElements() const {
  int64_t n = 1;
  for (const Dim &d : dims)
    n *= d.size;
  return n;
}

std::string Type::str() const {
  if (!valid)
    return "<invalid>";
  std::string s = dtypeName(dtype);
  if (dims.empty())
    return s;
  s += '[';
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? "," : "") + dims[i].str();
  return s + ']';
}

int64_t numElements(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    n *= d;
  return n;
}

Shape stridesOf(const Shape &s) {
  Shape st(s.size(), 1);
  for (int i = int(s.size()) - 2; i >= 0; --i)
    st[i] = st[i + 1] * s[i + 1];
  return st;
}

void Tensor::roundToType() {
  if (dtype == DType::F32)
    for (double &x : data)
      x = double(float(x));
  else if (isInt(dtype)) // kernels of integer results compute whole numbers
    for (double &x : data)
      x = std::trunc(x) + 0.0; // never -0
}

} // namespace gradc
