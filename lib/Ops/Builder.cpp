//===- Builder.cpp - Typed construction of ops ----------------------------===//
#include "gradc/Ops/Builder.h"
#include "gradc/Ops/Control.h"
#include "gradc/Ops/OpDef.h"

#include "llvm/Support/ErrorHandling.h"

#include <algorithm>
#include <unordered_map>

namespace gradc {

Value *Builder::create(OpKind k, std::vector<Value *> operands,
                       std::vector<NamedAttr> attrs,
                       std::optional<Type> declared) {
  auto op = std::make_unique<Op>();
  op->kind = k;
  op->operands = std::move(operands);
  op->attrs = std::move(attrs);
  op->declaredType = std::move(declared);
  std::string err;
  Type t = inferType(*op, err);
  if (!t.valid)
    llvm::report_fatal_error(llvm::Twine("gradc: internal error: building '") +
                             mnemonic(k) + "': " + err);
  op->result = f_.newValue(f_.uniqueName(hint_), t);
  op->result->def = op.get();
  f_.ops.push_back(std::move(op));
  return f_.ops.back()->result;
}

std::vector<Value *> Builder::control(OpKind k, std::vector<Function *> callees,
                                      std::vector<Value *> operands,
                                      const std::vector<std::string> &names,
                                      std::vector<NamedAttr> attrs) {
  auto op = std::make_unique<Op>();
  op->kind = k;
  op->operands = std::move(operands);
  op->attrs = std::move(attrs);
  for (Function *g : callees) {
    op->callees.push_back(g->name);
    op->calleeLocs.push_back({});
  }
  op->calleeFns = std::move(callees);
  std::vector<Type> in, out;
  for (Value *v : op->operands)
    in.push_back(v->type);
  std::string err;
  if (!inferCallTypes(*op, in, out, err))
    llvm::report_fatal_error(llvm::Twine("gradc: internal error: building '") +
                             mnemonic(k) + "': " + err);
  for (size_t i = 0; i < out.size(); ++i) {
    Value *r = f_.newValue(
        f_.uniqueName(i < names.size() && !names[i].empty() ? names[i] : hint_),
        out[i]);
    r->def = op.get();
    op->results.push_back(r);
  }
  op->result = op->results[0];
  f_.ops.push_back(std::move(op));
  return f_.ops.back()->results;
}

Value *Builder::constant(double v, DType t) {
  auto op = std::make_unique<Op>();
  op->kind = OpKind::Const;
  op->declaredType = Type{t, {}};
  op->constValue = Tensor::scalar(t, v);
  op->constValue.roundToType();
  op->result = f_.newValue(f_.uniqueName(hint_), *op->declaredType);
  op->result->def = op.get();
  f_.ops.push_back(std::move(op));
  return f_.ops.back()->result;
}

Value *Builder::broadcastTo(Value *v, const Type &t) {
  return create(OpKind::BroadcastTo, {v}, {{"shape", Attr::dims(t.dims), {}}});
}

Value *Builder::reshape(Value *v, const std::vector<Dim> &dims) {
  return create(OpKind::Reshape, {v}, {{"shape", Attr::dims(dims), {}}});
}

Value *Builder::sum(Value *v, std::vector<int64_t> axes, bool keepdims) {
  std::vector<NamedAttr> attrs;
  if (!axes.empty() && (keepdims || axes.size() != v->type.rank())) {
    std::vector<Dim> a;
    for (int64_t x : axes)
      a.push_back(Dim::fixed(x));
    attrs.push_back({"axes", Attr::dims(a), {}});
  }
  if (keepdims)
    attrs.push_back({"keepdims", Attr::boolean(true), {}});
  return create(OpKind::Sum, {v}, std::move(attrs));
}

static Attr intList(const std::vector<int64_t> &v) {
  std::vector<Dim> d;
  for (int64_t x : v)
    d.push_back(Dim::fixed(x));
  return Attr::dims(d);
}

Value *Builder::transpose(Value *a, const std::vector<int64_t> &perm) {
  return create(OpKind::Transpose, {a}, {{"perm", intList(perm), {}}});
}

Value *Builder::slice(Value *v, const std::vector<int64_t> &axes,
                      const std::vector<int64_t> &starts,
                      const std::vector<int64_t> &ends,
                      const std::vector<int64_t> &steps) {
  std::vector<NamedAttr> attrs = {{"starts", intList(starts), {}},
                                  {"ends", intList(ends), {}},
                                  {"axes", intList(axes), {}}};
  bool unit = true;
  for (int64_t s : steps)
    unit &= s == 1;
  if (!unit)
    attrs.push_back({"steps", intList(steps), {}});
  return create(OpKind::Slice, {v}, std::move(attrs));
}

Value *Builder::pad(Value *v, const std::vector<int64_t> &pads) {
  return create(OpKind::Pad, {v}, {{"pads", intList(pads), {}}});
}

Value *Builder::splat(double v, const Type &t) {
  Value *c = constant(v, t.dtype);
  return t.isScalar() ? c : broadcastTo(c, t);
}

std::vector<Value *> Builder::inlineCall(const Function &src,
                                         llvm::ArrayRef<Value *> args) {
  std::unordered_map<const Value *, Value *> map;
  map.reserve(args.size() + src.ops.size());
  for (size_t i = 0; i < args.size(); ++i)
    map[src.args[i]] = args[i];
  for (const auto &op : src.ops) {
    auto copy = std::make_unique<Op>(*op);
    for (Value *&v : copy->operands)
      v = map.at(v);
    std::vector<Value *> news;
    for (Value *r : op->allResults()) {
      Value *n = f_.newValue(f_.uniqueName(r->name), r->type, r->loc);
      n->def = copy.get();
      map[r] = n;
      news.push_back(n);
    }
    copy->result = news[0];
    if (!op->results.empty())
      copy->results = news;
    f_.ops.push_back(std::move(copy));
  }
  std::vector<Value *> results;
  for (const Value *v : src.results)
    results.push_back(map.at(v));
  return results;
}

Value *Builder::sumToShape(Value *g, const Type &t) {
  const Type &gt = g->type;
  if (gt.dims == t.dims)
    return g;
  size_t lead = gt.rank() - t.rank();
  std::vector<int64_t> leading, inner;
  for (size_t i = 0; i < gt.rank(); ++i) {
    if (i < lead)
      leading.push_back(i);
    else if (t.dims[i - lead].isOne() && !gt.dims[i].isOne())
      inner.push_back(i);
  }
  if (inner.empty()) {
    Value *s = leading.empty() ? g : sum(g, leading, false);
    return s->type.dims == t.dims ? s : reshape(s, t.dims);
  }
  std::vector<int64_t> all = leading;
  all.insert(all.end(), inner.begin(), inner.end());
  std::sort(all.begin(), all.end());
  Value *s = sum(g, all, true);
  return s->type.dims == t.dims ? s : reshape(s, t.dims);
}

} // namespace gradc
