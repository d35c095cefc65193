//===- Entries.cpp - Checked and seedless entry points --------------------===//
#include "gradc/Codegen/Entries.h"
#include "gradc/IR/ABI.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/IR/IRBuilder.h"

namespace gradc {
namespace {

using LV = llvm::Value;

class Wrappers {
public:
  Wrappers(const Module &m, const Function &f, llvm::Function *raw)
      : m_(m), f_(f), raw_(raw), b_(raw->getContext()) {}

  void run() {
    llvm::Function *checked = addChecked();
    if (!seededPrimal(m_, f_))
      return;
    addNoseed(raw_, noseedSymbolName(f_), false);
    addNoseed(checked, noseedSymbolName(f_) + "_checked", true);
  }

private:
  llvm::Type *ptr() { return b_.getPtrTy(); }
  llvm::Function *define(const std::string &name,
                         llvm::ArrayRef<llvm::Type *> params) {
    auto *fty = llvm::FunctionType::get(b_.getInt32Ty(), params, false);
    auto *fn = llvm::Function::Create(fty, llvm::Function::ExternalLinkage,
                                      name, raw_->getParent());
    fn->addFnAttr(llvm::Attribute::NoUnwind);
    b_.SetInsertPoint(llvm::BasicBlock::Create(b_.getContext(), "entry", fn));
    return fn;
  }

  /// int gradc_f_checked(in0, in0_shape, ..., out0, ...): reads the symbolic
  /// dims from the shapes and checks every dim, in the order of the
  /// arguments, before calling gradc_f.
  llvm::Function *addChecked() {
    std::vector<llvm::Type *> params;
    for (const Value *a : f_.args) {
      params.push_back(ptr());
      if (a->type.rank())
        params.push_back(ptr());
    }
    params.insert(params.end(), f_.results.size(), ptr());
    llvm::Function *fn = define(checkedSymbolName(f_), params);
    llvm::BasicBlock *bad =
        llvm::BasicBlock::Create(b_.getContext(), "bad_shape", fn);
    std::vector<LV *> inputs;
    llvm::StringMap<LV *> dims;
    unsigned k = 0;
    for (const Value *a : f_.args) {
      inputs.push_back(fn->getArg(k++));
      if (!a->type.rank())
        continue;
      LV *shape = fn->getArg(k++);
      for (size_t d = 0; d < a->type.rank(); ++d) {
        const Dim &dim = a->type.dims[d];
        LV *got = b_.CreateLoad(
            b_.getInt64Ty(),
            b_.CreateConstInBoundsGEP1_64(b_.getInt64Ty(), shape, d));
        LV *wrong;
        if (!dim.isSym()) {
          wrong = b_.CreateICmpNE(got, b_.getInt64(dim.size));
        } else if (LV *n = dims.lookup(dim.sym)) {
          wrong = b_.CreateICmpNE(got, n);
        } else {
          dims[dim.sym] = got;
          wrong = b_.CreateICmpSLT(got, b_.getInt64(1));
        }
        llvm::BasicBlock *next =
            llvm::BasicBlock::Create(b_.getContext(), "ok", fn, bad);
        b_.CreateCondBr(wrong, bad, next);
        b_.SetInsertPoint(next);
      }
    }
    std::vector<LV *> args = inputs;
    for (const std::string &s : symbolicDims(f_))
      args.push_back(dims.lookup(s));
    for (; k < fn->arg_size(); ++k)
      args.push_back(fn->getArg(k));
    b_.CreateRet(b_.CreateCall(raw_, args));
    b_.SetInsertPoint(bad);
    b_.CreateRet(b_.getInt32(2));
    return fn;
  }

  /// The same as `callee` without its seed argument (the last input), which
  /// is 1.
  void addNoseed(llvm::Function *callee, const std::string &name,
                 bool checked) {
    // The seed is the callee's last input; a scalar has no shape parameter.
    unsigned seedIndex = 0;
    for (size_t i = 0; i + 1 < f_.args.size(); ++i)
      seedIndex += checked && f_.args[i]->type.rank() ? 2 : 1;
    std::vector<llvm::Type *> params;
    for (unsigned i = 0; i < callee->arg_size(); ++i)
      if (i != seedIndex)
        params.push_back(callee->getArg(i)->getType());
    llvm::Function *fn = define(name, params);
    llvm::Type *t = f_.args.back()->type.dtype == DType::F32 ? b_.getFloatTy()
                                                             : b_.getDoubleTy();
    LV *seed = b_.CreateAlloca(t);
    b_.CreateStore(llvm::ConstantFP::get(t, 1.0), seed);
    std::vector<LV *> args;
    for (unsigned i = 0, j = 0; i < callee->arg_size(); ++i)
      args.push_back(i == seedIndex ? seed : fn->getArg(j++));
    b_.CreateRet(b_.CreateCall(callee, args));
  }

  const Module &m_;
  const Function &f_;
  llvm::Function *raw_;
  llvm::IRBuilder<> b_;
};

} // namespace

void addEntryWrappers(const Module &m, llvm::Module &mod) {
  for (const auto &f : m.functions)
    if (llvm::Function *raw = mod.getFunction(cSymbolName(f->name)))
      Wrappers(m, *f, raw).run();
}

} // namespace gradc
