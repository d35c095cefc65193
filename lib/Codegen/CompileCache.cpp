//===- CompileCache.cpp - Object files kept between processes -------------===//
#include "gradc/Codegen/CompileCache.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>
#include <sys/stat.h>

namespace gradc {

CompileCache CompileCache::open() {
  llvm::SmallString<256> dir;
  if (auto d = llvm::sys::Process::GetEnv("GRADC_CACHE_DIR"); d && !d->empty())
    dir = *d;
  else if (auto x = llvm::sys::Process::GetEnv("XDG_CACHE_HOME");
           x && !x->empty())
    llvm::sys::path::append(dir, *x, "gradc");
  else if (auto h = llvm::sys::Process::GetEnv("HOME"); h && !h->empty())
    llvm::sys::path::append(dir, *h, ".cache", "gradc");
  return CompileCache(std::string(dir));
}

/// What changes whenever gradc is rebuilt: the file this code was loaded
/// from (the gradc binary, or the Python module), with its size and time.
static const std::string &buildId() {
  static const std::string id = [] {
    std::string s = "llvm " LLVM_VERSION_STRING;
    Dl_info info;
    struct stat st;
    if (dladdr(reinterpret_cast<void *>(&buildId), &info) && info.dli_fname &&
        stat(info.dli_fname, &st) == 0)
      s += llvm::formatv(" {0} {1} {2}.{3}", info.dli_fname, st.st_size,
                         st.st_mtim.tv_sec, st.st_mtim.tv_nsec)
               .str();
    return s;
  }();
  return id;
}

std::string CompileCache::digest(llvm::StringRef key) {
  llvm::SHA256 h;
  h.update(buildId());
  h.update(llvm::StringRef("\0", 1));
  h.update(key);
  return llvm::toHex(h.final(), /*LowerCase=*/true);
}

std::string CompileCache::path(llvm::StringRef digest) const {
  llvm::SmallString<256> p(dir_);
  llvm::sys::path::append(p, digest + ".o");
  return std::string(p);
}

std::unique_ptr<llvm::MemoryBuffer>
CompileCache::load(llvm::StringRef digest) const {
  if (dir_.empty())
    return nullptr;
  auto buf = llvm::MemoryBuffer::getFile(path(digest), /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  return buf ? std::move(*buf) : nullptr;
}

bool CompileCache::store(llvm::StringRef digest, llvm::StringRef object) const {
  if (dir_.empty() || llvm::sys::fs::create_directories(dir_))
    return false;
  // A unique temporary in the same directory, renamed into place: readers
  // never see a partial entry, and the last of two writers wins with an
  // identical file.
  llvm::SmallString<256> tmp;
  int fd;
  if (llvm::sys::fs::createUniqueFile(path(digest) + ".tmp-%%%%%%%%", fd, tmp))
    return false;
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << object;
    os.close();
    if (os.has_error()) {
      os.clear_error();
      llvm::sys::fs::remove(tmp);
      return false;
    }
  }
  if (llvm::sys::fs::rename(tmp, path(digest))) {
    llvm::sys::fs::remove(tmp);
    return false;
  }
  return true;
}

void CompileCache::remove(llvm::StringRef digest) const {
  if (!dir_.empty())
    llvm::sys::fs::remove(path(digest));
}

} // namespace gradc
