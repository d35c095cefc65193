//===- Parts.cpp - Cutting a long function into parts ---------------------===//
//
// LLVM's code generation is superlinear in the size of a function (its
// register allocator and scheduler walk long blocks once per instruction),
// so a function of 10^5 fused ops compiled as one LLVM function took minutes.
// When the top-level statements of a LoopFunction are larger than
// LoopOptions::partSize nodes (statements and expression nodes), they are cut
// into consecutive parts of at most about that size, each of which the
// renderers compile as a function of its own, called in order; a function of
// ordinary size is one part and is rendered as before.
//
// Top-level statements communicate through buffers, and through scalar
// variables: a loop group's accumulator is assigned before its loop and
// stored after it, a `let` may be read by later statements. A cut is
// therefore only made where no variable is live across it (and not between
// a comment and the statement it describes), so that a part needs only
// buffer pointers and symbolic dims from its caller.
//
//===----------------------------------------------------------------------===//
#include "Walk.h"

#include "gradc/Loops/LoopIR.h"

#include "llvm/ADT/DenseSet.h"

namespace gradc::loops {

void splitIntoParts(LoopFunction &fn, size_t maxSize) {
  fn.cuts.clear();
  size_t n = fn.body.size();
  // The size of each top-level statement, and the first and last top-level
  // statement that names each variable.
  std::vector<size_t> size(n);
  std::vector<size_t> first(fn.vars.size(), SIZE_MAX), last(fn.vars.size());
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    llvm::DenseSet<const Expr *> seen;
    auto use = [&](unsigned v) {
      first[v] = std::min(first[v], i);
      last[v] = i;
    };
    walkNames(fn.body[i], seen, use, [&] { ++size[i]; });
    total += size[i];
  }
  if (total <= maxSize)
    return;
  // live[i] > 0: a variable named before statement i is named again at or
  // after it, so no cut may be made before i.
  std::vector<int> live(n + 1);
  for (size_t v = 0; v < fn.vars.size(); ++v)
    if (first[v] != SIZE_MAX && first[v] < last[v]) {
      ++live[first[v] + 1];
      --live[last[v] + 1];
    }
  size_t current = 0;
  int open = 0;
  for (size_t i = 0; i < n; ++i) {
    open += live[i];
    bool canCut = i > 0 && open == 0 && fn.body[i - 1].kind != Stmt::Comment;
    if (canCut && current > 0 && current + size[i] > maxSize) {
      fn.cuts.push_back(i);
      current = 0;
    }
    current += size[i];
  }
}

} // namespace gradc::loops
