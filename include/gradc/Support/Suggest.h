//===- Suggest.h - "Did you mean" hints --------------------------*- C++
//-*-===//
#ifndef GRADC_SUPPORT_SUGGEST_H
#define GRADC_SUPPORT_SUGGEST_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace gradc {

/// The name among `names` closest to `s` by edit distance (LLVM's
/// StringRef::edit_distance), if it is close enough to be a likely typo: a
/// name that differs only in case, or else at most 0 edits for names of 1 or
/// 2 characters, 1 up to 4, 2 up to 8, then a third of the length. Empty if
/// none is.
template <typename Range>
std::string closestName(llvm::StringRef s, const Range &names) {
  std::string best;
  unsigned limit = s.size() <= 2   ? 0
                   : s.size() <= 4 ? 1
                   : s.size() <= 8 ? 2
                                   : unsigned(s.size() / 3);
  unsigned bestDist = limit + 1;
  for (const auto &n : names) {
    llvm::StringRef name(n);
    if (name == s)
      continue;
    if (name.equals_insensitive(s))
      return name.str(); // `w1` for `W1`, whatever the length
    unsigned d = s.edit_distance(name, /*AllowReplacements=*/true, bestDist);
    if (d < bestDist) {
      bestDist = d;
      best = name.str();
    }
  }
  return best;
}

/// "; did you mean 'x'?" for the closest of `names`, or "". `sigil` is put
/// before the name ('%' for values, '@' for functions).
template <typename Range>
std::string didYouMean(llvm::StringRef s, const Range &names,
                       llvm::StringRef sigil = "") {
  std::string best = closestName(s, names);
  return best.empty() ? "" : "; did you mean '" + sigil.str() + best + "'?";
}

} // namespace gradc

#endif
