//===- Plan.h - Where each value of a function lives ------------*- C++ -*-===//
//
// The storage plan of a function (private to lib/Loops): which values are
// fused into their consumers, which are views, which loops run together as
// a loop group, and which arena slot each stored value gets. Every walk is
// iterative (one pass over the ops, forwards or backwards), so that the plan
// of a long program costs linear time and constant stack.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_LIB_LOOPS_PLAN_H
#define GRADC_LIB_LOOPS_PLAN_H

#include "gradc/IR/IR.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallVector.h"

#include <vector>

namespace gradc::loops {

/// The longest chain of fused producers computed inside one consumer; a
/// longer chain stores a value, so that expression depth stays bounded.
constexpr unsigned kMaxFusedDepth = 32;
/// The most ops (members and the producers fused into them) in one loop
/// group, so that no loop body grows with the program.
constexpr unsigned kMaxGroupOps = 256;

/// How each value of a function is stored.
struct Plan {
  llvm::DenseMap<const Value *, unsigned> uses;
  llvm::DenseSet<const Value *> fused, views, foldedTranspose;
  llvm::DenseMap<const Value *, unsigned> outputSlot; // computed into out[i]
  std::vector<const Value *> arena;                   // materialized, in order
  /// Slots of the arena: a materialized value takes a free slot of its exact
  /// type once the slot's last reader is done, else a new one.
  std::vector<const Value *> slots; // a value of each slot's type
  llvm::DenseMap<const Value *, unsigned> slotOf;
  /// Loop groups: consecutive loops over the same dims (elementwise ops and
  /// full reductions) run as one loop; a value read only inside its group
  /// stays in a register and gets no buffer.
  std::vector<std::vector<const Op *>> groups;
  llvm::DenseMap<const Op *, unsigned> groupOf;
  llvm::DenseSet<const Value *> registers;

  /// A matmul whose product is added, with beta 1, into the buffer of the
  /// in-place result it is added to (`inPlace`: LoopFunction::inPlace):
  /// the product -> that result. The `add` then needs no loop.
  llvm::DenseMap<const Value *, const Value *> accumulatesInto;
  llvm::DenseSet<const Op *> noLoop;

  /// Row fusion: a matrix-vector product `%y = matmul %X, %v` (X [N,K]
  /// row-major and static, at least kRowFusionBytes) and a later
  /// `%z = matmul %Xt, %g` with %Xt the folded transpose of the same %X (a
  /// gradient's `X^T g`). Of the ops between them, those that depend on %y
  /// and are loops over its N rows reading row i of every value that
  /// depends on %y (loop group members) stay between; the other ops that
  /// depend on %y, and those reading them, move after %z (%g may not be one
  /// of them); the rest move before %y. Both products and the loops between
  /// then run in one pass over X's rows, each row read from memory once
  /// (Lower.cpp). The first product -> the second.
  llvm::DenseMap<const Op *, const Op *> rowFusion;
  /// The smallest matrix row fusion reads once instead of twice.
  static constexpr int64_t kRowFusionBytes = 256 << 10;
  /// The rows of a row fusion's blocks (LoopBuilder::kChunk each).
  static constexpr int64_t kFusedRows = 256;
  /// The scratch buffer of the row fusion starting at `fwd`: the second
  /// product's partial sum over each block of kFusedRows rows.
  static Type blocksOf(const Op &fwd);
  /// A sum or mean over axis 0 of a float [N,C] with N static (a column sum,
  /// a bias's gradient): it joins a loop group over [N,C], which then runs
  /// in blocks of columnBlockRows([N,C]) rows (one block when it is too
  /// small for several threads), each block summing its rows into
  /// a row of the fold's scratch buffer (columnBlocksOf), the blocks' rows
  /// added in block order after the loop (Lower.cpp).
  static bool isColumnFold(const Op *op);
  static int64_t columnBlockRows(const std::vector<Dim> &x);
  static Type columnBlocksOf(const Op &fold);
  /// The ops in the order they are lowered: the function's, except for the
  /// ops row fusion moves before its first product or after its second.
  std::vector<const Op *> order;

  explicit Plan(const Function &f, uint64_t inPlace = 0);
  /// Whether `op` is lowered to a loop or a call of its own.
  bool needsLoop(const Op *op) const;
  /// The dims a loop-group member loops over: an elementwise op's result, or
  /// the operand of a reduction over all its axes; null for other ops.
  static const std::vector<Dim> *loopDims(const Op *op);
  /// The buffers (non-fused values) that computing `op` reads, each once.
  void leaves(const Op *op, llvm::SmallVectorImpl<const Value *> &out) const;
  /// The value whose buffer `v` reads (through views and folded transposes).
  const Value *owner(const Value *v) const;

private:
  using UsersMap =
      llvm::DenseMap<const Value *, llvm::SmallVector<const Op *, 2>>;
  void findRowFusions(UsersMap &users);
  void formGroups(UsersMap &users,
                  const llvm::DenseSet<const Value *> &results);
  void assignSlots(const Function &f, UsersMap &users);
  /// Ops fused into each value, itself included (for kMaxGroupOps).
  llvm::DenseMap<const Value *, unsigned> weight_;
};

} // namespace gradc::loops

#endif
