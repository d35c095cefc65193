//===- Prelude.h - What every emitted C++ file starts with ---*- C++ -*-===//
//
// The scalar formulas of lib/Ops (each op's OpDef::cppBody), as C++
// templates in namespace `gir`. Each computes in double and rounds once to T,
// exactly as the interpreter evaluates one op, so emitted f32 code gives the
// interpreter's bits. They are templates so that unused ones cost no warning.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_LIB_CPPGEN_PRELUDE_H
#define GRADC_LIB_CPPGEN_PRELUDE_H

#include <string>

namespace gradc::cppgen {

/// The `gir` namespace every emitted file starts with: each elementwise
/// op's formula (from its OpDef), then the reductions' helpers.
std::string prelude();

/// The thread count (docs/c-abi.md; @WORK@ is loops::kParallelWork): one
/// setting per program, shared with gradc's object files (which define the same
/// weak symbols).
inline constexpr const char *kThreadsPrelude =
    R"(extern "C" {
__attribute__((weak)) int gradc_num_threads = 0;
#ifdef GRADC_USE_CBLAS
__attribute__((weak)) void openblas_set_num_threads(int n);
#endif
/// Threads for parallel loops and (with OpenBLAS) BLAS calls; n <= 0:
/// OpenMP's default.
__attribute__((weak)) void gradc_set_num_threads(int n) {
  gradc_num_threads = n > 0 ? n : 0;
#ifdef GRADC_USE_CBLAS
  if (openblas_set_num_threads && n > 0)
    openblas_set_num_threads(n);
#endif
}
}

namespace gir {
/// The blocks a parallel loop of `work` statements is cut into: one per
/// thread, or 1 when the loop is too small to pay for them.
inline int64_t blocks(int64_t work) {
  int64_t n = gradc_num_threads;
#ifdef _OPENMP
  if (n <= 0)
    n = omp_get_max_threads();
#else
  if (n <= 0)
    n = 1;
#endif
  return n > 1 && work >= @WORK@ ? n : 1;
}
} // namespace gir

)";

inline constexpr const char *kReductionHelpers =
    R"(/// Float to integer as numpy's astype: toward zero; NaN and values out of
/// range give INT64_MIN.
inline int64_t toInt64(double x) {
  return x >= -9223372036854775808.0 && x < 9223372036854775808.0
             ? int64_t(x)
             : std::numeric_limits<int64_t>::min();
}

/// |x| of an integer, wrapping around (|INT64_MIN| is INT64_MIN).
inline int64_t iabs(int64_t x) { return x < 0 ? int64_t(0 - uint64_t(x)) : x; }
/// An integer wrapped around modulo 2^32 (an i32 result).
inline int64_t wrap32(int64_t x) { return int32_t(uint32_t(uint64_t(x))); }

/// One step of a max reduction: the first maximum; NaN wins and stays.
template <typename T> T maxStep(T acc, T x) {
  return x > acc || std::isnan(x) || std::isnan(acc) ? (std::isnan(acc) ? acc : x)
                                                     : acc;
}
/// exp(x - m) for a logsumexp/softmax slice of max m (0 when m is -inf).
inline double expShifted(double x, double m) {
  return std::isinf(m) && m < 0 ? 0.0 : std::exp(x - m);
}
/// log(sum(exp(x))) from a slice's max m and shifted sum s.
inline double logSumExp(double m, double s) {
  return std::isinf(m) ? m : m + std::log(s);
}
/// Whether x replaces best as the first maximum (NaN counts as maximal).
template <typename T> bool isNewMax(T x, T best, int64_t at) {
  return at < 0 || (!std::isnan(best) && (x > best || std::isnan(x)));
}

} // namespace gir
)";

} // namespace gradc::cppgen

#endif
