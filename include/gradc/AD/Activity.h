//===- Activity.h - Which values carry derivatives --------------*- C++ -*-===//
#ifndef GRADC_AD_ACTIVITY_H
#define GRADC_AD_ACTIVITY_H

#include "gradc/IR/IR.h"

#include "llvm/ADT/DenseSet.h"

namespace gradc {

/// A value is active when it is varied (depends differentiably on one of the
/// chosen arguments) and useful (one of the chosen outputs depends on it).
/// Only active values get adjoints; only ops with an active result are
/// differentiated.
class Activity {
public:
  Activity(const Function &f, llvm::ArrayRef<const Value *> from,
           llvm::ArrayRef<const Value *> to);
  bool isActive(const Value *v) const { return active_.contains(v); }

private:
  llvm::DenseSet<const Value *> active_;
};

} // namespace gradc

#endif
