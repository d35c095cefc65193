//===- Type.cpp - Types and tensors ---------------------------------------===//
#include "gradc/IR/Type.h"
#include "gradc/IR/Tensor.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/MathExtras.h"

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

std::optional<int64_t> checkedProduct(llvm::ArrayRef<int64_t> sizes,
                                      int64_t limit) {
  int64_t n = 1;
  for (int64_t d : sizes) {
    int64_t m;
    if (d < 0 || llvm::MulOverflow(n, d, m) || m > limit)
      return std::nullopt;
    n = m;
  }
  return n;
}

/// The element count of something already checked against the limits; past
/// them is a bug in gradc, not in its input.
static int64_t checkedCount(llvm::ArrayRef<int64_t> sizes) {
  std::optional<int64_t> n = checkedProduct(sizes);
  if (!n)
    llvm::report_fatal_error("gradc: internal error: an element count "
                             "exceeds 2^40 or overflows");
  return *n;
}

std::optional<int64_t> Type::staticElements() const {
  llvm::SmallVector<int64_t, 8> sizes;
  for (const Dim &d : dims)
    if (!d.isSym())
      sizes.push_back(d.size);
  return checkedProduct(sizes);
}

int64_t Type::numElements() const {
  llvm::SmallVector<int64_t, 8> sizes;
  for (const Dim &d : dims)
    sizes.push_back(d.size);
  return checkedCount(sizes);
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

int64_t numElements(const Shape &s) { return checkedCount(s); }

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
    for (double &x : data) {
      x = std::trunc(x) + 0.0; // never -0
      // i32 results wrap around modulo 2^32, as numpy's and the compiled
      // backends' (docs/ir.md, "Integer arithmetic").
      if (dtype == DType::I32 && std::isfinite(x) &&
          (x < -2147483648.0 || x > 2147483647.0))
        x = double(int32_t(uint32_t(int64_t(std::fmod(x, 4294967296.0)))));
    }
}

} // namespace gradc
