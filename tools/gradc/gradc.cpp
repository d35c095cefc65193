//===- gradc.cpp - The gradc driver ----------------------------------------===//
//
// gradc parse|run FILE ...: the command-line face of the libraries. Only this
// file prints to the terminal or decides exit codes.
//
//===----------------------------------------------------------------------===//
#include "gradc/IR/Printer.h"
#include "gradc/Interp/Interpreter.h"
#include "gradc/Interp/Values.h"
#include "gradc/Parser/Parser.h"
#include "gradc/Verifier/Verifier.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"

using namespace gradc;
namespace cl = llvm::cl;

namespace {

cl::OptionCategory Cat("gradc options");
cl::SubCommand ParseCmd("parse", "Verify a .gir file and print its canonical IR");
cl::SubCommand RunCmd("run", "Evaluate a function with the reference interpreter");

cl::opt<std::string> InputFile(cl::Positional, cl::desc("<file.gir>"),
                               cl::init("-"), cl::sub(ParseCmd), cl::sub(RunCmd),
                               cl::cat(Cat));
cl::opt<std::string> FuncName("func", cl::desc("The function to use"),
                              cl::value_desc("name"), cl::sub(RunCmd),
                              cl::cat(Cat));
cl::list<std::string> Args("arg",
                           cl::desc("An argument: name=NUMBER, name=[[1,2],[3,4]] "
                                    "or name=@file.npy|json"),
                           cl::value_desc("name=VALUE"), cl::sub(RunCmd),
                           cl::cat(Cat));
enum class Format { Text, Json };
cl::opt<Format> OutFormat(
    "format", cl::desc("Output format"), cl::init(Format::Text),
    cl::values(clEnumValN(Format::Text, "text", "aligned, for people"),
               clEnumValN(Format::Json, "json", "{\"outputs\": [...], \"gradients\": {...}}")),
    cl::sub(RunCmd), cl::cat(Cat));

int fail(const llvm::Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "gradc") << msg << '\n';
  return 1;
}

/// Reads, parses and verifies the input; diagnostics go to stderr.
std::unique_ptr<Module> load(llvm::SourceMgr &sm) {
  auto buf = llvm::MemoryBuffer::getFileOrSTDIN(InputFile, /*IsText=*/true);
  if (!buf) {
    fail("cannot read '" + InputFile + "': " + buf.getError().message());
    return nullptr;
  }
  sm.AddNewSourceBuffer(std::move(*buf), llvm::SMLoc());
  DiagEngine diag(sm);
  auto m = parseModule(diag);
  if (!m || !verify(*m, diag))
    return nullptr;
  return m;
}

Function *findFunction(Module &m) {
  if (FuncName.empty()) {
    if (m.functions.size() == 1)
      return m.functions[0].get();
    fail("the module has " + llvm::Twine(m.functions.size()) +
         " functions; choose one with --func");
    return nullptr;
  }
  llvm::StringRef name = llvm::StringRef(FuncName).ltrim('@');
  if (Function *f = m.lookup(name))
    return f;
  fail("no function '@" + name + "' in '" + InputFile + "'");
  return nullptr;
}

/// Builds the argument list of `f` from the --arg options.
bool collectArgs(const Function &f, std::vector<Tensor> &out) {
  llvm::StringMap<Tensor> given;
  for (const std::string &a : Args) {
    auto [name, text] = llvm::StringRef(a).split('=');
    name = name.trim().ltrim('%');
    if (!llvm::StringRef(a).contains('=') || name.empty())
      return fail("--arg expects name=VALUE, got '" + a + "'"), false;
    if (given.count(name))
      return fail("argument '" + name + "' is given twice"), false;
    bool known = llvm::any_of(f.args, [&](Value *v) { return v->name == name; });
    if (!known)
      return fail("'@" + f.name + "' has no argument '" + name + "'"), false;
    auto t = text.starts_with("@") ? loadValueFile(text.drop_front())
                                   : parseValue(text);
    if (!t)
      return fail("argument '" + name + "': " + llvm::toString(t.takeError())),
             false;
    given[name] = std::move(*t);
  }
  std::string missing;
  for (Value *v : f.args) {
    auto it = given.find(v->name);
    if (it == given.end())
      missing += (missing.empty() ? "'" : ", '") + v->name + "'";
    else
      out.push_back(it->second);
  }
  if (!missing.empty())
    return fail("missing argument(s) " + missing + " (use --arg name=VALUE)"),
           false;
  return true;
}

int runParse() {
  llvm::SourceMgr sm;
  auto m = load(sm);
  if (!m)
    return 1;
  print(*m, llvm::outs());
  return 0;
}

int runRun() {
  llvm::SourceMgr sm;
  auto m = load(sm);
  if (!m)
    return 1;
  Function *f = findFunction(*m);
  std::vector<Tensor> args;
  if (!f || !collectArgs(*f, args))
    return 1;
  auto outs = evaluate(*f, std::move(args));
  if (!outs)
    return fail(llvm::toString(outs.takeError()));
  if (OutFormat == Format::Json) {
    printJson(*outs, {}, llvm::outs());
    return 0;
  }
  std::vector<NamedTensor> named;
  for (size_t i = 0; i < outs->size(); ++i)
    named.push_back({f->results[i]->name, (*outs)[i]});
  printText(named, {}, llvm::outs());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(Cat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "gradc: a compiler from computational graphs to gradient code\n\n"
      "  gradc parse FILE              verify and print the canonical IR\n"
      "  gradc run FILE --func f --arg x=VALUE ...\n");
  if (ParseCmd)
    return runParse();
  if (RunCmd)
    return runRun();
  return fail("expected a subcommand; see 'gradc --help'");
}
