//===- OpDef.cpp - The op table and shared shape/kernel helpers -----------===//
#include "OpsImpl.h"

#include "gradc/Support/Suggest.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/ErrorHandling.h"

#include <algorithm>

namespace gradc {
namespace {

std::vector<OpDef> buildTable() {
  std::vector<OpDef> defs;
  ops::addElementwiseOps(defs);
  ops::addLinalgOps(defs);
  ops::addReductionOps(defs);
  ops::addLayoutOps(defs);
  ops::addIndexOps(defs);
  ops::addConvOps(defs);
  ops::addEinsumOps(defs);
  ops::addControlOps(defs);
  std::vector<OpDef> table(kNumOps);
  std::vector<bool> seen(table.size());
  for (OpDef &d : defs) {
    if (seen[size_t(d.kind)])
      llvm::report_fatal_error("op declared twice: " + mnemonic(d.kind));
    seen[size_t(d.kind)] = true;
    table[size_t(d.kind)] = std::move(d);
  }
  for (size_t k = 0; k < table.size(); ++k) {
    if (!seen[k])
      llvm::report_fatal_error("op has no declaration: " + mnemonic(OpKind(k)));
    // Every elementwise op has its formula. Every other op has a `loops`
    // hook, except `const` (a constant buffer) and the control ops, which
    // checkCompiled refuses before a backend sees them unless they are
    // lowered otherwise.
    const OpDef &d = table[k];
    if (d.elementwise && (!d.lower || !d.scalar))
      llvm::report_fatal_error("op has no lowering: " + mnemonic(OpKind(k)));
  }
  return table;
}

} // namespace

const OpDef &opDef(OpKind k) {
  static const std::vector<OpDef> table = buildTable();
  return table[size_t(k)];
}

std::string suggestOp(llvm::StringRef name) {
  std::vector<std::string> mnemonics;
  for (unsigned k = 0; k < kNumOps; ++k) {
    const OpDef &d = opDef(OpKind(k));
    for (const char *other : d.otherNames)
      if (name.equals_insensitive(other))
        return "; did you mean '" + mnemonic(d.kind).str() + "'?";
    mnemonics.push_back(mnemonic(d.kind).str());
  }
  return didYouMean(name, mnemonics);
}

Type inferType(const Op &op, std::string &err) {
  const OpDef &d = opDef(op.kind);
  for (const NamedAttr &a : op.attrs) {
    auto spec =
        std::find_if(d.attrs.begin(), d.attrs.end(),
                     [&](const AttrSpec &s) { return a.name == s.name; });
    if (spec == d.attrs.end()) {
      std::vector<std::string> names;
      for (const AttrSpec &s : d.attrs)
        names.push_back(s.name);
      std::string hint = didYouMean(a.name, names);
      if (hint.empty() && names.empty())
        hint = "; it takes none";
      else if (hint.empty())
        hint = "; it has " + llvm::join(names, ", ");
      err = "'" + mnemonic(op.kind).str() + "' has no attribute '" + a.name +
            "'" + hint;
      return Type::invalid();
    }
    if (spec->kind != a.value.kind &&
        !(spec->kind == Attr::Float && a.value.kind == Attr::Int)) {
      static const char *kinds[] = {"a boolean", "an integer", "a list",
                                    "a number", "a string"};
      err = "attribute '" + a.name + "' of '" + mnemonic(op.kind).str() +
            "' must be " + kinds[spec->kind];
      return Type::invalid();
    }
  }
  std::vector<Type> in;
  for (Value *v : op.operands) {
    if (!v->type.valid)
      return Type::invalid(); // an error was reported where v was defined
    if (!d.integers && !v->type.isFloat()) {
      err = "'" + mnemonic(op.kind).str() +
            "' needs floating-point operands, got " + v->type.str() +
            " (use 'cast')";
      return Type::invalid();
    }
    in.push_back(v->type);
  }
  return d.infer(op, in, err);
}

bool compiledBy(CompiledBy by, const Op &op, std::string &why) {
  const OpDef &d = opDef(op.kind);
  // Calls are inlined before any backend sees them (gradc/IR/Inline.h). A
  // conditional or a scan is lowered around invocations of its functions
  // (whose ops checkCompiled checks too), whatever its element types.
  if (op.kind == OpKind::Call) {
    why = "calls are inlined first";
    return false;
  }
  // Both backends render the loop IR: an op is compiled when it has a
  // lowering (an elementwise formula or a `loops` hook), on integers too
  // (the loop IR's integer arithmetic, docs/ir.md).
  (void)by;
  if (d.elementwise || d.loops || op.kind == OpKind::Const)
    return true;
  why = "no loop lowering";
  return false;
}

llvm::Error checkCompiled(const Module &m, CompiledBy by,
                          const Function *only) {
  // The functions to compile: `only` (or all) and those their conds and
  // scans invoke, transitively (the verifier has rejected recursion).
  std::vector<const Function *> todo;
  llvm::SmallPtrSet<const Function *, 8> seen;
  for (const auto &f : m.functions)
    if ((!only || only == f.get()) && seen.insert(f.get()).second)
      todo.push_back(f.get());
  for (size_t k = 0; k < todo.size(); ++k) {
    const Function *f = todo[k];
    for (const auto &op : f->ops) {
      std::string why;
      if (!compiledBy(by, *op, why))
        return llvm::createStringError(
            llvm::inconvertibleErrorCode(),
            "'%" + op->result->name + " = " + mnemonic(op->kind) + "' in '@" +
                f->name + "' is not compiled by the " +
                (by == CompiledBy::Loops ? "LLVM" : "C++") + " backend yet (" +
                why + ")");
      if (op->kind == OpKind::Cond || op->kind == OpKind::Scan)
        for (const Function *g : op->calleeFns)
          if (g && seen.insert(g).second)
            todo.push_back(g);
    }
  }
  return llvm::Error::success();
}

DType declaredDType(const Op &op, DType dflt) {
  return op.declaredType ? op.declaredType->dtype : dflt;
}

namespace ops {

bool sameDType(llvm::ArrayRef<Type> in, llvm::StringRef op, std::string &err) {
  for (const Type &t : in)
    if (t.dtype != in[0].dtype) {
      err = "operands of '" + op.str() +
            "' have different element types: " + in[0].str() + " vs " + t.str();
      return false;
    }
  return true;
}

Type broadcastTypes(const Type &a, const Type &b, llvm::StringRef op,
                    std::string &err) {
  if (!sameDType({a, b}, op, err))
    return Type::invalid();
  size_t r = std::max(a.rank(), b.rank());
  Type out{a.dtype, std::vector<Dim>(r)};
  for (size_t i = 0; i < r; ++i) {
    const Dim *da = i < r - a.rank() ? nullptr : &a.dims[i - (r - a.rank())];
    const Dim *db = i < r - b.rank() ? nullptr : &b.dims[i - (r - b.rank())];
    if (!da || da->isOne())
      out.dims[i] = db ? *db : *da;
    else if (!db || db->isOne() || *da == *db)
      out.dims[i] = *da;
    else {
      err = "operands of '" + op.str() +
            "' are not broadcast-compatible: " + a.str() + " vs " + b.str();
      return Type::invalid();
    }
  }
  return out;
}

bool intListAttr(const Op &op, const char *name, std::vector<int64_t> &out,
                 std::string &err) {
  out.clear();
  const Attr *a = op.attr(name);
  if (!a)
    return true;
  for (const Dim &d : a->list) {
    if (d.isSym()) {
      err = "attribute '" + std::string(name) + "' of '" +
            mnemonic(op.kind).str() + "' must hold integers, got '" + d.sym +
            "'";
      return false;
    }
    out.push_back(d.size);
  }
  return true;
}

bool normalizeAxes(const std::vector<Dim> &axes, unsigned rank,
                   std::vector<int64_t> &out, std::string &err) {
  out.clear();
  for (const Dim &d : axes) {
    if (d.isSym()) {
      err = "an axis must be an integer, got '" + d.sym + "'";
      return false;
    }
    int64_t a = d.size < 0 ? d.size + rank : d.size;
    if (a < 0 || a >= int64_t(rank)) {
      err = "axis " + std::to_string(d.size) + " is out of range for rank " +
            std::to_string(rank);
      return false;
    }
    if (std::find(out.begin(), out.end(), a) != out.end()) {
      err = "axis " + std::to_string(a) + " is given twice";
      return false;
    }
    out.push_back(a);
  }
  std::sort(out.begin(), out.end());
  return true;
}

bool reductionAxes(const Op &op, unsigned rank, std::vector<int64_t> &out,
                   std::string &err) {
  if (const Attr *a = op.attr("axes"))
    return normalizeAxes(a->list, rank, out, err);
  out.clear();
  for (unsigned i = 0; i < rank; ++i)
    out.push_back(i);
  return true;
}

bool singleAxis(const Op &op, unsigned rank, int64_t &axis, std::string &err) {
  const Attr *a = op.attr("axis");
  int64_t v = a ? a->i : -1;
  if (rank == 0) {
    err = "'" + mnemonic(op.kind).str() + "' needs an operand of rank >= 1";
    return false;
  }
  std::vector<int64_t> out;
  if (!normalizeAxes({Dim::fixed(v)}, rank, out, err))
    return false;
  axis = out[0];
  return true;
}

Type reduceType(const Type &t, const std::vector<int64_t> &axes,
                bool keepdims) {
  // `axes` is sorted (normalizeAxes), so one pointer walks it: linear.
  Type out{t.dtype, {}};
  auto next = axes.begin();
  for (unsigned i = 0; i < t.rank(); ++i) {
    bool reduced = next != axes.end() && *next == int64_t(i);
    next += reduced;
    if (!reduced)
      out.dims.push_back(t.dims[i]);
    else if (keepdims)
      out.dims.push_back(Dim::fixed(1));
  }
  return out;
}

std::vector<Dim> dimsOf(const Shape &s) {
  std::vector<Dim> d;
  for (int64_t n : s)
    d.push_back(Dim::fixed(n));
  return d;
}

Shape broadcastShapes(const Shape &a, const Shape &b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor mapBroadcast(llvm::ArrayRef<const Tensor *> in, DType t,
                    const std::function<double(const double *)> &fn) {
  Shape shape;
  for (const Tensor *x : in)
    shape = broadcastShapes(shape, x->shape);
  Tensor out(t, shape);
  size_t r = shape.size();
  // Per-input strides over the output index space (0 along broadcast dims).
  std::vector<Shape> strides;
  for (const Tensor *x : in) {
    Shape st(r, 0), own = stridesOf(x->shape);
    for (size_t i = 0; i < x->rank(); ++i)
      if (x->shape[i] != 1)
        st[i + r - x->rank()] = own[i];
    strides.push_back(st);
  }
  Shape idx(r, 0);
  std::vector<double> args(in.size());
  for (int64_t flat = 0; flat < out.size(); ++flat) {
    for (size_t k = 0; k < in.size(); ++k) {
      int64_t off = 0;
      for (size_t i = 0; i < r; ++i)
        off += idx[i] * strides[k][i];
      args[k] = in[k]->data[off];
    }
    out.data[flat] = fn(args.data());
    for (int i = int(r) - 1; i >= 0 && ++idx[i] == shape[i]; --i)
      idx[i] = 0;
  }
  out.roundToType();
  return out;
}

void forEachReduced(const Shape &in, const std::vector<int64_t> &axes,
                    const std::function<void(int64_t, int64_t)> &fn) {
  Shape outShape = in;
  for (int64_t a : axes)
    outShape[a] = 1;
  Shape outStrides = stridesOf(outShape);
  for (int64_t a : axes)
    outStrides[a] = 0;
  Shape idx(in.size(), 0);
  int64_t n = numElements(in);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t o = 0;
    for (size_t i = 0; i < in.size(); ++i)
      o += idx[i] * outStrides[i];
    fn(o, flat);
    for (int i = int(in.size()) - 1; i >= 0 && ++idx[i] == in[i]; --i)
      idx[i] = 0;
  }
}

Tensor broadcastTensor(const Tensor &in, const Shape &out) {
  Tensor shaped(in.dtype, out);
  const Tensor *args[] = {&in, &shaped};
  return mapBroadcast(args, in.dtype, [](const double *x) { return x[0]; });
}

Value *expandReduced(Builder &b, Value *v, const Type &full,
                     const std::vector<int64_t> &axes, bool keepdims) {
  // numpy broadcasting prepends size-1 dims, so only reduced axes that are
  // not leading need to be reinserted.
  bool leading = true;
  for (size_t i = 0; i < axes.size(); ++i)
    leading &= axes[i] == int64_t(i);
  if (!keepdims && !leading) {
    std::vector<Dim> kept = full.dims;
    for (int64_t a : axes)
      kept[a] = Dim::fixed(1);
    if (kept != v->type.dims)
      v = b.reshape(v, kept);
  }
  return v->type == full ? v : b.broadcastTo(v, full);
}

} // namespace ops

void unverifiedAttr(const Op &op, const std::string &err) {
  llvm::report_fatal_error("gradc: internal error: an attribute of '" +
                           mnemonic(op.kind) + "' was never verified: " + err);
}

std::vector<int64_t> reducedAxesOf(const Op &op) {
  return verifiedAttr<std::vector<int64_t>>(op, [&](auto &out, auto &err) {
    return ops::reductionAxes(op, op.operands[0]->type.rank(), out, err);
  });
}

int64_t singleAxisOf(const Op &op, unsigned rank) {
  return verifiedAttr<int64_t>(op, [&](int64_t &out, std::string &err) {
    return ops::singleAxis(op, rank, out, err);
  });
}

} // namespace gradc
