//===- CppEmitter.cpp - C++ source for a module --------------------------===//
//
// Writes readable C++17 for a verified module: one function per IR function
// under the C ABI of gradc/IR/ABI.h, one commented statement (usually a loop
// nest) per IR op. Elementwise ops used once by an elementwise op or a
// reduction of the same shape are fused into their consumer's loop;
// broadcasts and transposes are index arithmetic. Numbers follow the
// interpreter: elementwise ops round to the element type after each op, and
// sums, dot products and matmuls accumulate in double and round once.
//
//===----------------------------------------------------------------------===//
#include "gradc/CppGen/CppEmitter.h"
#include "gradc/IR/ABI.h"
#include "gradc/Ops/OpDef.h"

#include "FunctionEmitter.h"
#include "Prelude.h"

#include <cmath>
#include <cstdio>

namespace gradc {
namespace cppgen {

static const char *const kKeywords[] = {
    "alignas",   "alignof",  "and",      "asm",       "auto",    "bool",
    "break",     "case",     "catch",    "char",      "class",   "const",
    "constexpr", "continue", "default",  "delete",    "do",      "double",
    "else",      "enum",     "explicit", "export",    "extern",  "false",
    "float",     "for",      "friend",   "goto",      "if",      "inline",
    "int",       "long",     "mutable",  "namespace", "new",     "noexcept",
    "not",       "nullptr",  "operator", "or",        "private", "protected",
    "public",    "register", "return",   "short",     "signed",  "sizeof",
    "static",    "struct",   "switch",   "template",  "this",    "throw",
    "true",      "try",      "typedef",  "typename",  "union",   "unsigned",
    "using",     "virtual",  "void",     "volatile",  "while",   "xor",
    "std",       "gir",      "int64_t",  "size_t",    "acc",     "mx",
    "se",        "best",     "at",       "k",         "main"};

std::string FunctionEmitter::fresh(llvm::StringRef base) {
  std::string s;
  for (char c : base)
    s += std::isalnum((unsigned char)c) ? c : '_';
  if (s.empty() || std::isdigit((unsigned char)s[0]))
    s = "v" + s;
  if (llvm::StringRef(s).starts_with("gradc_") || s.find("__") != s.npos)
    s = "v_" + s;
  std::string name = s;
  for (unsigned n = 1; taken.count(name); ++n)
    name = s + "_" + std::to_string(n);
  taken.insert(name);
  return name;
}

std::string FunctionEmitter::ctype(const Value *v) const {
  return v->type.dtype == DType::F32 ? "float" : "double";
}

std::string FunctionEmitter::dim(const Dim &d) {
  if (!d.isSym())
    return std::to_string(d.size);
  read.insert(dimNames.at(d.sym));
  return dimNames.at(d.sym);
}

std::string FunctionEmitter::count(const std::vector<Dim> &dims) {
  std::string s;
  for (const Dim &d : dims)
    if (!d.isOne())
      s += (s.empty() ? "" : " * ") + dim(d);
  return s.empty() ? "1" : s;
}

std::string FunctionEmitter::number(double v, DType t) const {
  const char *T = t == DType::F32 ? "float" : "double";
  if (std::isnan(v))
    return std::string("std::numeric_limits<") + T + ">::quiet_NaN()";
  if (std::isinf(v))
    return std::string(v < 0 ? "-" : "") + "std::numeric_limits<" + T +
           ">::infinity()";
  char buf[64];
  std::snprintf(buf, sizeof buf, t == DType::F32 ? "%.9g" : "%.17g", v);
  std::string s = buf;
  if (s.find_first_of(".e") == s.npos)
    s += ".0";
  return t == DType::F32 ? s + "f" : s;
}

void FunctionEmitter::line(const llvm::Twine &s) {
  body += std::string(2 * indent, ' ') + s.str() + "\n";
}

/// The IR line of `op`, as a comment (long constants are abbreviated).
void FunctionEmitter::comment(const Op &op, llvm::StringRef note) {
  std::string s = "// %" + op.result->name + " = " + mnemonic(op.kind).str();
  if (op.kind == OpKind::Const)
    s += op.constValue.size() == 1
             ? " " + number(op.constValue.data[0], op.constValue.dtype)
             : " [...]";
  for (size_t i = 0; i < op.operands.size(); ++i)
    s += (i ? ", %" : " %") + op.operands[i]->name;
  if (!op.attrs.empty()) {
    s += " {";
    for (size_t i = 0; i < op.attrs.size(); ++i) {
      const Attr &a = op.attrs[i].value;
      s += (i ? ", " : "") + op.attrs[i].name + "=";
      if (a.kind == Attr::Bool)
        s += a.b ? "true" : "false";
      else if (a.kind == Attr::Int)
        s += std::to_string(a.i);
      else
        for (size_t j = 0; j <= a.list.size(); ++j)
          s += j == a.list.size() ? "]" : (j ? "," : "[") + a.list[j].str();
      if (a.kind == Attr::List && a.list.empty())
        s += "[]";
    }
    s += "}";
  }
  if (op.kind == OpKind::Const)
    s += " : " + op.result->type.str();
  line(note.empty() ? s : s + "  (" + note.str() + ")");
}

//===----------------------------------------------------------------------===//
// Reading values
//===----------------------------------------------------------------------===//

static bool isReduction(OpKind k) {
  return k == OpKind::Sum || k == OpKind::Mean || k == OpKind::ReduceMax;
}

int FunctionEmitter::resultIndex(const Value *v) const {
  for (size_t i = 0; i < f.results.size(); ++i)
    if (f.results[i] == v)
      return int(i);
  return -1;
}

/// An elementwise op used once, by an elementwise op of its own shape or by a
/// reduction, and not returned, is computed in its consumer's loop.
bool FunctionEmitter::fusible(const Op &op) const {
  auto n = uses.find(op.result); // an unused (dead) value has no entry
  if (!opDef(op.kind).elementwise || resultIndex(op.result) >= 0 ||
      n == uses.end() || n->second != 1)
    return false;
  for (const auto &user : f.ops)
    for (const Value *o : user->operands)
      if (o == op.result)
        return isReduction(user->kind) ||
               (opDef(user->kind).elementwise &&
                user->result->type.dims == op.result->type.dims);
  return false;
}

/// The row-major offset of element `idx` of a buffer of type `t`, in Horner
/// form; axes of static size 1 contribute nothing.
std::string FunctionEmitter::flat(const Type &t, const Index &idx) {
  std::string e;
  for (unsigned a = 0; a < t.rank(); ++a) {
    if (t.dims[a].isOne())
      continue;
    if (e.empty() || e == "0") {
      e = idx[a];
      continue;
    }
    if (e.find(" + ") != e.npos)
      e = "(" + e + ")";
    e += " * " + dim(t.dims[a]);
    if (idx[a] != "0")
      e += " + " + idx[a];
  }
  return e.empty() ? "0" : e;
}

/// Indices of an operand of type `in` read inside a loop over `out` (numpy
/// broadcasting: aligned from the right; size-1 axes read element 0).
Index FunctionEmitter::align(const Index &idx, const Type &out,
                             const Type &in) const {
  Index r(in.rank());
  for (unsigned m = 0; m < in.rank(); ++m)
    r[m] = in.dims[m].isOne() ? "0" : idx[m + out.rank() - in.rank()];
  return r;
}

/// Element `idx` of `v` as a C++ expression (parenthesized unless `top`).
std::string FunctionEmitter::expr(const Value *v, const Index &idx, bool top) {
  const Slot &s = slots.at(v);
  switch (s.kind) {
  case Slot::Pointer:
    read.insert(s.name);
    return s.name + "[" + flat(v->type, idx) + "]";
  case Slot::Local:
    read.insert(s.name);
    return s.name;
  case Slot::Literal:
    return s.name;
  case Slot::Inline:
    break;
  }
  const Op &op = *v->def;
  const Value *x = op.operands[0];
  if (op.kind == OpKind::BroadcastTo)
    return expr(x, align(idx, v->type, x->type), top);
  if (op.kind == OpKind::Transpose) {
    // out[i0, i1, ...] = x[...] with x's axis perm[i] read at index i.
    Index xi(idx.size());
    const Attr *perm = op.attr("perm");
    for (size_t i = 0; i < idx.size(); ++i) {
      int64_t p = perm ? perm->list[i].size : int64_t(1 - i);
      xi[p < 0 ? p + int64_t(idx.size()) : p] = idx[i];
    }
    return expr(x, xi, top);
  }
  return formula(op, idx, top);
}

std::string prelude() {
  std::string s = "namespace gir {\n\n";
  for (unsigned k = 0; k <= unsigned(OpKind::Const); ++k) {
    const OpDef &d = opDef(OpKind(k));
    if (!d.cppBody)
      continue;
    s += "template <typename T> T " + mnemonic(d.kind).str() + "(";
    for (unsigned i = 0; i < arity(d.kind); ++i)
      s += std::string(i ? ", " : "") + "T " + char('a' + i);
    s += ") {\n  " + std::string(d.cppBody) + "\n}\n";
  }
  return s + kReductionHelpers;
}

/// The scalar formula of elementwise `op` at element `idx` of its result.
std::string FunctionEmitter::formula(const Op &op, const Index &idx, bool top) {
  // The op's C++ formula is part of its one declaration (OpDef::cppOperator
  // and cppBody, lib/Ops/Elementwise.cpp).
  const OpDef &d = opDef(op.kind);
  bool call = !d.cppOperator;
  std::vector<std::string> a; // a call's arguments need no parentheses
  for (const Value *o : op.operands)
    a.push_back(expr(o, align(idx, op.result->type, o->type), call));
  if (!call) {
    std::string s;
    if (a.size() == 1) // negation
      s = a[0][0] == '-' ? "-(" + a[0] + ")" : "-" + a[0];
    else
      s = a[0] + " " + d.cppOperator + " " + a[1];
    return top ? s : "(" + s + ")";
  }
  std::string s = "gir::" + mnemonic(op.kind).str() + "(";
  for (size_t i = 0; i < a.size(); ++i)
    s += (i ? ", " : "") + a[i];
  return s + ")";
}

/// The lvalue of element `idx` of v's own storage.
std::string FunctionEmitter::ref(const Value *v, const Index &idx) {
  const Slot &s = slots.at(v);
  if (s.kind == Slot::Local)
    return s.name;
  return s.name + "[" + flat(v->type, idx) + "]";
}

std::string FunctionEmitter::loop(unsigned axis, const Dim &d, bool braces) {
  if (d.isOne())
    return "0";
  std::string i = "i" + std::to_string(axis);
  line("for (int64_t " + i + " = 0; " + i + " < " + dim(d) + "; ++" + i + ")" +
       (braces ? " {" : ""));
  ++indent;
  return i;
}

void FunctionEmitter::close(unsigned loops, bool braces) {
  if (braces && loops) {
    --indent;
    line("}");
    --loops;
  }
  indent -= loops;
}

/// Gives v its storage: out<i> if it is a result, a local if a scalar,
/// else a std::vector.
void FunctionEmitter::allocate(const Value *v) {
  Slot s;
  s.name = fresh(v->name);
  int r = resultIndex(v);
  if (r >= 0) {
    s.ptr = s.name;
    outFilled[r] = v;
    line(ctype(v) + " *" + s.name + " = out" + std::to_string(r) + ";");
  } else if (v->type.isScalar()) {
    s.kind = Slot::Local;
    locals.push_back(s.name);
    line(ctype(v) + " " + s.name + " = 0;");
  } else {
    s.ptr = s.name + ".data()";
    line("std::vector<" + ctype(v) + "> " + s.name + "(static_cast<size_t>(" +
         count(v->type.dims) + "));");
  }
  slots[v] = s;
}

void FunctionEmitter::emit(llvm::raw_ostream &os) {
  for (const char *k : kKeywords)
    taken.insert(k);
  for (unsigned i = 0; i < 9; ++i)
    taken.insert("i" + std::to_string(i));
  for (size_t i = 0; i < f.resultTypes.size(); ++i)
    taken.insert("out" + std::to_string(i));
  // The parameters: inputs, symbolic dims, outputs.
  std::string params;
  std::vector<std::string> paramNames;
  for (const Value *a : f.args) {
    Slot s;
    s.name = s.ptr = fresh(a->name);
    slots[a] = s;
    paramNames.push_back(s.name);
    params +=
        (params.empty() ? "const " : ", const ") + ctype(a) + " *" + s.name;
  }
  for (const std::string &d : symbolicDims(f)) {
    dimNames[d] = fresh(d);
    paramNames.push_back(dimNames[d]);
    params += (params.empty() ? "int64_t " : ", int64_t ") + dimNames[d];
  }
  for (size_t i = 0; i < f.resultTypes.size(); ++i)
    params += std::string(params.empty() ? "" : ", ") +
              (f.resultTypes[i].dtype == DType::F32 ? "float" : "double") +
              " *out" + std::to_string(i);
  for (const auto &op : f.ops)
    for (const Value *o : op->operands)
      ++uses[o];
  for (const Value *r : f.results)
    ++uses[r];
  outFilled.assign(f.results.size(), nullptr);

  for (const auto &op : f.ops)
    emitOp(*op);
  for (size_t i = 0; i < f.results.size(); ++i)
    if (outFilled[i] != f.results[i]) {
      line("// return %" + f.results[i]->name + " as result " +
           std::to_string(i));
      emitCopy(f.results[i], "out" + std::to_string(i));
    }

  os << "// func @" << f.name << "\n";
  os << "int " << cSymbolName(f.name) << "(" << params << ") try {\n";
  for (const std::string &p : paramNames)
    if (!read.count(p))
      os << "  (void)" << p << "; // unused\n";
  os << body;
  for (const std::string &l : locals)
    if (!read.count(l))
      os << "  (void)" << l << "; // unused\n";
  os << "  return 0;\n} catch (const std::bad_alloc &) {\n  return 1;\n} "
        "catch (const std::length_error &) {\n  return 1;\n}\n";
}

} // namespace cppgen

llvm::Error emitCpp(const Module &m, llvm::raw_ostream &os,
                    llvm::StringRef headerName) {
  os << "// Generated by gradc: C++17, standard library only. Each function\n"
        "// follows the C ABI of the gradc header (inputs, symbolic dims,\n"
        "// outputs; returns 0, or 1 if its buffers could not be "
        "allocated).\n"
        "// Define GRADC_USE_CBLAS (and link a CBLAS) to run matmul and dot\n"
        "// through cblas_?gemm/?gemv/?dot; otherwise they are plain loops.\n"
        "// Sums, dot products and matmuls accumulate in double, like the\n"
        "// gradc interpreter, and round once to the element type.\n\n";
  os << "#include <cmath>\n#include <cstddef>\n#include <limits>\n"
        "#include <new>\n#include <stdexcept>\n#include <stdint.h>\n"
        "#include <vector>\n#ifdef GRADC_USE_CBLAS\n#include <cblas.h>\n"
        "#endif\n\n";
  if (!headerName.empty()) {
    os << "#include \"" << headerName << "\"\n\n";
  } else {
    os << "extern \"C\" {\n";
    for (const auto &f : m.functions)
      for (const std::string &p : cPrototypes(m, *f))
        os << p << ";\n";
    os << "}\n\n";
  }
  os << cppgen::prelude();
  for (const auto &f : m.functions) {
    os << "\n";
    cppgen::FunctionEmitter(*f).emit(os);
  }
  // The ABI's checked and seedless entry points (docs/c-abi.md).
  os << "\n// The checked and seedless entry points (docs/c-abi.md).\n";
  for (const auto &f : m.functions)
    os << "\n" << cWrapperDefinitions(m, *f);
  return llvm::Error::success();
}

} // namespace gradc
