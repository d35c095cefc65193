//===- gradc.cpp - The gradc driver ---------------------------------------===//
//
// gradc parse|run FILE ...: the command-line face of the libraries. Only this
// file prints to the terminal or decides exit codes.
//
//===----------------------------------------------------------------------===//
#include "gradc/AD/Autodiff.h"
#include "gradc/AD/GradCheck.h"
#include "gradc/Codegen/Jit.h"
#include "gradc/IR/Printer.h"
#include "gradc/Interp/Interpreter.h"
#include "gradc/Interp/Values.h"
#include "gradc/Parser/Parser.h"
#include "gradc/Transforms/Passes.h"
#include "gradc/Verifier/Verifier.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"

#include "Driver.h"

#include <fmt/format.h>

using namespace gradc;
namespace cl = llvm::cl;

namespace gradc::driver {

cl::OptionCategory Cat("gradc options");
cl::SubCommand ParseCmd("parse",
                        "Verify a .gir file and print its canonical IR");
cl::SubCommand RunCmd("run", "Evaluate a function (and its gradient) with the "
                             "reference interpreter");
cl::SubCommand GradCmd("grad",
                       "Add the reverse-mode function @f.grad and print "
                       "the module");
cl::SubCommand JvpCmd("jvp", "Add the forward-mode function @f.jvp and print "
                             "the module");
cl::SubCommand CheckCmd("check", "Check @f's derivatives against finite "
                                 "differences");
cl::SubCommand EmitCmd("emit", "Compile the module to LLVM IR, assembly, an "
                               "object file or C++ source");
cl::SubCommand DotCmd("dot", "Draw a function (and its adjoint) as a "
                             "Graphviz graph");

cl::opt<std::string> InputFile(cl::Positional, cl::desc("<file.gir>"),
                               cl::init("-"), cl::sub(ParseCmd),
                               cl::sub(RunCmd), cl::sub(GradCmd),
                               cl::sub(JvpCmd), cl::sub(CheckCmd),
                               cl::sub(EmitCmd), cl::sub(DotCmd), cl::cat(Cat));
cl::opt<std::string> FuncName("func", cl::desc("The function to use"),
                              cl::value_desc("name"), cl::sub(RunCmd),
                              cl::sub(GradCmd), cl::sub(JvpCmd),
                              cl::sub(CheckCmd), cl::sub(DotCmd), cl::cat(Cat));
cl::list<std::string> Wrt("wrt",
                          cl::desc("Differentiate with respect to these "
                                   "arguments (default: all)"),
                          cl::value_desc("x,W,..."), cl::CommaSeparated,
                          cl::sub(GradCmd), cl::sub(JvpCmd), cl::sub(CheckCmd),
                          cl::cat(Cat));
cl::list<std::string> GradArgs("grad",
                               cl::desc("Also compute the gradient with "
                                        "respect to these arguments"),
                               cl::value_desc("x,W,..."), cl::CommaSeparated,
                               cl::sub(RunCmd), cl::cat(Cat));
cl::opt<bool> Vjp("vjp",
                  cl::desc("Vector-Jacobian product: one cotangent argument "
                           "per output (named d<output>) instead of a seed 1 "
                           "for a scalar output"),
                  cl::sub(GradCmd), cl::sub(RunCmd), cl::cat(Cat));
cl::opt<bool> NoOpt("O0", cl::desc("Do not simplify the derived functions"),
                    cl::sub(GradCmd), cl::sub(JvpCmd), cl::sub(RunCmd),
                    cl::sub(CheckCmd), cl::cat(Cat));
cl::opt<bool> PrintAfterAll("print-after-all",
                            cl::desc("Print the IR after each pass that "
                                     "changed it (to stderr)"),
                            cl::sub(GradCmd), cl::sub(JvpCmd), cl::cat(Cat));
cl::opt<bool> VerifyEach("verify-each",
                         cl::desc("Verify the IR after each pass"),
                         cl::sub(GradCmd), cl::sub(JvpCmd), cl::sub(RunCmd),
                         cl::cat(Cat));
cl::opt<uint64_t> Seed("seed", cl::desc("Random seed of the inputs"),
                       cl::init(1), cl::sub(CheckCmd), cl::cat(Cat));
cl::opt<double> Tolerance("tol", cl::desc("Largest accepted relative error"),
                          cl::init(1e-6), cl::sub(CheckCmd), cl::cat(Cat));
cl::list<std::string>
    Args("arg",
         cl::desc("An argument: name=NUMBER, name=[[1,2],[3,4]] "
                  "or name=@file.npy|json"),
         cl::value_desc("name=VALUE"), cl::sub(RunCmd), cl::sub(DotCmd),
         cl::cat(Cat));
enum class Backend { Jit, Interp };
cl::opt<Backend> RunBackend(
    "backend", cl::desc("How to evaluate"), cl::init(Backend::Jit),
    cl::values(clEnumValN(Backend::Jit, "jit",
                          "compile with LLVM (ORC JIT) and run natively"),
               clEnumValN(Backend::Interp, "interp",
                          "the reference interpreter")),
    cl::sub(RunCmd), cl::cat(Cat));
cl::opt<bool> Stats("stats",
                    cl::desc("Report compile time and the peak bytes of "
                             "intermediate buffers (jit, to stderr)"),
                    cl::sub(RunCmd), cl::cat(Cat));
cl::opt<bool> NoBlas("no-blas",
                     cl::desc("Lower matmul and dot to loops instead of "
                              "CBLAS calls"),
                     cl::sub(RunCmd), cl::sub(EmitCmd), cl::cat(Cat));
cl::opt<bool> NoCache(
    "no-cache",
    cl::desc("Compile with LLVM even if the compile cache has the object "
             "code, and do not store it ($GRADC_CACHE_DIR, else "
             "$XDG_CACHE_HOME/gradc, else ~/.cache/gradc; default: use it)"),
    cl::sub(RunCmd), cl::cat(Cat));
enum class Format { Text, Json };
cl::opt<Format> OutFormat(
    "format", cl::desc("Output format"), cl::init(Format::Text),
    cl::values(clEnumValN(Format::Text, "text", "aligned, for people"),
               clEnumValN(Format::Json, "json",
                          "{\"outputs\": [...], \"gradients\": {...}}")),
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

Function *loadFunction(llvm::SourceMgr &sm, std::unique_ptr<Module> &m) {
  m = load(sm);
  return m ? findFunction(*m) : nullptr;
}

/// Builds the values of `params` (arguments of `f`) from the --arg options.
bool collectArgs(const Function &f, llvm::ArrayRef<Value *> params,
                 std::vector<Tensor> &out) {
  llvm::StringMap<Tensor> given;
  for (const std::string &a : Args) {
    auto [name, text] = llvm::StringRef(a).split('=');
    name = name.trim().ltrim('%');
    if (!llvm::StringRef(a).contains('=') || name.empty())
      return fail("--arg expects name=VALUE, got '" + a + "'"), false;
    if (given.count(name))
      return fail("argument '" + name + "' is given twice"), false;
    bool known =
        llvm::any_of(params, [&](Value *v) { return v->name == name; });
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
  for (Value *v : params) {
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

} // namespace gradc::driver

using namespace gradc::driver;

namespace {

int runParse() {
  llvm::SourceMgr sm;
  auto m = load(sm);
  if (!m)
    return 1;
  print(*m, llvm::outs());
  return 0;
}

/// Simplifies `f` with the default pipeline unless -O0.
bool simplify(Function &f, llvm::SourceMgr &sm) {
  if (NoOpt)
    return true;
  PassManager pm(simplificationPipeline());
  if (PrintAfterAll)
    pm.printAfterAll(&llvm::errs());
  DiagEngine diag(sm);
  if (VerifyEach)
    pm.verifyEach(&diag);
  return pm.run(f);
}

/// Builds @f.grad for `wrt` (with --vjp: cotangent arguments).
Function *addGradient(Module &m, Function &f, std::vector<std::string> wrt,
                      llvm::SourceMgr &sm) {
  GradOptions opts;
  opts.wrt = std::move(wrt);
  opts.vjp = Vjp;
  auto g = buildGradient(m, f, opts);
  if (!g) {
    fail(llvm::toString(g.takeError()));
    return nullptr;
  }
  return simplify(**g, sm) ? *g : nullptr;
}

int runRun() {
  llvm::SourceMgr sm;
  std::unique_ptr<Module> m;
  Function *f = loadFunction(sm, m);
  if (!f)
    return 1;
  // With --grad, evaluate @f.grad instead: its results are @f's results
  // followed by the gradients; its extra argument is the seed 1 (or, with
  // --vjp, the cotangents given with --arg).
  Function *target = f;
  if (!GradArgs.empty()) {
    target = addGradient(*m, *f, GradArgs, sm);
    if (!target)
      return 1;
  } else if (Vjp) {
    return fail("--vjp needs --grad to say which gradients to compute");
  }
  std::vector<Tensor> args;
  if (target != f && !Vjp) {
    // The seed cotangent of the scalar output is 1 and is not an --arg.
    if (!collectArgs(*f, f->args, args))
      return 1;
    args.push_back(Tensor::scalar(f->resultTypes[0].dtype, 1.0));
  } else if (!collectArgs(*target, target->args, args)) {
    return 1;
  }
  llvm::Expected<std::vector<Tensor>> outs = std::vector<Tensor>();
  if (RunBackend == Backend::Interp) {
    outs = evaluate(*target, std::move(args));
  } else {
    LowerOptions lo;
    lo.blas = kHaveBlas && !NoBlas;
    lo.only = target; // compile only the function that runs
    lo.cache = !NoCache;
    auto jit = Jit::create(*m, lo);
    if (!jit)
      return fail(llvm::toString(jit.takeError()));
    if (Stats) {
      auto symsArgs = args;
      auto syms = bindArguments(*target, symsArgs);
      if (syms)
        llvm::errs() << llvm::format(
            "stats: compile %.1f ms%s, peak intermediate buffers %lld bytes\n",
            (*jit)->compileMillis(),
            (*jit)->fromCache() ? " (object code from the cache)" : "",
            (long long)workspaceBytes(*target, *syms));
      else
        llvm::consumeError(syms.takeError());
    }
    outs = (*jit)->call(*target, std::move(args));
  }
  if (!outs)
    return fail(llvm::toString(outs.takeError()));
  size_t numOut = f->results.size();
  std::vector<Tensor> values(outs->begin(), outs->begin() + numOut);
  std::vector<NamedTensor> grads;
  for (size_t i = numOut; i < outs->size(); ++i)
    grads.push_back(
        {llvm::StringRef(GradArgs[i - numOut]).trim().ltrim('%').str(),
         (*outs)[i]});
  if (OutFormat == Format::Json) {
    printJson(values, grads, llvm::outs());
    return 0;
  }
  std::vector<NamedTensor> named;
  for (size_t i = 0; i < numOut; ++i)
    named.push_back({f->results[i]->name, values[i]});
  printText(named, grads, llvm::outs());
  return 0;
}

int runGrad(bool forward) {
  llvm::SourceMgr sm;
  std::unique_ptr<Module> m;
  Function *f = loadFunction(sm, m);
  if (!f)
    return 1;
  if (forward) {
    auto j = buildJvp(*m, *f, Wrt);
    if (!j)
      return fail(llvm::toString(j.takeError()));
    if (!simplify(**j, sm))
      return 1;
  } else if (!addGradient(*m, *f, Wrt, sm)) {
    return 1;
  }
  print(*m, llvm::outs());
  return 0;
}

int runCheck() {
  llvm::SourceMgr sm;
  std::unique_ptr<Module> m;
  Function *f = loadFunction(sm, m);
  if (!f)
    return 1;
  CheckOptions opts;
  opts.wrt = Wrt;
  opts.seed = Seed;
  opts.tolerance = Tolerance;
  opts.simplify = !NoOpt;
  auto report = gradCheck(*f, opts);
  if (!report)
    return fail(llvm::toString(report.takeError()));
  auto &os = llvm::outs();
  os << "checking @" << f->name << " against central differences (f64, seed "
     << Seed << ")";
  for (auto &[sym, n] : report->dims)
    os << ", " << sym << "=" << n;
  os << "\n";
  for (const CheckRow &r : report->rows)
    os << llvm::format("  %-12s %-24s max rel error %.3e  %s\n", r.what.c_str(),
                       r.type.c_str(), r.maxRelError, r.ok ? "ok" : "FAILED");
  if (!report->ok())
    return fail("a derivative differs from finite differences by more than "
                "--tol=" +
                llvm::Twine(fmt::format("{:g}", double(Tolerance))));
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(Cat);
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "gradc 0.1 (LLVM " LLVM_VERSION_STRING ")\n";
  });
  cl::ParseCommandLineOptions(
      argc, argv,
      "gradc: a compiler from computational graphs to gradient code\n\n"
      "  gradc parse FILE              verify and print the canonical IR\n"
      "  gradc run FILE --func f --arg x=VALUE ... [--grad x,W [--vjp]]\n"
      "  gradc grad FILE --func f [--wrt x,W] [--vjp]   add and print @f.grad\n"
      "  gradc jvp FILE --func f [--wrt x,W]            add and print @f.jvp\n"
      "  gradc check FILE --func f [--wrt x,W] [--seed N]\n"
      "  gradc emit FILE --target llvm|asm|obj|cpp [-o out] [--header out.h]\n"
      "  gradc dot FILE --func f [--grad x,W] [--arg ...] [-o graph.dot]\n");
  if (ParseCmd)
    return runParse();
  if (RunCmd)
    return runRun();
  if (GradCmd)
    return runGrad(/*forward=*/false);
  if (JvpCmd)
    return runGrad(/*forward=*/true);
  if (CheckCmd)
    return runCheck();
  if (EmitCmd)
    return runEmit();
  if (DotCmd)
    return runDot();
  return fail("expected a subcommand; see 'gradc --help'");
}
