//===- Attrs.h - Typed accessors of verified attributes ---------*- C++ -*-===//
//
// A structured attribute (reduction axes, an axis, a permutation, pads, a
// window, an einsum spec) has one decoder in its op's file, which the op's
// shape rule calls: its errors are the verifier's diagnostics. Every later
// stage (kernels, adjoints, the loop lowering, the simplifier) reads a
// verified op through a typed accessor that decodes with that same function.
// A failure there means the op was never verified: an internal error, never
// an ignored one.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_OPS_ATTRS_H
#define GRADC_OPS_ATTRS_H

#include "gradc/IR/IR.h"

#include <cstdint>
#include <string>
#include <vector>

namespace gradc {

/// Reports a decoding failure on an op that should have been verified.
[[noreturn]] void unverifiedAttr(const Op &op, const std::string &err);

/// Runs `decode(T &out, std::string &err)` on a verified op.
template <class T, class Decode> T verifiedAttr(const Op &op, Decode &&decode) {
  T out{};
  std::string err;
  if (!decode(out, err))
    unverifiedAttr(op, err);
  return out;
}

/// The `axes` of a reduction of operand 0 (sum, mean, reduce_max,
/// reduce_min, argmax_mask): resolved, sorted, unique; all axes if absent.
std::vector<int64_t> reducedAxesOf(const Op &op);
/// The `axis` (default -1) of logsumexp, softmax, log_softmax or dim,
/// resolved against an operand of rank `rank`.
int64_t singleAxisOf(const Op &op, unsigned rank);
/// The `axis` (default `dflt`) of an indexing op (concat, gather, cumsum,
/// ...), resolved against `rank`.
int64_t axisOf(const Op &op, unsigned rank, int64_t dflt);
/// The permutation of a transpose ({1, 0} without `perm`).
std::vector<int64_t> permOf(const Op &op);
/// Whether `op` is a transpose of a matrix (perm {1, 0}, written or not).
bool isMatrixTranspose(const Op &op);
/// Whether `op` is a transpose that swaps the last two axes and keeps the
/// others (a matrix's, or each matrix's of a batch).
bool transposesLastTwo(const Op &op);
/// The `pads` of a pad: the begins of each axis, then the ends.
std::vector<int64_t> padsOf(const Op &op);

} // namespace gradc

#endif
