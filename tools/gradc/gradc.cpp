//===- gradc.cpp - The gradc driver ---------------------------------------===//
//
// gradc parse|run FILE ...: the command-line face of the libraries. Only this
// file prints to the terminal or decides exit codes.
//
//===----------------------------------------------------------------------===//
#include "gradc/AD/Autodiff.h"
#include "gradc/AD/GradCheck.h"
#include "gradc/Codegen/Jit.h"
#include "gradc/IR/Inline.h"
#include "gradc/IR/Printer.h"
#include "gradc/Interp/Interpreter.h"
#include "gradc/Interp/Values.h"
#include "gradc/Parser/Parser.h"
#include "gradc/Support/Suggest.h"
#include "gradc/Transforms/Passes.h"
#include "gradc/Verifier/Verifier.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"

#include "Driver.h"

#include <fmt/format.h>

#include <map>

using namespace gradc;
namespace cl = llvm::cl;

namespace gradc::driver {

cl::opt<std::string> ModuleOutput("o",
                                  cl::desc("Write the module to this file "
                                           "(default: standard output)"),
                                  cl::value_desc("path"), cl::init("-"),
                                  cl::sub(ParseCmd()), cl::sub(GradCmd()),
                                  cl::sub(JvpCmd()), cl::cat(Cat()));
cl::opt<uint64_t> Seed("seed",
                       cl::desc("Random seed of the inputs (default: 1)"),
                       cl::init(1), cl::sub(CheckCmd()), cl::cat(Cat()));
cl::opt<double> Tolerance("tol",
                          cl::desc("Largest accepted relative error "
                                   "(default: 1e-6)"),
                          cl::init(1e-6), cl::sub(CheckCmd()), cl::cat(Cat()));
cl::opt<bool> Strict("strict",
                     cl::desc("Fail when a derivative is not exercised: zero, "
                              "like its finite difference, everywhere it was "
                              "checked (default: a warning)"),
                     cl::sub(CheckCmd()), cl::cat(Cat()));
enum class Backend { Jit, Interp };
cl::opt<Backend> RunBackend(
    "backend", cl::desc("How to evaluate (default: jit)"),
    cl::init(Backend::Jit),
    cl::values(clEnumValN(Backend::Jit, "jit",
                          "compile with LLVM (ORC JIT) and run natively"),
               clEnumValN(Backend::Interp, "interp",
                          "the reference interpreter")),
    cl::sub(RunCmd()), cl::cat(Cat()));
cl::opt<bool> Stats("stats",
                    cl::desc("Report compile time and the peak bytes of "
                             "intermediate buffers (jit, to stderr)"),
                    cl::sub(RunCmd()), cl::cat(Cat()));
cl::opt<bool> NoCache(
    "no-cache",
    cl::desc("Compile with LLVM even if the compile cache has the object "
             "code, and do not store it ($GRADC_CACHE_DIR, else "
             "$XDG_CACHE_HOME/gradc, else ~/.cache/gradc; default: use it)"),
    cl::sub(RunCmd()), cl::cat(Cat()));
cl::opt<int> Threads(
    "threads",
    cl::desc("Threads for the JIT's parallel loops and BLAS calls (default: "
             "$GRADC_NUM_THREADS, else OpenMP's default: $OMP_NUM_THREADS, "
             "else every core)"),
    cl::value_desc("N"), cl::init(0), cl::sub(RunCmd()), cl::cat(Cat()));
enum class Format { Text, Json };
cl::opt<Format> OutFormat(
    "format", cl::desc("Output format (default: text)"), cl::init(Format::Text),
    cl::values(clEnumValN(Format::Text, "text", "aligned, for people"),
               clEnumValN(Format::Json, "json",
                          "{\"outputs\": [...], \"gradients\": {...}}")),
    cl::sub(RunCmd()), cl::cat(Cat()));
cl::opt<bool> Full("full",
                   cl::desc("Print every element (default: a tensor of more "
                            "than 1000 elements is summarized with '...', as "
                            "numpy prints it)"),
                   cl::sub(RunCmd()), cl::cat(Cat()));
cl::opt<std::string> SaveNpz("save",
                             cl::desc("Also write the results and gradients "
                                      "to one .npz file, named as for "
                                      "--output-dir (default: none)"),
                             cl::value_desc("out.npz"), cl::sub(RunCmd()),
                             cl::cat(Cat()));
cl::opt<std::string> OutputDir("output-dir",
                               cl::desc("Also write each result to "
                                        "DIR/<name>.npy and each gradient to "
                                        "DIR/d<name>.npy (default: none)"),
                               cl::value_desc("DIR"), cl::sub(RunCmd()),
                               cl::cat(Cat()));
cl::opt<bool> PrintSaved(
    "print-saved",
    cl::desc("After the module, list (as comments) each value @f.grad's "
             "backward pass reads from its forward pass: name, type, bytes, "
             "where it comes from, and the total"),
    cl::sub(GradCmd()), cl::cat(Cat()));

} // namespace gradc::driver

using namespace gradc::driver;

namespace {

/// Prints the module to -o (default: stdout).
int printModule(const Module &m) {
  Outputs outs;
  llvm::raw_pwrite_stream *os = outs.open(ModuleOutput);
  if (!os)
    return 1;
  print(m, *os);
  return outs.commit() ? 0 : 1;
}

int runParse() {
  llvm::SourceMgr sm;
  auto m = load(sm);
  if (!m)
    return 1;
  return printModule(*m);
}

/// Array names for --output-dir and --save: `name`, or `name.1` for a name
/// already used.
std::string npyName(llvm::StringSet<> &used, const std::string &name) {
  std::string s = name;
  for (unsigned i = 1; !used.insert(s).second; ++i)
    s = name + "." + std::to_string(i);
  return s;
}

int runRun() {
  llvm::SourceMgr sm;
  std::unique_ptr<Module> m;
  Function *f = loadFunction(sm, m);
  if (!f)
    return 1;
  // With --wrt, evaluate @f.grad instead: its results are @f's results
  // followed by the gradients; its extra argument is the seed 1 (or, with
  // --vjp, the cotangents given with --arg).
  std::vector<std::string> wrt = wrtArgs();
  Function *target = f;
  if (!wrt.empty()) {
    target = addGradient(*m, *f, wrt, sm);
    if (!target)
      return 1;
  } else if (Vjp || HasAux) {
    return fail(llvm::Twine(Vjp ? "--vjp" : "--has-aux") +
                " needs --wrt to say which gradients to compute");
  }
  std::vector<Tensor> args;
  if (target != f && !Vjp) {
    // The seed cotangent of the scalar output (with --has-aux: of the first
    // output) is 1 and is not an --arg.
    if (!collectArgs(*f, f->args, args))
      return 1;
    args.push_back(Tensor::scalar(f->resultTypes[0].dtype, 1.0));
  } else if (!collectArgs(*target, target->args, args)) {
    return 1;
  }
  // The backends see calls inlined (the interpreter runs them either way).
  inlineCalls(*m);
  llvm::Expected<std::vector<Tensor>> outs = std::vector<Tensor>();
  Backend backend = RunBackend;
  // Without an explicit --backend, a function the JIT cannot compile yet
  // runs on the interpreter (with a note); --backend jit insists.
  if (backend == Backend::Jit && !RunBackend.getNumOccurrences()) {
    if (auto e = checkCompiled(*m, CompiledBy::Loops, target)) {
      llvm::WithColor::note(llvm::errs(), "gradc")
          << llvm::toString(std::move(e))
          << "; running it on the interpreter\n";
      backend = Backend::Interp;
    }
  }
  // The thread count: --threads, else $GRADC_NUM_THREADS, else 0
  // (OpenMP's default).
  int threads = Threads;
  if (Threads.getNumOccurrences() && threads < 1)
    return fail("--threads must be at least 1, not " + std::to_string(threads));
  if (!Threads.getNumOccurrences())
    if (const char *env = std::getenv("GRADC_NUM_THREADS"); env && *env) {
      if (llvm::StringRef(env).getAsInteger(10, threads) || threads < 1)
        return fail(std::string("GRADC_NUM_THREADS must be a positive "
                                "integer, not '") +
                    env + "'");
    }
  if (backend == Backend::Interp) {
    outs = evaluate(*target, std::move(args));
  } else {
    LowerOptions lo;
    lo.blas = kHaveBlas && !NoBlas;
    lo.only = target; // compile only the function that runs
    lo.cache = !NoCache;
    lo.parallel = threads != 1; // one thread: no parallel loops to compile
    auto jit = Jit::create(*m, lo);
    if (!jit)
      return fail(llvm::toString(jit.takeError()));
    if (threads > 0)
      if (auto e = (*jit)->setThreads(threads))
        return fail(llvm::toString(std::move(e)));
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
    std::vector<Tensor> kept = args;
    outs = (*jit)->call(*target, std::move(args));
    if (!outs) {
      // An index out of range: the interpreter says which op and index.
      std::string msg;
      std::error_code ec;
      llvm::handleAllErrors(outs.takeError(),
                            [&](const llvm::ErrorInfoBase &ei) {
                              msg = ei.message();
                              ec = ei.convertToErrorCode();
                            });
      if (ec == std::errc::result_out_of_range) {
        auto again = evaluate(*target, std::move(kept));
        if (!again)
          msg = llvm::toString(again.takeError());
      }
      outs = llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
    }
  }
  if (!outs)
    return fail(llvm::toString(outs.takeError()));
  size_t numOut = f->results.size();
  std::vector<Tensor> values(outs->begin(), outs->begin() + numOut);
  std::vector<NamedTensor> named, grads;
  for (size_t i = 0; i < numOut; ++i)
    named.push_back({f->results[i]->name, values[i]});
  for (size_t i = numOut; i < outs->size(); ++i)
    grads.push_back({wrt[i - numOut], (*outs)[i]});
  // --output-dir and --save: NAME.npy per result, dNAME.npy per gradient.
  std::vector<NamedTensor> arrays;
  llvm::StringSet<> used;
  for (const NamedTensor &nt : named)
    arrays.push_back({npyName(used, nt.first), nt.second});
  for (const NamedTensor &nt : grads)
    arrays.push_back({npyName(used, "d" + nt.first), nt.second});
  Outputs files;
  if (!OutputDir.empty()) {
    if (auto ec = llvm::sys::fs::create_directories(OutputDir))
      return fail("cannot create '" + OutputDir + "': " + ec.message());
    for (const NamedTensor &a : arrays) {
      llvm::SmallString<128> path(OutputDir.getValue());
      llvm::sys::path::append(path, a.first + ".npy");
      llvm::raw_pwrite_stream *os = files.open(path);
      if (!os)
        return 1;
      writeNpy(a.second, *os);
    }
  }
  if (!SaveNpz.empty()) {
    llvm::raw_pwrite_stream *os = files.open(SaveNpz);
    if (!os)
      return 1;
    if (auto e = writeNpz(arrays, *os))
      return fail(llvm::toString(std::move(e)));
  }
  if (OutFormat == Format::Json)
    printJson(values, grads, llvm::outs());
  else
    printText(named, grads, llvm::outs(), /*summarize=*/!Full);
  return files.commit() ? 0 : 1;
}

int runGrad(bool forward) {
  llvm::SourceMgr sm;
  std::unique_ptr<Module> m;
  Function *f = loadFunction(sm, m);
  if (!f)
    return 1;
  Function *g = nullptr;
  if (forward) {
    auto j = buildJvp(*m, *f, wrtArgs());
    if (!j)
      return fail(llvm::toString(j.takeError()));
    if (!simplify(**j, sm))
      return 1;
  } else if (!(g = addGradient(*m, *f, wrtArgs(), sm))) {
    return 1;
  }
  // The derived function is verified like parsed input before it is printed.
  DiagEngine diag(sm);
  if (!verify(*m, diag))
    return fail("internal error: the derived function does not verify");
  if (int rc = printModule(*m); rc || !PrintSaved)
    return rc;
  // As comments, so that the output still parses.
  std::vector<SavedValue> saved = savedValues(*g, f->args.size());
  auto &os = llvm::outs();
  os << "\n# saved by @" << g->name
     << " for its backward pass (name, type, bytes, from):\n";
  int64_t total = 0;
  std::map<std::string, int64_t> symbolic; // "T*B*H" -> bytes
  for (const SavedValue &s : saved) {
    os << fmt::format("#   %{:<12} {:<16} {:>12}  {}\n", s.value->name,
                      s.value->type.str(), formatBytes(s), s.from);
    if (llvm::StringRef(s.from).starts_with("argument"))
      continue; // not kept by the gradient: passed in
    if (s.symbols.empty()) {
      total += s.bytes;
    } else {
      std::string key;
      for (const std::string &sym : s.symbols)
        key += "*" + sym;
      symbolic[key] += s.bytes;
    }
  }
  std::string sum = total || symbolic.empty() ? std::to_string(total) : "";
  for (auto &[k, b] : symbolic)
    sum += (sum.empty() ? "" : " + ") + std::to_string(b) + k;
  os << "# total besides the arguments: " << sum << " bytes\n";
  return 0;
}

int runCheck() {
  llvm::SourceMgr sm;
  std::unique_ptr<Module> m;
  Function *f = loadFunction(sm, m);
  if (!f)
    return 1;
  CheckOptions opts;
  opts.wrt = wrtArgs();
  opts.seed = Seed;
  opts.tolerance = Tolerance;
  opts.simplify = !NoOpt;
  llvm::StringMap<Tensor> pinned;
  if (!parseArgs(*f, f->args, pinned))
    return 1;
  for (auto &kv : pinned)
    opts.pinned[kv.getKey().str()] = kv.getValue();
  auto report = gradCheck(*f, opts);
  if (!report)
    return fail(llvm::toString(report.takeError()));
  auto &os = llvm::outs();
  os << "checking @" << f->name << " against central differences (f64, seed "
     << Seed << ")";
  for (auto &[sym, n] : report->dims)
    os << ", " << sym << "=" << n;
  os << "\n";
  for (const std::string &p : report->pinned)
    os << "  " << llvm::format("%-12s", p.c_str()) << " pinned by --arg\n";
  unsigned unexercised = 0;
  for (const CheckRow &r : report->rows) {
    unexercised += r.ok && !r.exercised;
    os << llvm::format("  %-12s %-24s max rel error %.3e  %s\n", r.what.c_str(),
                       r.type.c_str(), r.maxRelError,
                       !r.ok         ? "FAILED"
                       : r.exercised ? "ok"
                                     : "not exercised");
  }
  os.flush();
  if (!report->ok())
    return fail("a derivative differs from finite differences by more than "
                "--tol=" +
                llvm::Twine(fmt::format("{:g}", double(Tolerance))));
  if (unexercised) {
    std::string msg = fmt::format(
        "{} of {} checks {} not exercised: the derivative and its finite "
        "difference are zero at every input checked, so they say nothing; "
        "pin the inputs that decide which branch is taken (integer labels, "
        "say) with --arg, or try another --seed",
        unexercised, report->rows.size(), unexercised == 1 ? "was" : "were");
    if (Strict)
      return fail(msg + " (--strict)");
    llvm::WithColor::warning(llvm::errs(), "gradc") << msg << '\n';
  }
  return 0;
}

/// `--arg x 1` parses as `--arg x` and a second input file; say what is
/// meant instead of LLVM's "Too many positional arguments".
bool checkArgSpelling(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef a = argv[i];
    if (a == "--")
      break;
    llvm::StringRef v;
    int next = i + 1; // the argument after the value
    if (a == "--arg" || a == "-arg") {
      if (i + 1 >= argc)
        break;
      v = argv[i + 1];
      next = i + 2;
    } else if (!a.consume_front("--arg=") && !a.consume_front("-arg=")) {
      continue;
    } else {
      v = a;
    }
    // The value that should have followed '=': anything but an option (a
    // negative number is a value).
    llvm::StringRef n = next < argc ? argv[next] : "";
    bool isValue =
        !n.empty() && (!n.starts_with("-") || n == "-inf" || n == "-Infinity" ||
                       (n.size() > 1 && (std::isdigit(n[1]) || n[1] == '.')));
    if (!v.contains('=') && isValue) {
      fail("--arg expects name=VALUE, got '" + v + "' (write --arg " + v + "=" +
           argv[next] + ")");
      return false;
    }
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(Cat());
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "gradc 0.1 (LLVM " LLVM_VERSION_STRING ")\n";
  });
  if (!checkArgSpelling(argc, argv))
    return 1;
  cl::ParseCommandLineOptions(
      argc, argv,
      "gradc: a compiler from computational graphs to gradient code\n\n"
      "  gradc parse FILE [-o out.gir]  verify and print the canonical IR\n"
      "  gradc run FILE --func f --arg x=VALUE ... [--wrt x,W [--vjp]]\n"
      "  gradc grad FILE --func f [--wrt x,W] [--vjp] [-o out.gir]   add "
      "@f.grad\n"
      "  gradc jvp FILE --func f [--wrt x,W] [-o out.gir]            add "
      "@f.jvp\n"
      "  gradc check FILE --func f [--wrt x,W] [--arg x=VALUE] [--seed N] "
      "[--strict]\n"
      "  gradc emit FILE [--func f --wrt x,W] --target llvm|asm|obj|cpp [-o "
      "out] [--header out.h]\n"
      "  gradc dot FILE --func f [--wrt x,W] [--arg ...] [-o graph.dot]\n"
      "  gradc lower FILE [--func f] [--no-blas]        print the loop IR\n");
  if (ParseCmd())
    return runParse();
  if (RunCmd())
    return runRun();
  if (GradCmd())
    return runGrad(/*forward=*/false);
  if (JvpCmd())
    return runGrad(/*forward=*/true);
  if (CheckCmd())
    return runCheck();
  if (EmitCmd())
    return runEmit();
  if (DotCmd())
    return runDot();
  if (LowerCmd())
    return runLower();
  return fail("expected a subcommand; see 'gradc --help'");
}
