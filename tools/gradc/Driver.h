//===- Driver.h - What the gradc subcommands share --------------*- C++ -*-===//
#ifndef GRADC_TOOLS_DRIVER_H
#define GRADC_TOOLS_DRIVER_H

#include "gradc/IR/IR.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"

#include <memory>
#include <string>
#include <vector>

namespace gradc::driver {

extern llvm::cl::OptionCategory Cat;
extern llvm::cl::SubCommand EmitCmd, DotCmd, LowerCmd;
extern llvm::cl::opt<std::string> InputFile; // positional <file.gir>
extern llvm::cl::opt<std::string> FuncName;  // --func
extern llvm::cl::list<std::string> Args;     // --arg name=VALUE
extern llvm::cl::opt<bool> NoBlas;           // --no-blas

/// Prints `gradc: error: msg`; returns 1 (the exit code).
int fail(const llvm::Twine &msg);
/// Reads, parses and verifies InputFile; diagnostics go to stderr.
std::unique_ptr<Module> load(llvm::SourceMgr &sm);
/// The function named by --func, or the only one; null after an error.
Function *findFunction(Module &m);
/// load() into `m`, then findFunction(); null after an error.
Function *loadFunction(llvm::SourceMgr &sm, std::unique_ptr<Module> &m);
/// Builds the values of `params` (arguments of `f`) from the --arg options.
bool collectArgs(const Function &f, llvm::ArrayRef<Value *> params,
                 std::vector<Tensor> &out);

/// `gradc dot` (tools/gradc/Dot.cpp).
int runDot();
/// `gradc emit` (tools/gradc/Emit.cpp).
int runEmit();
/// `gradc lower` (tools/gradc/Lower.cpp).
int runLower();

} // namespace gradc::driver

#endif
