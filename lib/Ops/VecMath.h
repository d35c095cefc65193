//===- VecMath.h - Vectorizable exp, expm1 and tanh for f32 -----*- C++ -*-===//
//
// Straight-line arithmetic (no calls, no branches), so that the loop
// vectorizer turns them into SIMD code; libm's expf/tanhf calls would keep a
// loop scalar. Accuracy (tested in unittests/VecMathTest.cpp, against double
// precision over all of the range): exp within 1 ulp, expm1 within 2 ulp,
// tanh and sigmoid within 3 ulp, tanh and sigmoid from one shared exponential
// within 4 and 3 (docs/backends.md).
//
// exp and expm1 of the same operand are built from the same instructions
// (the range reduction and the polynomial), so that LLVM's CSE
// computes them once: tanh(x) and sigmoid(x) of one x, and the loop IR's
// shared exponential (lib/Loops/ShareExp.cpp), cost one range reduction.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_LIB_OPS_VECMATH_H
#define GRADC_LIB_OPS_VECMATH_H

#include "llvm/IR/IRBuilder.h"

namespace gradc::vecmath {

/// e^x for a float x: range reduction x = n ln2 + r, |r| <= ln2/2, e^r - 1
/// as a degree 6 polynomial, and 2^n applied in two halves so that results
/// near the overflow and subnormal ranges round once. An x that LLVM proves
/// never positive (-|v|, -v*v) gets no overflow check.
llvm::Value *expF32(llvm::IRBuilderBase &b, llvm::Value *x);

/// e^x - 1 for a float x, accurate near 0: the polynomial of expF32 itself
/// where n = 0, 2^n (e^r - 1) + (2^n - 1) elsewhere.
llvm::Value *expm1F32(llvm::IRBuilderBase &b, llvm::Value *x);

/// tanh(x) for a float x from e = e^-|x| and u = e^-|x| - 1 (one range
/// reduction): tanh|x| = (1 - e^2)/(1 + e^2) = -u (1 + e)/(1 + e^2), with
/// the sign of x. No cancellation near 0 (u carries the relative accuracy).
llvm::Value *tanhF32(llvm::IRBuilderBase &b, llvm::Value *x);

/// tanh(x) from e = e^-|x|, u = e^-|x| - 1 and r = 1/((1 + e)(1 + e^2)),
/// the reciprocal it shares with sigmoidFrom: -u (1 + e)^2 r, with the sign
/// of x (any float type).
llvm::Value *tanhFrom(llvm::IRBuilderBase &b, llvm::Value *x, llvm::Value *e,
                      llvm::Value *u, llvm::Value *r);

/// sigmoid(x) from e = e^-|x| and r = 1/((1 + e)(1 + e^2)): 1/(1 + e) =
/// (1 + e^2) r for x >= 0, e/(1 + e) = e (1 + e^2) r below.
llvm::Value *sigmoidFrom(llvm::IRBuilderBase &b, llvm::Value *x, llvm::Value *e,
                         llvm::Value *r);

} // namespace gradc::vecmath

#endif
