//===- Printer.cpp - Canonical textual form -------------------------------===//
//
// The only code that spells out the IR's syntax for output. The parser accepts
// everything printed here, and reads it back to the same module.
//
//===----------------------------------------------------------------------===//
#include "gradc/IR/Printer.h"
#include "gradc/Ops/OpDef.h"

#include <fmt/format.h>

#include <cmath>

namespace gradc {

static void printAttr(const Attr &a, llvm::raw_ostream &os);

std::string formatNumber(double v, DType t) {
  if (isInt(t))
    return fmt::format("{}", int64_t(v));
  if (std::isnan(v))
    return "nan"; // fmt would print "-nan" for a NaN with its sign bit set
  return t == DType::F32 ? fmt::format("{}", float(v)) : fmt::format("{}", v);
}

std::string formatAttr(const Attr &a) {
  std::string s;
  llvm::raw_string_ostream os(s);
  printAttr(a, os);
  return s;
}

static void printAttr(const Attr &a, llvm::raw_ostream &os) {
  switch (a.kind) {
  case Attr::Bool:
    os << (a.b ? "true" : "false");
    return;
  case Attr::Int:
    os << a.i;
    return;
  case Attr::List:
    os << '[';
    for (size_t i = 0; i < a.list.size(); ++i)
      os << (i ? "," : "") << a.list[i].str();
    os << ']';
    return;
  case Attr::Float: {
    // Always with a '.' or an exponent, so that it reads back as a float.
    std::string s = fmt::format("{}", a.f);
    if (s.find_first_of(".eni") == std::string::npos)
      s += ".0";
    os << s;
    return;
  }
  case Attr::String:
    os << '"' << a.s << '"';
    return;
  }
}

void printNestedList(const Tensor &t, llvm::raw_ostream &os,
                     llvm::function_ref<std::string(double, DType)> number) {
  // One pass over the elements, without recursion: before each element open
  // a list for every index that has just wrapped around to 0, after it close
  // one for every index that wraps now.
  size_t r = t.shape.size(), open = r;
  if (t.data.empty()) {
    os << "[]";
    return;
  }
  Shape idx(r, 0);
  for (size_t pos = 0; pos < t.data.size(); ++pos) {
    if (pos)
      os << ", ";
    for (size_t i = 0; i < open; ++i)
      os << '[';
    os << number(t.data[pos], t.dtype);
    size_t close = 0;
    for (size_t d = r; d-- > 0 && ++idx[d] == t.shape[d]; ++close)
      idx[d] = 0;
    for (size_t i = 0; i < close; ++i)
      os << ']';
    open = close;
  }
}

static void printConst(const Tensor &t, llvm::raw_ostream &os) {
  bool splat = t.size() > 1;
  for (double x : t.data)
    // Compare bit patterns so that NaN splats print as splats too.
    splat &= formatNumber(x, t.dtype) == formatNumber(t.data[0], t.dtype);
  if (splat) {
    os << formatNumber(t.data[0], t.dtype);
    return;
  }
  printNestedList(t, os, formatNumber);
}

static void printOp(const Op &op, llvm::raw_ostream &os) {
  if (op.kind == OpKind::Call || op.kind == OpKind::Cond ||
      op.kind == OpKind::Scan) {
    std::vector<Value *> res = op.allResults();
    for (size_t i = 0; i < res.size(); ++i)
      os << (i ? ", %" : "  %") << res[i]->name;
    os << " = " << mnemonic(op.kind) << ' ';
    size_t first = 0;
    if (op.kind == OpKind::Cond)
      os << '%' << op.operands[first++]->name << ", ";
    for (size_t i = 0; i < op.callees.size(); ++i)
      os << (i ? ", @" : "@") << op.callees[i];
    os << '(';
    for (size_t i = first; i < op.operands.size(); ++i)
      os << (i > first ? ", %" : "%") << op.operands[i]->name;
    os << ')';
    if (!op.attrs.empty()) {
      os << " {";
      for (size_t i = 0; i < op.attrs.size(); ++i) {
        os << (i ? ", " : "") << op.attrs[i].name << '=';
        printAttr(op.attrs[i].value, os);
      }
      os << '}';
    }
    os << '\n';
    return;
  }
  os << "  %" << op.result->name << " = " << mnemonic(op.kind);
  if (op.kind == OpKind::Const) {
    os << ' ';
    printConst(op.constValue, os);
  }
  for (size_t i = 0; i < op.operands.size(); ++i)
    os << (i ? ", %" : " %") << op.operands[i]->name;
  if (!op.attrs.empty()) {
    os << " {";
    for (size_t i = 0; i < op.attrs.size(); ++i) {
      os << (i ? ", " : "") << op.attrs[i].name << '=';
      printAttr(op.attrs[i].value, os);
    }
    os << '}';
  }
  if (op.kind == OpKind::Const)
    os << " : " << op.result->type.str();
  else if (opDef(op.kind).typeFromDecl)
    os << " : " << dtypeName(op.result->type.dtype);
  os << '\n';
}

void print(const Function &f, llvm::raw_ostream &os) {
  os << "func @" << f.name << '(';
  for (size_t i = 0; i < f.args.size(); ++i)
    os << (i ? ", %" : "%") << f.args[i]->name << ": " << f.args[i]->type.str();
  os << ") -> ";
  if (f.resultTypes.size() == 1) {
    os << f.resultTypes[0].str();
  } else {
    os << '(';
    for (size_t i = 0; i < f.resultTypes.size(); ++i)
      os << (i ? ", " : "") << f.resultTypes[i].str();
    os << ')';
  }
  if (!f.customVjp.empty())
    os << " custom_vjp @" << f.customVjp;
  os << " {\n";
  for (const auto &op : f.ops)
    printOp(*op, os);
  os << "  return";
  for (size_t i = 0; i < f.results.size(); ++i)
    os << (i ? ", %" : " %") << f.results[i]->name;
  os << "\n}\n";
}

void print(const Module &m, llvm::raw_ostream &os) {
  for (size_t i = 0; i < m.functions.size(); ++i) {
    if (i)
      os << '\n';
    print(*m.functions[i], os);
  }
}

} // namespace gradc
