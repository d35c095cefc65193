//===- VecMath.cpp - Vectorizable exp, expm1 and tanh for f32 -------------===//
#include "VecMath.h"

#include "llvm/Analysis/ValueTracking.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PatternMatch.h"

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

/// Whether `x` is never greater than 0 (a NaN aside), as LLVM's value
/// tracking proves it for -|v| and -v*v: then the overflow of e^x and the
/// positive branch of e^x - 1 need no code.
static bool neverPositive(llvm::IRBuilderBase &b, Value *x) {
  const llvm::DataLayout &dl = b.GetInsertBlock()->getModule()->getDataLayout();
  if (llvm::computeKnownFPClass(x, dl).isKnownNever(
          llvm::fcPosSubnormal | llvm::fcPosNormal | llvm::fcPosInf))
    return true;
  // -v*v where v is loaded twice from one address (the loop IR reads an
  // element once per use; LLVM merges the loads only later).
  using namespace llvm::PatternMatch;
  Value *u, *v;
  if (!match(x, m_FNeg(m_FMul(m_Value(u), m_Value(v)))))
    return false;
  auto *lu = llvm::dyn_cast<llvm::LoadInst>(u);
  auto *lv = llvm::dyn_cast<llvm::LoadInst>(v);
  if (!lu || !lv || lu->getType() != lv->getType())
    return false;
  Value *pu = lu->getPointerOperand(), *pv = lv->getPointerOperand();
  if (pu == pv)
    return true;
  auto *gu = llvm::dyn_cast<llvm::GetElementPtrInst>(pu);
  auto *gv = llvm::dyn_cast<llvm::GetElementPtrInst>(pv);
  return gu && gv && gu->isIdenticalTo(gv);
}

namespace {
/// x = n ln2 + r, |r| <= ln2/2, and q = e^r - 1.
struct Parts {
  Value *n, *q;
};
} // namespace

/// The range reduction and polynomial that exp and expm1 share: the same
/// instructions for the same x, which LLVM's CSE merges.
static Parts parts(llvm::IRBuilderBase &b, Value *x) {
  // n = round(x / ln2); r = x - n ln2 with ln2 split in two for exactness.
  Value *n = b.CreateUnaryIntrinsic(llvm::Intrinsic::rint,
                                    b.CreateFMul(x, c(b, M_LOG2E)));
  const float ln2Hi = 0.693145751953125f; // the high bits of ln 2
  const double ln2Lo = M_LN2 - double(ln2Hi);
  Value *r = fma(b, n, c(b, -ln2Hi), x);
  r = fma(b, n, c(b, -ln2Lo), r);
  // e^r - 1 = r + r^2 P(r), P of degree 4 fitted to minimize the largest
  // error over |r| <= ln2/2: 0.07 of 2^-24 relative to e^r, as accurate as
  // the degree 7 Taylor polynomial used before, with one term less. (Degree
  // 3 would cost expm1 and tanh 12-15 ulp near 0.)
  Value *p = c(b, 0.0013950478751212358);
  for (double k :
       {0.008368882350623608, 0.04166620597243309, 0.1666651964187622, 0.5})
    p = fma(b, p, r, c(b, k));
  Value *q = fma(b, b.CreateFMul(r, r), p, r);
  return {n, q};
}

Value *expF32(llvm::IRBuilderBase &b, Value *x) {
  Parts pr = parts(b, x);
  // Scale 1 + q by 2^n as 2^(n>>1) 2^(n - (n>>1)): for n in [-152, 128]
  // each factor is a normal float, the first product exact, the second
  // rounding once (to a subnormal where it must; below, to 0). NaN stays
  // NaN (it is in q).
  Value *p = b.CreateFAdd(pr.q, c(b, 1));
  bool nonPositive = neverPositive(b, x);
  Value *top = nonPositive ? pr.n : b.CreateMinNum(pr.n, c(b, 128));
  Value *n = b.CreateFPToSI(b.CreateMaxNum(top, c(b, -152)), b.getInt32Ty());
  Value *half = b.CreateAShr(n, 1);
  Value *y = b.CreateFMul(b.CreateFMul(p, pow2(b, half)),
                          pow2(b, b.CreateSub(n, half)));
  // Out of range (the reduction of an infinite x is NaN): +inf above
  // log(FLT_MAX), 0 below the smallest subnormal.
  y = b.CreateSelect(b.CreateFCmpOLT(x, c(b, -103.972084045410)), c(b, 0), y);
  if (nonPositive)
    return y;
  return b.CreateSelect(b.CreateFCmpOGT(x, c(b, 88.72283935546875)),
                        c(b, INFINITY), y);
}

Value *expm1F32(llvm::IRBuilderBase &b, Value *x) {
  Parts pr = parts(b, x);
  // n = 0: q itself, which keeps the relative accuracy near 0. n < 0:
  // e^x - 1 rounds once (exact for e^x >= 1/2) and e^x's own error is at
  // most an ulp of the result; n > 24: e^x - 1 = e^x (or inf).
  Value *below = b.CreateSelect(b.CreateFCmpOEQ(pr.n, c(b, 0)), pr.q,
                                b.CreateFSub(expF32(b, x), c(b, 1)));
  // An x that is never positive (the loop IR's expm1(neg(abs(v))), shared
  // by tanh and sigmoid) needs no more.
  if (neverPositive(b, x))
    return b.CreateSelect(b.CreateFCmpOEQ(x, c(b, 0)), x, below);
  // 0 < n <= 24: 2^n q + (2^n - 1), both terms exact but for the fma's one
  // rounding.
  Value *s = pow2(
      b, b.CreateFPToSI(b.CreateMaxNum(b.CreateMinNum(pr.n, c(b, 24)), c(b, 1)),
                        b.getInt32Ty()));
  Value *above = fma(b, s, pr.q, b.CreateFSub(s, c(b, 1)));
  Value *y = b.CreateSelect(b.CreateAnd(b.CreateFCmpOGT(pr.n, c(b, 0)),
                                        b.CreateFCmpOLE(pr.n, c(b, 24))),
                            above, below);
  // expm1(-0) = -0 (the reduction turns -0 into +0).
  return b.CreateSelect(b.CreateFCmpOEQ(x, c(b, 0)), x, y);
}

Value *tanhF32(llvm::IRBuilderBase &b, Value *x) {
  Value *na = b.CreateFNeg(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x));
  Value *e = expF32(b, na), *u = expm1F32(b, na);
  Value *one = c(b, 1);
  // -u (1 + e) / (1 + e^2): e = 0 (|x| > 104) gives exactly 1.
  Value *t = b.CreateFDiv(b.CreateFMul(b.CreateFNeg(u), b.CreateFAdd(one, e)),
                          fma(b, e, e, one));
  return b.CreateIntrinsic(llvm::Intrinsic::copysign, {x->getType()}, {t, x});
}

Value *tanhFrom(llvm::IRBuilderBase &b, Value *x, Value *e, Value *u,
                Value *r) {
  Value *ope = b.CreateFAdd(llvm::ConstantFP::get(x->getType(), 1.0), e);
  Value *t =
      b.CreateFMul(b.CreateFMul(b.CreateFNeg(u), ope), b.CreateFMul(ope, r));
  return b.CreateIntrinsic(llvm::Intrinsic::copysign, {x->getType()}, {t, x});
}

Value *sigmoidFrom(llvm::IRBuilderBase &b, Value *x, Value *e, Value *r) {
  // 1 + e^2 as the loop IR's r computes it, so that LLVM's CSE shares it.
  llvm::Type *t = x->getType();
  Value *s = b.CreateFMul(
      b.CreateFAdd(llvm::ConstantFP::get(t, 1.0), b.CreateFMul(e, e)), r);
  return b.CreateSelect(b.CreateFCmpOGE(x, llvm::ConstantFP::get(t, 0.0)), s,
                        b.CreateFMul(e, s));
}

} // namespace gradc::vecmath
