//===- Emit.cpp - gradc emit: LLVM IR, assembly, objects, C++ -------------===//
#include "Driver.h"

#include "gradc/Codegen/Entries.h"
#include "gradc/Codegen/Jit.h"
#include "gradc/CppGen/CppEmitter.h"
#include "gradc/IR/ABI.h"
#include "gradc/IR/Inline.h"

#include "llvm/Support/Path.h"

using namespace gradc;
namespace cl = llvm::cl;

namespace gradc::driver {
namespace {

enum class Target { LLVM, Asm, Obj, Cpp };
cl::opt<Target>
    EmitTarget("target", cl::desc("What to write (default: obj)"),
               cl::init(Target::Obj),
               cl::values(clEnumValN(Target::LLVM, "llvm", "LLVM IR (text)"),
                          clEnumValN(Target::Asm, "asm", "assembly"),
                          clEnumValN(Target::Obj, "obj",
                                     "an object file (position-independent)"),
                          clEnumValN(Target::Cpp, "cpp", "C++17 source")),
               cl::sub(EmitCmd()), cl::cat(Cat()));
cl::opt<std::string> OutputFile("o",
                                cl::desc("Output file (default: standard "
                                         "output for text, FILE.o for "
                                         "objects)"),
                                cl::value_desc("path"), cl::sub(EmitCmd()),
                                cl::cat(Cat()));
cl::opt<std::string> HeaderFile("header",
                                cl::desc("Also write a C header declaring "
                                         "the functions (default: none)"),
                                cl::value_desc("path"), cl::sub(EmitCmd()),
                                cl::cat(Cat()));
cl::opt<std::string> Cpu("cpu",
                         cl::desc("The CPU to compile for: 'host' (this "
                                  "machine's CPU and features, like "
                                  "-march=native) or an LLVM CPU name such "
                                  "as x86-64-v3 for objects that run on other "
                                  "machines (default: host)"),
                         cl::value_desc("name"), cl::init("host"),
                         cl::sub(EmitCmd()), cl::cat(Cat()));
cl::opt<std::string> Mattr("mattr",
                           cl::desc("CPU features to add or remove, like "
                                    "+avx2,-fma (default: none)"),
                           cl::value_desc("+a,-b,..."), cl::sub(EmitCmd()),
                           cl::cat(Cat()));

/// Fails if two functions (or their wrappers) would get the same C symbol.
bool checkSymbols(const Module &m) {
  llvm::StringMap<std::string> owner;
  for (const auto &f : m.functions)
    for (const std::string &sym : exportedSymbols(m, *f)) {
      auto [it, fresh] = owner.try_emplace(sym, f->name);
      if (!fresh) {
        fail("'@" + it->second + "' and '@" + f->name +
             "' both compile to the C symbol '" + sym + "'; rename one");
        return false;
      }
    }
  return true;
}

} // namespace

int runEmit() {
  llvm::SourceMgr sm;
  auto m = load(sm);
  if (!m)
    return 1;
  // With --wrt, differentiate --func (or the only function) first.
  std::vector<std::string> wrt = wrtArgs();
  if (!wrt.empty()) {
    Function *f = findFunction(*m);
    if (!f || !addGradient(*m, *f, wrt, sm))
      return 1;
  } else if (!FuncName.empty() || Vjp || HasAux) {
    return fail("emit compiles every function of the module; --func, --vjp "
                "and --has-aux say how to add a gradient, which needs --wrt "
                "x,W,...");
  }
  inlineCalls(*m); // the backends see calls inlined
  if (!checkSymbols(*m))
    return 1;
  if (auto e = checkCompiled(*m, EmitTarget == Target::Cpp ? CompiledBy::Cpp
                                                           : CompiledBy::Loops))
    return fail(llvm::toString(std::move(e)));
  std::string path = OutputFile;
  if (path.empty() && EmitTarget == Target::Obj) {
    if (InputFile == "-")
      return fail("an object file needs -o when the input is stdin");
    path = (llvm::sys::path::stem(InputFile) + ".o").str();
  }
  if (path.empty())
    path = "-";
  // Every file is written in full before any is put in place.
  Outputs files;
  if (!HeaderFile.empty()) {
    llvm::raw_pwrite_stream *h = files.open(HeaderFile);
    if (!h)
      return 1;
    std::string guard =
        "GRADC_" + llvm::sys::path::stem(HeaderFile).upper() + "_H";
    for (char &c : guard)
      c = std::isalnum((unsigned char)c) ? c : '_';
    *h << cHeader(*m, guard);
  }
  llvm::raw_pwrite_stream *out = files.open(path);
  if (!out)
    return 1;
  if (EmitTarget == Target::Cpp) {
    std::string header =
        HeaderFile.empty() ? "" : llvm::sys::path::filename(HeaderFile).str();
    if (auto e = emitCpp(*m, *out, header))
      return fail(llvm::toString(std::move(e)));
    return files.commit() ? 0 : 1;
  }
  llvm::LLVMContext ctx;
  LowerOptions lo;
  lo.blas = kHaveBlas && !NoBlas;
  std::unique_ptr<llvm::Module> mod = lowerToLLVM(*m, ctx, lo);
  addEntryWrappers(*m, *mod);
  auto tm = createObjectTargetMachine(Cpu, Mattr);
  if (!tm)
    return fail(llvm::toString(tm.takeError()));
  optimizeModule(*mod, **tm);
  if (EmitTarget == Target::LLVM) {
    mod->print(*out, nullptr);
  } else if (auto e =
                 emitMachineCode(*mod, **tm, *out,
                                 EmitTarget == Target::Asm
                                     ? llvm::CodeGenFileType::AssemblyFile
                                     : llvm::CodeGenFileType::ObjectFile)) {
    return fail(llvm::toString(std::move(e)));
  }
  return files.commit() ? 0 : 1;
}

} // namespace gradc::driver
