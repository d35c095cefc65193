//===- Type.h - Scalar kinds, dims and tensor types -------------*- C++ -*-===//
//
// A gradc type is an element kind (f32, f64, i32 or i64) and a list of dims. A
// scalar is the rank-0 type. Each dim is either a static size or a symbolic
// name; the same name denotes the same size throughout one function.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_IR_TYPE_H
#define GRADC_IR_TYPE_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gradc {

enum class DType { F32, F64, I32, I64 };

/// f32 and f64 carry derivatives; i32 and i64 (indices, labels) never do.
inline bool isFloat(DType t) { return t == DType::F32 || t == DType::F64; }
inline bool isInt(DType t) { return !isFloat(t); }

/// Integer values are held exactly (as doubles) up to this magnitude.
inline constexpr double kMaxExactInt = 9007199254740992.0; // 2^53

// The limits of what gradc accepts (docs/ir.md, "Limits"). The parser
// enforces them on what is written, the verifier on every type, written,
// inferred or built.

/// Largest size a single dim may have; larger sizes are rejected at parse time.
inline constexpr int64_t kMaxDim = int64_t(1) << 31;
/// Highest rank of any type, including those of `shape` attributes and of
/// inferred results.
inline constexpr unsigned kMaxRank = 8;
/// Most elements of a type, counting its static dims.
inline constexpr int64_t kMaxElements = int64_t(1) << 40;
/// Most ops in one function, parsed or derived (gradients, JVPs).
inline constexpr size_t kMaxOps = size_t(1) << 24;
/// Most functions nested in calls (`call`, `cond`, `scan`) below one.
inline constexpr unsigned kMaxCallDepth = 1000;

/// The product of `sizes` (each >= 0), or nullopt when it is larger than
/// `limit` (computed with overflow checks, so any input is safe).
std::optional<int64_t> checkedProduct(llvm::ArrayRef<int64_t> sizes,
                                      int64_t limit = kMaxElements);

/// A dimension: a static size (>= 0) or a symbol such as `N`.
struct Dim {
  int64_t size = 0;
  std::string sym; // non-empty iff symbolic

  static Dim fixed(int64_t n) { return Dim{n, {}}; }
  static Dim symbol(std::string s) { return Dim{0, std::move(s)}; }
  bool isSym() const { return !sym.empty(); }
  bool isOne() const { return !isSym() && size == 1; }
  bool operator==(const Dim &o) const {
    return isSym() ? sym == o.sym : (!o.isSym() && size == o.size);
  }
  std::string str() const;
};

/// A tensor type; rank 0 is a scalar.
struct Type {
  DType dtype = DType::F64;
  std::vector<Dim> dims;
  bool valid = true; // false only for the placeholder of a failed inference

  static Type invalid() { return Type{DType::F64, {}, false}; }
  unsigned rank() const { return dims.size(); }
  bool isScalar() const { return dims.empty(); }
  bool isStatic() const;
  /// Number of elements of a static type (at most kMaxElements: the type
  /// must have been verified).
  int64_t numElements() const;
  /// The product of the static dims, or nullopt past kMaxElements.
  std::optional<int64_t> staticElements() const;
  bool operator==(const Type &o) const {
    return dtype == o.dtype && dims == o.dims && valid == o.valid;
  }
  bool operator!=(const Type &o) const { return !(*this == o); }
  bool isFloat() const { return gradc::isFloat(dtype); }
  /// Spelled as in the IR: `f32`, `f64[N,3]`, `i64[N]`.
  std::string str() const;
};

const char *dtypeName(DType t);
/// Size in bytes of one element.
unsigned dtypeSize(DType t);

} // namespace gradc

#endif
