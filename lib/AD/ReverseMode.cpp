//===- ReverseMode.cpp - The adjoint-synthesis pass -----------------------===//
//
// @f.grad is @f's body followed by its adjoint: the ops of @f are visited in
// reverse, and each active op's adjoint rule (from its one declaration in
// lib/Ops) turns the cotangent of its result into cotangents of its operands.
// The pass itself does only two things on top of the rules: it sums the
// cotangents of a value used several times (fan-out), and it sums the
// cotangent of a broadcast operand back to the operand's shape. Each op is
// visited once, so time and memory are linear in the size of @f.
//
//===----------------------------------------------------------------------===//
#include "gradc/AD/Activity.h"
#include "gradc/AD/Autodiff.h"
#include "gradc/IR/Inline.h"
#include "gradc/Ops/Builder.h"
#include "gradc/Ops/Control.h"
#include "gradc/Ops/OpDef.h"
#include "gradc/Support/Suggest.h"
#include "gradc/Transforms/Passes.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <map>
#include <tuple>

namespace gradc {

static llvm::Error fail(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

std::string noSuchArgument(const Function &f, llvm::StringRef name) {
  std::vector<std::string> names;
  std::string list;
  for (const Value *a : f.args) {
    names.push_back(a->name);
    list += (list.empty() ? "%" : ", %") + a->name;
  }
  std::string hint = closestName(name, names);
  if (!hint.empty())
    return "'@" + f.name + "' has no argument '%" + name.str() +
           "'; did you mean '%" + hint + "'?";
  return "'@" + f.name + "' has no argument '%" + name.str() + "'; " +
         (f.args.empty() ? "it has no arguments" : "its arguments are " + list);
}

llvm::Expected<std::vector<unsigned>>
resolveWrt(const Function &f, const std::vector<std::string> &wrt) {
  std::vector<unsigned> idx;
  // Integer arguments (indices, labels) have no derivative.
  if (wrt.empty()) {
    for (unsigned i = 0; i < f.args.size(); ++i)
      if (f.args[i]->type.isFloat())
        idx.push_back(i);
    return idx;
  }
  // One hash lookup per name: linear in the number of arguments and names.
  llvm::StringMap<unsigned> index;
  for (unsigned i = 0; i < f.args.size(); ++i)
    index.try_emplace(f.args[i]->name, i);
  llvm::BitVector named(f.args.size());
  for (const std::string &w : wrt) {
    llvm::StringRef name = llvm::StringRef(w).trim().ltrim('%');
    auto it = index.find(name);
    if (it == index.end())
      return fail(noSuchArgument(f, name));
    unsigned i = it->second;
    if (named.test(i))
      return fail("argument '%" + name + "' is named twice");
    named.set(i);
    if (!f.args[i]->type.isFloat())
      return fail("argument '" + name + "' of '@" + f.name + "' has type " +
                  f.args[i]->type.str() + "; integers are not differentiable");
    idx.push_back(i);
  }
  return idx;
}

/// `g` (just added to `m`), or an error and `g` removed when it has more ops
/// than a function may have: what gradc prints must parse again.
static llvm::Expected<Function *> checkSize(Module &m, Function *g) {
  if (g->ops.size() <= kMaxOps)
    return g;
  std::string msg = "'@" + g->name + "' would have " +
                    std::to_string(g->ops.size()) + " operations (at most " +
                    std::to_string(kMaxOps) + ")";
  m.functions.erase(
      llvm::find_if(m.functions, [&](const auto &h) { return h.get() == g; }));
  return fail(msg);
}

namespace {

class ReverseMode {
public:
  ReverseMode(Function &g, Remat remat) : g_(g), b_(g), remat_(remat) {}

  /// Adds the adjoint of the ops g_.ops[0, numPrimal) seeded with `seeds`.
  llvm::Error run(size_t numPrimal,
                  llvm::ArrayRef<std::pair<Value *, Value *>> seeds,
                  const Activity &act) {
    for (auto [v, d] : seeds)
      if (act.isActive(v))
        addToDiffe(v, d, g_.ops.size());
    for (size_t k = numPrimal; k-- > 0;) {
      const Op &op =
          *g_.ops[k]; // ops are heap-allocated: stable while g_ grows
      if (!op.callees.empty()) {
        if (llvm::Error e = adjointControl(op, act))
          return e;
        continue;
      }
      if (!act.isActive(op.result))
        continue;
      Value *dy = adjoints_.lookup(op.result);
      if (!dy)
        continue;
      const OpDef &def = opDef(op.kind);
      size_t mark = g_.ops.size();
      b_.setNameHint("t");
      std::vector<Value *> grads = def.vjp(b_, op, dy);
      for (size_t i = 0; i < op.operands.size(); ++i) {
        Value *x = op.operands[i];
        if (!grads[i] || !act.isActive(x))
          continue;
        Value *gx =
            def.broadcasts ? b_.sumToShape(grads[i], x->type) : grads[i];
        addToDiffe(x, gx, mark);
      }
    }
    return llvm::Error::success();
  }

  /// The accumulated cotangent of `v`, or null if none reached it.
  Value *diffe(Value *v) const { return adjoints_.lookup(v); }

private:
  /// The adjoint of a `call` of a function with a custom VJP or marked
  /// `checkpoint=true` (the other calls are inlined before), or of a `cond`:
  /// a call of the custom VJP or of the callee's VJP, or a `cond` over the
  /// VJPs of the two branches (only the one taken runs).
  llvm::Error adjointControl(const Op &op, const Activity &act) {
    std::vector<Value *> res = op.allResults();
    std::vector<Value *> dys;
    bool any = false;
    for (Value *r : res) {
      Value *d = act.isActive(r) ? adjoints_.lookup(r) : nullptr;
      any |= d != nullptr;
      dys.push_back(d);
    }
    if (!any)
      return llvm::Error::success();
    size_t first = op.kind == OpKind::Cond;
    std::vector<Value *> args(op.operands.begin() + first, op.operands.end());
    std::vector<Value *> operands = args;
    for (size_t i = 0; i < res.size(); ++i) {
      if (!dys[i]) {
        b_.setNameHint("d" + res[i]->name);
        dys[i] = b_.splat(0, res[i]->type); // no cotangent reached it
      }
      operands.push_back(dys[i]);
    }
    if (op.kind == OpKind::Scan)
      return adjointScan(const_cast<Op &>(op), act, dys);
    size_t mark = g_.ops.size();
    std::vector<Value *> grads;
    std::vector<Value *> gradOf; // the argument each gradient belongs to
    std::vector<std::string> names;
    if (op.kind == OpKind::Call && op.calleeFns[0]->customVjpFn) {
      for (Value *a : args)
        names.push_back("d" + a->name);
      b_.setNameHint("t");
      grads = b_.control(OpKind::Call, {op.calleeFns[0]->customVjpFn}, operands,
                         names);
      gradOf = args;
    } else {
      // A `cond`, or a checkpointed call: the VJPs of its functions, which
      // recompute their intermediates from the arguments, give the
      // gradients of the float arguments.
      if (op.kind == OpKind::Call && !op.boolAttr("checkpoint", false))
        return fail("internal error: a call of '@" + op.calleeFns[0]->name +
                    "' was not inlined before differentiation");
      std::vector<Function *> vjps;
      for (Function *fn : op.calleeFns) {
        auto v = branchVjp(*fn);
        if (!v)
          return v.takeError();
        vjps.push_back(*v);
      }
      for (Value *a : args)
        if (a->type.isFloat()) {
          gradOf.push_back(a);
          names.push_back("d" + a->name);
        }
      if (gradOf.empty())
        return llvm::Error::success();
      b_.setNameHint("t");
      if (op.kind == OpKind::Cond) {
        operands.insert(operands.begin(), op.operands[0]);
        grads = b_.control(OpKind::Cond, vjps, operands, names);
      } else {
        // The VJP's call stays a call (marked too) until a backend inlines
        // it, so that no simplification merges the recomputation with the
        // forward pass's values.
        grads = b_.control(OpKind::Call, vjps, operands, names,
                           {{"checkpoint", Attr::boolean(true), {}}});
      }
    }
    for (size_t i = 0; i < gradOf.size(); ++i)
      if (act.isActive(gradOf[i]) && gradOf[i]->type.isFloat())
        addToDiffe(gradOf[i], grads[i], mark);
    return llvm::Error::success();
  }

  /// The adjoint of `scan @cell(carries..., xs..., consts...)`: the forward
  /// scan is retargeted to `@cell.saved`, which also stacks the carry each
  /// step starts from; then a scan in the opposite direction over
  /// `@cell.bwd` runs `@cell.vjp` per step on the saved carry, carrying the
  /// carries' cotangents and the sums of the constants' gradients, and
  /// stacking the gradients of the xs.
  llvm::Error adjointScan(Op &op, const Activity &act,
                          llvm::ArrayRef<Value *> dys) {
    Function &cell = *op.calleeFns[0];
    size_t nc = op.intAttr("carries", 0), ns = op.intAttr("scanned", 1);
    size_t nk = op.operands.size() - nc - ns;
    size_t ny = cell.resultTypes.size() - nc;
    auto isF = [&](size_t argIdx) { return cell.args[argIdx]->type.isFloat(); };
    if (op.boolAttr("checkpoint", false))
      return adjointScanCheckpointed(op, act, dys);
    // 1. The forward scan also stacks the carries.
    auto saved = savedBody(cell, nc);
    if (!saved)
      return saved.takeError();
    std::vector<Type> in, out;
    for (Value *v : op.operands)
      in.push_back(v->type);
    op.calleeFns[0] = *saved;
    op.callees[0] = (*saved)->name;
    std::string err;
    if (!inferCallTypes(op, in, out, err))
      return fail("internal error: " + err);
    if (op.results.empty())
      op.results = {op.result};
    std::vector<Value *> cs;
    for (size_t i = 0; i < nc; ++i) {
      Value *c = g_.newValue(g_.uniqueName(op.operands[i]->name + ".saved"),
                             out[nc + ny + i]);
      c->def = &op;
      op.results.push_back(c);
      cs.push_back(c);
    }
    // 2. The backward scan.
    auto bwd = bwdBody(cell, nc, ns);
    if (!bwd)
      return bwd.takeError();
    std::vector<Value *> operands;
    std::vector<std::string> names;
    std::vector<Value *> gradOf;
    for (size_t i = 0; i < nc; ++i)
      if (isF(i)) {
        operands.push_back(dys[i]);
        names.push_back("d" + op.operands[i]->name);
        gradOf.push_back(op.operands[i]);
      }
    size_t ncb = operands.size();
    for (size_t i = nc + ns; i < nc + ns + nk; ++i)
      if (isF(i)) {
        b_.setNameHint("d" + op.operands[i]->name);
        operands.push_back(b_.splat(0, op.operands[i]->type));
        names.push_back("d" + op.operands[i]->name);
        gradOf.push_back(op.operands[i]);
        ++ncb;
      }
    size_t nsb = 0;
    for (size_t i = nc; i < nc + ns; ++i, ++nsb)
      operands.push_back(op.operands[i]);
    for (Value *c : cs)
      operands.push_back(c), ++nsb;
    for (size_t j = 0; j < ny; ++j)
      if (cell.resultTypes[nc + j].isFloat())
        operands.push_back(dys[nc + j]), ++nsb;
    for (size_t i = nc + ns; i < nc + ns + nk; ++i)
      operands.push_back(op.operands[i]);
    for (size_t i = nc; i < nc + ns; ++i)
      if (isF(i)) {
        names.push_back("d" + op.operands[i]->name);
        gradOf.push_back(op.operands[i]);
      }
    if (gradOf.empty())
      return llvm::Error::success();
    size_t mark = g_.ops.size();
    b_.setNameHint("t");
    std::vector<Value *> grads = b_.control(
        OpKind::Scan, {*bwd}, operands, names,
        {{"carries", Attr::integer(ncb), {}},
         {"scanned", Attr::integer(nsb), {}},
         {"reverse", Attr::boolean(!op.boolAttr("reverse", false)), {}}});
    for (size_t i = 0; i < gradOf.size(); ++i)
      if (act.isActive(gradOf[i]))
        addToDiffe(gradOf[i], grads[i], mark);
    return llvm::Error::success();
  }

  /// The segment length of a checkpointed scan of length T: the divisor of
  /// T closest to sqrt(T).
  static int64_t segmentLength(int64_t T) {
    int64_t best = 1;
    double r = std::sqrt(double(T));
    for (int64_t k = 1; k <= T; ++k)
      if (T % k == 0 && std::abs(double(k) - r) < std::abs(double(best) - r))
        best = k;
    return best;
  }

  /// The adjoint of a scan with `checkpoint=true`, length T = S*K (K the
  /// divisor of T closest to sqrt T): a scan over the S segments
  /// (`@cell.ckpt`) stacks only the carry each segment starts from; the
  /// backward scan over the segments (`@cell.segbwd`) recomputes a
  /// segment's K carries from it (`@cell.saved`) and runs the plain
  /// backward scan (`@cell.bwd`) over them. O(S + K) carries live instead
  /// of T, for one more forward pass.
  llvm::Error adjointScanCheckpointed(Op &op, const Activity &act,
                                      llvm::ArrayRef<Value *> dys) {
    Function &cell = *op.calleeFns[0];
    size_t nc = op.intAttr("carries", 0), ns = op.intAttr("scanned", 1);
    size_t nk = op.operands.size() - nc - ns;
    size_t ny = cell.resultTypes.size() - nc;
    bool rev = op.boolAttr("reverse", false);
    auto isF = [&](size_t i) { return cell.args[i]->type.isFloat(); };
    const Dim &len = op.operands[nc]->type.dims[0];
    if (len.isSym())
      return fail("'%" + op.result->name +
                  " = scan' has checkpoint=true but a symbolic length " +
                  len.sym + "; checkpointing needs a static length");
    int64_t T = len.size, K = segmentLength(T), S = T / K;
    auto seg = [&](Value *v) { // [T, d...] -> [S, K, d...]
      std::vector<Dim> dims = {Dim::fixed(S), Dim::fixed(K)};
      dims.insert(dims.end(), v->type.dims.begin() + 1, v->type.dims.end());
      b_.setNameHint(v->name + ".seg");
      return b_.reshape(v, dims);
    };
    auto attrs = [&](size_t c, size_t s, bool r) {
      std::vector<NamedAttr> a = {{"carries", Attr::integer(c), {}},
                                  {"scanned", Attr::integer(s), {}}};
      if (r)
        a.push_back({"reverse", Attr::boolean(true), {}});
      return a;
    };
    Module &m = *g_.parent;
    // @cell.ckpt(c..., xseg..., k...) -> (c_end..., c...): a segment.
    Function *ckpt = m.addFunction(freshName(cell.name + ".ckpt"));
    {
      Builder b(*ckpt);
      std::vector<Value *> args;
      for (size_t i = 0; i < cell.args.size(); ++i) {
        Type t = cell.args[i]->type;
        if (i >= nc && i < nc + ns)
          t.dims.insert(t.dims.begin(), Dim::fixed(K));
        args.push_back(ckpt->addArg(cell.args[i]->name, t));
      }
      std::vector<Value *> r =
          b.control(OpKind::Scan, {&cell}, args, {}, attrs(nc, ns, rev));
      for (size_t i = 0; i < nc; ++i) {
        ckpt->results.push_back(r[i]);
        ckpt->resultTypes.push_back(r[i]->type);
      }
      for (size_t i = 0; i < nc; ++i) {
        ckpt->results.push_back(args[i]);
        ckpt->resultTypes.push_back(args[i]->type);
      }
    }
    auto bwd = bwdBody(cell, nc, ns);
    auto saved = savedBody(cell, nc);
    if (!bwd || !saved)
      return bwd ? saved.takeError() : bwd.takeError();
    // @cell.segbwd: the arguments of @cell.bwd with K more steps each.
    Function *segbwd = m.addFunction(freshName(cell.name + ".segbwd"));
    {
      Builder b(*segbwd);
      std::vector<Value *> args;
      size_t ncb = 0;
      for (size_t i = 0; i < nc; ++i)
        ncb += isF(i);
      for (size_t i = nc + ns; i < nc + ns + nk; ++i)
        ncb += isF(i);
      size_t nsb = (*bwd)->args.size() - ncb - nk;
      for (size_t i = 0; i < (*bwd)->args.size(); ++i) {
        Type t = (*bwd)->args[i]->type;
        // Scanned over K steps, except the carries: one per segment, its
        // start.
        bool start = i >= ncb + ns && i < ncb + ns + nc;
        if (i >= ncb && i < ncb + nsb && !start)
          t.dims.insert(t.dims.begin(), Dim::fixed(K));
        args.push_back(segbwd->addArg((*bwd)->args[i]->name, t));
      }
      // Recompute the segment's carries from its first.
      std::vector<Value *> fwdArgs;
      for (size_t i = 0; i < nc; ++i) // the carries at the segment's start
        fwdArgs.push_back(args[ncb + ns + i]);
      for (size_t i = 0; i < ns; ++i)
        fwdArgs.push_back(args[ncb + i]);
      for (size_t i = 0; i < nk; ++i)
        fwdArgs.push_back(args[ncb + nsb + i]);
      std::vector<Value *> re =
          b.control(OpKind::Scan, {*saved}, fwdArgs, {}, attrs(nc, ns, rev));
      std::vector<Value *> bargs = args;
      for (size_t i = 0; i < nc; ++i)
        bargs[ncb + ns + i] = re[nc + ny + i];
      std::vector<Value *> out =
          b.control(OpKind::Scan, {*bwd}, bargs, {}, attrs(ncb, nsb, !rev));
      segbwd->results = out;
      for (Value *v : out)
        segbwd->resultTypes.push_back(v->type);
    }
    // The caller: segment the xs, run the checkpoints, then the backward
    // scan over the segments.
    std::vector<Value *> ckArgs;
    for (size_t i = 0; i < nc; ++i)
      ckArgs.push_back(op.operands[i]);
    for (size_t i = nc; i < nc + ns; ++i)
      ckArgs.push_back(seg(op.operands[i]));
    for (size_t i = nc + ns; i < op.operands.size(); ++i)
      ckArgs.push_back(op.operands[i]);
    std::vector<std::string> ckNames(nc);
    for (size_t i = 0; i < nc; ++i)
      ckNames.push_back(op.operands[i]->name + ".ckpt");
    b_.setNameHint("t");
    std::vector<Value *> ck =
        b_.control(OpKind::Scan, {ckpt}, ckArgs, ckNames, attrs(nc, ns, rev));
    std::vector<Value *> operands, gradOf;
    std::vector<std::string> names;
    for (size_t i = 0; i < nc; ++i)
      if (isF(i)) {
        operands.push_back(dys[i]);
        names.push_back("d" + op.operands[i]->name);
        gradOf.push_back(op.operands[i]);
      }
    for (size_t i = nc + ns; i < nc + ns + nk; ++i)
      if (isF(i)) {
        b_.setNameHint("d" + op.operands[i]->name);
        operands.push_back(b_.splat(0, op.operands[i]->type));
        names.push_back("d" + op.operands[i]->name);
        gradOf.push_back(op.operands[i]);
      }
    size_t ncb = operands.size();
    for (size_t i = nc; i < nc + ns; ++i)
      operands.push_back(ckArgs[i]);
    for (size_t i = 0; i < nc; ++i) // each segment's first carry: [S, ...]
      operands.push_back(ck[nc + i]);
    for (size_t j = 0; j < ny; ++j)
      if (cell.resultTypes[nc + j].isFloat())
        operands.push_back(seg(dys[nc + j]));
    size_t nsb = operands.size() - ncb;
    for (size_t i = nc + ns; i < op.operands.size(); ++i)
      operands.push_back(op.operands[i]);
    for (size_t i = nc; i < nc + ns; ++i)
      if (isF(i)) {
        names.push_back("d" + op.operands[i]->name + ".seg");
        gradOf.push_back(op.operands[i]);
      }
    if (gradOf.empty())
      return llvm::Error::success();
    size_t mark = g_.ops.size();
    b_.setNameHint("t");
    std::vector<Value *> grads = b_.control(OpKind::Scan, {segbwd}, operands,
                                            names, attrs(ncb, nsb, !rev));
    for (size_t i = 0; i < gradOf.size(); ++i) {
      Value *gv = grads[i];
      if (i >= ncb) { // [S, K, ...] -> [T, ...]
        b_.setNameHint("d" + gradOf[i]->name);
        gv = b_.reshape(gv, gradOf[i]->type.dims);
      }
      if (act.isActive(gradOf[i]))
        addToDiffe(gradOf[i], gv, mark);
    }
    return llvm::Error::success();
  }

  /// A function named `base` (or `base.N`) not yet in the module.
  std::string freshName(const std::string &base) {
    Module &m = *g_.parent;
    std::string name = base;
    for (unsigned i = 1; m.lookup(name); ++i)
      name = base + "." + std::to_string(i);
    return name;
  }

  /// `@cell.saved(args...) -> (results of @cell..., carries...)`.
  llvm::Expected<Function *> savedBody(Function &cell, size_t nc) {
    if (auto it = saved_.find({&cell, nc}); it != saved_.end())
      return it->second;
    Function *s = g_.parent->addFunction(freshName(cell.name + ".saved"));
    s->loc = cell.loc;
    std::vector<Value *> args;
    for (Value *a : cell.args)
      args.push_back(s->addArg(a->name, a->type));
    Builder b(*s);
    std::vector<std::string> names;
    for (Value *r : cell.results)
      names.push_back(r->name);
    s->results = b.control(OpKind::Call, {&cell}, args, names);
    s->resultTypes = cell.resultTypes;
    for (size_t i = 0; i < nc; ++i) {
      s->results.push_back(args[i]);
      s->resultTypes.push_back(args[i]->type);
    }
    saved_[{&cell, nc}] = s;
    return s;
  }

  /// `@cell.bwd(dcarries..., dconst sums..., xs_t..., carries_t...,
  /// dys_t..., consts...) -> (dcarries..., dconst sums..., dxs_t...)` over
  /// the float carries, constants, scanned inputs and outputs of @cell.
  llvm::Expected<Function *> bwdBody(Function &cell, size_t nc, size_t ns) {
    auto key = std::make_tuple(&cell, nc, ns);
    if (auto it = bwd_.find(key); it != bwd_.end())
      return it->second;
    auto vjp = branchVjp(cell);
    if (!vjp)
      return vjp.takeError();
    size_t na = cell.args.size(), nk = na - nc - ns;
    size_t ny = cell.resultTypes.size() - nc;
    Function *s = g_.parent->addFunction(freshName(cell.name + ".bwd"));
    s->loc = cell.loc;
    auto isF = [&](size_t i) { return cell.args[i]->type.isFloat(); };
    std::vector<Value *> dc(nc, nullptr), dk(nk, nullptr);
    for (size_t i = 0; i < nc; ++i)
      if (isF(i))
        dc[i] = s->addArg(s->uniqueName("d" + cell.args[i]->name),
                          cell.args[i]->type);
    for (size_t i = 0; i < nk; ++i)
      if (isF(nc + ns + i))
        dk[i] = s->addArg(s->uniqueName("d" + cell.args[nc + ns + i]->name),
                          cell.args[nc + ns + i]->type);
    std::vector<Value *> cellArgs(na);
    for (size_t i = nc; i < nc + ns; ++i)
      cellArgs[i] =
          s->addArg(s->uniqueName(cell.args[i]->name), cell.args[i]->type);
    for (size_t i = 0; i < nc; ++i)
      cellArgs[i] =
          s->addArg(s->uniqueName(cell.args[i]->name), cell.args[i]->type);
    std::vector<Value *> dy(ny, nullptr);
    for (size_t j = 0; j < ny; ++j)
      if (cell.resultTypes[nc + j].isFloat())
        dy[j] = s->addArg(s->uniqueName("d" + cell.results[nc + j]->name),
                          cell.resultTypes[nc + j]);
    for (size_t i = nc + ns; i < na; ++i)
      cellArgs[i] =
          s->addArg(s->uniqueName(cell.args[i]->name), cell.args[i]->type);
    Builder b(*s);
    std::vector<Value *> callArgs = cellArgs;
    for (size_t i = 0; i < nc; ++i) {
      if (!dc[i]) {
        b.setNameHint("zero");
        dc[i] = b.splat(0, cell.resultTypes[i]);
      }
      callArgs.push_back(dc[i]);
    }
    for (size_t j = 0; j < ny; ++j) {
      if (!dy[j]) {
        b.setNameHint("zero");
        dy[j] = b.splat(0, cell.resultTypes[nc + j]);
      }
      callArgs.push_back(dy[j]);
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < na; ++i)
      if (isF(i))
        names.push_back("g" + cell.args[i]->name);
    b.setNameHint("g");
    std::vector<Value *> grads =
        b.control(OpKind::Call, {*vjp}, callArgs, names);
    std::vector<Value *> gradOfArg(na, nullptr);
    for (size_t i = 0, k = 0; i < na; ++i)
      if (isF(i))
        gradOfArg[i] = grads[k++];
    for (size_t i = 0; i < nc; ++i)
      if (isF(i)) {
        s->results.push_back(gradOfArg[i]);
        s->resultTypes.push_back(cell.args[i]->type);
      }
    for (size_t i = 0; i < nk; ++i)
      if (dk[i]) {
        b.setNameHint(dk[i]->name);
        s->results.push_back(b.add(dk[i], gradOfArg[nc + ns + i]));
        s->resultTypes.push_back(dk[i]->type);
      }
    for (size_t i = nc; i < nc + ns; ++i)
      if (isF(i)) {
        s->results.push_back(gradOfArg[i]);
        s->resultTypes.push_back(cell.args[i]->type);
      }
    inlineCalls(*s); // the VJP's body
    bwd_[key] = s;
    return s;
  }

  /// `@b.vjp(args..., cotangents...) -> gradients of the float args`, built
  /// once per branch (or scan body) function and added to the module.
  llvm::Expected<Function *> branchVjp(Function &br) {
    if (Function *v = vjps_.lookup(&br))
      return v;
    Module &m = *g_.parent;
    std::string name = freshName(br.name + ".vjp");
    GradOptions o;
    o.vjp = true;
    o.primalResults = false;
    o.name = name;
    o.remat = remat_ == Remat::Auto ? Remat::Marked : remat_;
    auto v = buildGradient(m, br, o);
    if (!v)
      return v.takeError();
    vjps_[&br] = *v;
    return *v;
  }

  /// Adds `d` to the cotangent of `v`. A value first created by the current
  /// rule (after op index `mark`) is named after `v`: the cotangent of %q is
  /// %dq.
  void addToDiffe(Value *v, Value *d, size_t mark) {
    std::string name = "d" + v->name;
    Value *&slot = adjoints_[v];
    if (!slot) {
      slot = d;
      bool fresh = d->def && !named_.contains(d) &&
                   std::any_of(g_.ops.begin() + mark, g_.ops.end(),
                               [&](const auto &op) { return op->result == d; });
      if (fresh) {
        g_.renameValue(d, g_.uniqueName(name));
        named_.insert(d);
      }
      return;
    }
    b_.setNameHint(name);
    slot = b_.add(slot, d); // fan-out: the branches' cotangents add up
    named_.insert(slot);
  }

  Function &g_;
  Builder b_;
  Remat remat_;
  llvm::DenseMap<Value *, Value *> adjoints_;
  llvm::DenseSet<Value *> named_;
  llvm::DenseMap<const Function *, Function *> vjps_;
  std::map<std::pair<const Function *, size_t>, Function *> saved_;
  std::map<std::tuple<const Function *, size_t, size_t>, Function *> bwd_;
};

/// A call or scan of @f that Remat::Auto may checkpoint: a call of a
/// function without a custom VJP, or a scan of static length.
bool rematCandidate(const Op &op) {
  if (op.kind == OpKind::Call)
    return !op.calleeFns.empty() && !op.calleeFns[0]->customVjpFn;
  if (op.kind != OpKind::Scan || op.boolAttr("checkpoint", false))
    return false;
  // The length is the leading dim of the first scanned operand.
  size_t first = op.intAttr("carries", 0);
  return first < op.operands.size() && !op.operands[first]->type.dims.empty() &&
         !op.operands[first]->type.dims[0].isSym();
}

void setCheckpoint(Op &op, bool on) {
  llvm::erase_if(op.attrs,
                 [](const NamedAttr &a) { return a.name == "checkpoint"; });
  if (on)
    op.attrs.push_back({"checkpoint", Attr::boolean(true), {}});
}

/// @f.grad with, under Remat::Auto, the ops f.ops[i] with chosen[i] (and
/// the marked ones) checkpointed.
llvm::Expected<Function *> buildOne(Module &m, const Function &f,
                                    const GradOptions &opts,
                                    const std::vector<bool> &chosen);

} // namespace

llvm::Expected<Function *> buildGradient(Module &m, const Function &f,
                                         const GradOptions &opts) {
  if (opts.remat != Remat::Auto)
    return buildOne(m, f, opts, {});
  // Greedy: checkpoint, one at a time, the candidate that saves the most,
  // until the saved bytes fit the budget. Each trial builds @f.grad (and
  // the VJPs it needs) and removes them again.
  auto savedBytes =
      [&](const std::vector<bool> &chosen) -> llvm::Expected<int64_t> {
    size_t mark = m.functions.size();
    auto g = buildOne(m, f, opts, chosen);
    if (!g)
      return g.takeError();
    int64_t total = 0;
    std::string symbolic;
    for (const SavedValue &s : savedValues(**g, f.args.size())) {
      if (llvm::StringRef(s.from).starts_with("argument"))
        continue; // passed in, not kept by the gradient
      total += s.bytes;
      if (!s.symbols.empty() && symbolic.empty())
        symbolic = "'%" + s.value->name + "' (" + s.value->type.str() + ")";
    }
    m.functions.resize(mark);
    if (!symbolic.empty())
      return fail("--remat=auto needs the sizes of the saved values, but " +
                  symbolic + " has symbolic dims");
    return total;
  };
  std::vector<bool> chosen(f.ops.size(), false);
  auto best = savedBytes(chosen);
  if (!best)
    return best.takeError();
  while (*best > opts.memoryBudget) {
    std::optional<size_t> pick;
    for (size_t i = 0; i < f.ops.size(); ++i) {
      if (chosen[i] || !rematCandidate(*f.ops[i]) ||
          f.ops[i]->boolAttr("checkpoint", false))
        continue;
      chosen[i] = true;
      auto bytes = savedBytes(chosen);
      chosen[i] = false;
      if (!bytes)
        return bytes.takeError();
      if (*bytes < *best) {
        best = *bytes;
        pick = i;
      }
    }
    if (!pick)
      return fail("a memory budget of " + std::to_string(opts.memoryBudget) +
                  " bytes is too small for any plan: with every call and "
                  "scan of '@" +
                  f.name +
                  "' that can be checkpointed, the backward pass "
                  "keeps " +
                  std::to_string(*best) +
                  " bytes (gradc grad --print-saved lists them)");
    chosen[*pick] = true;
  }
  return buildOne(m, f, opts, chosen);
}

namespace {

llvm::Expected<Function *> buildOne(Module &m, const Function &f,
                                    const GradOptions &opts,
                                    const std::vector<bool> &chosen) {
  auto wrt = resolveWrt(f, opts.wrt);
  if (!wrt)
    return wrt.takeError();
  if (opts.hasAux && f.resultTypes.empty())
    return fail("'@" + f.name +
                "' returns nothing; --has-aux needs a loss "
                "as its first result");
  if (opts.hasAux && !opts.vjp && !f.resultTypes[0].isScalar())
    return fail("the first result of '@" + f.name + "' is " +
                f.resultTypes[0].str() +
                "; with --has-aux it must be the scalar loss (or use --vjp "
                "with its cotangent)");
  if (!opts.hasAux && !opts.vjp &&
      (f.resultTypes.size() != 1 || !f.resultTypes[0].isScalar()))
    return fail(
        "'@" + f.name + "' returns " +
        (f.resultTypes.size() == 1
             ? f.resultTypes[0].str()
             : std::to_string(f.resultTypes.size()) + " values") +
        "; a gradient needs a single scalar output (use a "
        "vector-Jacobian product, --vjp, with one cotangent per output" +
        (f.resultTypes.size() > 1 && f.resultTypes[0].isScalar()
             ? ", or --has-aux if the first result is the loss and the "
               "others are passed through"
             : "") +
        ")");
  std::string name = opts.name.empty() ? f.name + ".grad" : opts.name;
  if (m.lookup(name))
    return fail("function '@" + name + "' already exists");

  Function *g = m.addFunction(name);
  g->loc = f.loc;
  for (Value *a : f.args)
    g->addArg(a->name, a->type);
  // With hasAux only the first result (the loss) is differentiated.
  size_t numSeeded = opts.hasAux ? 1 : f.results.size();
  std::vector<Value *> cotangents;
  for (size_t i = 0; i < numSeeded; ++i)
    cotangents.push_back(
        g->addArg(g->uniqueName("d" + f.results[i]->name), f.resultTypes[i]));
  Builder b(*g);
  std::vector<Value *> primal(g->args.begin(), g->args.begin() + f.args.size());
  // Calls are inlined, except those of functions with a custom VJP, whose
  // adjoint is that VJP; a function with a custom VJP is itself such a call.
  std::vector<Value *> results;
  if (f.customVjpFn) {
    std::vector<std::string> names;
    for (const Value *r : f.results)
      names.push_back(r->name);
    results =
        b.control(OpKind::Call, {const_cast<Function *>(&f)}, primal, names);
  } else {
    g->results = b.inlineCall(f, primal);
    // g's ops are now copies of f's, one for one: mark the calls and scans
    // the backward pass recomputes, then inline the other calls.
    for (size_t i = 0; i < g->ops.size(); ++i) {
      Op &op = *g->ops[i];
      if (opts.remat == Remat::Calls && op.kind == OpKind::Call &&
          !op.calleeFns[0]->customVjpFn)
        setCheckpoint(op, true);
      if (opts.remat == Remat::Auto && i < chosen.size() && chosen[i])
        setCheckpoint(op, true);
    }
    inlineCalls(*g,
                KeepCustomVjp |
                    (opts.remat == Remat::None ? KeepNone : KeepCheckpointed));
    if (opts.remat == Remat::None)
      for (auto &op : g->ops)
        setCheckpoint(*op, false);
    results = std::move(g->results);
    g->results.clear();
  }

  std::vector<const Value *> from;
  for (unsigned i : *wrt)
    from.push_back(g->args[i]);
  std::vector<const Value *> to(results.begin(), results.begin() + numSeeded);
  Activity act(*g, from, to);

  std::vector<std::pair<Value *, Value *>> seeds;
  for (size_t i = 0; i < numSeeded; ++i)
    seeds.push_back({results[i], cotangents[i]});
  ReverseMode rm(*g, opts.remat);
  if (llvm::Error e = rm.run(g->ops.size(), seeds, act)) {
    m.functions.erase(llvm::find_if(
        m.functions, [&](const auto &h) { return h.get() == g; }));
    return e;
  }

  if (opts.primalResults) {
    g->results = results;
    g->resultTypes = f.resultTypes;
  }
  for (unsigned i : *wrt) {
    Value *a = g->args[i];
    Value *d = rm.diffe(a);
    if (!d) {
      b.setNameHint("d" + a->name);
      d = b.splat(0, a->type); // no path from this argument to an output
    }
    g->results.push_back(d);
    g->resultTypes.push_back(a->type);
  }
  // The custom VJPs and the functions they belong to are inlined now; the
  // checkpointed calls and their VJPs stay calls (a backend inlines them).
  inlineCalls(*g, KeepCheckpointed);
  return checkSize(m, g);
}

} // namespace

llvm::Expected<Function *> buildJvp(Module &m, const Function &f,
                                    const std::vector<std::string> &wrtNames,
                                    std::string name) {
  auto wrt = resolveWrt(f, wrtNames);
  if (!wrt)
    return wrt.takeError();
  if (name.empty())
    name = f.name + ".jvp";
  // G(x, u) = J^T u, then H(x, u, t) = d/du <G(x, u), t> = J t.
  // G and H are built in `m` (the VJPs of the branches of a `cond` that
  // they add stay there: @f.jvp calls them) and removed at the end.
  auto freshName = [&](std::string base) {
    std::string n = base;
    for (unsigned i = 1; m.lookup(n); ++i)
      n = base + "." + std::to_string(i);
    return n;
  };
  auto erase = [&](Function *h) {
    m.functions.erase(llvm::find_if(
        m.functions, [&](const auto &p) { return p.get() == h; }));
  };
  Module &scratch = m;
  GradOptions vjp;
  vjp.vjp = true;
  vjp.primalResults = false;
  // No names: every float argument, which G resolves without a name table.
  if (!wrtNames.empty())
    for (unsigned i : *wrt)
      vjp.wrt.push_back(f.args[i]->name);
  vjp.name = freshName(name + ".vjp");
  vjp.remat = Remat::None; // forward mode keeps nothing for a backward pass
  auto G = buildGradient(scratch, f, vjp);
  if (!G)
    return G.takeError();
  // G's results are the cotangents of the parameters, in order. One that
  // does not depend on u is zero (G is linear in u): its term of <G, t> has
  // no derivative, so drop it before H is built. With many parameters that
  // f does not read, H then neither replays their zeros nor takes their
  // tangents (half the JVP's time at 50,000 parameters).
  std::vector<unsigned> kept; // the parameters (indices into *wrt) kept
  {
    llvm::DenseSet<const Value *> onU;
    for (size_t i = f.args.size(); i < (*G)->args.size(); ++i)
      onU.insert((*G)->args[i]);
    for (const auto &op : (*G)->ops)
      if (llvm::any_of(op->operands,
                       [&](const Value *v) { return onU.contains(v); }))
        for (const Value *r : op->allResults())
          onU.insert(r);
    for (unsigned k = 0; k < (*G)->results.size(); ++k)
      if (onU.contains((*G)->results[k]))
        kept.push_back(k);
    if (!kept.empty() && kept.size() < (*G)->results.size()) {
      std::vector<Value *> results;
      std::vector<Type> types;
      for (unsigned k : kept) {
        results.push_back((*G)->results[k]);
        types.push_back((*G)->resultTypes[k]);
      }
      (*G)->results = std::move(results);
      (*G)->resultTypes = std::move(types);
      runDCE(**G);
    } else {
      kept.clear();
      for (unsigned k = 0; k < (*G)->results.size(); ++k)
        kept.push_back(k);
    }
  }
  GradOptions transpose;
  transpose.vjp = true;
  transpose.primalResults = false;
  transpose.remat = Remat::None;
  // Integer results have no tangent; the others are linear in u.
  std::vector<size_t> floatResults;
  for (size_t i = f.args.size(); i < (*G)->args.size(); ++i)
    if ((*G)->args[i]->type.isFloat()) {
      transpose.wrt.push_back((*G)->args[i]->name);
      floatResults.push_back(i - f.args.size());
    }
  transpose.name = freshName(name + ".transpose");
  auto H = buildGradient(scratch, **G, transpose);
  if (!H) {
    erase(*G);
    return H.takeError();
  }
  // H replays all of G, most of which J t does not use (with many
  // parameters: one zero cotangent per parameter f does not read). Drop it
  // before inlining H, so that the JVP costs a small factor of the VJP.
  runDCE(**H);

  Function *j = m.addFunction(name);
  j->loc = f.loc;
  for (Value *a : f.args)
    j->addArg(a->name, a->type);
  std::vector<Value *> tangents;
  for (unsigned i : *wrt)
    tangents.push_back(
        j->addArg(j->uniqueName("d" + f.args[i]->name), f.args[i]->type));
  Builder b(*j);
  std::vector<Value *> primalArgs(j->args.begin(),
                                  j->args.begin() + f.args.size());
  std::vector<Value *> results = b.inlineCall(f, primalArgs);
  // J t does not depend on u (the VJP is linear in u): pass zeros, which the
  // simplifier then removes with everything that used them.
  std::vector<Value *> hArgs = primalArgs;
  for (const Type &t : f.resultTypes) {
    b.setNameHint("u");
    hArgs.push_back(b.splat(0, t));
  }
  for (unsigned k : kept)
    hArgs.push_back(tangents[k]);
  std::vector<Value *> out = b.inlineCall(**H, hArgs);
  j->results = results;
  j->resultTypes = f.resultTypes;
  llvm::DenseSet<Value *> primalOut(results.begin(), results.end());
  llvm::DenseMap<Value *, unsigned> uses;
  for (Value *v : out)
    ++uses[v];
  for (size_t i = 0, k = 0; i < f.results.size(); ++i) {
    if (k == floatResults.size() || floatResults[k] != i) {
      b.setNameHint("d" + f.results[i]->name);
      j->results.push_back(b.splat(0, f.resultTypes[i]));
      j->resultTypes.push_back(f.resultTypes[i]);
      continue;
    }
    Value *t = out[k++];
    // The tangent of %f is %df, as the cotangent is in @f.grad.
    if (t->def && !primalOut.contains(t) && uses[t] == 1)
      j->renameValue(t, j->uniqueName("d" + f.results[i]->name));
    j->results.push_back(t);
    j->resultTypes.push_back(f.resultTypes[i]);
  }
  inlineCalls(*j); // the forward pass's calls
  erase(*G);
  erase(*H);
  return checkSize(m, j);
}

} // namespace gradc
