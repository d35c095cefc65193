// In progress: replaced by the C++ emitter.
#include "gradc/CppGen/CppEmitter.h"
namespace gradc {
llvm::Error emitCpp(const Module &, llvm::raw_ostream &, llvm::StringRef) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "C++ emission is in progress");
}
} // namespace gradc
