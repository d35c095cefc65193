//===- Dot.cpp - gradc dot: pictures of a function and its adjoint --------===//
#include "Driver.h"

#include "gradc/IR/Inline.h"
#include "gradc/Viz/Dot.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace gradc;
namespace cl = llvm::cl;

namespace gradc::driver {
namespace {

cl::opt<std::string> DotOutput("o",
                               cl::desc("Output file (default: standard "
                                        "output)"),
                               cl::value_desc("path"), cl::init("-"),
                               cl::sub(DotCmd()), cl::cat(Cat()));
enum class DotFormat { Dot, Svg, Png };
cl::opt<DotFormat> DotFmt(
    "format", cl::desc("Output format (default: dot)"),
    cl::init(DotFormat::Dot),
    cl::values(clEnumValN(DotFormat::Dot, "dot", "Graphviz source"),
               clEnumValN(DotFormat::Svg, "svg", "SVG, rendered by Graphviz"),
               clEnumValN(DotFormat::Png, "png", "PNG, rendered by Graphviz")),
    cl::sub(DotCmd()), cl::cat(Cat()));

/// Writes `text` to `path` ("-" is stdout), in place only once complete.
int writeOut(llvm::StringRef path, llvm::StringRef text) {
  Outputs files;
  llvm::raw_pwrite_stream *os = files.open(path);
  if (!os)
    return 1;
  *os << text;
  return files.commit() ? 0 : 1;
}

/// Renders DOT text with Graphviz's `dot` program.
int render(llvm::StringRef dotText, const char *format) {
  auto dot = llvm::sys::findProgramByName("dot");
  if (!dot)
    return fail(llvm::Twine("--format ") + format +
                " needs Graphviz's 'dot' program, which was not found; "
                "install the package 'graphviz' (apt-get install graphviz) "
                "or use --format dot");
  llvm::SmallString<128> in, out;
  if (auto ec = llvm::sys::fs::createTemporaryFile("gradc", "dot", in))
    return fail("cannot create a temporary file: " + ec.message());
  if (auto ec = llvm::sys::fs::createTemporaryFile("gradc", format, out))
    return fail("cannot create a temporary file: " + ec.message());
  llvm::FileRemover removeIn(in), removeOut(out);
  if (int rc = writeOut(in, dotText))
    return rc;
  std::string err;
  std::string flag = std::string("-T") + format;
  int rc = llvm::sys::ExecuteAndWait(*dot, {*dot, flag, in, "-o", out}, {}, {},
                                     0, 0, &err);
  if (rc != 0)
    return fail("Graphviz's dot failed" + (err.empty() ? "" : ": " + err));
  auto buf = llvm::MemoryBuffer::getFile(out, /*IsText=*/false);
  if (!buf)
    return fail("cannot read dot's output: " + buf.getError().message());
  return writeOut(DotOutput, (*buf)->getBuffer());
}

} // namespace

int runDot() {
  llvm::SourceMgr sm;
  std::unique_ptr<Module> m;
  Function *f = loadFunction(sm, m);
  if (!f)
    return 1;
  // Calls are drawn inlined; custom VJPs and conditionals are not drawn.
  inlineCalls(*f, KeepCustomVjp);
  for (const auto &op : f->ops)
    if (!op->callees.empty())
      return fail("gradc dot does not draw '" + mnemonic(op->kind) + "' of '@" +
                  op->callees[0] + "' yet (" +
                  (op->kind == OpKind::Cond ? "a conditional"
                   : op->kind == OpKind::Scan
                       ? "a loop"
                       : "a function with a custom VJP") +
                  ")");
  DotOptions opts;
  opts.grad = wrtArgs();
  if (!Args.empty()) {
    // The arguments, then one cotangent d<out> per output unless @f returns
    // one scalar (whose seed is 1).
    Function cot;
    std::vector<Value *> params(f->args.begin(), f->args.end());
    std::vector<std::string> names = cotangentNames(*f);
    for (size_t i = 0; i < names.size(); ++i)
      params.push_back(cot.addArg(names[i], f->resultTypes[i]));
    if (!collectArgs(*f, params, opts.args))
      return 1;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  if (auto e = writeDot(*f, opts, os))
    return fail(llvm::toString(std::move(e)));
  if (DotFmt == DotFormat::Dot)
    return writeOut(DotOutput, text);
  return render(text, DotFmt == DotFormat::Svg ? "svg" : "png");
}

} // namespace gradc::driver
