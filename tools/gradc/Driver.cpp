//===- Driver.cpp - What the gradc subcommands share ----------------------===//
//
// The subcommands, the options more than one of them takes, and loading,
// argument parsing and differentiation as every subcommand does them.
//
//===----------------------------------------------------------------------===//
#include "Driver.h"

#include "gradc/AD/Autodiff.h"
#include "gradc/Interp/Values.h"
#include "gradc/Parser/Parser.h"
#include "gradc/Support/Suggest.h"
#include "gradc/Transforms/Passes.h"
#include "gradc/Verifier/Verifier.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"

#include <fmt/format.h>

using namespace gradc;
namespace cl = llvm::cl;

namespace gradc::driver {

cl::OptionCategory &Cat() {
  static cl::OptionCategory c("gradc options");
  return c;
}
cl::SubCommand &ParseCmd() {
  static cl::SubCommand c("parse",
                          "Verify a .gir file and print its canonical IR");
  return c;
}
cl::SubCommand &RunCmd() {
  static cl::SubCommand c("run",
                          "Evaluate a function (and its gradient): "
                          "compiled with LLVM and run natively, or with "
                          "--backend interp by the reference interpreter");
  return c;
}
cl::SubCommand &GradCmd() {
  static cl::SubCommand c("grad",
                          "Add the reverse-mode function @f.grad and print "
                          "the module");
  return c;
}
cl::SubCommand &JvpCmd() {
  static cl::SubCommand c("jvp",
                          "Add the forward-mode function @f.jvp and print "
                          "the module");
  return c;
}
cl::SubCommand &CheckCmd() {
  static cl::SubCommand c("check", "Check @f's derivatives against finite "
                                   "differences");
  return c;
}
cl::SubCommand &EmitCmd() {
  static cl::SubCommand c("emit",
                          "Compile the module (with --wrt: and @f.grad) "
                          "to LLVM IR, assembly, an object file or C++ "
                          "source");
  return c;
}
cl::SubCommand &LowerCmd() {
  static cl::SubCommand c("lower", "Print the loop IR of each function (the "
                                   "stage both backends render)");
  return c;
}
cl::SubCommand &DotCmd() {
  static cl::SubCommand c("dot", "Draw a function (and its adjoint) as a "
                                 "Graphviz graph");
  return c;
}

cl::opt<std::string> InputFile(cl::Positional,
                               cl::desc("<file.gir> (default: standard input)"),
                               cl::init("-"), cl::sub(ParseCmd()),
                               cl::sub(RunCmd()), cl::sub(GradCmd()),
                               cl::sub(JvpCmd()), cl::sub(CheckCmd()),
                               cl::sub(EmitCmd()), cl::sub(DotCmd()),
                               cl::sub(LowerCmd()), cl::cat(Cat()));
cl::opt<std::string> FuncName("func",
                              cl::desc("The function to use (default: the "
                                       "module's only function)"),
                              cl::value_desc("name"), cl::sub(RunCmd()),
                              cl::sub(GradCmd()), cl::sub(JvpCmd()),
                              cl::sub(CheckCmd()), cl::sub(EmitCmd()),
                              cl::sub(DotCmd()), cl::sub(LowerCmd()),
                              cl::cat(Cat()));
cl::list<std::string> Wrt("wrt",
                          cl::desc("Differentiate with respect to these "
                                   "arguments (default: all in grad, jvp and "
                                   "check; none in run, emit and dot)"),
                          cl::value_desc("x,W,..."), cl::CommaSeparated,
                          cl::sub(RunCmd()), cl::sub(GradCmd()),
                          cl::sub(JvpCmd()), cl::sub(CheckCmd()),
                          cl::sub(EmitCmd()), cl::sub(DotCmd()),
                          cl::cat(Cat()));
cl::list<std::string> GradAlias("grad", cl::desc("Alias for --wrt"),
                                cl::value_desc("x,W,..."), cl::CommaSeparated,
                                cl::sub(RunCmd()), cl::sub(DotCmd()),
                                cl::cat(Cat()));
cl::opt<bool> Vjp("vjp",
                  cl::desc("Vector-Jacobian product: one cotangent argument "
                           "per output (named d<output>) instead of a seed 1 "
                           "for a scalar output (default: off)"),
                  cl::sub(GradCmd()), cl::sub(RunCmd()), cl::sub(EmitCmd()),
                  cl::cat(Cat()));
cl::opt<bool> HasAux("has-aux",
                     cl::desc("Differentiate only the first result, the loss; "
                              "the other results are auxiliary outputs, "
                              "returned as they are (JAX's has_aux; default: "
                              "off)"),
                     cl::sub(GradCmd()), cl::sub(RunCmd()), cl::sub(EmitCmd()),
                     cl::cat(Cat()));
cl::opt<Remat> RematMode(
    "remat",
    cl::desc("What the backward pass recomputes instead of keeping "
             "(default: marked)"),
    cl::init(Remat::Marked),
    cl::values(clEnumValN(Remat::Marked, "marked",
                          "the calls and scans marked checkpoint=true"),
               clEnumValN(Remat::None, "none",
                          "nothing: keep every intermediate"),
               clEnumValN(Remat::Calls, "calls",
                          "every call (at every depth), and the marked scans"),
               clEnumValN(Remat::Auto, "auto",
                          "the marked ones, then the fewest more calls and "
                          "static-length scans that fit --memory-budget")),
    cl::sub(GradCmd()), cl::sub(RunCmd()), cl::sub(EmitCmd()), cl::cat(Cat()));
cl::opt<int64_t> MemoryBudget(
    "memory-budget",
    cl::desc("With --remat=auto: the most bytes the backward pass may keep "
             "besides the arguments, the total of --print-saved (default: "
             "none; --remat=auto needs it)"),
    cl::value_desc("BYTES"), cl::init(-1), cl::sub(GradCmd()),
    cl::sub(RunCmd()), cl::sub(EmitCmd()), cl::cat(Cat()));
cl::opt<bool> NoOpt("O0",
                    cl::desc("Do not simplify the derived functions (default: "
                             "simplify)"),
                    cl::sub(GradCmd()), cl::sub(JvpCmd()), cl::sub(RunCmd()),
                    cl::sub(CheckCmd()), cl::sub(EmitCmd()), cl::cat(Cat()));
cl::opt<bool> PrintAfterAll("print-after-all",
                            cl::desc("Print the IR after each pass that "
                                     "changed it (to stderr)"),
                            cl::sub(GradCmd()), cl::sub(JvpCmd()),
                            cl::cat(Cat()));
cl::opt<bool> VerifyEach("verify-each",
                         cl::desc("Verify the IR after each pass"),
                         cl::sub(GradCmd()), cl::sub(JvpCmd()),
                         cl::sub(RunCmd()), cl::cat(Cat()));
cl::list<std::string>
    Args("arg",
         cl::desc("An argument: name=NUMBER, name=[[1,2],[3,4]] "
                  "or name=@file.npy|json (check: pins it; the others are "
                  "sampled)"),
         cl::value_desc("name=VALUE"), cl::sub(RunCmd()), cl::sub(DotCmd()),
         cl::sub(CheckCmd()), cl::cat(Cat()));
cl::opt<bool> NoBlas("no-blas",
                     cl::desc("Lower matmul and dot to loops instead of "
                              "CBLAS calls (default: CBLAS)"),
                     cl::sub(RunCmd()), cl::sub(EmitCmd()), cl::sub(LowerCmd()),
                     cl::cat(Cat()));

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

/// "@f, @g" (the first few).
static std::string functionList(const Module &m) {
  std::string s;
  for (size_t i = 0; i < m.functions.size(); ++i) {
    if (i == 8) {
      s += ", ...";
      break;
    }
    s += (i ? ", @" : "@") + m.functions[i]->name;
  }
  return s;
}

Function *findFunction(Module &m) {
  if (FuncName.empty()) {
    if (m.functions.size() == 1)
      return m.functions[0].get();
    if (m.functions.empty())
      fail("'" + InputFile + "' has no functions");
    else
      fail("the module has " + llvm::Twine(m.functions.size()) +
           " functions: " + functionList(m) + "; choose one with --func");
    return nullptr;
  }
  llvm::StringRef name = llvm::StringRef(FuncName).ltrim('@');
  if (Function *f = m.lookup(name))
    return f;
  std::vector<std::string> names;
  for (const auto &g : m.functions)
    names.push_back(g->name);
  std::string hint = didYouMean(name, names, "@");
  fail("no function '@" + name + "' in '" + InputFile + "'" +
       (hint.empty() ? "; it has " + functionList(m) : hint));
  return nullptr;
}

Function *loadFunction(llvm::SourceMgr &sm, std::unique_ptr<Module> &m) {
  m = load(sm);
  return m ? findFunction(*m) : nullptr;
}

std::vector<std::string> wrtArgs() {
  std::vector<std::string> names;
  for (auto *list : {&Wrt, &GradAlias})
    for (const std::string &w : *list)
      names.push_back(llvm::StringRef(w).trim().ltrim('%').str());
  return names;
}

bool parseArgs(const Function &f, llvm::ArrayRef<Value *> params,
               llvm::StringMap<Tensor> &given) {
  // One hash lookup per --arg: linear in the number of arguments.
  llvm::StringMap<const Value *> byName;
  for (const Value *v : params)
    byName.try_emplace(v->name, v);
  for (const std::string &a : Args) {
    auto [name, text] = llvm::StringRef(a).split('=');
    name = name.trim().ltrim('%');
    if (!llvm::StringRef(a).contains('=') || name.empty())
      return fail("--arg expects name=VALUE, got '" + a + "'"), false;
    if (given.count(name))
      return fail("argument '%" + name + "' is given twice"), false;
    const Value *param = byName.lookup(name);
    if (!param) {
      std::vector<std::string> names;
      std::string list;
      for (const Value *v : params) {
        names.push_back(v->name);
        list += (list.empty() ? "%" : ", %") + v->name;
      }
      std::string hint = didYouMean(name, names, "%");
      return fail("'@" + f.name + "' has no argument '%" + name + "'" +
                  (hint.empty() ? "; its arguments are " + list : hint)),
             false;
    }
    bool integral = false;
    auto t = text.starts_with("@") ? loadValueFile(text.drop_front(), &integral)
                                   : parseValue(text);
    if (!t)
      return fail("argument '%" + name + "': " + llvm::toString(t.takeError())),
             false;
    // Integers from a file convert exactly, or not at all.
    if (integral && param->type.dtype == DType::F32)
      for (double v : t->data)
        if (double(float(v)) != v)
          return fail("argument '%" + name + "': " + fmt::format("{:.0f}", v) +
                      " in '" + text.drop_front() +
                      "' has no exact f32 value (f32 holds integers up to "
                      "2^24 exactly)"),
                 false;
    given[name] = std::move(*t);
  }
  return true;
}

bool collectArgs(const Function &f, llvm::ArrayRef<Value *> params,
                 std::vector<Tensor> &out) {
  llvm::StringMap<Tensor> given;
  if (!parseArgs(f, params, given))
    return false;
  std::string missing;
  for (Value *v : params) {
    auto it = given.find(v->name);
    if (it == given.end())
      missing += (missing.empty() ? "'%" : ", '%") + v->name + "'";
    else
      out.push_back(it->second);
  }
  if (!missing.empty())
    return fail("missing argument(s) " + missing + " (use --arg name=VALUE)"),
           false;
  return true;
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

Function *addGradient(Module &m, Function &f, std::vector<std::string> wrt,
                      llvm::SourceMgr &sm) {
  GradOptions opts;
  opts.wrt = std::move(wrt);
  opts.vjp = Vjp;
  opts.hasAux = HasAux;
  opts.remat = RematMode;
  if ((RematMode == Remat::Auto) != (MemoryBudget >= 0)) {
    fail(RematMode == Remat::Auto ? "--remat=auto needs --memory-budget BYTES"
                                  : "--memory-budget goes with --remat=auto");
    return nullptr;
  }
  opts.memoryBudget = MemoryBudget;
  size_t before = m.functions.size();
  auto g = buildGradient(m, f, opts);
  if (!g) {
    fail(llvm::toString(g.takeError()));
    return nullptr;
  }
  // @f.grad and the VJPs of the branches of its `cond`s.
  for (size_t i = before; i < m.functions.size(); ++i)
    if (!simplify(*m.functions[i], sm))
      return nullptr;
  return *g;
}

} // namespace gradc::driver
