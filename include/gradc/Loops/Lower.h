//===- Lower.h - From the graph IR to the loop IR ---------------*- C++ -*-===//
//
// lowerToLoops decides, once for every backend, how a verified function is
// computed: its storage plan (which values are fused into their consumers,
// which are views, which share an arena slot), its loop groups (consecutive
// loops over the same dims run as one), and each op's loops, written by the
// op's own OpDef hook (`OpDef::loops`).
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_LOOPS_LOWER_H
#define GRADC_LOOPS_LOWER_H

#include "gradc/Loops/LoopIR.h"
#include "gradc/Ops/OpDef.h"

#include "llvm/ADT/DenseMap.h"

#include <map>
#include <memory>

namespace gradc::loops {

/// Functions lowered as callees, by source function and in-place results
/// (LoopFunction::inPlace).
using CalleeCache = std::map<std::pair<const Function *, uint64_t>,
                             std::shared_ptr<const LoopFunction>>;

/// Lowers `f`; the functions it invokes (through `cond` and `scan`) are
/// lowered once each and shared through `cache` (all the functions of a
/// module lowered with one cache share their callees; null: a cache for
/// this call).
/// `inPlace` (a function invoked by a scan): LoopFunction::inPlace.
std::unique_ptr<LoopFunction> lowerToLoops(const Function &f,
                                           const LoopOptions &opts,
                                           CalleeCache *cache = nullptr,
                                           uint64_t inPlace = 0);

/// Bytes of the arena one call of `fn` uses, for the given symbolic dims.
int64_t arenaBytes(const LoopFunction &fn, const SymEnv &syms);
/// The same for `f`, from its storage plan alone (no loops are built).
int64_t arenaBytes(const Function &f, const SymEnv &syms);

/// Alignment of every arena slot, in bytes.
constexpr int64_t kArenaAlign = 64;

} // namespace gradc::loops

#endif
