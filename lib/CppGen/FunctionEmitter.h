//===- FunctionEmitter.h - C++ for one gradc function -----------*- C++ -*-===//
//
// Private to lib/CppGen. Every value gets a Slot saying how C++ reads it:
//   Pointer  a row-major buffer (an argument, an output, a std::vector, a
//            static constant array, or a reshape aliasing one of those);
//   Local    a scalar held in a local variable;
//   Literal  a splat constant, spelled as a number;
//   Inline   no storage: a fused elementwise op (its formula is written into
//            its one consumer's loop), a transpose or a broadcast_to (index
//            arithmetic on their operand).
// Reading an element is `expr(v, idx)`, with one index expression per axis of
// v; Inline values recurse into their operands, so a fused chain, a
// broadcast and a transpose all become index arithmetic in one loop.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_LIB_CPPGEN_FUNCTIONEMITTER_H
#define GRADC_LIB_CPPGEN_FUNCTIONEMITTER_H

#include "gradc/IR/IR.h"

#include "llvm/Support/raw_ostream.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace gradc::cppgen {

using Index = std::vector<std::string>;

struct Slot {
  enum Kind { Pointer, Local, Literal, Inline } kind = Pointer;
  std::string name; // the variable, or the literal's text
  std::string ptr;  // Pointer: an expression of the buffer's address
};

class FunctionEmitter {
public:
  explicit FunctionEmitter(const Function &f) : f(f) {}
  /// Writes the definition of `f` under the C ABI.
  void emit(llvm::raw_ostream &os);

private:
  const Function &f;
  std::string body;
  unsigned indent = 1;
  std::map<const Value *, Slot> slots;
  std::map<const Value *, unsigned> uses;
  std::map<std::string, std::string> dimNames; // IR symbol -> C++ name
  std::set<std::string> taken;                 // C++ names in use
  std::set<std::string> read;                  // names read by the body
  std::vector<std::string> locals;             // declared by the body
  std::vector<const Value *> outFilled;        // value written to out<i>

  // Names and text.
  std::string fresh(llvm::StringRef base);
  std::string ctype(const Value *v) const;
  std::string dim(const Dim &d);
  std::string count(const std::vector<Dim> &dims);
  std::string number(double v, DType t) const;
  void line(const llvm::Twine &s);
  void comment(const Op &op, llvm::StringRef note = "");

  // Reading values.
  bool fusible(const Op &op) const;
  std::string flat(const Type &t, const Index &idx);
  std::string expr(const Value *v, const Index &idx, bool top = false);
  std::string formula(const Op &op, const Index &idx, bool top);
  std::string ref(const Value *v, const Index &idx);
  Index align(const Index &idx, const Type &out, const Type &in) const;

  // Loops: one per axis that is not a static 1; returns the index variable
  // (or "0").
  std::string loop(unsigned axis, const Dim &d, bool braces = false);
  void close(unsigned loops, bool braces = false);
  /// Opens a `{` scope when `loops` (from openLoops with braces) is 0, so
  /// that a body always has a scope of its own; unscope() closes either.
  void scope(unsigned loops) {
    if (!loops) {
      line("{");
      ++indent;
    }
  }
  void unscope(unsigned loops) {
    if (loops)
      return close(loops, true);
    --indent;
    line("}");
  }
  unsigned openLoops(const Type &t, const std::vector<int64_t> &axes,
                     Index &idx, bool braces);

  // Storage.
  void allocate(const Value *v);
  int resultIndex(const Value *v) const;

  // One emitter per op family (CppOps.cpp).
  void emitOp(const Op &op);
  void emitElementwise(const Op &op);
  void emitReduce(const Op &op);
  void emitMatMul(const Op &op);
  bool emitGemmCall(const Op &op);
  void emitDot(const Op &op);
  void emitSliceOp(const Op &op);
  void emitArgMaxMask(const Op &op);
  void emitReshape(const Op &op);
  void emitCopy(const Value *v, const std::string &dst);
  /// A pointer to v's buffer and whether it is read transposed, for BLAS.
  bool blasOperand(const Value *v, std::string &ptr, bool &trans,
                   std::string &ld);
};

} // namespace gradc::cppgen

#endif
