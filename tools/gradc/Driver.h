//===- Driver.h - What the gradc subcommands share --------------*- C++ -*-===//
#ifndef GRADC_TOOLS_DRIVER_H
#define GRADC_TOOLS_DRIVER_H

#include "gradc/AD/Autodiff.h"
#include "gradc/IR/IR.h"
#include "gradc/IR/Tensor.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace gradc::driver {

// The category and the subcommands are built on first use, so that options
// in any file can name them whatever the order of static initialization.
llvm::cl::OptionCategory &Cat();
llvm::cl::SubCommand &ParseCmd();
llvm::cl::SubCommand &RunCmd();
llvm::cl::SubCommand &GradCmd();
llvm::cl::SubCommand &JvpCmd();
llvm::cl::SubCommand &CheckCmd();
llvm::cl::SubCommand &EmitCmd();
llvm::cl::SubCommand &LowerCmd();
llvm::cl::SubCommand &DotCmd();
extern llvm::cl::opt<std::string> InputFile;  // positional <file.gir>
extern llvm::cl::opt<std::string> FuncName;   // --func
extern llvm::cl::list<std::string> Args;      // --arg name=VALUE
extern llvm::cl::opt<bool> NoBlas;            // --no-blas
extern llvm::cl::opt<bool> Vjp;               // --vjp
extern llvm::cl::opt<bool> HasAux;            // --has-aux
extern llvm::cl::list<std::string> Wrt;       // --wrt
extern llvm::cl::list<std::string> GradAlias; // --grad
extern llvm::cl::opt<bool> NoOpt;             // -O0
extern llvm::cl::opt<Remat> RematMode;        // --remat
extern llvm::cl::opt<int64_t> MemoryBudget;   // --memory-budget
extern llvm::cl::opt<bool> PrintAfterAll;     // --print-after-all
extern llvm::cl::opt<bool> VerifyEach;        // --verify-each

/// Prints `gradc: error: msg`; returns 1 (the exit code).
int fail(const llvm::Twine &msg);
/// Reads, parses and verifies InputFile; diagnostics go to stderr.
std::unique_ptr<Module> load(llvm::SourceMgr &sm);
/// The function named by --func, or the only one; null after an error.
Function *findFunction(Module &m);
/// load() into `m`, then findFunction(); null after an error.
Function *loadFunction(llvm::SourceMgr &sm, std::unique_ptr<Module> &m);
/// The values of the --arg options, by parameter name (each must be one of
/// `params`, arguments of `f`); false after an error.
bool parseArgs(const Function &f, llvm::ArrayRef<Value *> params,
               llvm::StringMap<Tensor> &given);
/// Builds the values of `params` (arguments of `f`) from the --arg options;
/// every parameter must be given.
bool collectArgs(const Function &f, llvm::ArrayRef<Value *> params,
                 std::vector<Tensor> &out);
/// The arguments to differentiate with respect to: --wrt and its alias
/// --grad, without '%'.
std::vector<std::string> wrtArgs();
/// Simplifies `f` with the default pipeline (-O0, --print-after-all and
/// --verify-each apply); false after an error.
bool simplify(Function &f, llvm::SourceMgr &sm);
/// Builds and simplifies @f.grad for `wrt` (--vjp, --has-aux, -O0 apply);
/// null after an error.
Function *addGradient(Module &m, Function &f, std::vector<std::string> wrt,
                      llvm::SourceMgr &sm);

/// The output files of one command. Each is written to a temporary file
/// next to it and renamed into place by commit(); text for standard output
/// ("-") is held until commit(). Without commit(), nothing is left behind.
class Outputs {
public:
  Outputs();
  ~Outputs();
  /// A stream for `path` ("-": standard output); null after an error.
  llvm::raw_pwrite_stream *open(llvm::StringRef path);
  /// Puts every file in place; false after an error.
  bool commit();

private:
  struct File;
  std::vector<std::unique_ptr<File>> files_;
};

/// `gradc dot` (tools/gradc/Dot.cpp).
int runDot();
/// `gradc emit` (tools/gradc/Emit.cpp).
int runEmit();
/// `gradc lower` (tools/gradc/Lower.cpp).
int runLower();

} // namespace gradc::driver

#endif
