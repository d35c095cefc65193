//===- IR.cpp - Values, ops, functions and modules ------------------------===//
#include "gradc/IR/IR.h"

#include "llvm/ADT/StringSwitch.h"

namespace gradc {

llvm::StringRef mnemonic(OpKind k) {
  switch (k) {
#define GRADC_OP(Enum, Mnemonic, Arity)                                        \
  case OpKind::Enum:                                                           \
    return Mnemonic;
#include "gradc/IR/OpKinds.def"
  }
  return "<unknown>";
}

unsigned arity(OpKind k) {
  switch (k) {
#define GRADC_OP(Enum, Mnemonic, Arity)                                        \
  case OpKind::Enum:                                                           \
    return Arity;
#include "gradc/IR/OpKinds.def"
  }
  return 0;
}

unsigned minArity(OpKind k) {
  switch (k) {
#define GRADC_OP_VARIADIC(Enum, Mnemonic, MinArity, MaxArity)                  \
  case OpKind::Enum:                                                           \
    return MinArity;
#include "gradc/IR/OpKinds.def"
  default:
    return arity(k);
  }
}

std::optional<OpKind> lookupOp(llvm::StringRef m) {
  return llvm::StringSwitch<std::optional<OpKind>>(m)
#define GRADC_OP(Enum, Mnemonic, Arity) .Case(Mnemonic, OpKind::Enum)
#include "gradc/IR/OpKinds.def"
      .Default(std::nullopt);
}

const Attr *Op::attr(llvm::StringRef name) const {
  for (const NamedAttr &a : attrs)
    if (a.name == name)
      return &a.value;
  return nullptr;
}

void Op::setAttr(llvm::StringRef name, Attr a) {
  for (NamedAttr &na : attrs)
    if (na.name == name) {
      na.value = std::move(a);
      return;
    }
  attrs.push_back({name.str(), std::move(a), {}});
}

bool Op::boolAttr(llvm::StringRef name, bool dflt) const {
  const Attr *a = attr(name);
  return a ? a->b : dflt;
}

int64_t Op::intAttr(llvm::StringRef name, int64_t dflt) const {
  const Attr *a = attr(name);
  return a ? a->i : dflt;
}

double Op::floatAttr(llvm::StringRef name, double dflt) const {
  const Attr *a = attr(name);
  return a ? a->asFloat() : dflt;
}

Value *Function::newValue(std::string n, Type t, llvm::SMLoc l) {
  values_.push_back(std::make_unique<Value>());
  Value *v = values_.back().get();
  names_.insert(n);
  v->name = std::move(n);
  v->type = std::move(t);
  v->loc = l;
  return v;
}

Value *Function::addArg(std::string n, Type t, llvm::SMLoc l) {
  Value *v = newValue(std::move(n), std::move(t), l);
  v->argIndex = args.size();
  args.push_back(v);
  return v;
}

std::string Function::uniqueName(llvm::StringRef base) {
  if (base.empty())
    base = "t";
  if (!names_.count(base))
    return base.str();
  auto it = nextSuffix_.try_emplace(base.str(), 1).first;
  for (unsigned &i = it->second;; ++i) {
    std::string n = (base + "." + llvm::Twine(i)).str();
    if (!names_.count(n))
      return n;
  }
}

void Function::renameValue(Value *v, std::string n) {
  names_.erase(v->name);
  names_.insert(n);
  v->name = std::move(n);
}

void Function::forgetName(llvm::StringRef n) {
  auto it = names_.find(n);
  if (it != names_.end())
    names_.erase(it);
}

Value *Function::lookup(llvm::StringRef n) const {
  for (Value *a : args)
    if (a->name == n)
      return a;
  for (const auto &op : ops)
    for (Value *r : op->allResults())
      if (r->name == n)
        return r;
  return nullptr;
}

Function *Module::lookup(llvm::StringRef n) const {
  for (const auto &f : functions)
    if (f->name == n)
      return f.get();
  return nullptr;
}

Function *Module::addFunction(std::string n) {
  functions.push_back(std::make_unique<Function>());
  functions.back()->name = std::move(n);
  functions.back()->parent = this;
  return functions.back().get();
}

} // namespace gradc
