//===- VecMath.cpp - Vectorizable exp and tanh for f32 --------------------===//
#include "VecMath.h"

#include <cmath>

namespace gradc::vecmath {

using llvm::Value;

static Value *fma(llvm::IRBuilderBase &b, Value *x, Value *y, Value *z) {
  return b.CreateIntrinsic(llvm::Intrinsic::fma, {x->getType()}, {x, y, z});
}

static Value *c(llvm::IRBuilderBase &b, double v) {
  return llvm::ConstantFP::get(b.getFloatTy(), v);
}

/// 2^k for an i32 k in [-126, 127].
static Value *pow2(llvm::IRBuilderBase &b, Value *k) {
  Value *bits = b.CreateShl(b.CreateAdd(k, b.getInt32(127)), 23);
  return b.CreateBitCast(bits, b.getFloatTy());
}

Value *expF32(llvm::IRBuilderBase &b, Value *x) {
  // n = round(x / ln2); r = x - n ln2 with ln2 split in two for exactness.
  Value *n = b.CreateUnaryIntrinsic(llvm::Intrinsic::rint,
                                    b.CreateFMul(x, c(b, M_LOG2E)));
  const float ln2Hi = 0.693145751953125f; // the high bits of ln 2
  const double ln2Lo = M_LN2 - double(ln2Hi);
  Value *r = fma(b, n, c(b, -ln2Hi), x);
  r = fma(b, n, c(b, -ln2Lo), r);
  // e^r, Taylor to degree 7 (|r| <= 0.347: truncation < 0.1 ulp).
  Value *p = c(b, 1.0 / 5040);
  for (double k : {1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0})
    p = fma(b, p, r, c(b, k));
  // Scale by 2^n as 2^(n>>1) * 2^(n - (n>>1)): each factor stays normal.
  Value *clamped = b.CreateFPToSI(
      b.CreateMaxNum(b.CreateMinNum(n, c(b, 128)), c(b, -150)), b.getInt32Ty());
  Value *half = b.CreateAShr(clamped, 1);
  Value *y = b.CreateFMul(b.CreateFMul(p, pow2(b, half)),
                          pow2(b, b.CreateSub(clamped, half)));
  // Out of range: +inf above log(FLT_MAX), 0 below the smallest subnormal.
  y = b.CreateSelect(b.CreateFCmpOGT(x, c(b, 88.72283935546875)),
                     c(b, INFINITY), y);
  y = b.CreateSelect(b.CreateFCmpOLT(x, c(b, -103.972084045410)), c(b, 0), y);
  return b.CreateSelect(b.CreateFCmpUNO(x, x), x, y);
}

Value *tanhF32(llvm::IRBuilderBase &b, Value *x) {
  Value *a = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
  // Small |x|: a + a^3 Q(a^2), Q from the Taylor series of tanh to a^15
  // (the next term is < 0.2 ulp at |x| = 0.5).
  Value *a2 = b.CreateFMul(a, a);
  Value *q = c(b, -929569.0 / 638512875);
  for (double k : {21844.0 / 6081075, -1382.0 / 155925, 62.0 / 2835,
                   -17.0 / 315, 2.0 / 15, -1.0 / 3})
    q = fma(b, q, a2, c(b, k));
  Value *small = fma(b, b.CreateFMul(a, a2), q, a);
  // Large |x|: 1 - 2/(e^{2|x|} + 1); e^{2|x|} = inf gives exactly 1.
  Value *e = expF32(b, b.CreateFAdd(a, a));
  Value *large =
      b.CreateFSub(c(b, 1), b.CreateFDiv(c(b, 2), b.CreateFAdd(e, c(b, 1))));
  Value *t = b.CreateSelect(b.CreateFCmpOLT(a, c(b, 0.5)), small, large);
  return b.CreateIntrinsic(llvm::Intrinsic::copysign, {x->getType()}, {t, x});
}

} // namespace gradc::vecmath
