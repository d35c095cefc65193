//===- Diagnostics.h - Errors with a location and a caret ------*- C++ -*-===//
#ifndef GRADC_SUPPORT_DIAGNOSTICS_H
#define GRADC_SUPPORT_DIAGNOSTICS_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

namespace gradc {

/// Reports diagnostics through llvm::SourceMgr (clang's format: the location,
/// the message, the source line and a caret) and counts the errors.
class DiagEngine {
public:
  explicit DiagEngine(llvm::SourceMgr &sm, llvm::raw_ostream &os = llvm::errs())
      : sm_(sm), os_(os) {}

  void error(llvm::SMLoc loc, const llvm::Twine &msg) {
    ++errors_;
    emit(loc, llvm::SourceMgr::DK_Error, msg);
  }
  void note(llvm::SMLoc loc, const llvm::Twine &msg) {
    emit(loc, llvm::SourceMgr::DK_Note, msg);
  }
  unsigned errorCount() const { return errors_; }
  llvm::SourceMgr &sourceMgr() { return sm_; }

private:
  void emit(llvm::SMLoc loc, llvm::SourceMgr::DiagKind kind,
            const llvm::Twine &msg) {
    if (loc.isValid())
      sm_.PrintMessage(os_, loc, kind, msg);
    else
      sm_.PrintMessage(os_, llvm::SMDiagnostic("gradc", kind, msg.str()));
  }
  llvm::SourceMgr &sm_;
  llvm::raw_ostream &os_;
  unsigned errors_ = 0;
};

} // namespace gradc

#endif
