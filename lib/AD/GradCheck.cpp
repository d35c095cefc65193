//===- GradCheck.cpp - Finite-difference gradient checking ----------------===//
#include "gradc/AD/GradCheck.h"
#include "gradc/AD/Autodiff.h"
#include "gradc/Interp/Interpreter.h"
#include "gradc/Ops/Builder.h"
#include "gradc/Transforms/Passes.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <unordered_map>

namespace gradc {

bool CheckReport::ok() const {
  return std::all_of(rows.begin(), rows.end(),
                     [](const CheckRow &r) { return r.ok; });
}

/// Promotes `f` and, under the same names, every function it calls (or
/// whose custom VJP it uses), once each: first every function's signature,
/// then the bodies (no recursion: call chains may be deep).
Function *promoteToF64(Module &m, const Function &f) {
  // Integer values (indices, labels) keep their type.
  auto promote = [](DType t) { return isFloat(t) ? DType::F64 : t; };
  std::unordered_map<const Function *, Function *> done;
  std::vector<const Function *> order = {&f};
  done[&f] = nullptr;
  for (size_t i = 0; i < order.size(); ++i) {
    auto reach = [&](const Function *c) {
      if (c && done.emplace(c, nullptr).second)
        order.push_back(c);
    };
    for (const auto &op : order[i]->ops)
      for (const Function *c : op->calleeFns)
        reach(c);
    reach(order[i]->customVjpFn);
  }
  for (const Function *src : order) {
    Function *g = m.addFunction(src->name);
    for (Value *a : src->args)
      g->addArg(a->name, Type{promote(a->type.dtype), a->type.dims});
    for (const Type &t : src->resultTypes)
      g->resultTypes.push_back(Type{promote(t.dtype), t.dims});
    g->customVjp = src->customVjp;
    done[src] = g;
  }
  for (const Function *src : order) {
    Function *g = done[src];
    Builder b(*g);
    g->results = b.inlineCall(*src, g->args);
    for (auto &op : g->ops) {
      for (Value *r : op->allResults())
        r->type.dtype = promote(r->type.dtype);
      op->constValue.dtype = promote(op->constValue.dtype);
      if (op->declaredType)
        op->declaredType->dtype = promote(op->declaredType->dtype);
      for (Function *&c : op->calleeFns)
        c = done.at(c);
    }
    if (src->customVjpFn)
      g->customVjpFn = done.at(src->customVjpFn);
  }
  return done[&f];
}

namespace {

llvm::Error fail(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// sum_i <u_i, outs_i>
double project(const std::vector<Tensor> &outs, const std::vector<Tensor> &u) {
  double s = 0;
  for (size_t i = 0; i < u.size(); ++i)
    for (int64_t k = 0; k < u[i].size(); ++k)
      s += u[i].data[k] * outs[i].data[k];
  return s;
}

class Checker {
public:
  Checker(const Function &f, const CheckOptions &opts)
      : opts_(opts), rng_(opts.seed) {
    f_ = promoteToF64(m_, f);
  }

  llvm::Expected<CheckReport> run() {
    for (const auto &[name, value] : opts_.pinned)
      if (!f_->lookup(name) || !llvm::is_contained(f_->args, f_->lookup(name)))
        return fail(noSuchArgument(*f_, name));
    std::vector<std::string> wrtNames = opts_.wrt;
    if (wrtNames.empty()) {
      for (Value *a : f_->args)
        if (!opts_.pinned.count(a->name) && a->type.isFloat())
          wrtNames.push_back(a->name);
      if (wrtNames.empty())
        return fail("'@" + f_->name +
                    "' has no floating-point argument that is not pinned; "
                    "nothing is left to check");
    }
    auto wrt = resolveWrt(*f_, wrtNames);
    if (!wrt)
      return wrt.takeError();
    wrt_ = *wrt;
    // The pinned arguments bind their symbolic dims; the others are sampled,
    // then the inputs and the cotangents.
    if (auto e = bindPinned())
      return e;
    std::uniform_int_distribution<int64_t> size(2, 4);
    for (Value *a : f_->args)
      for (const Dim &d : a->type.dims)
        if (d.isSym() && !syms_.count(d.sym)) {
          syms_[d.sym] = size(rng_);
          report_.dims.push_back({d.sym, syms_[d.sym]});
        }
    if (auto e = sampleInputs())
      return e;
    for (const Type &t : f_->resultTypes)
      cot_.push_back(isFloat(t.dtype) ? random(t, false)
                                      : Tensor(t.dtype, shapeOf(t), 0.0));
    if (auto e = checkReverse())
      return e;
    if (auto e = checkForward())
      return e;
    return report_;
  }

private:
  Shape shapeOf(const Type &t) { return resolve(t.dims, syms_); }
  /// |x| in [0.1, 2], random sign unless `positive`; an integer (an index)
  /// is 0 or 1, valid for every sampled dim.
  Tensor random(const Type &t, bool positive) {
    Tensor r(DType::F64, shapeOf(t));
    if (isInt(t.dtype)) {
      for (double &x : r.data)
        x = double(rng_() % 2);
      return r;
    }
    std::uniform_real_distribution<double> mag(0.1, 2.0);
    for (double &x : r.data)
      x = mag(rng_) * (positive || rng_() % 2 ? 1 : -1);
    return r;
  }
  llvm::Expected<std::vector<Tensor>> eval(const Function &f,
                                           std::vector<Tensor> args) {
    return evaluate(f, std::move(args));
  }
  static bool finite(const std::vector<Tensor> &ts) {
    for (const Tensor &t : ts)
      for (double x : t.data)
        if (!std::isfinite(x))
          return false;
    return true;
  }

  /// Checks the pinned values' shapes (as bindArguments does) and binds
  /// their symbolic dims.
  llvm::Error bindPinned() {
    llvm::StringMap<std::string> boundBy;
    for (Value *a : f_->args) {
      auto it = opts_.pinned.find(a->name);
      if (it == opts_.pinned.end())
        continue;
      report_.pinned.push_back(a->name);
      const Tensor &t = it->second;
      const Type &ty = a->type;
      bool ok = t.rank() == ty.rank();
      for (size_t d = 0; ok && d < ty.rank(); ++d) {
        const Dim &dim = ty.dims[d];
        if (!dim.isSym()) {
          ok = dim.size == t.shape[d];
          continue;
        }
        auto [s, fresh] = syms_.try_emplace(dim.sym, t.shape[d]);
        if (fresh) {
          boundBy[dim.sym] = a->name;
          report_.dims.push_back({dim.sym, t.shape[d]});
        } else if (s->second != t.shape[d]) {
          return fail("symbolic dimension '" + dim.sym + "' is " +
                      llvm::Twine(s->second) + " in '%" + boundBy[dim.sym] +
                      "' but " + llvm::Twine(t.shape[d]) + " in '%" + a->name +
                      "'");
        }
      }
      if (!ok) {
        std::string shape = "[";
        for (size_t d = 0; d < t.shape.size(); ++d)
          shape += (d ? "," : "") + std::to_string(t.shape[d]);
        return fail("argument '%" + a->name + "' has type " + ty.str() +
                    " but the value has shape " + shape + "]");
      }
    }
    return llvm::Error::success();
  }

  llvm::Error sampleInputs() {
    for (bool positive : {false, true}) {
      x_.clear();
      for (Value *a : f_->args) {
        auto it = opts_.pinned.find(a->name);
        if (it == opts_.pinned.end()) {
          x_.push_back(random(a->type, positive));
          continue;
        }
        x_.push_back(it->second);
        x_.back().dtype = DType::F64;
      }
      auto outs = eval(*f_, x_);
      if (!outs)
        return outs.takeError();
      if (finite(*outs))
        return llvm::Error::success();
    }
    return fail("'@" + f_->name +
                "' is not finite at the sampled inputs; try another --seed");
  }

  double loss(const std::vector<Tensor> &x) {
    auto outs = eval(*f_, x);
    if (!outs) {
      llvm::consumeError(outs.takeError());
      return NAN;
    }
    return project(*outs, cot_);
  }
  double step(double x) const { return 1e-6 * std::max(1.0, std::fabs(x)); }

  void simplify(Function &g) {
    if (opts_.simplify)
      PassManager(simplificationPipeline()).run(g);
  }

  llvm::Error checkReverse() {
    GradOptions go;
    go.vjp = true;
    go.primalResults = false;
    go.name = f_->name + ".vjp";
    for (unsigned i : wrt_)
      go.wrt.push_back(f_->args[i]->name);
    auto g = buildGradient(m_, *f_, go);
    if (!g)
      return g.takeError();
    simplify(**g);
    std::vector<Tensor> args = x_;
    args.insert(args.end(), cot_.begin(), cot_.end());
    auto grads = eval(**g, args);
    if (!grads)
      return grads.takeError();
    for (size_t k = 0; k < wrt_.size(); ++k) {
      unsigned i = wrt_[k];
      const Tensor &analytic = (*grads)[k];
      double worst = 0;
      bool exercised = false;
      for (int64_t e = 0; e < x_[i].size(); ++e) {
        std::vector<Tensor> xp = x_, xm = x_;
        double h = step(x_[i].data[e]);
        xp[i].data[e] += h;
        xm[i].data[e] -= h;
        double numeric = (loss(xp) - loss(xm)) / (2 * h);
        worst = std::max(worst, relError(analytic.data[e], numeric));
        exercised |= analytic.data[e] != 0 || numeric != 0;
      }
      addRow(f_->args[i]->name, Type{DType::F64, dimsOf(x_[i].shape)}, worst,
             exercised);
    }
    return llvm::Error::success();
  }

  llvm::Error checkForward() {
    std::vector<std::string> names;
    for (unsigned i : wrt_)
      names.push_back(f_->args[i]->name);
    auto j = buildJvp(m_, *f_, names, f_->name + ".jvp");
    if (!j)
      return j.takeError();
    simplify(**j);
    std::vector<Tensor> t, args = x_;
    for (unsigned i : wrt_)
      t.push_back(random(f_->args[i]->type, false));
    args.insert(args.end(), t.begin(), t.end());
    auto outs = eval(**j, args);
    if (!outs)
      return outs.takeError();
    // Numeric J t, projected on the cotangents: d/de L(x + e t).
    double h = 1e-6;
    std::vector<Tensor> xp = x_, xm = x_;
    for (size_t k = 0; k < wrt_.size(); ++k)
      for (int64_t e = 0; e < t[k].size(); ++e) {
        xp[wrt_[k]].data[e] += h * t[k].data[e];
        xm[wrt_[k]].data[e] -= h * t[k].data[e];
      }
    double numeric = (loss(xp) - loss(xm)) / (2 * h);
    std::vector<Tensor> tangents(outs->begin() + f_->results.size(),
                                 outs->end());
    double analytic = project(tangents, cot_);
    addRow("jvp", "(random tangent of the checked arguments)",
           relError(analytic, numeric), analytic != 0 || numeric != 0);
    return llvm::Error::success();
  }

  static double relError(double a, double n) {
    if (std::isnan(a) || std::isnan(n))
      return INFINITY;
    return std::fabs(a - n) / std::max(1.0, std::fabs(n));
  }
  static std::vector<Dim> dimsOf(const Shape &s) {
    std::vector<Dim> d;
    for (int64_t n : s)
      d.push_back(Dim::fixed(n));
    return d;
  }
  void addRow(std::string what, const Type &t, double err, bool exercised) {
    addRow(std::move(what), t.str(), err, exercised);
  }
  void addRow(std::string what, std::string type, double err, bool exercised) {
    report_.rows.push_back({std::move(what), std::move(type), err,
                            err <= opts_.tolerance, exercised});
  }

  const CheckOptions &opts_;
  std::mt19937_64 rng_;
  Module m_;
  Function *f_;
  std::vector<unsigned> wrt_;
  SymEnv syms_;
  std::vector<Tensor> x_, cot_;
  CheckReport report_;
};

} // namespace

llvm::Expected<CheckReport> gradCheck(const Function &f,
                                      const CheckOptions &opts) {
  return Checker(f, opts).run();
}

} // namespace gradc
