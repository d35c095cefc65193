//===- CompileCache.h - Object files kept between processes -----*- C++ -*-===//
//
// The JIT's persistent cache: one object file per (canonical IR, options,
// target CPU and features, gradc build) key, under $GRADC_CACHE_DIR, else
// $XDG_CACHE_HOME/gradc, else ~/.cache/gradc. Entries are written to a
// temporary file and renamed into place, so concurrent processes see either
// no entry or a whole one. A cache that cannot be read or written is no cache:
// the JIT compiles as if it were empty.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_CODEGEN_COMPILECACHE_H
#define GRADC_CODEGEN_COMPILECACHE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>

namespace gradc {

class CompileCache {
public:
  /// The cache in its default directory (empty if there is no home).
  static CompileCache open();
  explicit CompileCache(std::string dir) : dir_(std::move(dir)) {}

  /// A hex digest of `key` plus what identifies this build of gradc (the
  /// binary it was loaded from, its size and time) and of LLVM.
  static std::string digest(llvm::StringRef key);

  /// The object stored under `digest`, or null.
  std::unique_ptr<llvm::MemoryBuffer> load(llvm::StringRef digest) const;
  /// Stores `object` under `digest`; false if it could not.
  bool store(llvm::StringRef digest, llvm::StringRef object) const;
  /// Forgets `digest` (an entry the JIT could not load).
  void remove(llvm::StringRef digest) const;

  const std::string &dir() const { return dir_; }

private:
  std::string path(llvm::StringRef digest) const;
  std::string dir_;
};

} // namespace gradc

#endif
