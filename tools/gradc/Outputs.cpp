//===- Outputs.cpp - Output files that appear only on success -------------===//
#include "Driver.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

namespace gradc::driver {

struct Outputs::File {
  std::string path;
  std::optional<llvm::sys::fs::TempFile> temp; // none for stdout
  std::unique_ptr<llvm::raw_fd_ostream> fd;
  llvm::SmallString<0> buffer; // stdout's text, printed by commit()
  std::unique_ptr<llvm::raw_svector_ostream> mem;
  llvm::raw_pwrite_stream &os() {
    return fd ? static_cast<llvm::raw_pwrite_stream &>(*fd) : *mem;
  }
};

Outputs::Outputs() = default;

Outputs::~Outputs() {
  for (auto &f : files_)
    if (f->temp) {
      f->fd.reset();
      llvm::consumeError(f->temp->discard());
    }
}

llvm::raw_pwrite_stream *Outputs::open(llvm::StringRef path) {
  auto f = std::make_unique<File>();
  f->path = path.str();
  if (path == "-") {
    f->mem = std::make_unique<llvm::raw_svector_ostream>(f->buffer);
  } else {
    for (const auto &g : files_)
      if (g->path == path) {
        fail("two outputs would be written to '" + path + "'");
        return nullptr;
      }
    // A temporary next to the file, renamed into place by commit().
    auto temp = llvm::sys::fs::TempFile::create(path + ".tmp%%%%%%");
    if (!temp) {
      std::error_code ec = llvm::errorToErrorCode(temp.takeError());
      fail("cannot write '" + path + "': " + ec.message());
      return nullptr;
    }
    f->temp.emplace(std::move(*temp));
    f->fd = std::make_unique<llvm::raw_fd_ostream>(f->temp->FD,
                                                   /*shouldClose=*/false);
  }
  files_.push_back(std::move(f));
  return &files_.back()->os();
}

bool Outputs::commit() {
  for (auto &f : files_) {
    if (!f->temp) {
      llvm::outs() << f->buffer;
      continue;
    }
    f->fd->flush();
    if (f->fd->has_error()) {
      fail("cannot write '" + f->path + "': " + f->fd->error().message());
      f->fd->clear_error();
      return false;
    }
    f->fd.reset();
    if (llvm::Error e = f->temp->keep(f->path)) {
      fail("cannot write '" + f->path +
           "': " + llvm::errorToErrorCode(std::move(e)).message());
      return false;
    }
    f->temp.reset();
  }
  files_.clear();
  llvm::outs().flush();
  return true;
}

} // namespace gradc::driver
