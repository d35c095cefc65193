//===- Emit.cpp - gradc emit: LLVM IR, assembly, objects, C++ -------------===//
#include "Driver.h"

#include "gradc/Codegen/Jit.h"
#include "gradc/CppGen/CppEmitter.h"
#include "gradc/IR/ABI.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace gradc;
namespace cl = llvm::cl;

namespace gradc::driver {
namespace {

enum class Target { LLVM, Asm, Obj, Cpp };
cl::opt<Target> EmitTarget(
    "target", cl::desc("What to write"), cl::init(Target::Obj),
    cl::values(clEnumValN(Target::LLVM, "llvm", "LLVM IR (text)"),
               clEnumValN(Target::Asm, "asm", "assembly for the host CPU"),
               clEnumValN(Target::Obj, "obj",
                          "an object file for the host CPU"),
               clEnumValN(Target::Cpp, "cpp", "C++17 source")),
    cl::sub(EmitCmd), cl::cat(Cat));
cl::opt<std::string> OutputFile("o",
                                cl::desc("Output file (default: stdout "
                                         "for text, FILE.o for objects)"),
                                cl::value_desc("path"), cl::sub(EmitCmd),
                                cl::cat(Cat));
cl::opt<std::string> HeaderFile("header",
                                cl::desc("Also write a C header declaring "
                                         "the functions"),
                                cl::value_desc("path"), cl::sub(EmitCmd),
                                cl::cat(Cat));

/// Opens `path` ("-" is stdout) for writing.
std::unique_ptr<llvm::ToolOutputFile> open(llvm::StringRef path, bool text) {
  std::error_code ec;
  auto out = std::make_unique<llvm::ToolOutputFile>(
      path, ec, text ? llvm::sys::fs::OF_Text : llvm::sys::fs::OF_None);
  if (ec) {
    fail("cannot write '" + path + "': " + ec.message());
    return nullptr;
  }
  return out;
}

} // namespace

int runEmit() {
  llvm::SourceMgr sm;
  auto m = load(sm);
  if (!m)
    return 1;
  if (auto e = checkCompiled(*m, EmitTarget == Target::Cpp ? CompiledBy::Cpp
                                                           : CompiledBy::Loops))
    return fail(llvm::toString(std::move(e)));
  if (!HeaderFile.empty()) {
    auto h = open(HeaderFile, true);
    if (!h)
      return 1;
    std::string guard =
        "GRADC_" + llvm::sys::path::stem(HeaderFile).upper() + "_H";
    for (char &c : guard)
      c = std::isalnum((unsigned char)c) ? c : '_';
    h->os() << cHeader(*m, guard);
    h->keep();
  }
  std::string path = OutputFile;
  if (path.empty() && EmitTarget == Target::Obj) {
    if (InputFile == "-")
      return fail("an object file needs -o when the input is stdin");
    path = (llvm::sys::path::stem(InputFile) + ".o").str();
  }
  if (path.empty())
    path = "-";
  auto out = open(path, EmitTarget != Target::Obj);
  if (!out)
    return 1;
  if (EmitTarget == Target::Cpp) {
    std::string header =
        HeaderFile.empty() ? "" : llvm::sys::path::filename(HeaderFile).str();
    if (auto e = emitCpp(*m, out->os(), header))
      return fail(llvm::toString(std::move(e)));
    out->keep();
    return 0;
  }
  llvm::LLVMContext ctx;
  LowerOptions lo;
  lo.blas = kHaveBlas && !NoBlas;
  std::unique_ptr<llvm::Module> mod = lowerToLLVM(*m, ctx, lo);
  auto tm = createHostTargetMachine();
  if (!tm)
    return fail(llvm::toString(tm.takeError()));
  optimizeModule(*mod, **tm);
  if (EmitTarget == Target::LLVM) {
    mod->print(out->os(), nullptr);
  } else if (auto e =
                 emitMachineCode(*mod, **tm, out->os(),
                                 EmitTarget == Target::Asm
                                     ? llvm::CodeGenFileType::AssemblyFile
                                     : llvm::CodeGenFileType::ObjectFile)) {
    return fail(llvm::toString(std::move(e)));
  }
  out->keep();
  return 0;
}

} // namespace gradc::driver
