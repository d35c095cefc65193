//===- Jit.cpp - Host target machine, O3, object files and ORC LLJIT ------===//
#include "gradc/Codegen/Jit.h"
#include "gradc/Codegen/CompileCache.h"
#include "gradc/IR/ABI.h"
#include "gradc/IR/Arguments.h"
#include "gradc/IR/Printer.h"
#include "gradc/Support/Suggest.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/PassTimingInfo.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Object/ObjectFile.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"

#ifdef GRADC_HAVE_CBLAS
#include <cblas.h>
#endif

#ifdef GRADC_HAVE_CBLAS
extern "C" void openblas_set_num_threads(int n);
#endif

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <type_traits>

namespace gradc {

/// Most bytes of outputs and intermediates `Jit::call` lets one call use.
constexpr int64_t kMaxJitBytes = int64_t(16) << 30;

namespace {

/// libgomp's entry points that parallel loops call, from libgomp.so.1
/// loaded on first use, or one-thread stand-ins without it.
struct OpenMP {
  void (*parallel)(void (*)(void *), void *, unsigned, unsigned);
  int (*threadNum)();
  int (*numThreads)();
  int (*maxThreads)();
};

void serialParallel(void (*fn)(void *), void *data, unsigned, unsigned) {
  fn(data);
}
int zero() { return 0; }
int one() { return 1; }

const OpenMP &openMP() {
  static const OpenMP omp = [] {
    OpenMP o{serialParallel, zero, one, one};
    // Idle OpenMP threads sleep at once instead of spinning, unless the
    // user says otherwise: spinning threads take the cores from OpenBLAS's
    // own threads in the BLAS calls that follow a parallel loop (W3 on 2
    // cores: 1.4 ms spinning, 0.9 ms passive; docs/performance.md). libgomp
    // reads this when it is loaded, hence dlopen here.
    if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT"))
      setenv("OMP_WAIT_POLICY", "passive", 0);
    void *h = dlopen("libgomp.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (!h)
      return o;
    auto get = [&](auto &fn, const char *name) {
      if (void *p = dlsym(h, name))
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
    };
    OpenMP all = o;
    get(all.parallel, "GOMP_parallel");
    get(all.threadNum, "omp_get_thread_num");
    get(all.numThreads, "omp_get_num_threads");
    get(all.maxThreads, "omp_get_max_threads");
    // All or nothing.
    if (all.parallel != o.parallel && all.threadNum != o.threadNum &&
        all.numThreads != o.numThreads && all.maxThreads != o.maxThreads)
      return all;
    return o;
  }();
  return omp;
}

} // namespace

static void initTargets() {
  static bool done = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    return true;
  }();
  (void)done;
}

static llvm::orc::JITTargetMachineBuilder hostBuilder() {
  llvm::orc::JITTargetMachineBuilder jtmb{
      llvm::Triple(llvm::sys::getProcessTriple())};
  jtmb.setCPU(llvm::sys::getHostCPUName().str());
  llvm::SubtargetFeatures features;
  for (auto &[name, on] : llvm::sys::getHostCPUFeatures())
    features.AddFeature(name, on);
  jtmb.addFeatures(features.getFeatures());
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  return jtmb;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createHostTargetMachine() {
  initTargets();
  return hostBuilder().createTargetMachine();
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createObjectTargetMachine(llvm::StringRef cpu, llvm::StringRef mattr) {
  initTargets();
  auto fail = [](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  };
  llvm::Triple triple(llvm::sys::getProcessTriple());
  std::string err;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple.str(), err);
  if (!target)
    return fail(err);
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      target->createMCSubtargetInfo(triple.str(), "", ""));
  llvm::orc::JITTargetMachineBuilder jtmb = hostBuilder();
  if (cpu != "host") {
    if (!sti->isCPUStringValid(cpu)) {
      std::vector<llvm::StringRef> names;
      for (const llvm::SubtargetSubTypeKV &kv :
           sti->getAllProcessorDescriptions())
        names.push_back(kv.Key);
      return fail("unknown CPU '" + cpu + "' for " + triple.str() +
                  didYouMean(cpu, names));
    }
    // Only the named CPU's features, not the host's.
    jtmb = llvm::orc::JITTargetMachineBuilder(triple);
    jtmb.setCPU(cpu.str());
    jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  }
  llvm::SmallVector<llvm::StringRef, 8> features;
  llvm::SplitString(mattr, features, ",");
  std::vector<llvm::StringRef> known;
  for (const llvm::SubtargetFeatureKV &kv : sti->getAllProcessorFeatures())
    known.push_back(kv.Key);
  for (llvm::StringRef f : features) {
    f = f.trim();
    llvm::StringRef name = f.drop_front();
    if (!f.starts_with("+") && !f.starts_with("-"))
      return fail("--mattr expects features like +avx2,-fma, got '" + f + "'");
    if (!llvm::is_contained(known, name)) {
      return fail("unknown CPU feature '" + name + "'" +
                  didYouMean(name, known));
    }
    jtmb.getFeatures().AddFeature(f);
  }
  // Position-independent code with the small code model: the object links
  // into a PIE or a shared library without text relocations.
  jtmb.setRelocationModel(llvm::Reloc::PIC_);
  jtmb.setCodeModel(llvm::CodeModel::Small);
  return jtmb.createTargetMachine();
}

void optimizeModule(llvm::Module &m, llvm::TargetMachine &tm) {
  m.setDataLayout(tm.createDataLayout());
  m.setTargetTriple(tm.getTargetTriple().str());
  // Every function gets the host's CPU and features, so that the vectorizer
  // uses the widest vectors the machine has.
  for (llvm::Function &fn : m)
    if (!fn.isDeclaration()) {
      fn.addFnAttr("target-cpu", tm.getTargetCPU());
      fn.addFnAttr("target-features", tm.getTargetFeatureString());
      // Use the widest vectors the CPU has (LLVM defaults to 256 bits on
      // some AVX-512 CPUs).
      fn.addFnAttr("prefer-vector-width", "512");
    }
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = true;
  pto.SLPVectorization = true;
  // Unrolling and interleaving multiply code size (and compile time, several
  // times over for graphs of many small loops) for little gain: the loops are
  // vectorized and mostly compute-bound.
  pto.LoopUnrolling = false;
  pto.LoopInterleaving = false;
  // LLVM's hidden --time-passes (e.g. `gradc run --time-passes`) also times
  // this pipeline, not only code generation.
  llvm::PassInstrumentationCallbacks pic;
  llvm::TimePassesHandler timer(llvm::TimePassesIsEnabled);
  timer.registerCallbacks(pic);
  llvm::PassBuilder pb(&tm, pto, std::nullopt, &pic);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
}

llvm::Error emitMachineCode(llvm::Module &m, llvm::TargetMachine &tm,
                            llvm::raw_pwrite_stream &os,
                            llvm::CodeGenFileType kind) {
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, kind))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "the target cannot emit this file type");
  pm.run(m);
  return llvm::Error::success();
}

Jit::~Jit() {
  // Free the arena the module keeps between calls (its code goes with jit_).
  if (jit_ && !releaseSymbol_.empty()) {
    if (auto sym = jit_->lookup(releaseSymbol_))
      sym->toPtr<void (*)()>()();
    else
      llvm::consumeError(sym.takeError());
  }
}

llvm::Expected<std::unique_ptr<Jit>> Jit::create(const Module &m,
                                                 const LowerOptions &opts) {
  auto start = std::chrono::steady_clock::now();
  if (auto e = checkCompiled(m, CompiledBy::Loops, opts.only))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   llvm::toString(std::move(e)) +
                                       "; use --backend interp");
  initTargets();
  std::unique_ptr<Jit> j(new Jit());
  llvm::orc::JITTargetMachineBuilder jtmb = hostBuilder();
  auto lljit =
      llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create();
  if (!lljit)
    return lljit.takeError();
  j->jit_ = std::move(*lljit);
  j->releaseSymbol_ = releaseSymbolName(m, opts);
  auto &lib = j->jit_->getMainJITDylib();
  llvm::orc::MangleAndInterner mangle(j->jit_->getExecutionSession(),
                                      j->jit_->getDataLayout());
  llvm::orc::SymbolMap runtime;
  auto add = [&](const char *name, auto *fn) {
    runtime[mangle(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                             llvm::JITSymbolFlags::Exported};
  };
  // The OpenMP runtime (libgomp), or one thread without it.
  const OpenMP &omp = openMP();
  add("GOMP_parallel", omp.parallel);
  add("omp_get_thread_num", omp.threadNum);
  add("omp_get_num_threads", omp.numThreads);
  add("omp_get_max_threads", omp.maxThreads);
  // libc and libm (malloc, free, tanh, ...) come from this process.
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      j->jit_->getDataLayout().getGlobalPrefix());
  if (!gen)
    return gen.takeError();
  lib.addGenerator(std::move(*gen));
#ifdef GRADC_HAVE_CBLAS
  // The BLAS entry points, named explicitly so that the linker keeps them.
  add("openblas_set_num_threads", &openblas_set_num_threads);
  add("cblas_sgemm", &cblas_sgemm);
  add("cblas_dgemm", &cblas_dgemm);
  add("cblas_sgemv", &cblas_sgemv);
  add("cblas_dgemv", &cblas_dgemv);
  add("cblas_sdot", &cblas_sdot);
  add("cblas_ddot", &cblas_ddot);
#else
  if (opts.blas)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "gradc was built without a BLAS");
#endif
  if (auto e = lib.define(llvm::orc::absoluteSymbols(std::move(runtime))))
    return e;
  // The object code: from the persistent cache, or lowered, optimized and
  // compiled here (and then stored in the cache).
  CompileCache cache = opts.cache ? CompileCache::open() : CompileCache("");
  std::string digest;
  std::unique_ptr<llvm::MemoryBuffer> obj;
  if (opts.cache) {
    std::string key;
    llvm::raw_string_ostream os(key);
    os << "blas=" << opts.blas << " parallel=" << opts.parallel
       << " parts=" << opts.partSize
       << " only=" << (opts.only ? opts.only->name : std::string("*"))
       << " cpu=" << jtmb.getCPU()
       << " features=" << jtmb.getFeatures().getString() << "\n";
    print(m, os);
    digest = CompileCache::digest(key);
    obj = cache.load(digest);
    if (obj && !llvm::object::ObjectFile::createObjectFile(*obj)) {
      cache.remove(digest); // not an object file: compile it anew
      obj = nullptr;
    }
    j->fromCache_ = obj != nullptr;
  }
  if (!obj) {
    auto tm = jtmb.createTargetMachine();
    if (!tm)
      return tm.takeError();
    llvm::LLVMContext ctx;
    std::unique_ptr<llvm::Module> mod = lowerToLLVM(m, ctx, opts);
    optimizeModule(*mod, **tm);
    llvm::SmallVector<char, 0> code;
    llvm::raw_svector_ostream os(code);
    if (auto e =
            emitMachineCode(*mod, **tm, os, llvm::CodeGenFileType::ObjectFile))
      return e;
    llvm::StringRef bytes(code.data(), code.size());
    if (opts.cache)
      cache.store(digest, bytes);
    obj = llvm::MemoryBuffer::getMemBufferCopy(bytes, "gradc-jit");
  }
  if (auto e = j->jit_->addObjectFile(std::move(obj)))
    return e;
  // Look every function up now, so that compile time is measured here.
  for (const auto &f : m.functions)
    if (!opts.only || opts.only == f.get())
      if (auto sym = j->jit_->lookup(packedSymbolName(*f)); !sym)
        return sym.takeError();
  j->compileMs_ = std::chrono::duration<double, std::milli>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  return j;
}

llvm::Error Jit::setThreads(int n) {
  auto sym = jit_->lookup("gradc_set_num_threads");
  if (!sym)
    return sym.takeError();
  sym->toPtr<void (*)(int)>()(n);
  return llvm::Error::success();
}

llvm::Expected<void *> Jit::lookupTyped(const Function &f) {
  auto sym = jit_->lookup(typedSymbolName(f));
  if (!sym)
    return sym.takeError();
  return sym->toPtr<void *>();
}

void *Jit::lookupValues(const Function &f, bool noseed) {
  auto sym = jit_->lookup(noseed ? noseedSymbolName(f) + "__values"
                                 : valuesSymbolName(f));
  if (!sym) {
    llvm::consumeError(sym.takeError());
    return nullptr;
  }
  return sym->toPtr<void *>();
}

llvm::Expected<Jit::PackedFn> Jit::lookup(const Function &f) {
  auto sym = jit_->lookup(packedSymbolName(f));
  if (!sym)
    return sym.takeError();
  return sym->toPtr<PackedFn>();
}

llvm::Expected<std::vector<Tensor>> Jit::call(const Function &f,
                                              std::vector<Tensor> args) {
  auto syms = bindArguments(f, args);
  if (!syms)
    return syms.takeError();
  // Refuse sizes whose buffers would not fit in memory, before allocating.
  int64_t bytes = workspaceBytes(f, *syms);
  for (const Type &t : f.resultTypes) {
    int64_t n = dtypeSize(t.dtype);
    for (const Dim &d : t.dims) {
      int64_t size = resolve(d, *syms);
      n = size > (int64_t(1) << 40) / n ? (int64_t(1) << 40) : n * size;
    }
    bytes += n;
  }
  if (bytes > kMaxJitBytes)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "'@" + f.name + "' would need " + llvm::Twine(bytes >> 20) +
            " MiB of buffers for these sizes (the limit is " +
            llvm::Twine(kMaxJitBytes >> 20) + " MiB)");
  auto fn = lookup(f);
  if (!fn)
    return fn.takeError();
  // Convert the arguments to their element types.
  std::vector<std::vector<char>> inBufs;
  std::vector<void *> in;
  for (const Tensor &t : args) {
    size_t esz = dtypeSize(t.dtype);
    inBufs.emplace_back(std::max<size_t>(1, t.data.size()) * esz);
    for (size_t i = 0; i < t.data.size(); ++i) {
      char *p = inBufs.back().data() + i * esz;
      if (t.dtype == DType::F32) {
        float v = float(t.data[i]);
        std::memcpy(p, &v, 4);
      } else if (t.dtype == DType::I32) {
        int32_t v = int32_t(t.data[i]);
        std::memcpy(p, &v, 4);
      } else if (t.dtype == DType::I64) {
        int64_t v = int64_t(t.data[i]);
        std::memcpy(p, &v, 8);
      } else {
        std::memcpy(p, &t.data[i], 8);
      }
    }
    in.push_back(inBufs.back().data());
  }
  std::vector<int64_t> dims;
  for (const std::string &s : symbolicDims(f))
    dims.push_back(syms->lookup(s));
  std::vector<Tensor> results;
  std::vector<void *> out;
  for (const Type &t : f.resultTypes) {
    Shape s = resolve(t.dims, *syms);
    results.emplace_back(t.dtype, s);
    results.back().data.resize(numElements(s));
  }
  std::vector<std::vector<char>> outBufs;
  for (const Tensor &t : results) {
    outBufs.emplace_back(t.data.size() * dtypeSize(t.dtype) + 8);
    out.push_back(outBufs.back().data());
  }
  int rc = (*fn)(in.data(), dims.data(), out.data());
  if (rc == 3) // the interpreter, stopping at the same op, can name it
    return llvm::createStringError(
        std::make_error_code(std::errc::result_out_of_range),
        "'@" + f.name + "': an index is out of range");
  if (rc != 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "'@" + f.name +
                                       "': cannot allocate its buffers");
  for (size_t k = 0; k < results.size(); ++k) {
    Tensor &t = results[k];
    size_t esz = dtypeSize(t.dtype);
    for (size_t i = 0; i < t.data.size(); ++i) {
      const char *p = outBufs[k].data() + i * esz;
      if (t.dtype == DType::F32) {
        float v;
        std::memcpy(&v, p, 4);
        t.data[i] = v;
      } else if (t.dtype == DType::I32) {
        int32_t v;
        std::memcpy(&v, p, 4);
        t.data[i] = v;
      } else if (t.dtype == DType::I64) {
        int64_t v;
        std::memcpy(&v, p, 8);
        t.data[i] = double(v);
      } else {
        std::memcpy(&t.data[i], p, 8);
      }
    }
  }
  return results;
}

} // namespace gradc
