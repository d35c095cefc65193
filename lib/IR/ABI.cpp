//===- ABI.cpp - The C calling convention of compiled functions ----------===//
#include "gradc/IR/ABI.h"

#include "llvm/ADT/StringSet.h"

#include <cctype>

namespace gradc {

std::string cSymbolName(llvm::StringRef name) {
  std::string s = "gradc_";
  for (char c : name)
    s += std::isalnum((unsigned char)c) ? c : '_';
  return s;
}

std::vector<std::string> symbolicDims(const Function &f) {
  std::vector<std::string> dims;
  llvm::StringSet<> seen;
  for (const Value *a : f.args)
    for (const Dim &d : a->type.dims)
      if (d.isSym() && seen.insert(d.sym).second)
        dims.push_back(d.sym);
  return dims;
}

/// C and C++ keywords, which cannot name a parameter.
static const llvm::StringSet<> &keywords() {
  static const llvm::StringSet<> k = {
      "auto",      "bool",     "break",    "case",     "catch",     "char",
      "class",     "const",    "continue", "default",  "delete",    "do",
      "double",    "else",     "enum",     "extern",   "false",     "float",
      "for",       "goto",     "if",       "inline",   "int",       "long",
      "namespace", "new",      "operator", "private",  "protected", "public",
      "register",  "restrict", "return",   "short",    "signed",    "sizeof",
      "static",    "struct",   "switch",   "template", "this",      "throw",
      "true",      "try",      "typedef",  "typename", "union",     "unsigned",
      "using",     "virtual",  "void",     "volatile", "while",     "int64_t",
      "shape"};
  return k;
}

/// A C identifier for a value name (`dW.1` -> `dW_1`) that no other
/// parameter in `taken` has.
static std::string cName(llvm::StringRef n, llvm::StringSet<> &taken) {
  std::string s;
  for (char c : n)
    s += std::isalnum((unsigned char)c) ? c : '_';
  if (s.empty() || std::isdigit((unsigned char)s[0]))
    s = "v" + s;
  std::string name = s;
  for (unsigned i = 1; keywords().contains(name) || taken.contains(name); ++i)
    name = s + "_" + std::to_string(i);
  taken.insert(name);
  return name;
}

CNames cNames(const Function &f) {
  CNames n;
  llvm::StringSet<> taken;
  for (const Value *a : f.args)
    n.inputs.push_back(cName(a->name, taken));
  for (const std::string &d : symbolicDims(f))
    n.dims.push_back(cName(d, taken));
  // Outputs are named after the returned values; one that is an input, or
  // returned twice, gets a suffix (`dz_1`).
  for (const Value *r : f.results)
    n.outputs.push_back(cName(r->name, taken));
  for (const std::string &in : n.inputs)
    n.shapes.push_back(cName(in + "_shape", taken));
  return n;
}

const char *cTypeName(DType t) {
  switch (t) {
  case DType::F32:
    return "float";
  case DType::F64:
    return "double";
  case DType::I32:
    return "int32_t";
  case DType::I64:
    return "int64_t";
  }
  return "double";
}

/// The parameter list of the entry point of `f`; with `checked`, each
/// tensor input is followed by its shape; without `seed`, the last input
/// (the seed of a scalar loss) is left out.
static std::string params(const Function &f, bool checked, bool seed) {
  CNames n = cNames(f);
  std::string s;
  const char *sep = "";
  size_t numIn = f.args.size() - (seed ? 0 : 1);
  for (size_t i = 0; i < numIn; ++i) {
    s += sep + std::string("const ") + cTypeName(f.args[i]->type.dtype) + " *" +
         n.inputs[i];
    sep = ", ";
    if (checked && f.args[i]->type.rank())
      s += ", const int64_t *" + n.shapes[i];
  }
  if (!checked)
    for (const std::string &d : n.dims) {
      s += sep + std::string("int64_t ") + d;
      sep = ", ";
    }
  for (size_t i = 0; i < f.results.size(); ++i) {
    s += sep + std::string(cTypeName(f.resultTypes[i].dtype)) + " *" +
         n.outputs[i];
    sep = ", ";
  }
  return s.empty() ? "void" : s;
}

std::string cPrototype(const Function &f) {
  return "int " + cSymbolName(f.name) + "(" + params(f, false, true) + ")";
}

std::string checkedSymbolName(const Function &f) {
  return cSymbolName(f.name) + "_checked";
}
std::string noseedSymbolName(const Function &f) {
  return cSymbolName(f.name) + "_noseed";
}

const Function *seededPrimal(const Module &m, const Function &g) {
  llvm::StringRef name = g.name;
  if (!name.consume_back(".grad"))
    return nullptr;
  const Function *f = m.lookup(name);
  if (!f || f->resultTypes.empty() || !f->resultTypes[0].isScalar() ||
      g.args.size() != f->args.size() + 1 ||
      !(g.args.back()->type == f->resultTypes[0]))
    return nullptr;
  for (size_t i = 0; i < f->args.size(); ++i)
    if (g.args[i]->name != f->args[i]->name ||
        !(g.args[i]->type == f->args[i]->type))
      return nullptr;
  return f;
}

std::vector<std::string> cPrototypes(const Module &m, const Function &f) {
  std::vector<std::string> p = {cPrototype(f), "int " + checkedSymbolName(f) +
                                                   "(" + params(f, true, true) +
                                                   ")"};
  if (seededPrimal(m, f)) {
    p.push_back("int " + noseedSymbolName(f) + "(" + params(f, false, false) +
                ")");
    p.push_back("int " + noseedSymbolName(f) + "_checked(" +
                params(f, true, false) + ")");
  }
  return p;
}

/// The name of the helper `what` (rank, size, shape) of output `i`.
static std::string helperName(const Function &f, const CNames &n, size_t i,
                              llvm::StringRef what) {
  return cSymbolName(f.name) + "_" + n.outputs[i] + "_" + what.str();
}

std::vector<std::string> exportedSymbols(const Module &m, const Function &f) {
  std::vector<std::string> s = {
      cSymbolName(f.name), cSymbolName(f.name) + "__packed",
      cSymbolName(f.name) + "__typed", cSymbolName(f.name) + "__values",
      checkedSymbolName(f)};
  if (seededPrimal(m, f)) {
    s.push_back(noseedSymbolName(f));
    s.push_back(noseedSymbolName(f) + "_checked");
    s.push_back(noseedSymbolName(f) + "__values");
  }
  CNames n = cNames(f);
  for (size_t i = 0; i < f.results.size(); ++i)
    for (const char *what : {"rank", "size", "shape"})
      s.push_back(helperName(f, n, i, what));
  return s;
}

/// The C expression of dim `d` (a symbolic dim's parameter name).
static std::string dimExpr(const Function &f, const CNames &n, const Dim &d) {
  if (!d.isSym())
    return std::to_string(d.size);
  std::vector<std::string> syms = symbolicDims(f);
  for (size_t k = 0; k < syms.size(); ++k)
    if (syms[k] == d.sym)
      return n.dims[k];
  return "0"; // not reached for verified functions
}

/// The static inline helpers of `f`'s outputs: rank, element count and shape
/// as functions of the symbolic dims.
static std::string shapeHelpers(const Function &f) {
  CNames n = cNames(f);
  std::string dimParams, voids;
  for (const std::string &d : n.dims) {
    dimParams += (dimParams.empty() ? "int64_t " : ", int64_t ") + d;
    voids += "(void)" + d + "; ";
  }
  std::string s;
  for (size_t i = 0; i < f.results.size(); ++i) {
    const Type &t = f.resultTypes[i];
    std::string size = "1";
    std::string shape;
    for (size_t k = 0; k < t.rank(); ++k) {
      std::string e = dimExpr(f, n, t.dims[k]);
      size = k ? size + " * " + e : e;
      shape += "shape[" + std::to_string(k) + "] = " + e + "; ";
    }
    s += "/* " + n.outputs[i] + ": " + t.str() + " */\n";
    s += "enum { " + helperName(f, n, i, "rank") + " = " +
         std::to_string(t.rank()) + " };\n";
    s += "static inline int64_t " + helperName(f, n, i, "size") + "(" +
         (dimParams.empty() ? "void" : dimParams) + ") { " + voids + "return " +
         size + "; }\n";
    if (t.rank())
      s += "static inline void " + helperName(f, n, i, "shape") + "(" +
           dimParams + (dimParams.empty() ? "" : ", ") + "int64_t *shape) { " +
           voids + shape + "}\n";
  }
  return s;
}

std::string cHeader(const Module &m, llvm::StringRef guard) {
  std::string s =
      "/* Generated by gradc. The calling convention is described in "
      "docs/c-abi.md:\n"
      "   gradc_F(inputs, symbolic dims, outputs) and gradc_F_checked(each "
      "tensor input\n"
      "   followed by its shape, outputs) return GRADC_OK, GRADC_NO_MEMORY, "
      "GRADC_BAD_INDEX\n"
      "   or (checked) GRADC_BAD_SHAPE. Outputs are caller-allocated: "
      "gradc_F_OUT_size(dims) "
      "elements. */\n";
  s += "#ifndef " + guard.str() + "\n#define " + guard.str() + "\n\n";
  s += "#include <stdint.h>\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  s += "#ifndef GRADC_STATUS_CODES\n#define GRADC_STATUS_CODES\n"
       "enum {\n  GRADC_OK = 0,\n"
       "  GRADC_NO_MEMORY = 1, /* the intermediate buffers could not be "
       "allocated */\n"
       "  GRADC_BAD_SHAPE = 2, /* (checked) a dim is not positive, differs "
       "from the\n                          IR's static dim, or contradicts "
       "another input's */\n"
       "  GRADC_BAD_INDEX = 3  /* an index read from an integer tensor is out "
       "of range */\n};\n#endif\n\n";
  s += "/* The threads parallel loops and (with OpenBLAS) BLAS calls use; n <= "
       "0: OpenMP's\n   default (OMP_NUM_THREADS, else every core). Code "
       "linked without OpenMP\n   runs on one thread. One setting per "
       "program (docs/c-abi.md). */\n"
       "void gradc_set_num_threads(int n);\n\n";
  for (const auto &f : m.functions) {
    s += "/* func @" + f->name + "(";
    for (size_t i = 0; i < f->args.size(); ++i)
      s += (i ? ", %" : "%") + f->args[i]->name + ": " + f->args[i]->type.str();
    s += ") -> (";
    for (size_t i = 0; i < f->resultTypes.size(); ++i)
      s += (i ? ", " : "") + f->resultTypes[i].str();
    s += ") */\n";
    std::vector<std::string> protos = cPrototypes(m, *f);
    s += protos[0] + ";\n" + protos[1] + ";\n";
    if (const Function *primal = seededPrimal(m, *f))
      s += "/* The gradient of @" + primal->name +
           "'s scalar result, without its seed %" + f->args.back()->name +
           " (taken as 1): */\n" + protos[2] + ";\n" + protos[3] + ";\n";
    s += shapeHelpers(*f) + "\n";
  }
  s += "#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return s;
}

std::string cWrapperDefinitions(const Module &m, const Function &f) {
  CNames n = cNames(f);
  std::vector<std::string> protos = cPrototypes(m, f);
  // The checked entry point: every dim of every tensor input, checked.
  std::string s = protos[1] + " {\n";
  std::vector<std::string> syms = symbolicDims(f);
  std::vector<bool> bound(syms.size());
  for (size_t i = 0; i < f.args.size(); ++i)
    for (size_t k = 0; k < f.args[i]->type.rank(); ++k) {
      const Dim &d = f.args[i]->type.dims[k];
      std::string got = n.shapes[i] + "[" + std::to_string(k) + "]";
      if (!d.isSym()) {
        s += "  if (" + got + " != " + std::to_string(d.size) + ") return 2;\n";
        continue;
      }
      size_t j = llvm::find(syms, d.sym) - syms.begin();
      if (bound[j]) {
        s += "  if (" + got + " != " + n.dims[j] + ") return 2;\n";
        continue;
      }
      bound[j] = true;
      s += "  const int64_t " + n.dims[j] + " = " + got + ";\n  if (" +
           n.dims[j] + " < 1) return 2;\n";
    }
  s += "  return " + cSymbolName(f.name) + "(";
  std::string args;
  for (const std::string &in : n.inputs)
    args += (args.empty() ? "" : ", ") + in;
  for (const std::string &d : n.dims)
    args += (args.empty() ? "" : ", ") + d;
  for (const std::string &o : n.outputs)
    args += (args.empty() ? "" : ", ") + o;
  s += args + ");\n}\n";
  if (!seededPrimal(m, f))
    return s;
  // The seedless entry points pass a seed of 1.
  std::string seedType = cTypeName(f.args.back()->type.dtype);
  for (bool checked : {false, true}) {
    s += protos[checked ? 3 : 2] + " {\n  const " + seedType + " " +
         n.inputs.back() + " = 1;\n  return " +
         (checked ? checkedSymbolName(f) : cSymbolName(f.name)) + "(";
    std::string call;
    for (size_t i = 0; i < f.args.size(); ++i) {
      call += std::string(call.empty() ? "" : ", ") +
              (i + 1 == f.args.size() ? "&" : "") + n.inputs[i];
      if (checked && f.args[i]->type.rank())
        call += ", " + n.shapes[i];
    }
    if (!checked)
      for (const std::string &d : n.dims)
        call += ", " + d;
    for (const std::string &o : n.outputs)
      call += ", " + o;
    s += call + ");\n}\n";
  }
  return s;
}

} // namespace gradc
