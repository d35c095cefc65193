//===- Prelude.h - What every emitted C++ file starts with ---*- C++ -*-===//
//
// The scalar formulas of lib/Ops, spelled once as C++ templates in namespace
// `gir`. Each computes in double and rounds once to T, exactly as the
// interpreter evaluates one op, so emitted f32 code gives the interpreter's
// bits. They are templates so that unused ones cost no warning.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_LIB_CPPGEN_PRELUDE_H
#define GRADC_LIB_CPPGEN_PRELUDE_H

namespace gradc::cppgen {

inline constexpr const char *kPrelude = R"(namespace gir {

template <typename T> T max(T a, T b) { return a >= b || std::isnan(a) ? a : b; }
template <typename T> T min(T a, T b) { return a <= b || std::isnan(a) ? a : b; }
template <typename T> T pow(T a, T b) { return T(std::pow(double(a), double(b))); }
template <typename T> T gt(T a, T b) { return a > b ? T(1) : T(0); }
template <typename T> T ge(T a, T b) { return a >= b ? T(1) : T(0); }
template <typename T> T lt(T a, T b) { return a < b ? T(1) : T(0); }
template <typename T> T le(T a, T b) { return a <= b ? T(1) : T(0); }
template <typename T> T eq(T a, T b) { return a == b ? T(1) : T(0); }
/// a where c != 0 (a NaN c counts as nonzero), else b.
template <typename T> T select(T c, T a, T b) { return c != 0 ? a : b; }
template <typename T> T exp(T x) { return T(std::exp(double(x))); }
template <typename T> T log(T x) { return T(std::log(double(x))); }
template <typename T> T sqrt(T x) { return T(std::sqrt(double(x))); }
template <typename T> T tanh(T x) { return T(std::tanh(double(x))); }
template <typename T> T sin(T x) { return T(std::sin(double(x))); }
template <typename T> T cos(T x) { return T(std::cos(double(x))); }
template <typename T> T abs(T x) { return T(std::fabs(double(x))); }
/// 1/(1+e^-x) or e^x/(1+e^x), whichever does not overflow.
template <typename T> T sigmoid(T x) {
  double d = double(x);
  return T(d >= 0 ? 1 / (1 + std::exp(-d)) : std::exp(d) / (1 + std::exp(d)));
}
/// x if x > 0, else 0 (relu(0) = relu(-0) = 0); NaN stays NaN.
template <typename T> T relu(T x) { return x > 0 || std::isnan(x) ? x : T(0); }
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
