//===- Control.cpp - `call`, `cond` and `scan` ----------------------------===//
//
// All three refer to functions by name. Their results are typed by the
// callee's signature (inferCallTypes); the interpreter runs the callee, the
// adjoint pass inlines `call` (or uses a custom VJP) and differentiates
// `cond` branch by branch and `scan` by a reverse scan
// (lib/AD/ReverseMode.cpp). The backends see calls inlined; `cond` and
// `scan` are lowered to the loop IR as an `if` and a loop around
// invocations of their functions, each lowered on its own
// (LoopBuilder::invoke).
//
//===----------------------------------------------------------------------===//
#include "OpsImpl.h"

#include "gradc/Loops/LoopBuilder.h"
#include "gradc/Ops/Control.h"

#include "llvm/ADT/StringMap.h"

#include "llvm/Support/ErrorHandling.h"
#include <algorithm>
#include <optional>

namespace gradc {

std::string signatureString(const Function &f) {
  std::string s = "(";
  for (size_t i = 0; i < f.args.size(); ++i)
    s += (i ? ", " : "") + f.args[i]->type.str();
  s += ") -> ";
  if (f.resultTypes.size() == 1)
    return s + f.resultTypes[0].str();
  s += "(";
  for (size_t i = 0; i < f.resultTypes.size(); ++i)
    s += (i ? ", " : "") + f.resultTypes[i].str();
  return s + ")";
}

/// Matches `g`'s parameters against `in` (binding g's symbols in `bound`);
/// `what(i)` names argument i in errors.
static bool unify(const Function &g, llvm::ArrayRef<Type> in,
                  llvm::StringMap<Dim> &bound, std::string &err,
                  const char *argWord = "argument") {
  if (in.size() != g.args.size()) {
    err = "'@" + g.name + "' takes " + std::to_string(g.args.size()) + " " +
          argWord + (g.args.size() == 1 ? "" : "s") + " but " +
          std::to_string(in.size()) + (in.size() == 1 ? " is" : " are") +
          " passed";
    return false;
  }
  for (size_t i = 0; i < in.size(); ++i) {
    const Type &p = g.args[i]->type;
    auto mismatch = [&](const std::string &why) {
      err = std::string(argWord) + " " + std::to_string(i) + " of '@" + g.name +
            "' (%" + g.args[i]->name + ": " + p.str() + ") is passed " +
            in[i].str() + why;
      return false;
    };
    if (p.dtype != in[i].dtype || p.rank() != in[i].rank())
      return mismatch("");
    for (size_t d = 0; d < p.dims.size(); ++d) {
      const Dim &want = p.dims[d], &got = in[i].dims[d];
      if (!want.isSym()) {
        if (!(want == got))
          return mismatch("");
        continue;
      }
      auto [it, fresh] = bound.try_emplace(want.sym, got);
      if (!fresh && !(it->second == got))
        return mismatch("; its dimension '" + want.sym + "' is already " +
                        it->second.str() + " at this call");
    }
  }
  return true;
}

static Type substitute(Type t, const llvm::StringMap<Dim> &bound) {
  for (Dim &d : t.dims)
    if (d.isSym())
      if (auto it = bound.find(d.sym); it != bound.end())
        d = it->second;
  return t;
}

bool inferCallTypes(const Op &op, llvm::ArrayRef<Type> in,
                    std::vector<Type> &out, std::string &err) {
  out.clear();
  if (op.calleeFns.empty() || !op.calleeFns[0])
    return err = "'" + mnemonic(op.kind).str() + "' has no function", false;
  const Function &g = *op.calleeFns[0];
  if (op.kind == OpKind::Cond) {
    if (in.empty() || !in[0].isScalar()) {
      err = "the predicate of 'cond' must be a scalar, got " +
            (in.empty() ? std::string("nothing") : in[0].str());
      return false;
    }
    in = in.drop_front();
  }
  if (g.resultTypes.empty()) {
    err = "'@" + g.name + "' returns nothing";
    return false;
  }
  llvm::StringMap<Dim> bound;
  if (op.kind != OpKind::Scan) {
    if (!unify(g, in, bound, err))
      return false;
    for (const Type &t : g.resultTypes)
      out.push_back(substitute(t, bound));
    return true;
  }
  // scan: carries, then scanned inputs (sliced along their leading axis),
  // then constants.
  const Attr *ca = op.attr("carries"), *sa = op.attr("scanned");
  if (!ca || !sa) {
    err = std::string("'scan' needs the attribute '") +
          (!ca ? "carries" : "scanned") + "' (how many of its operands " +
          (!ca ? "are carries" : "are scanned over their leading axis") + ")";
    return false;
  }
  int64_t nc = ca->i, ns = sa->i;
  if (nc < 0 || ns < 1 || size_t(nc + ns) > in.size()) {
    err = "'scan' has " + std::to_string(in.size()) + " operands; 'carries' (" +
          std::to_string(nc) + ", at least 0) and 'scanned' (" +
          std::to_string(ns) + ", at least 1) must fit in them";
    return false;
  }
  std::vector<Type> args(in.begin(), in.end());
  std::optional<Dim> length;
  for (int64_t i = nc; i < nc + ns; ++i) {
    if (in[i].isScalar()) {
      err = "scanned operand " + std::to_string(i) +
            " of 'scan' is a scalar; it needs a leading axis to scan over";
      return false;
    }
    if (length && !(*length == in[i].dims[0])) {
      err = "the scanned operands of 'scan' have different lengths: " +
            length->str() + " and " + in[i].dims[0].str();
      return false;
    }
    length = in[i].dims[0];
    args[i].dims.erase(args[i].dims.begin());
  }
  if (!unify(g, args, bound, err, "argument"))
    return false;
  if (g.resultTypes.size() < size_t(nc)) {
    err = "the body '@" + g.name + "' of 'scan' returns " +
          std::to_string(g.resultTypes.size()) +
          " values; it must return its " + std::to_string(nc) +
          " carries first";
    return false;
  }
  for (int64_t i = 0; i < nc; ++i)
    if (g.resultTypes[i] != g.args[i]->type) {
      err = "the body '@" + g.name + "' of 'scan' changes the type of carry " +
            std::to_string(i) + ": it takes " + g.args[i]->type.str() +
            " but returns " + g.resultTypes[i].str();
      return false;
    }
  for (size_t i = 0; i < g.resultTypes.size(); ++i) {
    Type t = substitute(g.resultTypes[i], bound);
    if (i >= size_t(nc))
      t.dims.insert(t.dims.begin(), *length);
    out.push_back(std::move(t));
  }
  return true;
}

namespace ops {
namespace {

Type inferControl(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  std::vector<Type> out;
  if (!inferCallTypes(op, in, out, err))
    return Type::invalid();
  return out[0];
}

/// The interpreter runs the callee itself (several results); no kernel of
/// the table ever sees these ops.
Tensor evalControl(const Op &op, llvm::ArrayRef<const Tensor *>,
                   const SymEnv &) {
  llvm::report_fatal_error("gradc: internal error: '" + mnemonic(op.kind) +
                           "' reached an op kernel");
}

using loops::BufferRef;
using loops::Expr;
using loops::LoopBuilder;

/// The buffer of each of `vs`, at offset 0.
std::vector<BufferRef> refs(LoopBuilder &b, llvm::ArrayRef<Value *> vs) {
  std::vector<BufferRef> r;
  for (const Value *v : vs)
    r.push_back({b.bufferOf(v), nullptr});
  return r;
}

/// if (p != 0) @then(args...) else @else(args...), each writing the
/// results in place.
void loopsCond(LoopBuilder &b, const Op &op) {
  llvm::ArrayRef<Value *> args = llvm::ArrayRef(op.operands).drop_front();
  std::vector<Type> types;
  for (const Value *v : args)
    types.push_back(v->type);
  std::vector<BufferRef> in = refs(b, args), out = refs(b, op.allResults());
  unsigned then = b.callee(*op.calleeFns[0]),
           orelse = b.callee(*op.calleeFns[1]);
  b.ifElse(
      b.nonZero(b.element(op.operands[0], {})),
      [&] { b.invoke(then, in, types, out); },
      [&] { b.invoke(orelse, in, types, out); });
}

/// The carries of `body` (the first `nc` arguments and results) that only
/// accumulate: result k is `add %arg_k, %x` (same type, returned once, read
/// by no op), and %arg_k is read by that add alone. Such a carry is updated
/// in place (LoopFunction::inPlace): the body reads and writes one buffer.
uint64_t accumulatingCarries(const Function &body, size_t nc) {
  uint64_t mask = 0;
  for (size_t k = 0; k < nc && k < 64; ++k) {
    const Value *arg = body.args[k], *r = body.results[k];
    if (!r->def || r->def->kind != OpKind::Add || r->type != arg->type ||
        !r->type.isFloat() ||
        std::count(body.results.begin(), body.results.end(), r) != 1 ||
        std::count(body.results.begin(), body.results.end(), arg) != 0)
      continue;
    const Op &add = *r->def;
    if ((add.operands[0] == arg) == (add.operands[1] == arg) ||
        add.operands[0]->type != r->type || add.operands[1]->type != r->type)
      continue;
    unsigned argUses = 0, rUses = 0;
    for (const auto &op : body.ops)
      for (const Value *v : op->operands) {
        argUses += v == arg;
        rUses += v == r;
      }
    if (argUses == 1 && rUses == 0)
      mask |= uint64_t(1) << k;
  }
  return mask;
}

/// The carries live in two sets of buffers: the scan's first results (A)
/// and buffers of their own (B). The initial values are copied to A; step t
/// runs the body on the carries, slice t of each scanned input (an offset
/// into its buffer) and the constants, writing output t into slice t of
/// each stacked output and the next carries into the other set: even steps
/// read A and write B, odd steps read B and write A (the loop runs two
/// steps per iteration), so no carry is copied between steps; after an odd
/// number of steps the final carries are copied from B to A once. A carry
/// that only accumulates (accumulatingCarries) lives in A alone: the body
/// updates it in place.
void loopsScan(LoopBuilder &b, const Op &op) {
  size_t nc = op.intAttr("carries", 0), ns = op.intAttr("scanned", 1);
  bool reverse = op.boolAttr("reverse", false);
  std::vector<Value *> results = op.allResults();
  const Expr *T = b.dim(op.operands[nc]->type.dims[0]);
  auto elems = [&](const std::vector<Dim> &dims, size_t from) {
    return b.product(
        b.shape(std::vector<Dim>(dims.begin() + from, dims.end())));
  };
  std::vector<Type> types;
  for (size_t i = 0; i < op.operands.size(); ++i) {
    Type t = op.operands[i]->type;
    if (i >= nc && i < nc + ns)
      t.dims.erase(t.dims.begin());
    types.push_back(std::move(t));
  }
  uint64_t inPlace = accumulatingCarries(*op.calleeFns[0], nc);
  auto accumulates = [&](size_t k) { return k < 64 && (inPlace >> k & 1); };
  std::vector<const loops::Buffer *> A, B;
  for (size_t i = 0; i < nc; ++i) {
    const loops::Buffer *carry = b.bufferOf(results[i]),
                        *init = b.bufferOf(op.operands[i]);
    if (carry != init)
      b.copy(carry, init, elems(results[i]->type.dims, 0));
    A.push_back(carry);
    B.push_back(accumulates(i)
                    ? carry
                    : b.scratch(results[i]->name + ".next",
                                results[i]->type.dtype, results[i]->type.dims));
  }
  unsigned body = b.callee(*op.calleeFns[0], inPlace);
  // Step `i` (0 <= i < T) from carries `from` to carries `to`.
  auto step = [&](const Expr *i, const std::vector<const loops::Buffer *> &from,
                  const std::vector<const loops::Buffer *> &to) {
    // Reversed: steps T-1 down to 0, output t still at index t.
    const Expr *t = reverse ? b.sadd(b.sadd(T, b.i(-1)), b.mul(i, b.i(-1))) : i;
    std::vector<BufferRef> in = refs(b, op.operands), out;
    for (size_t k = 0; k < nc; ++k)
      in[k].buf = from[k];
    for (size_t k = nc; k < nc + ns; ++k)
      in[k].offset = b.mul(t, elems(op.operands[k]->type.dims, 1));
    for (size_t k = 0; k < nc; ++k)
      out.push_back({to[k], nullptr});
    for (size_t k = nc; k < results.size(); ++k)
      out.push_back(
          {b.bufferOf(results[k]), b.mul(t, elems(results[k]->type.dims, 1))});
    b.invoke(body, std::move(in), types, std::move(out));
  };
  if (nc == 0) {
    b.forLoop(b.i(0), T, 1, [&](const Expr *i) { step(i, A, B); });
    return;
  }
  b.forLoop(b.i(0), T, 2, [&](const Expr *i) {
    step(i, A, B);
    const Expr *odd = b.add(i, b.i(1));
    b.ifElse(
        b.ilt(odd, T), [&] { step(odd, B, A); },
        [&] {
          for (size_t k = 0; k < nc; ++k)
            if (!accumulates(k))
              b.copy(A[k], B[k], elems(results[k]->type.dims, 0));
        });
  });
}

} // namespace

void addControlOps(std::vector<OpDef> &d) {
  for (OpKind k : {OpKind::Call, OpKind::Cond, OpKind::Scan}) {
    d.push_back({k, {}, inferControl, evalControl, nullptr});
    d.back().integers = true;
    if (k == OpKind::Call)
      d.back().attrs = {{"checkpoint", Attr::Bool}};
    if (k == OpKind::Cond)
      d.back().loops = loopsCond;
    if (k == OpKind::Scan)
      d.back().loops = loopsScan;
  }
  d.back().attrs = {{"carries", Attr::Int},
                    {"scanned", Attr::Int},
                    {"reverse", Attr::Bool},
                    {"checkpoint", Attr::Bool}};
}

} // namespace ops
} // namespace gradc
