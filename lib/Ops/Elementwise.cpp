//===- Elementwise.cpp - Elementwise ops: one declaration each ------------===//
//
// Each op is one row: its scalar formula (the interpreter kernel) and its
// adjoint, with the math in a comment. Binary ops broadcast like numpy; their
// adjoints return cotangents of the broadcast shape and the AD pass sums them
// back to each operand's shape.
//
//===----------------------------------------------------------------------===//
#include "OpsImpl.h"
#include "VecMath.h"

#include "gradc/Loops/LoopBuilder.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"

#include <climits>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace gradc::ops {
namespace {

using Grads = std::vector<Value *>;

Value *zero(Builder &b, Value *like) { return b.constant(0, like->type.dtype); }
Value *one(Builder &b, Value *like) { return b.constant(1, like->type.dtype); }

Type inferBinary(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  return broadcastTypes(in[0], in[1], mnemonic(op.kind), err);
}
Type inferSelect(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  Type t = broadcastTypes(in[1], in[2], "select", err);
  if (!t.valid)
    return t;
  return broadcastTypes(in[0], t, mnemonic(op.kind), err);
}
Type inferUnary(const Op &, llvm::ArrayRef<Type> in, std::string &) {
  return in[0];
}

/// An integer element (a whole number) as int64; one beyond int64's range
/// (an i64 sum past 2^63 in double) wraps around modulo 2^64.
int64_t toInt64(double x) {
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0)) {
    x = std::fmod(x, 18446744073709551616.0);
    x += x < -9223372036854775808.0   ? 18446744073709551616.0
         : x >= 9223372036854775808.0 ? -18446744073709551616.0
                                      : 0.0;
  }
  return int64_t(x);
}
/// Integer arithmetic is two's complement, wrapping around modulo 2^64 for
/// i64 (as the compiled backends' i64 arithmetic) and modulo 2^32 for i32,
/// computed in the unsigned type of that width. An i64 beyond 2^53 is held
/// inexactly (Tensor.h).
template <typename U> U un(double x) { return U(toInt64(x)); }
template <typename U> double sg(U v) {
  return double(std::make_signed_t<U>(v));
}
template <typename U> double intAdd(const double *x) {
  return sg<U>(un<U>(x[0]) + un<U>(x[1]));
}
template <typename U> double intSub(const double *x) {
  return sg<U>(un<U>(x[0]) - un<U>(x[1]));
}
template <typename U> double intMul(const double *x) {
  return sg<U>(un<U>(x[0]) * un<U>(x[1]));
}
template <typename U> double intNeg(const double *x) {
  return sg<U>(U(0) - un<U>(x[0]));
}
template <typename U> double intAbs(const double *x) {
  return x[0] < 0 ? intNeg<U>(x) : x[0];
}
template <typename U> ScalarFn intFormula(OpKind k) {
  switch (k) {
  case OpKind::Add:
    return intAdd<U>;
  case OpKind::Sub:
    return intSub<U>;
  case OpKind::Mul:
    return intMul<U>;
  case OpKind::Neg:
    return intNeg<U>;
  case OpKind::Abs:
    return intAbs<U>;
  default:
    return nullptr; // exact on whole numbers held as double
  }
}

/// The kernel of every elementwise op: its scalar formula, broadcast. On
/// integers, the arithmetic ops compute in the integer type.
Tensor evalElementwise(const Op &op, llvm::ArrayRef<const Tensor *> in,
                       const SymEnv &) {
  ScalarFn fn = opDef(op.kind).scalar;
  DType t = in.back()->dtype;
  if (isInt(t))
    if (ScalarFn i = t == DType::I32 ? intFormula<uint32_t>(op.kind)
                                     : intFormula<uint64_t>(op.kind))
      fn = i;
  return mapBroadcast(in, in.back()->dtype, fn);
}

OpDef binary(OpKind k, ScalarFn f, LowerFn lower, VjpFn vjp,
             bool commutative = false) {
  OpDef d{k, {}, inferBinary, evalElementwise, vjp};
  d.scalar = f;
  d.lower = lower;
  d.broadcasts = d.elementwise = true;
  d.commutative = commutative;
  return d;
}
OpDef unary(OpKind k, ScalarFn f, LowerFn lower, VjpFn vjp) {
  OpDef d{k, {}, inferUnary, evalElementwise, vjp};
  d.scalar = f;
  d.lower = lower;
  d.elementwise = true;
  return d;
}

/// e^x: vectorizable arithmetic for f32, the llvm.exp intrinsic for f64.
llvm::Value *lowerExp(llvm::IRBuilderBase &b, llvm::ArrayRef<llvm::Value *> x) {
  if (x[0]->getType()->isFloatTy())
    return vecmath::expF32(b, x[0]);
  return b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, x[0]);
}

/// A comparison giving 1 or 0 in the operands' type: ordered for floats
/// (NaN compares false), signed for integers (i64 scalars in the loop IR).
llvm::Value *compare(llvm::IRBuilderBase &b, llvm::ArrayRef<llvm::Value *> x,
                     llvm::CmpInst::Predicate fp, llvm::CmpInst::Predicate ip) {
  llvm::Type *t = x[0]->getType();
  if (t->isIntegerTy())
    return b.CreateZExt(b.CreateICmp(ip, x[0], x[1]), t);
  return b.CreateUIToFP(b.CreateFCmp(fp, x[0], x[1]), t);
}

/// A call of the C library's `name` (double) or `name`f (float).
llvm::Value *callLibm(llvm::IRBuilderBase &b, const char *name,
                      llvm::Value *x) {
  llvm::Type *t = x->getType();
  llvm::Module *m = b.GetInsertBlock()->getModule();
  std::string n = name;
  if (t->isFloatTy())
    n += 'f';
  auto fn = m->getOrInsertFunction(n, t, t);
  llvm::CallInst *call = b.CreateCall(fn, {x});
  call->setDoesNotAccessMemory();
  call->setDoesNotThrow();
  return call;
}

/// tanh: vectorizable arithmetic for f32, the C library's tanh for f64.
llvm::Value *lowerTanh(llvm::IRBuilderBase &b,
                       llvm::ArrayRef<llvm::Value *> x) {
  if (x[0]->getType()->isFloatTy())
    return vecmath::tanhF32(b, x[0]);
  return callLibm(b, "tanh", x[0]);
}

/// softplus(x) = max(x, 0) + log1p(exp(-|x|)): never overflows.
double softplus(double x) {
  return std::max(x, 0.0) + std::log1p(std::exp(-std::fabs(x)));
}
llvm::Value *lowerSoftplus(llvm::IRBuilderBase &b,
                           llvm::ArrayRef<llvm::Value *> x) {
  llvm::Type *t = x[0]->getType();
  llvm::Value *zero = llvm::ConstantFP::get(t, 0.0);
  llvm::Value *e = lowerExp(
      b, {b.CreateFNeg(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x[0]))});
  llvm::Value *pos = b.CreateSelect(b.CreateFCmpOGT(x[0], zero), x[0], zero);
  // NaN stays NaN: fabs and exp carry it through log1p.
  return b.CreateFAdd(pos, callLibm(b, "log1p", e));
}

/// sign(x): -1, 0 or 1 (0 for both zeros), NaN for NaN.
double sign(double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : x == 0 ? 0.0 : x; }
llvm::Value *lowerSign(llvm::IRBuilderBase &b,
                       llvm::ArrayRef<llvm::Value *> x) {
  llvm::Type *t = x[0]->getType();
  auto c = [&](double v) { return llvm::ConstantFP::get(t, v); };
  llvm::Value *r = b.CreateSelect(b.CreateFCmpOEQ(x[0], c(0)), c(0), x[0]);
  r = b.CreateSelect(b.CreateFCmpOLT(x[0], c(0)), c(-1), r);
  return b.CreateSelect(b.CreateFCmpOGT(x[0], c(0)), c(1), r);
}

/// Float to integer as numpy's astype on this CPU: toward zero; NaN and
/// values out of range give the type's smallest value.
double castValue(double x, DType to) {
  if (isFloat(to))
    return to == DType::F32 ? double(float(x)) : x;
  double lo = to == DType::I32 ? -2147483648.0 : -9223372036854775808.0;
  double hi = to == DType::I32 ? 2147483648.0 : 9223372036854775808.0;
  if (!(x > lo - 1 && x < hi))
    return lo;
  return std::trunc(x) + 0.0; // never -0
}

Type inferCast(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  if (!op.declaredType) {
    err = "'cast' needs the element type to convert to, e.g. "
          "'cast %x : f32'";
    return Type::invalid();
  }
  return Type{op.declaredType->dtype, in[0].dims};
}

Tensor evalCast(const Op &op, llvm::ArrayRef<const Tensor *> in,
                const SymEnv &) {
  Tensor t = *in[0];
  t.dtype = op.result->type.dtype;
  for (double &x : t.data)
    x = castValue(x, t.dtype);
  return t;
}

/// 1/(1+e^-x) for x >= 0, e^x/(1+e^x) otherwise: e = exp(-|x|) never
/// overflows.
llvm::Value *lowerSigmoid(llvm::IRBuilderBase &b,
                          llvm::ArrayRef<llvm::Value *> x) {
  llvm::Type *t = x[0]->getType();
  llvm::Value *one = llvm::ConstantFP::get(t, 1.0);
  llvm::Value *e = lowerExp(
      b, {b.CreateFNeg(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x[0]))});
  llvm::Value *den = b.CreateFAdd(one, e);
  llvm::Value *r = b.CreateFDiv(one, den);
  // f32 (already a few ulp from the interpreter's exp) saves a division:
  // e/(1+e) as e * (1/(1+e)), within an ulp of the quotient.
  llvm::Value *neg = t->isFloatTy() ? b.CreateFMul(e, r) : b.CreateFDiv(e, den);
  return b.CreateSelect(b.CreateFCmpOGE(x[0], llvm::ConstantFP::get(t, 0.0)), r,
                        neg);
}

} // namespace

#define X0 op.operands[0]
#define X1 op.operands[1]
#define Y op.result
#define LW(expr)                                                               \
  [](llvm::IRBuilderBase &b,                                                   \
     llvm::ArrayRef<llvm::Value *> x) -> llvm::Value * { return expr; }
#define FN(expr) [](const double *x) -> double { return expr; }

void addElementwiseOps(std::vector<OpDef> &d) {
  // d(a+b) = da + db
  d.push_back(binary(
                  OpKind::Add, FN(x[0] + x[1]), LW(b.CreateFAdd(x[0], x[1])),
                  [](Builder &, const Op &, Value *dy) -> Grads {
                    return {dy, dy};
                  },
                  true)
                  .withCpp("+", nullptr));
  // d(a-b) = da - db
  d.push_back(binary(OpKind::Sub, FN(x[0] - x[1]), LW(b.CreateFSub(x[0], x[1])),
                     [](Builder &b, const Op &, Value *dy) -> Grads {
                       return {dy, b.neg(dy)};
                     })
                  .withCpp("-", nullptr));
  // d(a*b) = b da + a db
  d.push_back(binary(
                  OpKind::Mul, FN(x[0] * x[1]), LW(b.CreateFMul(x[0], x[1])),
                  [](Builder &b, const Op &op, Value *dy) -> Grads {
                    return {b.mul(dy, X1), b.mul(dy, X0)};
                  },
                  true)
                  .withCpp("*", nullptr));
  // d(a/b) = da/b - (a/b)/b db = da/b - y/b db
  d.push_back(binary(OpKind::Div, FN(x[0] / x[1]), LW(b.CreateFDiv(x[0], x[1])),
                     [](Builder &b, const Op &op, Value *dy) -> Grads {
                       Value *da = b.div(dy, X1);
                       return {da, b.neg(b.mul(da, Y))};
                     })
                  .withCpp("/", nullptr));
  // max routes dy to the larger operand; on a tie (a == b) to a.
  d.push_back(binary(
                  OpKind::Max,
                  FN(x[0] >= x[1] || std::isnan(x[0]) ? x[0] : x[1]),
                  LW(b.CreateSelect(b.CreateOr(b.CreateFCmpOGE(x[0], x[1]),
                                               b.CreateFCmpUNO(x[0], x[0])),
                                    x[0], x[1])),
                  [](Builder &b, const Op &op, Value *dy) -> Grads {
                    Value *takeA = b.create(OpKind::Ge, {X0, X1});
                    return {b.select(takeA, dy, zero(b, dy)),
                            b.select(takeA, zero(b, dy), dy)};
                  },
                  true)
                  .withCpp(nullptr, "return a >= b || std::isnan(a) ? a : b;"));
  // min routes dy to the smaller operand; on a tie to a.
  d.push_back(binary(
                  OpKind::Min,
                  FN(x[0] <= x[1] || std::isnan(x[0]) ? x[0] : x[1]),
                  LW(b.CreateSelect(b.CreateOr(b.CreateFCmpOLE(x[0], x[1]),
                                               b.CreateFCmpUNO(x[0], x[0])),
                                    x[0], x[1])),
                  [](Builder &b, const Op &op, Value *dy) -> Grads {
                    Value *takeA = b.create(OpKind::Le, {X0, X1});
                    return {b.select(takeA, dy, zero(b, dy)),
                            b.select(takeA, zero(b, dy), dy)};
                  },
                  true)
                  .withCpp(nullptr, "return a <= b || std::isnan(a) ? a : b;"));
  // d(a^b) = b a^(b-1) da + y log(a) db. As in PyTorch, the a-derivative is
  // 0 where b == 0 (a^0 = 1, even at a = 0), and the b-derivative is 0 where
  // a == 0 and b >= 0 (0^b is constant there; y log(a) would be 0 * -inf).
  // The masks select the factors, not the products with dy, so that the
  // transpose of this rule (the forward mode) is NaN-free as well.
  d.push_back(
      binary(OpKind::Pow, FN(std::pow(x[0], x[1])),
             LW(b.CreateBinaryIntrinsic(llvm::Intrinsic::pow, x[0], x[1])),
             [](Builder &b, const Op &op, Value *dy) -> Grads {
               Value *bm1 = b.sub(X1, one(b, X1));
               Value *slope = b.mul(X1, b.create(OpKind::Pow, {X0, bm1}));
               Value *bZero = b.create(OpKind::Eq, {X1, zero(b, X1)});
               slope = b.select(bZero, zero(b, X1), slope);
               Value *flat = b.mul(b.create(OpKind::Eq, {X0, zero(b, X0)}),
                                   b.create(OpKind::Ge, {X1, zero(b, X1)}));
               Value *dlog = b.select(flat, zero(b, Y), b.mul(Y, b.log(X0)));
               return {b.mul(dy, slope), b.mul(dy, dlog)};
             })
          .withCpp(nullptr, "return T(std::pow(double(a), double(b)));"));
  // Comparisons give 0/1 in the operands' type; piecewise constant.
  d.push_back(binary(OpKind::Gt, FN(x[0] > x[1]),
                     LW(compare(b, x, llvm::CmpInst::FCMP_OGT,
                                llvm::CmpInst::ICMP_SGT)),
                     nullptr)
                  .withCpp(nullptr, "return a > b ? T(1) : T(0);"));
  d.push_back(binary(OpKind::Ge, FN(x[0] >= x[1]),
                     LW(compare(b, x, llvm::CmpInst::FCMP_OGE,
                                llvm::CmpInst::ICMP_SGE)),
                     nullptr)
                  .withCpp(nullptr, "return a >= b ? T(1) : T(0);"));
  d.push_back(binary(OpKind::Lt, FN(x[0] < x[1]),
                     LW(compare(b, x, llvm::CmpInst::FCMP_OLT,
                                llvm::CmpInst::ICMP_SLT)),
                     nullptr)
                  .withCpp(nullptr, "return a < b ? T(1) : T(0);"));
  d.push_back(binary(OpKind::Le, FN(x[0] <= x[1]),
                     LW(compare(b, x, llvm::CmpInst::FCMP_OLE,
                                llvm::CmpInst::ICMP_SLE)),
                     nullptr)
                  .withCpp(nullptr, "return a <= b ? T(1) : T(0);"));
  d.push_back(
      binary(OpKind::Eq, FN(x[0] == x[1]),
             LW(compare(b, x, llvm::CmpInst::FCMP_OEQ, llvm::CmpInst::ICMP_EQ)),
             nullptr, true)
          .withCpp(nullptr, "return a == b ? T(1) : T(0);"));
  // select(c, a, b): dy flows to a where c != 0, to b elsewhere.
  OpDef sel =
      binary(OpKind::Select, FN(x[0] != 0 ? x[1] : x[2]),
             LW(b.CreateSelect(b.CreateFCmpUNE(x[0], llvm::ConstantFP::get(
                                                         x[0]->getType(), 0.0)),
                               x[1], x[2])),
             [](Builder &b, const Op &op, Value *dy) -> Grads {
               Value *c = X0;
               return {nullptr, b.select(c, dy, zero(b, dy)),
                       b.select(c, zero(b, dy), dy)};
             })
          .withCpp(nullptr, "return a != 0 ? b : c;");
  sel.infer = inferSelect;
  sel.otherNames = {"where"};
  d.push_back(sel);

  // d(-x) = -dx
  d.push_back(unary(OpKind::Neg, FN(-x[0]), LW(b.CreateFNeg(x[0])),
                    [](Builder &b, const Op &, Value *dy) -> Grads {
                      return {b.neg(dy)};
                    })
                  .withCpp("-", nullptr));
  // d exp(x) = y dx  (the forward value is reused)
  d.push_back(unary(OpKind::Exp, FN(std::exp(x[0])), lowerExp,
                    [](Builder &b, const Op &op, Value *dy) -> Grads {
                      return {b.mul(dy, Y)};
                    })
                  .withCpp(nullptr, "return T(std::exp(double(a)));"));
  // d log(x) = dx / x
  d.push_back(unary(OpKind::Log, FN(std::log(x[0])),
                    LW(b.CreateUnaryIntrinsic(llvm::Intrinsic::log, x[0])),
                    [](Builder &b, const Op &op, Value *dy) -> Grads {
                      return {b.div(dy, X0)};
                    })
                  .withCpp(nullptr, "return T(std::log(double(a)));"));
  // d sqrt(x) = dx / (2 y)
  d.push_back(unary(OpKind::Sqrt, FN(std::sqrt(x[0])),
                    LW(b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x[0])),
                    [](Builder &b, const Op &op, Value *dy) -> Grads {
                      return {
                          b.div(b.mul(dy, b.constant(0.5, Y->type.dtype)), Y)};
                    })
                  .withCpp(nullptr, "return T(std::sqrt(double(a)));"));
  // d tanh(x) = (1 - y^2) dx
  d.push_back(unary(OpKind::Tanh, FN(std::tanh(x[0])), lowerTanh,
                    [](Builder &b, const Op &op, Value *dy) -> Grads {
                      return {b.mul(dy, b.sub(one(b, Y), b.mul(Y, Y)))};
                    })
                  .withCpp(nullptr, "return T(std::tanh(double(a)));")
                  // tanh|x| = -u (1 + e)^2 r, with the sign of x
                  .withShared(LW(vecmath::tanhFrom(b, x[0], x[1], x[2], x[3])),
                              "double k = 1 + double(e);\n  return "
                              "T(std::copysign(-double(u) * k * k * r, "
                              "double(x)));"));
  // d sigmoid(x) = y (1 - y) dx; computed as 1/(1+e^-x) or e^x/(1+e^x),
  // whichever does not overflow.
  d.push_back(unary(OpKind::Sigmoid,
                    FN(x[0] >= 0 ? 1 / (1 + std::exp(-x[0]))
                                 : std::exp(x[0]) / (1 + std::exp(x[0]))),
                    lowerSigmoid,
                    [](Builder &b, const Op &op, Value *dy) -> Grads {
                      return {b.mul(dy, b.mul(Y, b.sub(one(b, Y), Y)))};
                    })
                  .withCpp(nullptr, "double d = double(a);\n  return T(d >= 0 "
                                    "? 1 / (1 + std::exp(-d))\n                "
                                    ": std::exp(d) / (1 + std::exp(d)));")
                  // 1/(1 + e) = (1 + e^2) r, e/(1 + e) = e (1 + e^2) r
                  .withShared(LW(vecmath::sigmoidFrom(b, x[0], x[1], x[3])),
                              "(void)u;\n  double s = (1 + double(e) * e) * "
                              "r;\n  return T(x >= 0 ? s : e * s);"));
  // relu(x) = max(x, 0); dy passes where the pre-activation x > 0 (slope 0 at
  // 0).
  d.push_back(
      unary(
          OpKind::Relu, FN(x[0] > 0 ? x[0] : (std::isnan(x[0]) ? x[0] : 0.0)),
          LW(b.CreateSelect(b.CreateFCmpUGT(x[0], llvm::ConstantFP::get(
                                                      x[0]->getType(), 0.0)),
                            x[0], llvm::ConstantFP::get(x[0]->getType(), 0.0))),
          [](Builder &b, const Op &op, Value *dy) -> Grads {
            return {b.select(b.gt(X0, zero(b, X0)), dy, zero(b, dy))};
          })
          .withCpp(nullptr, "return a > 0 || std::isnan(a) ? a : T(0);"));
  // d|x| = sign(x) dx, with sign(0) = 0
  d.push_back(unary(OpKind::Abs, FN(std::fabs(x[0])),
                    LW(b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x[0])),
                    [](Builder &b, const Op &op, Value *dy) -> Grads {
                      Value *z = zero(b, X0);
                      Value *negPart =
                          b.select(b.create(OpKind::Lt, {X0, z}), b.neg(dy), z);
                      return {b.select(b.gt(X0, z), dy, negPart)};
                    })
                  .withCpp(nullptr, "return T(std::fabs(double(a)));"));
  // d sin(x) = cos(x) dx
  d.push_back(unary(OpKind::Sin, FN(std::sin(x[0])),
                    LW(b.CreateUnaryIntrinsic(llvm::Intrinsic::sin, x[0])),
                    [](Builder &b, const Op &op, Value *dy) -> Grads {
                      return {b.mul(dy, b.create(OpKind::Cos, {X0}))};
                    })
                  .withCpp(nullptr, "return T(std::sin(double(a)));"));
  // d cos(x) = -sin(x) dx
  d.push_back(unary(OpKind::Cos, FN(std::cos(x[0])),
                    LW(b.CreateUnaryIntrinsic(llvm::Intrinsic::cos, x[0])),
                    [](Builder &b, const Op &op, Value *dy) -> Grads {
                      return {b.neg(b.mul(dy, b.create(OpKind::Sin, {X0})))};
                    })
                  .withCpp(nullptr, "return T(std::cos(double(a)));"));
  // d erf(x) = 2/sqrt(pi) exp(-x^2) dx
  d.push_back(unary(OpKind::Erf, FN(std::erf(x[0])),
                    LW(callLibm(b, "erf", x[0])),
                    [](Builder &b, const Op &op, Value *dy) -> Grads {
                      Value *g = b.exp(b.neg(b.mul(X0, X0)));
                      Value *c = b.constant(1.1283791670955126, Y->type.dtype);
                      return {b.mul(dy, b.mul(c, g))};
                    })
                  .withCpp(nullptr, "return T(std::erf(double(a)));"));
  // d log1p(x) = dx / (1 + x)
  d.push_back(unary(OpKind::Log1p, FN(std::log1p(x[0])),
                    LW(callLibm(b, "log1p", x[0])),
                    [](Builder &b, const Op &op, Value *dy) -> Grads {
                      return {b.div(dy, b.add(one(b, X0), X0))};
                    })
                  .withCpp(nullptr, "return T(std::log1p(double(a)));"));
  // d expm1(x) = (y + 1) dx
  d.push_back(
      unary(OpKind::Expm1, FN(std::expm1(x[0])),
            LW(x[0]->getType()->isFloatTy() ? vecmath::expm1F32(b, x[0])
                                            : callLibm(b, "expm1", x[0])),
            [](Builder &b, const Op &op, Value *dy) -> Grads {
              return {b.mul(dy, b.add(Y, one(b, Y)))};
            })
          .withCpp(nullptr, "return T(std::expm1(double(a)));"));
  // d softplus(x) = sigmoid(x) dx
  d.push_back(unary(OpKind::Softplus, FN(softplus(x[0])), lowerSoftplus,
                    [](Builder &b, const Op &op, Value *dy) -> Grads {
                      return {b.mul(dy, b.create(OpKind::Sigmoid, {X0}))};
                    })
                  .withCpp(nullptr, "double d = double(a);\n  return "
                                    "T((d > 0 ? d : 0.0) + "
                                    "std::log1p(std::exp(-std::fabs(d))));"));
  // y = x^(-1/2): dy/dx = -y^3 / 2
  d.push_back(
      unary(
          OpKind::Rsqrt, FN(1 / std::sqrt(x[0])),
          LW(b.CreateFDiv(llvm::ConstantFP::get(x[0]->getType(), 1.0),
                          b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x[0]))),
          [](Builder &b, const Op &op, Value *dy) -> Grads {
            Value *y3 = b.mul(Y, b.mul(Y, Y));
            return {b.mul(dy, b.mul(b.constant(-0.5, Y->type.dtype), y3))};
          })
          .withCpp(nullptr, "return T(1 / std::sqrt(double(a)));"));
  // sign and floor are piecewise constant: derivative 0.
  d.push_back(unary(OpKind::Sign, FN(sign(x[0])), lowerSign, nullptr)
                  .withCpp(nullptr, "return a > 0 ? T(1) : a < 0 ? T(-1) : "
                                    "a == 0 ? T(0) : a;"));
  d.push_back(unary(OpKind::Floor, FN(std::floor(x[0])),
                    LW(b.CreateUnaryIntrinsic(llvm::Intrinsic::floor, x[0])),
                    nullptr)
                  .withCpp(nullptr, "return T(std::floor(double(a)));"));
  // The identity, through which no derivative flows.
  d.push_back(
      unary(OpKind::StopGradient, FN(x[0]), LW(((void)b, x[0])), nullptr)
          .withCpp(nullptr, "return a;"));

  // cast: float -> float has the adjoint dx = cast(dy) back; anything with
  // an integer end carries no derivative.
  OpDef cast{OpKind::Cast,
             {},
             inferCast,
             evalCast,
             [](Builder &b, const Op &op, Value *dy) -> Grads {
               if (!X0->type.isFloat() || !Y->type.isFloat())
                 return {nullptr};
               return {b.cast(dy, X0->type.dtype)};
             }};
  // Integers are i64 scalars in the loop IR; an i32 result is range
  // checked like the interpreter's (the type's smallest value outside).
  cast.loops = [](loops::LoopBuilder &b, const Op &op) {
    DType to = Y->type.dtype;
    b.loops(b.shape(Y->type.dims), [&](loops::Index idx) {
      const loops::Expr *v = b.cast(b.element(X0, idx), loops::scalarOf(to));
      if (to == DType::I32 && X0->type.dtype != DType::I32) {
        const loops::Expr *lo = b.i(INT32_MIN), *hi = b.i(INT32_MAX);
        v = b.let("v", v);
        v = b.select(b.ilt(v, lo), lo, b.select(b.ilt(hi, v), lo, v));
      }
      b.store(Y, idx, v);
    });
  };
  cast.integers = cast.typeFromDecl = true;
  d.push_back(cast);

  // Comparisons also compare integers (giving 0/1 of their type); add, sub,
  // mul, neg and abs wrap around (docs/ir.md, "Integer arithmetic"); max,
  // min and select (a mask of the branches' type) are exact.
  for (OpDef &def : d)
    switch (def.kind) {
    case OpKind::Gt:
    case OpKind::Ge:
    case OpKind::Lt:
    case OpKind::Le:
    case OpKind::Eq:
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::Neg:
    case OpKind::Abs:
    case OpKind::Max:
    case OpKind::Min:
    case OpKind::Select:
      def.integers = true;
      break;
    default:
      break;
    }
}

} // namespace gradc::ops
