//===- LoopBuilder.h - What an op's loop lowering can use -------*- C++ -*-===//
//
// Each op's OpDef has a `loops` hook that writes the op's loop IR through a
// LoopBuilder: it reads operands with element() (which resolves fusion,
// views and broadcasting), opens loops, declares variables and stores the
// result. The storage plan and fusion are the builder's business (see
// lib/Loops/Lower.cpp); a hook only says how its op is computed.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_LOOPS_LOOPBUILDER_H
#define GRADC_LOOPS_LOOPBUILDER_H

#include "gradc/Loops/LoopIR.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <functional>
#include <set>
#include <string>

namespace gradc::loops {

using Index = llvm::ArrayRef<const Expr *>;

class LoopBuilder : public ExprBuilder {
public:
  explicit LoopBuilder(LoopFunction &fn) : ExprBuilder(fn) {
    scopes_.push_back(&fn.body);
  }
  virtual ~LoopBuilder() = default;

  // --- Reading values ---------------------------------------------------
  /// The element of `v` at `idx` (an index into v's own shape).
  virtual const Expr *element(const Value *v, Index idx) = 0;
  /// The buffer holding `v` (through views); null when `v` has none.
  virtual const Buffer *bufferOf(const Value *v) = 0;
  /// A matmul operand as a library kernel reads it: the buffer behind it,
  /// transposed when it is a folded 2-D transpose, and its dims as stored.
  struct Matrix {
    const Buffer *buf;
    bool trans;
    std::vector<Dim> stored;
  };
  virtual Matrix matrix(const Value *v) = 0;
  /// A buffer of its own in the arena for an op's intermediate (e.g. the
  /// columns of im2col), live for the whole function.
  virtual const Buffer *scratch(llvm::StringRef name, DType dtype,
                                std::vector<Dim> dims) = 0;
  /// Lowers `g` as a function this one invokes (each function once, with
  /// this function's options); returns its index in LoopFunction::callees.
  /// `inPlace`: LoopFunction::inPlace of the lowering.
  virtual unsigned callee(const Function &g, uint64_t inPlace = 0) = 0;
  /// Whether the op computing `v` adds its result to what v's buffer holds
  /// (a matmul accumulating into an in-place result: GEMM with beta 1).
  virtual bool accumulates(const Value *v) const {
    (void)v;
    return false;
  }
  /// What the backend asked for.
  virtual const LoopOptions &options() const = 0;
  /// Whether matmul/dot call BLAS kernels.
  bool blas() const { return options().blas; }

  // --- Statements -------------------------------------------------------
  void store(const Value *v, Index idx, const Expr *x);
  /// `contract`: Stmt::contract.
  void storeAt(const Buffer *b, const Expr *offset, const Expr *x,
               bool contract = false);
  /// for (i = begin; i < end; i += step) body(i)
  void forLoop(const Expr *begin, const Expr *end, int64_t step,
               llvm::function_ref<void(const Expr *)> body);
  /// Loops over `extents` (outermost first); a static extent of 1 gets no
  /// loop, its index is 0.
  void loops(Index extents, llvm::function_ref<void(Index)> body);
  /// An immutable variable holding `x`; returns a read of it.
  const Expr *let(llvm::StringRef name, const Expr *x);
  /// A mutable variable (declared at the function's entry).
  unsigned local(llvm::StringRef name, Scalar t);
  void assign(unsigned var, const Expr *x);
  /// var += x, reassociable; `contract`: Stmt::contract.
  void accumulate(unsigned var, const Expr *x, bool contract = false);
  /// A kernel call; with LoopOptions::kernelFallback, `fallback` writes the
  /// same computation as loops into the call's body.
  void call(const KernelCall &c, llvm::function_ref<void()> fallback);
  void memset(const Buffer *b, const Expr *count);
  void copy(const Buffer *dst, const Buffer *src, const Expr *count);
  void comment(const llvm::Twine &text);
  /// if (cond) then() else orelse(); values computed in a branch are its own.
  void ifElse(const Expr *cond, llvm::function_ref<void()> then,
              llvm::function_ref<void()> orelse);
  /// Runs callee `k` (see callee()) on `args`, writing `results`. `argTypes`
  /// are the arguments' types as the caller sees them (a scanned slice
  /// without its leading axis): they bind the callee's symbolic dims, which
  /// size the arena slots the callee gets from this function's arena.
  void invoke(unsigned k, std::vector<BufferRef> args,
              llvm::ArrayRef<Type> argTypes, std::vector<BufferRef> results);
  /// Stops the function with an index error (return code 2) when `cond`.
  void failIf(const Expr *cond);
  /// An integer index `i` of an axis of `size` checked against [-size, size)
  /// (failing otherwise) and wrapped to [0, size), as numpy does.
  const Expr *checkedIndex(const Expr *i, const Expr *size);

  /// f32 sums are accumulated in float over blocks of this many elements,
  /// each block's sum then added in double: the loop runs on as many lanes
  /// as floats allow, and the total keeps double's accuracy.
  static constexpr int64_t kChunk = 256;
  /// Blocks of the innermost loop, with begin() and end() around each.
  struct Chunking {
    std::function<void()> begin, end;
  };
  /// Like loops(), with the innermost loop in blocks of kChunk iterations
  /// and chunk->begin()/end() around each block (none when `chunk` is null).
  void chunkedLoops(Index extents, llvm::function_ref<void(Index)> body,
                    const Chunking *chunk);
  /// Loops over the kept dims of `x` (outside) and its `axes` (inside):
  /// begin(kept index), step(full index) for each reduced element, then
  /// end(kept index, its offset in the kept dims).
  void reductionLoops(const Value *x, llvm::ArrayRef<int64_t> axes,
                      llvm::function_ref<void(Index)> begin,
                      llvm::function_ref<void(Index)> step,
                      llvm::function_ref<void(Index, const Expr *)> end,
                      const Chunking *chunk = nullptr);
  /// The index into an operand of type `u` broadcast to type `t`.
  std::vector<const Expr *> mapIndex(Index idx, const Type &t, const Type &u);

protected:
  Stmt &emit(Stmt::Kind k);
  /// Entering and leaving the body of a loop: values computed inside are not
  /// visible after it.
  virtual void enterScope() {}
  virtual void exitScope() {}
  unsigned newVar(Var::Kind k, Scalar t, llvm::StringRef name);
  std::vector<std::vector<Stmt> *> scopes_;
  std::set<std::string> mutableNames_;
  unsigned loopDepth_ = 0;
};

} // namespace gradc::loops

#endif
