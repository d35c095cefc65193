//===- Dot.cpp - Graphviz pictures of a function and its adjoint ---------===//
//
// The gradient on each forward edge is dL/dv for the value v it carries. It
// comes from the adjoint pass itself: in a copy of @f every op result v is
// replaced by v + eps_v with eps_v a new (zero) argument, so the gradient with
// respect to eps_v is the gradient with respect to v.
//
//===----------------------------------------------------------------------===//
#include "gradc/Viz/Dot.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/Interp/Interpreter.h"
#include "gradc/Ops/Builder.h"
#include "gradc/Ops/OpDef.h"
#include "gradc/Transforms/Passes.h"

#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>

namespace gradc {
namespace {

using ValueMap = std::map<const Value *, Tensor>;

bool scalarOutput(const Function &f) {
  return f.resultTypes.size() == 1 && f.resultTypes[0].isScalar();
}

/// A copy of `f` in `m`.
Function *cloneInto(Module &m, const Function &f) {
  Function *c = m.addFunction(f.name);
  std::vector<Value *> args;
  for (const Value *a : f.args)
    args.push_back(c->addArg(a->name, a->type));
  Builder b(*c);
  c->results = b.inlineCall(f, args);
  c->resultTypes = f.resultTypes;
  return c;
}

/// A copy of `f` in `m` where each op result v is replaced by v + eps_v, with
/// one new argument eps_v per op after `f`'s arguments.
Function *perturbedInto(Module &m, const Function &f) {
  Function *p = m.addFunction(f.name);
  std::unordered_map<const Value *, Value *> map;
  for (const Value *a : f.args)
    map[a] = p->addArg(a->name, a->type);
  Builder b(*p);
  for (const auto &op : f.ops) {
    auto copy = std::make_unique<Op>(*op);
    for (Value *&v : copy->operands)
      v = map.at(v);
    Value *r = p->newValue(p->uniqueName(op->result->name), op->result->type);
    copy->result = r;
    r->def = copy.get();
    p->ops.push_back(std::move(copy));
    Value *eps = p->addArg(p->uniqueName(op->result->name + ".eps"), r->type);
    map[op->result] = b.add(r, eps);
  }
  for (const Value *r : f.results)
    p->results.push_back(map.at(r));
  p->resultTypes = f.resultTypes;
  return p;
}

/// Builds and simplifies the reverse-mode function of `f` in `m`.
llvm::Expected<Function *> adjoint(Module &m, const Function &f,
                                   std::vector<std::string> wrt) {
  GradOptions o;
  o.wrt = std::move(wrt);
  o.vjp = !scalarOutput(f);
  auto g = buildGradient(m, f, o);
  if (g)
    PassManager(simplificationPipeline()).run(**g);
  return g;
}

/// Evaluates `f` keeping every value (the interpreter returns only results).
llvm::Expected<ValueMap> evaluateAll(const Function &f,
                                     std::vector<Tensor> args) {
  if (auto r = evaluate(f, args); !r) // the interpreter's checks and limits
    return r.takeError();
  auto syms = bindArguments(f, args);
  if (!syms)
    return syms.takeError();
  ValueMap env;
  for (size_t i = 0; i < args.size(); ++i)
    env[f.args[i]] = args[i];
  for (const auto &op : f.ops) {
    std::vector<const Tensor *> in;
    for (const Value *v : op->operands)
      in.push_back(&env.at(v));
    env[op->result] = opDef(op->kind).eval(*op, in, *syms);
  }
  return env;
}

/// The seed 1 of a scalar output, or the cotangents given after the
/// arguments.
std::vector<Tensor> cotangents(const Function &f,
                               const std::vector<Tensor> &given) {
  if (scalarOutput(f))
    return {Tensor::scalar(f.resultTypes[0].dtype, 1.0)};
  return {given.begin() + f.args.size(), given.end()};
}

/// dL/dv for every argument and op result of `f`.
llvm::Expected<ValueMap> gradients(const Function &f,
                                   const std::vector<Tensor> &given) {
  Module m;
  Function *p = perturbedInto(m, f);
  auto g = adjoint(m, *p, {});
  if (!g)
    return g.takeError();
  std::vector<Tensor> in(given.begin(), given.begin() + f.args.size());
  auto syms = bindArguments(f, in);
  if (!syms)
    return syms.takeError();
  for (size_t i = f.args.size(); i < p->args.size(); ++i) {
    in.push_back(
        Tensor(p->args[i]->type.dtype, resolve(p->args[i]->type.dims, *syms)));
  }
  for (Tensor &t : cotangents(f, given))
    in.push_back(std::move(t));
  auto outs = evaluate(**g, in);
  if (!outs)
    return outs.takeError();
  ValueMap grads;
  size_t base = f.results.size();
  for (size_t i = 0; i < f.args.size(); ++i)
    grads[f.args[i]] = (*outs)[base + i];
  for (size_t i = 0; i < f.ops.size(); ++i)
    grads[f.ops[i]->result] = (*outs)[base + f.args.size() + i];
  return grads;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

/// Elements of `t` from `pos` as a nested list along `dim`.
std::string nested(const Tensor &t, size_t dim, int64_t &pos) {
  if (dim == t.rank())
    return number(t.data[pos++]);
  std::string s = "[";
  for (int64_t i = 0; i < t.shape[dim]; ++i)
    s += (i ? ", " : "") + nested(t, dim + 1, pos);
  return s + "]";
}

/// A short rendering of a value: numbers with 4 significant digits, small
/// tensors as nested lists, larger ones elided.
std::string show(const Tensor &t) {
  int64_t pos = 0;
  return t.size() > 6 ? "[...]" : nested(t, 0, pos);
}

/// Writes the nodes and edges of one function as a cluster.
class ClusterWriter {
public:
  ClusterWriter(llvm::raw_ostream &os, const Function &f, std::string prefix)
      : os(os), f(f), prefix(std::move(prefix)) {}
  const ValueMap *values = nullptr, *grads = nullptr;
  size_t numPrimalArgs = 0;         // later arguments are cotangents
  const Function *primal = nullptr; // set when drawing @f.grad
  std::vector<std::string> outputLabels;

  void write(const std::string &title) {
    os << "  subgraph \"cluster_" << prefix << "\" {\n    label=\"" << title
       << "\";\n";
    markAdjoint();
    for (const Value *a : f.args) {
      bool cot = size_t(a->argIndex) >= numPrimalArgs;
      os << "    " << id(a) << " [label=\"" << a->name
         << (cot ? "\\n(cotangent)" : "") << "\", shape=ellipse"
         << (cot ? ", color=red, fontcolor=red" : "") << "];\n";
    }
    for (const auto &op : f.ops)
      node(*op);
    for (size_t i = 0; i < f.results.size(); ++i)
      os << "    \"" << prefix << ":return" << i << "\" [label=\""
         << outputLabels[i] << "\", shape=plaintext];\n";
    for (const auto &op : f.ops)
      for (const Value *o : op->operands)
        edge(o, id(op->result));
    for (size_t i = 0; i < f.results.size(); ++i)
      edge(f.results[i], "\"" + prefix + ":return" + std::to_string(i) + "\"");
    os << "  }\n";
  }

private:
  llvm::raw_ostream &os;
  const Function &f;
  std::string prefix;
  std::set<const Value *> adj; // values computed from a cotangent

  std::string id(const Value *v) {
    return "\"" + prefix + ":%" + v->name + "\"";
  }

  /// The adjoint's own ops: those computed from a cotangent, and (when
  /// drawing @f.grad) those with no counterpart of the same name in @f.
  void markAdjoint() {
    for (const Value *a : f.args)
      if (size_t(a->argIndex) >= numPrimalArgs)
        adj.insert(a);
    for (const auto &op : f.ops) {
      const Value *same = primal ? primal->lookup(op->result->name) : nullptr;
      if (primal && (!same || same->isArg() || same->def->kind != op->kind))
        adj.insert(op->result);
      for (const Value *o : op->operands)
        if (adj.count(o))
          adj.insert(op->result);
    }
  }

  void node(const Op &op) {
    std::string label = mnemonic(op.kind).str() + "\\n%" + op.result->name;
    std::string style = "shape=box, style=\"rounded,filled\", fillcolor=";
    std::string fill = "\"#f2f2f2\"";
    if (adj.count(op.result)) {
      fill = "\"#fde8e8\"";
      if (op.kind == OpKind::Add) {
        label += "\\nfan-out sum";
        fill = "\"#ffd8a8\"";
      } else if (op.kind == OpKind::Transpose) {
        label += "\\nadjoint transpose";
        fill = "\"#c5dbff\"";
      } else if (op.kind == OpKind::Sum) {
        label += "\\nbroadcast reduction";
        fill = "\"#c8f0c8\"";
      }
    }
    os << "    " << id(op.result) << " [label=\"" << label << "\", " << style
       << fill << "];\n";
  }

  void edge(const Value *v, const std::string &to) {
    std::string label =
        "<font point-size=\"9\" color=\"gray40\">" + v->type.str() + "</font>";
    if (values && values->count(v))
      label += "<br/>" + show(values->at(v));
    if (grads && grads->count(v))
      label += "<br/><font color=\"red\">" + show(grads->at(v)) + "</font>";
    os << "    " << id(v) << " -> " << to << " [label=<" << label << ">];\n";
  }
};

} // namespace

std::vector<std::string> cotangentNames(const Function &f) {
  if (scalarOutput(f))
    return {};
  Module m;
  Function *c = cloneInto(m, f);
  GradOptions o;
  o.vjp = true;
  auto g = buildGradient(m, *c, o);
  std::vector<std::string> names;
  if (!g) {
    llvm::consumeError(g.takeError());
    return names;
  }
  for (size_t i = f.args.size(); i < (*g)->args.size(); ++i)
    names.push_back((*g)->args[i]->name);
  return names;
}

llvm::Error writeDot(const Function &f, const DotOptions &opts,
                     llvm::raw_ostream &os) {
  bool withValues = !opts.args.empty();
  ValueMap values, grads;
  if (withValues) {
    std::vector<Tensor> in(opts.args.begin(),
                           opts.args.begin() + f.args.size());
    auto v = evaluateAll(f, in);
    if (!v)
      return v.takeError();
    values = std::move(*v);
    auto g = gradients(f, opts.args);
    if (!g)
      return g.takeError();
    grads = std::move(*g);
  }
  os << "digraph \"" << f.name << "\" {\n  rankdir=LR;\n"
     << "  node [fontname=\"Helvetica\", fontsize=11];\n"
     << "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  ClusterWriter fw(os, f, "f");
  fw.numPrimalArgs = f.args.size();
  for (const Value *r : f.results)
    fw.outputLabels.push_back("output " + r->name);
  if (withValues) {
    fw.values = &values;
    fw.grads = &grads;
  }
  fw.write("@" + f.name +
           (withValues ? ": value (black), gradient (red)" : ""));
  if (!opts.grad.empty()) {
    Module m;
    Function *c = cloneInto(m, f);
    auto g = adjoint(m, *c, opts.grad);
    if (!g)
      return g.takeError();
    ValueMap gvalues;
    ClusterWriter gw(os, **g, "g");
    gw.numPrimalArgs = f.args.size();
    gw.primal = &f;
    for (size_t i = 0; i < (*g)->results.size(); ++i)
      gw.outputLabels.push_back(
          i < f.results.size() ? "output " + f.results[i]->name
                               : "gradient " + opts.grad[i - f.results.size()]);
    if (withValues) {
      std::vector<Tensor> in(opts.args.begin(),
                             opts.args.begin() + f.args.size());
      for (Tensor &t : cotangents(f, opts.args))
        in.push_back(std::move(t));
      auto v = evaluateAll(**g, in);
      if (!v)
        return v.takeError();
      gvalues = std::move(*v);
      gw.values = &gvalues;
    }
    gw.write("@" + (*g)->name +
             ": the adjoint (orange: fan-out sums, blue: transposes, green: "
             "broadcast reductions)");
  }
  os << "}\n";
  return llvm::Error::success();
}

} // namespace gradc
