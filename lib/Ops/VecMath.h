//===- VecMath.h - Vectorizable exp and tanh for f32 ------------*- C++ -*-===//
//
// Straight-line arithmetic (no calls, no branches), so that the loop
// vectorizer turns them into SIMD code; libm's expf/tanhf calls would keep a
// loop scalar. Accuracy (tested in unittests/VecMathTest.cpp, against double
// precision over all of the range): exp within 2 ulp, tanh within 3 ulp.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_LIB_OPS_VECMATH_H
#define GRADC_LIB_OPS_VECMATH_H

#include "llvm/IR/IRBuilder.h"

namespace gradc::vecmath {

/// e^x for a float x: range reduction x = n ln2 + r, |r| <= ln2/2, a degree 7
/// polynomial, and 2^n applied in two halves so that results near the
/// overflow and subnormal ranges are exact powers of two.
llvm::Value *expF32(llvm::IRBuilderBase &b, llvm::Value *x);

/// tanh(x) for a float x: the odd Taylor polynomial to x^15 for |x| < 0.5,
/// 1 - 2/(e^{2|x|} + 1) beyond, with the sign of x.
llvm::Value *tanhF32(llvm::IRBuilderBase &b, llvm::Value *x);

} // namespace gradc::vecmath

#endif
