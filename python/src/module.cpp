//===- module.cpp - The gradc Python module (gradc._gradc) ----------------===//
//
// A Module holds a parsed, verified .gir module. Each callable it hands out
// (m["f"], m.value_and_grad(...), m.vjp(...), m.jvp(...)) owns a private copy
// of the module with the derived function added, JIT-compiled once with the
// public gradc::Jit and cached by the Module. A call checks its numpy
// arguments against the signature, binds the symbolic dims from their shapes,
// passes C-contiguous arrays of the parameter's dtype by pointer (no copy),
// allocates the results, and runs the packed entry point with the GIL
// released. See docs/python.md.
//
//===----------------------------------------------------------------------===//
#include "gradc/AD/Autodiff.h"
#include "gradc/AD/GradCheck.h"
#include "gradc/Codegen/Jit.h"
#include "gradc/CppGen/CppEmitter.h"
#include "gradc/IR/ABI.h"
#include "gradc/IR/Inline.h"
#include "gradc/IR/Printer.h"
#include "gradc/Interp/Interpreter.h"
#include "gradc/Parser/Parser.h"
#include "gradc/Transforms/Passes.h"
#include "gradc/Verifier/Verifier.h"
#include "gradc/Viz/Dot.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#define PY_ARRAY_UNIQUE_SYMBOL gradc_ARRAY_API
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>

namespace py = pybind11;
using namespace gradc;

namespace {

/// Most bytes of results and intermediate buffers one call may use (as
/// gradc::Jit::call).
constexpr int64_t kMaxCallBytes = int64_t(16) << 30;

PyObject *compileErrorType = nullptr;

[[noreturn]] void raise(PyObject *type, const std::string &msg) {
  PyErr_SetString(type, msg.c_str());
  throw py::error_already_set();
}

/// A shape as Python prints it: (3, 4), (3,), ().
std::string shapeStr(llvm::ArrayRef<int64_t> s) {
  std::string r;
  llvm::raw_string_ostream os(r);
  os << "(";
  for (size_t i = 0; i < s.size(); ++i)
    os << (i ? ", " : "") << s[i];
  os << (s.size() == 1 ? ",)" : ")");
  return r;
}

int npyType(DType t) {
  switch (t) {
  case DType::F32:
    return NPY_FLOAT32;
  case DType::F64:
    return NPY_FLOAT64;
  case DType::I32:
    return NPY_INT32;
  case DType::I64:
    return NPY_INT64;
  }
  return NPY_FLOAT64;
}
const char *npyName(DType t) {
  switch (t) {
  case DType::F32:
    return "float32";
  case DType::F64:
    return "float64";
  case DType::I32:
    return "int32";
  case DType::I64:
    return "int64";
  }
  return "float64";
}
size_t elemSize(DType t) { return dtypeSize(t); }

/// A parsed and verified module with its source, for the diagnostics.
struct Parsed {
  std::unique_ptr<llvm::SourceMgr> sm = std::make_unique<llvm::SourceMgr>();
  std::unique_ptr<Module> mod;
};

/// Parses and verifies `text`; on error, `diags` holds the clang-style text.
Parsed parse(const std::string &text, const std::string &bufferName,
             std::string &diags) {
  Parsed p;
  p.sm->AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, bufferName), llvm::SMLoc());
  llvm::raw_string_ostream os(diags);
  DiagEngine diag(*p.sm, os);
  p.mod = parseModule(diag);
  if (p.mod && !verify(*p.mod, diag))
    p.mod.reset();
  return p;
}

void simplify(Function &f) { PassManager(simplificationPipeline()).run(f); }

/// How the results of a compiled function are returned.
enum class Kind {
  Plain,        // outputs (one array, or a tuple)
  ValueAndGrad, // (outputs, {wrt: gradient}); the seed 1 is passed here
  Vjp,          // (outputs, {wrt: gradient}); cotangents are arguments
  Jvp,          // (outputs, tangents of the outputs)
};

/// One compiled function: its private module, its JIT, its entry point and
/// what a call needs to know about its signature.
struct Compiled {
  std::shared_mutex mu; // calls share it; Module.close() takes it alone
  Parsed parsed;
  std::unique_ptr<Jit> jit;
  Jit::PackedFn fn = nullptr;
  const Function *target = nullptr;
  bool fromCache = false; // the object code came from the compile cache

  Kind kind = Kind::Plain;
  std::string userName;   // the function the user asked for (no '@')
  size_t numUserArgs = 0; // arguments the caller passes
  size_t numOutputs = 0;  // results of the user's function
  std::vector<std::string> gradNames; // ValueAndGrad, Vjp
  std::vector<std::string> argNames;
  std::vector<Type> argTypes;
  std::vector<std::vector<int>> argDimSym; // per arg dim: -1 or symbol index
  std::vector<std::string> dimNames;
  std::vector<std::vector<int>> resDimSym;
  bool hasSymbols = false;
  int64_t staticBytes = 0; // with no symbolic dims: results + workspace
};

/// The state a Module and its callables share.
struct State {
  std::string source, bufferName;
  bool useCache = true; // the JIT's persistent compile cache
  Parsed parsed;
  std::atomic<bool> closed{false};
  std::mutex mu; // guards `cache` and compiling into it
  std::map<std::string, std::shared_ptr<Compiled>> cache;
};

[[noreturn]] void raiseClosed() {
  raise(PyExc_ValueError, "the gradc module is closed");
}

/// Fills the signature fields of `c` from its target.
void describe(Compiled &c) {
  const Function &f = *c.target;
  c.dimNames = symbolicDims(f);
  auto symIndex = [&](const Dim &d) {
    if (!d.isSym())
      return -1;
    for (size_t i = 0; i < c.dimNames.size(); ++i)
      if (c.dimNames[i] == d.sym)
        return int(i);
    return -2; // a result dim that no argument binds (the verifier refuses it)
  };
  c.hasSymbols = !c.dimNames.empty();
  for (const Value *a : f.args) {
    c.argNames.push_back(a->name);
    c.argTypes.push_back(a->type);
    std::vector<int> s;
    for (const Dim &d : a->type.dims)
      s.push_back(symIndex(d));
    c.argDimSym.push_back(std::move(s));
  }
  for (const Type &t : f.resultTypes) {
    std::vector<int> s;
    for (const Dim &d : t.dims)
      s.push_back(symIndex(d));
    c.resDimSym.push_back(std::move(s));
  }
  if (!c.hasSymbols) {
    c.staticBytes = workspaceBytes(f, SymEnv());
    for (const Type &t : f.resultTypes)
      c.staticBytes += t.numElements() * elemSize(t.dtype);
  }
}

/// Builds @fname (or its derivative, by `kind`) in a fresh copy of the
/// module and JIT-compiles it into `c`. Runs without the GIL; returns the
/// error text ("" on success), `userError` telling a bad `wrt` or function
/// from a failure to compile.
std::string build(State &st, Compiled &c, const std::string &fname, Kind kind,
                  const std::vector<std::string> &wrt, bool &userError) {
  std::string diags;
  c.parsed = parse(st.source, st.bufferName, diags);
  if (!c.parsed.mod)
    return "cannot re-parse the module: " + diags;
  Module &m = *c.parsed.mod;
  Function *f = m.lookup(fname);
  c.kind = kind;
  c.userName = fname;
  c.numOutputs = f->resultTypes.size();
  c.numUserArgs = f->args.size();
  Function *target = f;
  userError = true;
  if (kind != Kind::Plain) {
    auto idx = resolveWrt(*f, wrt);
    if (!idx)
      return llvm::toString(idx.takeError());
    for (unsigned i : *idx)
      c.gradNames.push_back(f->args[i]->name);
  }
  if (kind == Kind::ValueAndGrad || kind == Kind::Vjp) {
    GradOptions opts;
    opts.wrt = c.gradNames;
    opts.vjp = kind == Kind::Vjp;
    auto g = buildGradient(m, *f, opts);
    if (!g)
      return llvm::toString(g.takeError());
    target = *g;
  } else if (kind == Kind::Jvp) {
    auto j = buildJvp(m, *f, c.gradNames);
    if (!j)
      return llvm::toString(j.takeError());
    target = *j;
  }
  if (target != f)
    simplify(*target);
  inlineCalls(m); // the JIT sees calls inlined
  if (kind == Kind::Vjp || kind == Kind::Jvp)
    c.numUserArgs = target->args.size();
  userError = false;
  c.target = target;
  LowerOptions lo;
  lo.only = target;
  lo.cache = st.useCache;
  auto jit = Jit::create(m, lo);
  if (!jit)
    return "cannot compile '@" + target->name +
           "': " + llvm::toString(jit.takeError());
  auto fn = (*jit)->lookup(*target);
  if (!fn)
    return "cannot compile '@" + target->name +
           "': " + llvm::toString(fn.takeError());
  c.fromCache = (*jit)->fromCache();
  c.jit = std::move(*jit);
  c.fn = *fn;
  describe(c);
  return "";
}

/// A compiled function as Python sees it.
class Callable {
public:
  Callable(std::shared_ptr<State> st, std::shared_ptr<Compiled> c)
      : st_(std::move(st)), c_(std::move(c)) {}

  /// The argument pointers and symbolic dims of one call.
  struct Bound {
    std::vector<void *> in;
    std::vector<int64_t> dims;
    std::vector<py::object> keep; // converted arguments
    std::vector<double> scalars;  // Python numbers, stored in place
  };

  /// Checks and binds the arguments of one call (with the GIL).
  void bind(const py::args &args, const py::kwargs &kwargs, Bound &b) const {
    const Compiled &c = *c_;
    size_t n = c.numUserArgs;
    std::vector<PyObject *> given(n, nullptr);
    if (args.size() > n)
      raise(PyExc_TypeError, c.userName + "() takes " + std::to_string(n) +
                                 " argument(s) " + paramList(n) + " but " +
                                 std::to_string(args.size()) + " were given");
    for (size_t i = 0; i < args.size(); ++i)
      given[i] = args[i].ptr();
    for (auto [k, v] : kwargs) {
      std::string name = py::cast<std::string>(k);
      size_t i = 0;
      while (i < n && c.argNames[i] != name)
        ++i;
      if (i == n)
        raise(PyExc_TypeError, c.userName + "() got an unexpected argument '" +
                                   name + "'; its arguments are " +
                                   paramList(n));
      if (given[i])
        raise(PyExc_TypeError, c.userName +
                                   "() got multiple values for argument '" +
                                   name + "'");
      given[i] = v.ptr();
    }
    std::string missing;
    for (size_t i = 0; i < n; ++i)
      if (!given[i])
        missing += (missing.empty() ? "'" : ", '") + c.argNames[i] + "'";
    if (!missing.empty())
      raise(PyExc_TypeError,
            c.userName + "() is missing argument(s) " + missing);

    b.in.resize(c.argTypes.size());
    b.dims.assign(c.dimNames.size(), -1);
    b.scalars.resize(c.argTypes.size());
    std::vector<int> boundBy(c.dimNames.size(), -1);
    for (size_t i = 0; i < n; ++i)
      b.in[i] = bindOne(i, given[i], b, boundBy);
    if (c.kind == Kind::ValueAndGrad) {
      // The seed cotangent 1 of the scalar output.
      size_t s = c.argTypes.size() - 1;
      if (c.argTypes[s].dtype == DType::F32) {
        float one = 1;
        std::memcpy(&b.scalars[s], &one, 4);
      } else {
        b.scalars[s] = 1;
      }
      b.in[s] = &b.scalars[s];
    }
  }

  py::object call(const py::args &args, const py::kwargs &kwargs) const {
    if (st_->closed)
      raiseClosed();
    const Compiled &c = *c_;
    Bound b;
    bind(args, kwargs, b);
    // Sizes and results.
    int64_t bytes = c.staticBytes;
    if (c.hasSymbols) {
      SymEnv syms;
      for (size_t i = 0; i < c.dimNames.size(); ++i)
        syms[c.dimNames[i]] = b.dims[i];
      bytes = workspaceBytes(*c.target, syms);
    }
    size_t nres = c.target->resultTypes.size();
    std::vector<py::object> res(nres);
    std::vector<void *> out(nres);
    double scalarOut[64];
    std::vector<double> moreScalars(nres > 64 ? nres : 0);
    double *scal = nres > 64 ? moreScalars.data() : scalarOut;
    for (size_t k = 0; k < nres; ++k) {
      const Type &t = c.target->resultTypes[k];
      if (t.isScalar()) {
        out[k] = &scal[k];
        bytes += 8;
        continue;
      }
      npy_intp shape[32];
      int64_t n = elemSize(t.dtype);
      for (size_t d = 0; d < t.rank(); ++d) {
        int s = c.resDimSym[k][d];
        shape[d] = s == -1 ? t.dims[d].size : s >= 0 ? b.dims[s] : 0;
        n = shape[d] > (int64_t(1) << 40) / std::max<int64_t>(n, 1)
                ? (int64_t(1) << 40)
                : n * shape[d];
      }
      bytes += n;
      if (bytes > kMaxCallBytes)
        break;
      PyObject *a = PyArray_SimpleNew(int(t.rank()), shape, npyType(t.dtype));
      if (!a)
        throw py::error_already_set();
      res[k] = py::reinterpret_steal<py::object>(a);
      out[k] = PyArray_DATA((PyArrayObject *)a);
    }
    if (bytes > kMaxCallBytes)
      raise(PyExc_MemoryError,
            c.userName + "() would need " + std::to_string(bytes >> 20) +
                " MiB of buffers for these sizes (the limit is " +
                std::to_string(kMaxCallBytes >> 20) + " MiB)");
    int rc = 0;
    bool closed = false;
    {
      py::gil_scoped_release nogil;
      std::shared_lock lock(c_->mu);
      if (!c.fn)
        closed = true;
      else
        rc = c.fn(b.in.data(), b.dims.data(), out.data());
    }
    if (closed)
      raiseClosed();
    if (rc == 3) // GRADC_BAD_INDEX
      raise(PyExc_IndexError, c.userName + "(): " + indexError(b));
    if (rc != 0)
      raise(PyExc_MemoryError,
            c.userName + "(): cannot allocate its intermediate buffers");
    for (size_t k = 0; k < nres; ++k) {
      const Type &t = c.target->resultTypes[k];
      if (!t.isScalar())
        continue;
      PyArray_Descr *descr = PyArray_DescrFromType(npyType(t.dtype));
      PyObject *s = PyArray_Scalar(out[k], descr, nullptr);
      Py_DECREF(descr);
      if (!s)
        throw py::error_already_set();
      res[k] = py::reinterpret_steal<py::object>(s);
    }
    return package(res);
  }

  /// Why a call returned GRADC_BAD_INDEX: the interpreter, run on the same
  /// arguments, stops at the same op and names it and the index.
  std::string indexError(const Bound &b) const {
    const Function &f = *c_->target;
    std::vector<Tensor> args;
    for (size_t i = 0; i < f.args.size(); ++i) {
      const Type &t = f.args[i]->type;
      std::vector<int64_t> shape;
      for (const Dim &d : t.dims)
        shape.push_back(
            d.isSym()
                ? b.dims[llvm::find(c_->dimNames, d.sym) - c_->dimNames.begin()]
                : d.size);
      Tensor x(t.dtype, shape);
      x.data.resize(numElements(shape));
      auto *p = static_cast<const char *>(b.in[i]);
      for (size_t e = 0; e < x.data.size(); ++e) {
        auto get = [&](auto v) {
          std::memcpy(&v, p + e * sizeof(v), sizeof(v));
          return double(v);
        };
        switch (t.dtype) {
        case DType::F32:
          x.data[e] = get(float());
          break;
        case DType::F64:
          x.data[e] = get(double());
          break;
        case DType::I32:
          x.data[e] = get(int32_t());
          break;
        case DType::I64:
          x.data[e] = get(int64_t());
          break;
        }
      }
      args.push_back(std::move(x));
    }
    auto r = evaluate(f, std::move(args));
    return r ? std::string("an index is out of range")
             : llvm::toString(r.takeError());
  }

  /// The pointers a call would pass for these arguments (for tests).
  std::vector<uintptr_t> inputPointers(const py::args &args,
                                       const py::kwargs &kwargs) const {
    if (st_->closed)
      raiseClosed();
    Bound b;
    bind(args, kwargs, b);
    std::vector<uintptr_t> r;
    for (size_t i = 0; i < c_->numUserArgs; ++i)
      r.push_back(reinterpret_cast<uintptr_t>(b.in[i]));
    return r;
  }

  std::string signature() const {
    std::string s;
    llvm::raw_string_ostream os(s);
    const Function &f = *c_->target;
    os << "func @" << f.name << "(";
    for (size_t i = 0; i < f.args.size(); ++i)
      os << (i ? ", %" : "%") << f.args[i]->name << ": "
         << f.args[i]->type.str();
    os << ") -> ";
    if (f.resultTypes.size() != 1)
      os << "(";
    for (size_t i = 0; i < f.resultTypes.size(); ++i)
      os << (i ? ", " : "") << f.resultTypes[i].str();
    if (f.resultTypes.size() != 1)
      os << ")";
    return s;
  }

  std::vector<std::string> parameters() const {
    return {c_->argNames.begin(), c_->argNames.begin() + c_->numUserArgs};
  }
  std::vector<std::string> parameterTypes() const {
    std::vector<std::string> r;
    for (size_t i = 0; i < c_->numUserArgs; ++i)
      r.push_back(c_->argTypes[i].str());
    return r;
  }
  std::vector<std::string> wrt() const { return c_->gradNames; }
  const std::string &name() const { return c_->userName; }
  bool fromCache() const { return c_->fromCache; }

private:
  std::string paramList(size_t n) const {
    std::string s = "(";
    for (size_t i = 0; i < n; ++i)
      s += (i ? ", " : "") + c_->argNames[i];
    return s + ")";
  }

  std::string typeShape(size_t i, const std::vector<int64_t> &dims) const {
    const Type &t = c_->argTypes[i];
    std::vector<int64_t> want;
    bool partial = false;
    for (size_t d = 0; d < t.rank(); ++d) {
      int s = c_->argDimSym[i][d];
      if (s < 0) {
        want.push_back(t.dims[d].size);
      } else if (dims[s] >= 0) {
        want.push_back(dims[s]);
      } else {
        partial = true;
        break;
      }
    }
    if (partial)
      return t.str();
    return t.str() + ", shape " + shapeStr(want);
  }

  /// Checks one argument; returns the pointer to pass.
  void *bindOne(size_t i, PyObject *obj, Bound &b,
                std::vector<int> &boundBy) const {
    const Compiled &c = *c_;
    const Type &t = c.argTypes[i];
    const std::string &name = c.argNames[i];
    PyArrayObject *arr = nullptr;
    if (PyArray_Check(obj)) {
      arr = (PyArrayObject *)obj;
      PyArray_Descr *d = PyArray_DESCR(arr);
      if (d->type_num != npyType(t.dtype) || !PyArray_ISNOTSWAPPED(arr))
        raise(PyExc_ValueError,
              c.userName + "(): argument '" + name + "' is a " +
                  py::str(py::handle((PyObject *)d)).cast<std::string>() +
                  " array of shape " +
                  shapeStr({PyArray_SHAPE(arr), size_t(PyArray_NDIM(arr))}) +
                  ", but its type " + t.str() + " needs " + npyName(t.dtype) +
                  " (gradc does not convert arrays; use " + name +
                  ".astype(numpy." + npyName(t.dtype) + "))");
      if (!PyArray_IS_C_CONTIGUOUS(arr) || !PyArray_ISALIGNED(arr))
        raise(PyExc_ValueError,
              c.userName + "(): argument '" + name + "' (shape " +
                  shapeStr({PyArray_SHAPE(arr), size_t(PyArray_NDIM(arr))}) +
                  ") is not a C-contiguous, aligned array; gradc passes "
                  "arrays without copying them (use numpy.ascontiguousarray(" +
                  name + "))");
    } else if (t.isScalar() && (PyFloat_Check(obj) || PyLong_Check(obj) ||
                                PyArray_IsScalar(obj, Number))) {
      // A number: converted, stored in the call's own slot.
      if (isInt(t.dtype)) {
        // An integer argument takes integers only (not 1.5, not 1.0).
        if (PyFloat_Check(obj) || PyArray_IsScalar(obj, Floating) ||
            PyArray_IsScalar(obj, ComplexFloating))
          raise(PyExc_TypeError, c.userName + "(): argument '" + name +
                                     "' of type " + t.str() +
                                     " must be an integer, not '" +
                                     std::string(Py_TYPE(obj)->tp_name) + "'");
        int overflow = 0;
        PyObject *idx = PyNumber_Index(obj);
        if (!idx)
          throw py::error_already_set();
        long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
        Py_DECREF(idx);
        if (v == -1 && PyErr_Occurred())
          throw py::error_already_set();
        if (overflow ||
            (t.dtype == DType::I32 && (v < INT32_MIN || v > INT32_MAX)))
          raise(PyExc_OverflowError, c.userName + "(): argument '" + name +
                                         "' does not fit in " + t.str());
        if (t.dtype == DType::I32) {
          int32_t x = int32_t(v);
          std::memcpy(&b.scalars[i], &x, 4);
        } else {
          int64_t x = v;
          std::memcpy(&b.scalars[i], &x, 8);
        }
        return &b.scalars[i];
      }
      double v = PyFloat_AsDouble(obj);
      if (v == -1.0 && PyErr_Occurred())
        throw py::error_already_set();
      if (t.dtype == DType::F32) {
        float x = float(v);
        std::memcpy(&b.scalars[i], &x, 4);
      } else {
        b.scalars[i] = v;
      }
      return &b.scalars[i];
    } else {
      // Lists and other array-likes: converted to an array of the type;
      // not None or text, which numpy would turn into NaN or parse.
      if (obj == Py_None || PyUnicode_Check(obj) || PyBytes_Check(obj))
        raise(PyExc_TypeError, c.userName + "(): argument '" + name +
                                   "' of type " + t.str() +
                                   " must be a numpy array or a number, not '" +
                                   std::string(Py_TYPE(obj)->tp_name) + "'");
      PyObject *conv = PyArray_FromAny(
          obj, PyArray_DescrFromType(npyType(t.dtype)), 0, 0,
          NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | NPY_ARRAY_FORCECAST,
          nullptr);
      if (!conv) {
        PyErr_Clear();
        raise(PyExc_TypeError, c.userName + "(): argument '" + name +
                                   "' of type " + t.str() +
                                   " must be a numpy array or a number, not '" +
                                   std::string(Py_TYPE(obj)->tp_name) + "'");
      }
      b.keep.push_back(py::reinterpret_steal<py::object>(conv));
      arr = (PyArrayObject *)conv;
    }
    int nd = PyArray_NDIM(arr);
    const npy_intp *shape = PyArray_SHAPE(arr);
    std::vector<int64_t> got(shape, shape + nd);
    auto mismatch = [&](const std::string &extra) {
      std::vector<int64_t> dims = b.dims;
      raise(PyExc_ValueError, c.userName + "(): argument '" + name +
                                  "' has shape " + shapeStr(got) +
                                  ", but its type is " + typeShape(i, dims) +
                                  extra);
    };
    if (size_t(nd) != t.rank())
      mismatch("");
    for (size_t d = 0; d < t.rank(); ++d) {
      int s = c.argDimSym[i][d];
      if (s < 0) {
        if (got[d] != t.dims[d].size)
          mismatch("");
        continue;
      }
      if (b.dims[s] < 0) {
        if (got[d] <= 0)
          raise(PyExc_ValueError,
                c.userName + "(): argument '" + name + "' has shape " +
                    shapeStr(got) + ", but its type " + t.str() +
                    " needs a positive size for '" + c.dimNames[s] + "'");
        b.dims[s] = got[d];
        boundBy[s] = int(i);
      } else if (b.dims[s] != got[d]) {
        mismatch(" (" + c.dimNames[s] + " = " + std::to_string(b.dims[s]) +
                 " from argument '" + c.argNames[boundBy[s]] + "')");
      }
    }
    return PyArray_DATA(arr);
  }

  py::object package(std::vector<py::object> &res) const {
    const Compiled &c = *c_;
    auto outputs = [&](size_t from, size_t n) -> py::object {
      if (n == 1)
        return res[from];
      py::tuple t(n);
      for (size_t k = 0; k < n; ++k)
        t[k] = res[from + k];
      return t;
    };
    switch (c.kind) {
    case Kind::Plain:
      return outputs(0, res.size());
    case Kind::ValueAndGrad:
    case Kind::Vjp: {
      py::dict g;
      for (size_t k = 0; k < c.gradNames.size(); ++k)
        g[py::str(c.gradNames[k])] = res[c.numOutputs + k];
      return py::make_tuple(outputs(0, c.numOutputs), g);
    }
    case Kind::Jvp:
      return py::make_tuple(outputs(0, c.numOutputs),
                            outputs(c.numOutputs, c.numOutputs));
    }
    return py::none();
  }

  std::shared_ptr<State> st_;
  std::shared_ptr<Compiled> c_;
};

/// A gradc.Module.
class PyModule {
public:
  PyModule(const std::string &text, const std::string &bufferName, bool cache)
      : st_(std::make_shared<State>()) {
    st_->source = text;
    st_->bufferName = bufferName;
    st_->useCache = cache;
    std::string diags;
    st_->parsed = parse(text, bufferName, diags);
    if (!st_->parsed.mod)
      raise(compileErrorType, diags);
  }

  void checkOpen() const {
    if (st_->closed)
      raiseClosed();
  }

  std::string text() const {
    checkOpen();
    std::string s;
    llvm::raw_string_ostream os(s);
    print(*st_->parsed.mod, os);
    return s;
  }

  std::vector<std::string> functions() const {
    checkOpen();
    std::vector<std::string> r;
    for (const auto &f : st_->parsed.mod->functions)
      r.push_back(f->name);
    return r;
  }

  /// The function named `name` (with or without '@'), or the only one.
  Function &function(const py::object &name) const {
    checkOpen();
    Module &m = *st_->parsed.mod;
    if (name.is_none()) {
      if (m.functions.size() == 1)
        return *m.functions[0];
      raise(PyExc_ValueError, "the module has " +
                                  std::to_string(m.functions.size()) +
                                  " functions; name one (" + nameList() + ")");
    }
    if (!py::isinstance<py::str>(name))
      raise(PyExc_TypeError, "a function name must be a str");
    llvm::StringRef n = llvm::StringRef(name.cast<std::string>()).ltrim('@');
    if (Function *f = m.lookup(n))
      return *f;
    PyErr_SetObject(PyExc_KeyError,
                    py::str("no function '@" + n.str() +
                            "' in the module; it has " + nameList())
                        .ptr());
    throw py::error_already_set();
  }

  static std::vector<std::string> wrtList(const py::object &wrt) {
    if (wrt.is_none())
      return {};
    if (py::isinstance<py::str>(wrt)) {
      std::vector<std::string> r;
      llvm::SmallVector<llvm::StringRef> parts;
      llvm::StringRef(wrt.cast<std::string>()).split(parts, ',');
      for (auto p : parts)
        r.push_back(p.trim().str());
      return r;
    }
    std::vector<std::string> r;
    for (py::handle h : wrt) {
      if (!py::isinstance<py::str>(h))
        raise(PyExc_TypeError, "wrt must be parameter names (str)");
      r.push_back(h.cast<std::string>());
    }
    if (r.empty())
      raise(PyExc_ValueError, "wrt is empty; leave it out (None) to "
                              "differentiate with respect to every parameter");
    return r;
  }

  Callable get(const py::object &fname, Kind kind, const py::object &wrtObj) {
    Function &f = function(fname);
    std::vector<std::string> wrt = wrtList(wrtObj);
    std::string key = std::to_string(int(kind)) + "|" + f.name;
    for (const std::string &w : wrt)
      key += "|" + w;
    std::string name = f.name, err;
    bool userError = false;
    std::shared_ptr<Compiled> c;
    {
      py::gil_scoped_release nogil;
      std::lock_guard lock(st_->mu);
      if (st_->closed) {
        err = "closed";
      } else if (auto it = st_->cache.find(key); it != st_->cache.end()) {
        c = it->second;
      } else {
        c = std::make_shared<Compiled>();
        err = build(*st_, *c, name, kind, wrt, userError);
        if (err.empty())
          st_->cache[key] = c;
      }
    }
    if (err == "closed")
      raiseClosed();
    if (!err.empty())
      raise(userError ? PyExc_ValueError : compileErrorType, err);
    return Callable(st_, c);
  }

  py::object check(const py::object &fname, const py::object &wrt,
                   uint64_t seed, double tol, bool simplify) {
    Function &f = function(fname);
    CheckOptions opts;
    opts.wrt = wrtList(wrt);
    opts.seed = seed;
    opts.tolerance = tol;
    opts.simplify = simplify;
    llvm::Expected<CheckReport> report = CheckReport();
    {
      py::gil_scoped_release nogil;
      std::lock_guard lock(st_->mu);
      report = gradCheck(f, opts);
    }
    if (!report)
      raise(PyExc_ValueError, llvm::toString(report.takeError()));
    py::module_ mod = py::module_::import("gradc");
    py::list rows;
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "checking @" << f.name << " against central differences (f64, seed "
       << seed << ")";
    py::dict dims;
    for (auto &[sym, n] : report->dims) {
      os << ", " << sym << "=" << n;
      dims[py::str(sym)] = n;
    }
    os << "\n";
    for (const CheckRow &r : report->rows) {
      os << llvm::format("  %-12s %-24s max rel error %.3e  %s\n",
                         r.what.c_str(), r.type.c_str(), r.maxRelError,
                         r.ok ? "ok" : "FAILED");
      rows.append(mod.attr("CheckRow")(r.what, r.type, r.maxRelError, r.ok));
    }
    return mod.attr("CheckReport")(report->ok(), dims, rows, text);
  }

  /// The module text with @f.grad (or @f.jvp) added, as `gradc grad`.
  std::string derivedText(const py::object &fname, const py::object &wrtObj,
                          bool vjp, bool forward, bool optimize) {
    Function &f0 = function(fname);
    std::vector<std::string> wrt = wrtList(wrtObj);
    std::string err, out;
    {
      py::gil_scoped_release nogil;
      std::string diags;
      Parsed p = parse(st_->source, st_->bufferName, diags);
      Function *f = p.mod->lookup(f0.name);
      GradOptions opts;
      opts.wrt = wrt;
      opts.vjp = vjp;
      llvm::Expected<Function *> g =
          forward ? buildJvp(*p.mod, *f, wrt) : buildGradient(*p.mod, *f, opts);
      if (!g) {
        err = llvm::toString(g.takeError());
      } else {
        if (optimize)
          simplify(**g);
        llvm::raw_string_ostream os(out);
        print(*p.mod, os);
      }
    }
    if (!err.empty())
      raise(PyExc_ValueError, err);
    return out;
  }

  std::string emitCppText(const std::string &headerName) {
    checkOpen();
    std::string out;
    llvm::raw_string_ostream os(out);
    if (auto e = emitCpp(*st_->parsed.mod, os, headerName))
      raise(compileErrorType, llvm::toString(std::move(e)));
    return out;
  }

  std::string cHeaderText(const std::string &guard) {
    checkOpen();
    return cHeader(*st_->parsed.mod, guard);
  }

  std::string dot(const py::object &fname, const py::object &grad,
                  const py::object &args) {
    Function &f = function(fname);
    DotOptions opts;
    opts.grad = wrtList(grad);
    if (!args.is_none()) {
      py::dict given = args.cast<py::dict>();
      std::vector<std::pair<std::string, Type>> params;
      for (const Value *a : f.args)
        params.push_back({a->name, a->type});
      std::vector<std::string> cot = cotangentNames(f);
      for (size_t i = 0; i < cot.size(); ++i)
        params.push_back({cot[i], f.resultTypes[i]});
      size_t used = 0;
      for (auto &[name, type] : params) {
        if (!given.contains(name))
          raise(PyExc_TypeError,
                "dot(): args has no value for '" + name + "' (it needs " +
                    std::to_string(params.size()) + " values)");
        ++used;
        PyObject *conv = PyArray_FromAny(
            given[py::str(name)].ptr(), PyArray_DescrFromType(NPY_FLOAT64), 0,
            0, NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | NPY_ARRAY_FORCECAST,
            nullptr);
        if (!conv) {
          PyErr_Clear();
          raise(PyExc_TypeError,
                "dot(): '" + name + "' is not a number or an array");
        }
        py::object keep = py::reinterpret_steal<py::object>(conv);
        auto *arr = (PyArrayObject *)conv;
        const double *data = (const double *)PyArray_DATA(arr);
        Tensor t;
        t.dtype = type.dtype;
        t.shape.assign(PyArray_SHAPE(arr),
                       PyArray_SHAPE(arr) + PyArray_NDIM(arr));
        t.data.assign(data, data + PyArray_SIZE(arr));
        opts.args.push_back(std::move(t));
      }
      if (used != given.size())
        raise(PyExc_TypeError, "dot(): args has values for names that '@" +
                                   f.name + "' does not have");
    }
    std::string out, err;
    {
      py::gil_scoped_release nogil;
      std::lock_guard lock(st_->mu);
      llvm::raw_string_ostream os(out);
      if (auto e = writeDot(f, opts, os))
        err = llvm::toString(std::move(e));
    }
    if (!err.empty())
      raise(PyExc_ValueError, err);
    return out;
  }

  void close() {
    py::gil_scoped_release nogil;
    std::lock_guard lock(st_->mu);
    st_->closed = true;
    for (auto &[key, c] : st_->cache) {
      std::unique_lock clock(c->mu);
      c->fn = nullptr;
      c->jit.reset();
    }
    st_->cache.clear();
  }
  bool closed() const { return st_->closed; }

private:
  std::string nameList() const {
    std::string s;
    for (const auto &f : st_->parsed.mod->functions)
      s += (s.empty() ? "@" : ", @") + f->name;
    return s;
  }

  std::shared_ptr<State> st_;
};

} // namespace

PYBIND11_MODULE(_gradc, m) {
  if (_import_array() < 0)
    throw py::error_already_set();
  m.doc() = "gradc: compiled gradients of .gir graphs (see docs/python.md)";
  static py::exception<std::runtime_error> compileError(m, "CompileError");
  compileErrorType = compileError.ptr();
  m.attr("have_blas") = kHaveBlas;

  py::class_<Callable>(m, "Function",
                       "A compiled function; call it with numpy arrays")
      .def("__call__", &Callable::call)
      .def("_input_pointers", &Callable::inputPointers,
           "The data pointers a call with these arguments passes (tests)")
      .def_property_readonly("name", &Callable::name)
      .def_property_readonly("from_cache", &Callable::fromCache,
                             "Whether its object code came from the "
                             "persistent compile cache")
      .def_property_readonly("parameters", &Callable::parameters,
                             "The names of the arguments, in order")
      .def_property_readonly("parameter_types", &Callable::parameterTypes,
                             "Their IR types, e.g. 'f32[N,3]'")
      .def_property_readonly("wrt", &Callable::wrt,
                             "The parameters the gradients are taken of")
      .def_property_readonly("signature", &Callable::signature,
                             "The compiled IR function's signature")
      .def("__repr__", [](const Callable &c) {
        return "<gradc.Function " + c.signature() + ">";
      });

  py::class_<PyModule>(m, "Module", "A parsed and verified .gir module")
      .def(py::init<const std::string &, const std::string &, bool>(),
           py::arg("text"), py::arg("name") = "<string>",
           py::arg("cache") = true)
      .def_property_readonly("text", &PyModule::text,
                             "The canonical IR of the module")
      .def_property_readonly("functions", &PyModule::functions,
                             "The names of the module's functions")
      .def("__getitem__",
           [](PyModule &self, const py::object &name) {
             return self.get(name, Kind::Plain, py::none());
           })
      .def(
          "function",
          [](PyModule &self, const py::object &name) {
            return self.get(name, Kind::Plain, py::none());
          },
          py::arg("f") = py::none())
      .def(
          "value_and_grad",
          [](PyModule &self, const py::object &f, const py::object &wrt) {
            return self.get(f, Kind::ValueAndGrad, wrt);
          },
          py::arg("f") = py::none(), py::arg("wrt") = py::none())
      .def(
          "vjp",
          [](PyModule &self, const py::object &f, const py::object &wrt) {
            return self.get(f, Kind::Vjp, wrt);
          },
          py::arg("f") = py::none(), py::arg("wrt") = py::none())
      .def(
          "jvp",
          [](PyModule &self, const py::object &f, const py::object &wrt) {
            return self.get(f, Kind::Jvp, wrt);
          },
          py::arg("f") = py::none(), py::arg("wrt") = py::none())
      .def("check", &PyModule::check, py::arg("f") = py::none(),
           py::arg("wrt") = py::none(), py::arg("seed") = 1,
           py::arg("tol") = 1e-6, py::arg("simplify") = true)
      .def(
          "grad_text",
          [](PyModule &self, const py::object &f, const py::object &wrt,
             bool vjp, bool optimize) {
            return self.derivedText(f, wrt, vjp, false, optimize);
          },
          py::arg("f") = py::none(), py::arg("wrt") = py::none(),
          py::arg("vjp") = false, py::arg("optimize") = true)
      .def(
          "jvp_text",
          [](PyModule &self, const py::object &f, const py::object &wrt,
             bool optimize) {
            return self.derivedText(f, wrt, false, true, optimize);
          },
          py::arg("f") = py::none(), py::arg("wrt") = py::none(),
          py::arg("optimize") = true)
      .def("emit_cpp", &PyModule::emitCppText, py::arg("header_name") = "")
      .def("c_header", &PyModule::cHeaderText, py::arg("guard") = "GRADC_H")
      .def("dot", &PyModule::dot, py::arg("f") = py::none(),
           py::arg("grad") = py::none(), py::arg("args") = py::none())
      .def("close", &PyModule::close,
           "Frees the compiled code; later calls raise ValueError")
      .def_property_readonly("closed", &PyModule::closed)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyModule &self, py::args) { self.close(); });
}
