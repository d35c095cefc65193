//===- LoopIR.h - The loop-level IR both backends render --------*- C++ -*-===//
//
// A function of the graph IR lowered to explicit storage and loops, in the
// spirit of Halide's lowered statements or TVM's TIR:
//  - buffers: the arguments, the outputs, constant arrays and the arena
//    slots of intermediates, each with its element type and (symbolic) dims;
//  - statements: loop nests over symbolic extents, stores, scalar variables
//    (immutable `let`s and mutable accumulators), calls of library kernels
//    (BLAS gemm/gemv/dot with transpose flags), memset and copy;
//  - scalar expressions: constants, symbolic dims, loop indices, loads at a
//    row-major offset, integer index arithmetic and the scalar formula of an
//    elementwise op (rendered from its OpDef by each backend).
// Everything a backend used to decide -- fusion and loop groups, the storage
// plan and slot reuse, broadcast index maps, the order of reduction loops --
// is decided when the graph is lowered (lib/Loops/Lower.cpp); a backend only
// renders this IR.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_LOOPS_LOOPIR_H
#define GRADC_LOOPS_LOOPIR_H

#include "gradc/IR/IR.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/raw_ostream.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace gradc::loops {

/// The type of a scalar expression. Integer elements (i32 or i64 buffers)
/// are I64 scalars: loads of i32 sign-extend, stores truncate.
enum class Scalar : uint8_t { I1, I64, F32, F64 };
Scalar scalarOf(DType t);
llvm::StringRef scalarName(Scalar s);

/// Where a buffer's memory comes from.
struct Buffer {
  enum Kind : uint8_t { Arg, Result, Const, Arena } kind;
  unsigned index;   // Arg: argument #, Result: output #, Arena: slot #
  std::string name; // the graph value's name
  DType dtype;
  std::vector<Dim> dims;
  const Tensor *data = nullptr; // Const: the elements
};

/// An arena slot: the largest value it holds decides its size. Slots are
/// reused by values of the same type once every reader of the previous
/// value is done.
struct Slot {
  DType dtype;
  std::vector<Dim> dims;
};

/// A scalar variable: a loop index, an immutable `let`, or a mutable local
/// (an accumulator) that lives across loop iterations.
struct Var {
  enum Kind : uint8_t { Index, Let, Mutable } kind;
  Scalar type;
  std::string name;
};

struct Expr {
  enum Kind : uint8_t {
    Int,        // i: an i64 constant
    Float,      // f: a constant of `type`
    Sym,        // sym: a symbolic dim (i64)
    Read,       // var: the value of a variable
    Load,       // buf[args[0]] (a row-major offset)
    Add,        // i64 args[0] + args[1] (non-negative indices: nuw nsw)
    Mul,        // i64 args[0] * args[1]
    Min,        // i64 smin(args[0], args[1])
    Apply,      // the formula of elementwise op `op` over args; on I64
                // args integer arithmetic wrapping around modulo 2^64,
                // then modulo 2^32 if `i` is 32 (an i32 result)
    Cast,       // args[0] converted to `type` (fp ext/trunc, int to fp; fp
                // to int toward zero, NaN and out of range giving INT64_MIN)
    MaxStep,    // max(acc=args[0], x=args[1]) with NaN winning, acc first
    IsNewMax,   // i1: x=args[0] is the new first maximum over best=args[1]
                // found at at=args[2] (at < 0: none yet; NaN wins, stays)
    ExpShifted, // exp(args[0] - args[1]), 0 when args[1] is -inf
    LogSumExp,  // args[0] + log(args[1]), or args[0] when it is infinite
    Select,     // args[0] ? args[1] : args[2] (args[0] is i1)
    SAdd,       // i64 args[0] + args[1], either possibly negative
    ILt,        // i1: i64 args[0] < args[1] (signed)
    IEq,        // i1: i64 args[0] == args[1]
    NonZero,    // i1: args[0] != 0 (of any type; NaN counts as nonzero)
    Shared,     // `op` (tanh or sigmoid) of x = args[0] from the exponential
                // it shares with the other one (shareExponentials):
                // args = (x, e^-|x|, e^-|x| - 1, 1/((1 + e)(1 + e^2)))
  } kind;
  Scalar type;
  OpKind op = OpKind::Const; // Apply, Shared
  int64_t i = 0;             // Int
  double f = 0;              // Float
  unsigned var = 0;          // Read
  const Buffer *buf = nullptr;
  std::string sym;
  std::vector<const Expr *> args;
};

/// A call of a library kernel; dims are i64 expressions.
struct KernelCall {
  enum Kind : uint8_t {
    Gemm, // C[M,N] = op(A)[M,K] op(B)[K,N], row-major, leading dims lda/ldb
    Gemv, // y = op(A) x, A stored [M,N] with leading dim lda
    Dot,  // C[0] = sum_i A[i] B[i] over M elements
  } kind;
  DType dtype;
  bool transA = false, transB = false;
  const Expr *m = nullptr, *n = nullptr, *k = nullptr, *lda = nullptr,
             *ldb = nullptr;
  const Buffer *a = nullptr, *b = nullptr, *c = nullptr;
  /// Gemm: element offsets into a, b and c (null: 0), for one matrix of a
  /// batch (a call inside loops over the batch dims).
  const Expr *offA = nullptr, *offB = nullptr, *offC = nullptr;
  /// Gemm: C += op(A) op(B) (beta 1) instead of C = op(A) op(B).
  bool accumulate = false;
};

/// The largest function (in statements and expression nodes) rendered as
/// one function: about 6,500 ops of an elementwise chain, few enough that
/// LLVM's code generation stays linear, and nearly twice the largest model
/// of bench/workloads (W8's gradient, about 17,800), so that every
/// function of ordinary size compiles as one (docs/backends.md).
constexpr size_t kPartSize = 32768;

struct LoopFunction;

/// A buffer of the caller at an element offset (null: 0), passed to an
/// invoked function as one of its arguments or outputs.
struct BufferRef {
  const Buffer *buf = nullptr;
  const Expr *offset = nullptr;
};

/// A call of another lowered function of the same module (the body of a
/// `scan`, a branch of a `cond`): LoopFunction::callees[callee] runs on
/// `args` and writes `results`, with its symbolic dims bound to `dims` (in
/// the order of symbolicDims(callee)) and its arena slots carved out of the
/// caller's arena (`slots`: one caller buffer per callee slot). It returns
/// nonzero only for an index out of range, which the caller passes on.
struct Invocation {
  unsigned callee = 0;
  std::vector<BufferRef> args, results;
  std::vector<const Expr *> dims;
  std::vector<const Buffer *> slots;
};

/// What a backend wants from the lowering.
struct LoopOptions {
  /// Call BLAS kernels for matmul/dot; loops otherwise.
  bool blas = true;
  /// With `blas`: also give each kernel call its loops (Stmt::body), for a
  /// backend that chooses at build time (the C++ backend's #ifdef).
  bool kernelFallback = false;
  /// Sum f32 elements in float over blocks of LoopBuilder::kChunk before
  /// adding each block in double (so that the loop vectorizes on 16 lanes);
  /// false: every element is added in double.
  bool chunkF32Sums = true;
  /// Accumulate matmul loops and the softmax family's max and sum in double
  /// (as the interpreter does) rather than in the element type.
  bool wideAccumulators = false;
  /// Mark the loops that may run on several threads (Stmt::parallel).
  bool parallel = true;
  /// Cut a function larger than this (statements and expression nodes) into
  /// parts that are rendered as functions of their own (LoopFunction::cuts).
  size_t partSize = kPartSize;
};

struct Stmt {
  enum Kind : uint8_t {
    For,        // for var = a; var < b; var += step: body
    Let,        // let var = a (immutable)
    Assign,     // var = a (a Mutable var)
    Accumulate, // var += a, reassociable (so that loops vectorize)
    Store,      // buf[a] = b
    Call,       // a library kernel (body: the same in loops, if asked for)
    Memset,     // buf[0 .. a) = 0
    Copy,       // buf[0 .. a) = src[0 .. a)
    Comment,    // text (the graph op a block computes)
    FailIf,     // if a (i1): stop, returning 2 (an index out of range)
    If,         // if a (i1): body, else: orelse
    Invoke,     // run another lowered function (invoke)
  } kind;
  unsigned var = 0;
  const Expr *a = nullptr, *b = nullptr;
  int64_t step = 1;
  const Buffer *buf = nullptr, *src = nullptr;
  KernelCall call;
  std::string text;
  std::vector<Stmt> body;
  std::vector<Stmt> orelse; // If: the else branch
  Invocation invoke;        // Invoke
  /// For, at the top level of a function: its iterations may run on
  /// several threads (lib/Loops/Parallel.cpp). Each writes its own rows and
  /// privatizes the mutables it assigns; the `reduce` variables only receive
  /// `+=`, and are summed per block of iterations, the blocks' partial sums
  /// then added in block order. `work` estimates the statements the loop
  /// executes; below kParallelWork the loop stays on one thread.
  bool parallel = false;
  std::vector<unsigned> reduce;
  const Expr *work = nullptr;
  /// Store, Accumulate: a multiply of the stored or added expression (not
  /// one bound by a `let`) may fuse with the add it feeds into one
  /// multiply-add rounding once (printed `(fma)`), as C compilers contract
  /// `a * b + c`. Set for the dot products and row updates of a row fusion,
  /// whose sums are reassociated anyway.
  bool contract = false;
  /// For, at the top level of a function: k > 0 if the nest is the k-th
  /// of those that occur several times among the functions lowered
  /// together (shareNests): renderers compile it once, as a function of
  /// its buffers (sharedParams) and symbolic dims, and call that. 0: not
  /// shared.
  unsigned shared = 0;
};

/// The least work (statements executed) that a parallel loop runs on
/// several threads for: starting the threads costs microseconds.
constexpr int64_t kParallelWork = 32768;

/// One graph function lowered to loops.
struct LoopFunction {
  const Function *source = nullptr;
  std::vector<std::unique_ptr<Buffer>> buffers;
  std::vector<Slot> slots;
  std::vector<Var> vars;
  std::vector<Stmt> body;
  std::deque<Expr> exprs; // every expression of the function
  /// Where `body` is cut into parts, each rendered as a function of its own
  /// and called in order (splitIntoParts): the index of the first statement
  /// of every part but the first. Empty (every function of ordinary size):
  /// one part. No scalar variable is live across a cut.
  std::vector<size_t> cuts;

  /// The parts, as [begin, end) ranges of `body`.
  std::vector<std::pair<size_t, size_t>> parts() const;

  /// Bit k: result k is computed in the memory of argument k, which its
  /// invoker passes for both (a scan's carry that only accumulates:
  /// `%r = add %arg_k, %x`, the argument read nowhere else). The argument's
  /// own pointer is never read.
  uint64_t inPlace = 0;
  /// The functions this one invokes (Stmt::Invoke). Each function is
  /// lowered once and shared by all that invoke it (see lowerToLoops).
  std::vector<std::shared_ptr<const LoopFunction>> callees;

  /// The buffer of argument/output `i`.
  const Buffer *arg(unsigned i) const;
  const Buffer *result(unsigned i) const;
  void print(llvm::raw_ostream &os) const;
};

/// Where one statement list (a loop body) applies both tanh and sigmoid to
/// the same f32 expression x, computes e = e^-|x|, u = e^-|x| - 1 and
/// r = 1/((1 + e)(1 + e^2)) once, in `let`s before the first use, and
/// derives both from them (Expr::Shared; lib/Loops/ShareExp.cpp): one
/// exponential and one division instead of two of each.
void shareExponentials(LoopFunction &fn);

/// Marks the top-level loops of `fn` that may run in parallel over their
/// outer dimension (Stmt::parallel, reduce, work).
void markParallelLoops(LoopFunction &fn);

/// Cuts the top-level statements of `fn` into parts of at most about
/// `maxSize` nodes (statements and expression nodes) if it is larger
/// (lib/Loops/Parts.cpp); sets fn.cuts.
void splitIntoParts(LoopFunction &fn, size_t maxSize);

/// Whether `a` and `b` are the same expression tree (the same value).
bool sameExpr(const Expr *a, const Expr *b);

/// What statements use from outside themselves: each buffer they load,
/// store, set, copy or pass to a kernel, and each symbolic dim they read,
/// in order of first use.
struct Uses {
  std::vector<const Buffer *> buffers;
  std::vector<std::string> syms;
};
Uses usesOf(llvm::ArrayRef<Stmt> body);
Uses usesOf(const Stmt &s);

/// Numbers the top-level loop nests of `fns` that are equal up to their
/// buffers, symbolic dims and variables and occur at least twice (sets
/// Stmt::shared, 1, 2, ... in order of first occurrence; lib/Loops/Share.cpp);
/// returns how many there are. A nest is shared only if no variable it
/// names is named by another top-level statement, it holds no FailIf and no
/// Invoke, and its buffers are distinct memory.
unsigned shareNests(llvm::ArrayRef<LoopFunction *> fns);
/// The canonical text of top-level statement `s` of `fn` that shareNests
/// compares: equal for nests that compute the same up to their buffers,
/// dims and variables; "" if `s` cannot be shared.
std::string sharedKey(const LoopFunction &fn, const Stmt &s);
/// The buffers a shared nest takes as parameters, in order of first use
/// (the constants it reads are part of its code instead); then come its
/// symbolic dims, usesOf(s).syms.
std::vector<const Buffer *> sharedParams(const Stmt &s);

/// Builds the expressions of one LoopFunction, folding trivial integer
/// arithmetic (x + 0, x * 1, x * 0) so that the printed IR stays readable.
class ExprBuilder {
public:
  explicit ExprBuilder(LoopFunction &fn) : fn_(fn) {}

  const Expr *i(int64_t v);
  /// A constant of type `t` (I64: `v` as an integer, infinities the
  /// extremes, so that max/min reductions start there).
  const Expr *f(double v, Scalar t);
  const Expr *sym(llvm::StringRef name);
  const Expr *dim(const Dim &d) { return d.isSym() ? sym(d.sym) : i(d.size); }
  const Expr *read(unsigned var);
  const Expr *load(const Buffer *b, const Expr *offset);
  const Expr *add(const Expr *a, const Expr *b);
  const Expr *mul(const Expr *a, const Expr *b);
  const Expr *min(const Expr *a, const Expr *b);
  /// `wrap32`: integer arithmetic of an i32 result, wrapped to 32 bits.
  const Expr *apply(OpKind k, llvm::ArrayRef<const Expr *> args,
                    bool wrap32 = false);
  const Expr *cast(const Expr *a, Scalar to);
  const Expr *maxStep(const Expr *acc, const Expr *x);
  const Expr *isNewMax(const Expr *x, const Expr *best, const Expr *at);
  const Expr *expShifted(const Expr *x, const Expr *m);
  const Expr *logSumExp(const Expr *m, const Expr *s);
  const Expr *select(const Expr *c, const Expr *a, const Expr *b);
  const Expr *sadd(const Expr *a, const Expr *b);
  const Expr *ilt(const Expr *a, const Expr *b);
  const Expr *ieq(const Expr *a, const Expr *b);
  const Expr *nonZero(const Expr *a);
  /// Expr::Shared: op `k` (tanh or sigmoid) of x from e, u and r.
  const Expr *shared(OpKind k, const Expr *x, const Expr *e, const Expr *u,
                     const Expr *r);

  /// The dims of `t` as expressions.
  std::vector<const Expr *> shape(const std::vector<Dim> &dims);
  /// The product of `dims`.
  const Expr *product(llvm::ArrayRef<const Expr *> dims);
  /// Row-major offset of `idx` in `shape`.
  const Expr *linear(llvm::ArrayRef<const Expr *> idx,
                     llvm::ArrayRef<const Expr *> shape);

protected:
  Expr &make(Expr::Kind k, Scalar t, llvm::ArrayRef<const Expr *> args = {});
  LoopFunction &fn_;
  std::vector<const Expr *> small_; // i(0..7), shared
};

} // namespace gradc::loops

#endif
