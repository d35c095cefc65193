//===- CppOps.cpp - The C++ statement of each op -------------------------===//
//
// One emitter per op family. Each writes the op's IR line as a comment, then
// the loop nest computing it; see FunctionEmitter.h for how values are read.
//
//===----------------------------------------------------------------------===//
#include "FunctionEmitter.h"

#include "gradc/Ops/OpDef.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <algorithm>

namespace gradc::cppgen {

static std::vector<int64_t> reducedAxes(const Op &op) {
  unsigned rank = op.operands[0]->type.rank();
  std::vector<int64_t> axes;
  if (const Attr *a = op.attr(
          op.kind == OpKind::Sum || op.kind == OpKind::Mean ||
                  op.kind == OpKind::ReduceMax || op.kind == OpKind::ArgMaxMask
              ? "axes"
              : "axis")) {
    if (a->kind == Attr::Int)
      axes.push_back(a->i < 0 ? a->i + rank : a->i);
    for (const Dim &d : a->list)
      axes.push_back(d.size < 0 ? d.size + rank : d.size);
  } else if (op.kind == OpKind::LogSumExp || op.kind == OpKind::Softmax ||
             op.kind == OpKind::LogSoftmax) {
    axes.push_back(rank - 1);
  } else {
    for (unsigned i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

static bool contains(const std::vector<int64_t> &v, int64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

/// `s` (a double expression) rounded to the element type.
static std::string toType(const std::string &s, DType t) {
  return t == DType::F32 ? "float(" + s + ")" : s;
}
/// `s` (an element) widened to double.
static std::string toDouble(const std::string &s, DType t) {
  return t == DType::F32 ? "double(" + s + ")" : s;
}

/// Opens one loop per axis in `axes` (static size-1 axes need none) and sets
/// their indices in `idx`. The innermost loop gets braces when `braces`.
/// Returns the number of loops opened.
unsigned FunctionEmitter::openLoops(const Type &t,
                                    const std::vector<int64_t> &axes,
                                    Index &idx, bool braces) {
  int64_t last = -1;
  for (int64_t a : axes)
    if (!t.dims[a].isOne())
      last = a;
  unsigned n = 0;
  for (int64_t a : axes) {
    idx[a] = loop(a, t.dims[a], braces && a == last);
    n += !t.dims[a].isOne();
  }
  return n;
}

void FunctionEmitter::emitOp(const Op &op) {
  const Value *v = op.result;
  switch (op.kind) {
  case OpKind::Const: {
    const Tensor &c = op.constValue;
    bool splat = true;
    for (double x : c.data)
      splat &= number(x, c.dtype) == number(c.data[0], c.dtype);
    Slot s;
    if (splat) {
      s.kind = Slot::Literal;
      s.name = number(c.data[0], c.dtype);
      slots[v] = s;
      return;
    }
    comment(op);
    s.name = s.ptr = fresh(v->name);
    std::string init;
    for (size_t i = 0; i < c.data.size(); ++i)
      init += (i ? ", " : "") + number(c.data[i], c.dtype);
    line("static const " + ctype(v) + " " + s.name + "[" +
         std::to_string(c.data.size()) + "] = {" + init + "};");
    locals.push_back(s.name);
    slots[v] = s;
    return;
  }
  case OpKind::Transpose:
  case OpKind::BroadcastTo:
    comment(op, "index arithmetic where it is read");
    slots[v].kind = Slot::Inline;
    return;
  case OpKind::Reshape:
    return emitReshape(op);
  case OpKind::Sum:
  case OpKind::Mean:
  case OpKind::ReduceMax:
    return emitReduce(op);
  case OpKind::MatMul:
    return emitMatMul(op);
  case OpKind::Dot:
    return emitDot(op);
  case OpKind::LogSumExp:
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
    return emitSliceOp(op);
  case OpKind::ArgMaxMask:
    return emitArgMaxMask(op);
  case OpKind::Dim: {
    // A size, converted to the element type.
    comment(op);
    int64_t axis = op.attr("axis")->i;
    const Value *x = op.operands[0];
    if (axis < 0)
      axis += x->type.rank();
    std::string size = ctype(v) + "(" + dim(x->type.dims[axis]) + ")";
    if (resultIndex(v) < 0) {
      Slot s{Slot::Local, fresh(v->name), ""};
      locals.push_back(s.name);
      slots[v] = s;
      line("const " + ctype(v) + " " + s.name + " = " + size + ";");
      return;
    }
    allocate(v);
    line(ref(v, {}) + " = " + size + ";");
    return;
  }
  default:
    break;
  }
  if (fusible(op)) {
    comment(op, "fused into its use");
    slots[v].kind = Slot::Inline;
    return;
  }
  emitElementwise(op);
}

void FunctionEmitter::emitElementwise(const Op &op) {
  const Value *v = op.result;
  comment(op);
  if (v->type.isScalar() && resultIndex(v) < 0) {
    std::string rhs = formula(op, {}, true);
    Slot s{Slot::Local, fresh(v->name), ""};
    locals.push_back(s.name);
    slots[v] = s;
    line("const " + ctype(v) + " " + s.name + " = " + rhs + ";");
    return;
  }
  allocate(v);
  Index idx(v->type.rank());
  std::vector<int64_t> all;
  for (unsigned a = 0; a < v->type.rank(); ++a)
    all.push_back(a);
  unsigned n = openLoops(v->type, all, idx, false);
  line(ref(v, idx) + " = " + formula(op, idx, true) + ";");
  close(n);
}

/// sum, mean, reduce_max: loops over the kept axes outside, the reduced axes
/// inside, in row-major order (the interpreter's order of summation).
void FunctionEmitter::emitReduce(const Op &op) {
  const Value *v = op.result, *x = op.operands[0];
  DType t = v->type.dtype;
  std::vector<int64_t> axes = reducedAxes(op), kept;
  for (unsigned a = 0; a < x->type.rank(); ++a)
    if (!contains(axes, a))
      kept.push_back(a);
  comment(op);
  allocate(v);
  Index idx(x->type.rank(), "0");
  unsigned outer = openLoops(x->type, kept, idx, true);
  scope(outer);
  if (op.kind == OpKind::ReduceMax)
    line(ctype(v) + " acc = -std::numeric_limits<" + ctype(v) +
         ">::infinity();");
  else
    line("double acc = 0;");
  unsigned inner = openLoops(x->type, axes, idx, false);
  if (op.kind == OpKind::ReduceMax)
    line("acc = gir::maxStep(acc, " + expr(x, idx, true) + ");");
  else
    line("acc += " + expr(x, idx, true) + ";");
  close(inner);
  Index ridx;
  bool keep = op.boolAttr("keepdims", false);
  for (unsigned a = 0; a < x->type.rank(); ++a)
    if (!contains(axes, a))
      ridx.push_back(idx[a]);
    else if (keep)
      ridx.push_back("0");
  std::string value = "acc";
  if (op.kind == OpKind::Mean) {
    std::vector<Dim> reduced;
    bool isStatic = true;
    int64_t n = 1;
    for (int64_t a : axes) {
      reduced.push_back(x->type.dims[a]);
      isStatic &= !x->type.dims[a].isSym();
      n *= x->type.dims[a].size;
    }
    value += " / " + (isStatic ? number(double(n), DType::F64)
                               : "double(" + count(reduced) + ")");
  }
  line(ref(v, ridx) + " = " +
       (op.kind == OpKind::ReduceMax ? value : toType(value, t)) + ";");
  unscope(outer);
}

/// The buffer BLAS reads for a matmul operand: a buffer as it is, or the
/// buffer under a 2-D transpose, read with CblasTrans.
bool FunctionEmitter::blasOperand(const Value *v, std::string &ptr, bool &trans,
                                  std::string &ld) {
  const Slot &s = slots.at(v);
  trans = false;
  if (s.kind == Slot::Inline && v->def->kind == OpKind::Transpose &&
      v->type.rank() == 2) {
    const Value *x = v->def->operands[0];
    const Slot &xs = slots.at(x);
    if (xs.kind != Slot::Pointer)
      return false;
    read.insert(xs.name);
    ptr = xs.ptr;
    trans = true;
    ld = dim(x->type.dims[1]);
    return true;
  }
  if (s.kind != Slot::Pointer)
    return false;
  read.insert(s.name);
  ptr = s.ptr;
  ld = dim(v->type.dims.back());
  return true;
}

static std::string intArg(const std::string &d) {
  return std::isdigit((unsigned char)d[0]) ? d : "int(" + d + ")";
}

/// The cblas_?gemm/?gemv call of a matmul, between `#ifdef GRADC_USE_CBLAS`
/// and `#else`; false (and nothing written) when an operand is no buffer.
bool FunctionEmitter::emitGemmCall(const Op &op) {
  const Value *a = op.operands[0], *b = op.operands[1], *v = op.result;
  std::string pa, pb, lda, ldb;
  bool ta, tb;
  std::string saved = body;
  std::set<std::string> savedRead = read;
  if (!blasOperand(a, pa, ta, lda) || !blasOperand(b, pb, tb, ldb)) {
    body = saved;
    read = savedRead;
    return false;
  }
  bool f32 = v->type.dtype == DType::F32;
  std::string p = f32 ? "cblas_s" : "cblas_d", one = f32 ? "1.0f" : "1.0",
              zero = f32 ? "0.0f" : "0.0";
  auto flag = [](bool t) { return t ? "CblasTrans" : "CblasNoTrans"; };
  // The dims of the buffer behind an operand.
  auto stored = [&](const Value *x, bool t) {
    return t ? x->def->operands[0]->type.dims : x->type.dims;
  };
  std::string c = slots.at(v).ptr, call;
  if (a->type.rank() == 2 && b->type.rank() == 2) {
    std::string m = dim(a->type.dims[0]), k = dim(a->type.dims[1]),
                n = dim(b->type.dims[1]);
    call = p + "gemm(CblasRowMajor, " + flag(ta) + ", " + flag(tb) + ", " +
           intArg(m) + ", " + intArg(n) + ", " + intArg(k) + ", " + one + ", " +
           pa + ", " + intArg(lda) + ", " + pb + ", " + intArg(ldb) + ", " +
           zero + ", " + c + ", " + intArg(n) + ");";
  } else {
    // y = A x, or y = x B = B^T x: a gemv on the matrix's buffer.
    bool matA = a->type.rank() == 2;
    const Value *mat = matA ? a : b;
    bool t = matA ? ta : !tb;
    auto dims = stored(mat, matA ? ta : tb);
    std::string pm = matA ? pa : pb, px = matA ? pb : pa;
    call = p + "gemv(CblasRowMajor, " + flag(t) + ", " + intArg(dim(dims[0])) +
           ", " + intArg(dim(dims[1])) + ", " + one + ", " + pm + ", " +
           intArg(dim(dims[1])) + ", " + px + ", 1, " + zero + ", " + c +
           ", 1);";
  }
  body += "#ifdef GRADC_USE_CBLAS\n";
  line(call);
  body += "#else\n";
  return true;
}

/// C = A B as C[i0,i1] = sum_k A[i0,k] B[k,i1]; a vector operand is a row
/// (left) or a column (right).
void FunctionEmitter::emitMatMul(const Op &op) {
  const Value *a = op.operands[0], *b = op.operands[1], *v = op.result;
  comment(op);
  allocate(v);
  bool blas = emitGemmCall(op);
  Index ridx(v->type.rank());
  std::vector<int64_t> all;
  for (unsigned i = 0; i < v->type.rank(); ++i)
    all.push_back(i);
  unsigned n = openLoops(v->type, all, ridx, true);
  if (!n) {
    line("{");
    ++indent;
  }
  line("double acc = 0;");
  const Dim &kd = a->type.dims.back();
  std::string k = "0";
  if (!kd.isOne()) {
    k = "k";
    line("for (int64_t k = 0; k < " + dim(kd) + "; ++k)");
    ++indent;
  }
  Index ai = a->type.rank() == 2 ? Index{ridx[0], k} : Index{k};
  Index bi = b->type.rank() == 2 ? Index{k, ridx.back()} : Index{k};
  line("acc += " + toDouble(expr(a, ai), v->type.dtype) + " * " + expr(b, bi) +
       ";");
  if (!kd.isOne())
    --indent;
  line(ref(v, ridx) + " = " + toType("acc", v->type.dtype) + ";");
  if (!n) {
    --indent;
    line("}");
  } else {
    close(n, true);
  }
  if (blas)
    body += "#endif\n";
}

void FunctionEmitter::emitDot(const Op &op) {
  const Value *a = op.operands[0], *b = op.operands[1], *v = op.result;
  DType t = v->type.dtype;
  comment(op);
  allocate(v);
  const Slot &sa = slots.at(a), &sb = slots.at(b);
  bool blas = sa.kind == Slot::Pointer && sb.kind == Slot::Pointer;
  if (blas) {
    body += "#ifdef GRADC_USE_CBLAS\n";
    read.insert(sa.name);
    read.insert(sb.name);
    line(ref(v, {}) + " = " +
         (t == DType::F32 ? "cblas_sdot(" : "cblas_ddot(") +
         intArg(dim(a->type.dims[0])) + ", " + sa.ptr + ", 1, " + sb.ptr +
         ", 1);");
    body += "#else\n";
  }
  line("{");
  ++indent;
  line("double acc = 0;");
  Index idx(1);
  unsigned n = openLoops(a->type, {0}, idx, false);
  line("acc += " + toDouble(expr(a, idx), t) + " * " + expr(b, idx) + ";");
  close(n);
  line(ref(v, {}) + " = " + toType("acc", t) + ";");
  --indent;
  line("}");
  if (blas)
    body += "#endif\n";
}

/// logsumexp, softmax, log_softmax: per slice along the axis, the max m, then
/// s = sum exp(x - m), then the result -- in double, like the interpreter.
void FunctionEmitter::emitSliceOp(const Op &op) {
  const Value *v = op.result, *x = op.operands[0];
  DType t = v->type.dtype;
  int64_t axis = reducedAxes(op)[0];
  std::vector<int64_t> kept;
  for (unsigned a = 0; a < x->type.rank(); ++a)
    if (a != axis)
      kept.push_back(a);
  comment(op);
  allocate(v);
  Index idx(x->type.rank(), "0");
  unsigned outer = openLoops(x->type, kept, idx, true);
  scope(outer);
  auto overAxis = [&](llvm::function_ref<std::string()> stmt) {
    unsigned n = openLoops(x->type, {axis}, idx, false);
    line(stmt());
    close(n);
  };
  auto xd = [&] { return toDouble(expr(x, idx, true), t); };
  line("double mx = -std::numeric_limits<double>::infinity();");
  overAxis([&] { return "mx = gir::maxStep(mx, " + xd() + ");"; });
  line("double se = 0;");
  overAxis([&] { return "se += gir::expShifted(" + xd() + ", mx);"; });
  if (op.kind == OpKind::LogSumExp) {
    Index ridx;
    for (int64_t a : kept)
      ridx.push_back(idx[a]);
    line(ref(v, ridx) + " = " + toType("gir::logSumExp(mx, se)", t) + ";");
  } else if (op.kind == OpKind::Softmax) {
    overAxis([&] {
      return ref(v, idx) + " = " +
             toType("std::exp(" + xd() + " - mx) / se", t) + ";";
    });
  } else {
    overAxis([&] {
      return ref(v, idx) + " = " + toType(xd() + " - mx - std::log(se)", t) +
             ";";
    });
  }
  unscope(outer);
}

/// 1 at the first maximum of each group (row-major order; NaN is maximal).
void FunctionEmitter::emitArgMaxMask(const Op &op) {
  const Value *v = op.result, *x = op.operands[0];
  comment(op);
  allocate(v);
  if (v->type.isScalar()) {
    line(ref(v, {}) + " = 1;");
    return;
  }
  std::vector<int64_t> axes = reducedAxes(op), kept;
  for (unsigned a = 0; a < x->type.rank(); ++a)
    if (!contains(axes, a))
      kept.push_back(a);
  Index idx(x->type.rank(), "0");
  unsigned outer = openLoops(x->type, kept, idx, true);
  scope(outer);
  line(ctype(v) + " best = 0;");
  line("int64_t at = -1;");
  unsigned inner = openLoops(x->type, axes, idx, true);
  scope(inner);
  std::string xe = expr(x, idx, true);
  line(ref(v, idx) + " = 0;");
  line("if (gir::isNewMax(" + xe + ", best, at)) {");
  line("  best = " + xe + ";");
  line("  at = " + flat(v->type, idx) + ";");
  line("}");
  unscope(inner);
  line(slots.at(v).name + "[at] = 1;");
  unscope(outer);
}

/// A reshape of a buffer is a pointer to it; of anything else, a copy.
void FunctionEmitter::emitReshape(const Op &op) {
  const Value *v = op.result, *x = op.operands[0];
  const Slot &xs = slots.at(x);
  if (xs.kind == Slot::Literal) {
    slots[v] = xs;
    return;
  }
  if (xs.kind != Slot::Inline) {
    comment(op, "a view of the same elements");
    Slot s{Slot::Pointer, fresh(v->name), ""};
    s.ptr = s.name;
    read.insert(xs.name);
    line("const " + ctype(v) + " *" + s.name + " = " +
         (xs.kind == Slot::Local ? "&" + xs.name : xs.ptr) + ";");
    locals.push_back(s.name);
    slots[v] = s;
    return;
  }
  comment(op);
  allocate(v);
  if (slots.at(v).kind == Slot::Local) {
    line(slots.at(v).name + " = " + expr(x, Index(x->type.rank(), "0"), true) +
         ";");
    return;
  }
  emitCopy(x, slots.at(v).name);
}

/// dst[...] = v[...] over v's shape, row-major.
void FunctionEmitter::emitCopy(const Value *v, const std::string &dst) {
  Index idx(v->type.rank());
  std::vector<int64_t> all;
  for (unsigned a = 0; a < v->type.rank(); ++a)
    all.push_back(a);
  unsigned n = openLoops(v->type, all, idx, false);
  line(dst + "[" + flat(v->type, idx) + "] = " + expr(v, idx, true) + ";");
  close(n);
}

} // namespace gradc::cppgen
