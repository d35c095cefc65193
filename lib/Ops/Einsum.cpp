//===- Einsum.cpp - einsum with one or two operands -----------------------===//
//
// `einsum %a, %b {spec="ij,jk->ik"}`: numpy.einsum with an explicit output,
// lower-case letters, no ellipsis, and no letter repeated within one operand
// (diagonals). Every letter not in the output is summed over. The adjoint
// of each operand is again an einsum (of dy with the other operand),
// broadcast over the letters only that operand has.
//
//===----------------------------------------------------------------------===//
#include "OpsImpl.h"

#include "gradc/Loops/LoopBuilder.h"

#include <map>

namespace gradc::ops {
namespace {

using Grads = std::vector<Value *>;

struct Spec {
  std::vector<std::string> in;
  std::string out;
};

bool decodeSpec(const Op &op, size_t operands, Spec &s, std::string &err) {
  const Attr *a = op.attr("spec");
  if (!a) {
    err = "'einsum' needs a 'spec' attribute, e.g. spec=\"ij,jk->ik\"";
    return false;
  }
  llvm::StringRef text = a->s;
  auto [lhs, out] = text.split("->");
  if (!text.contains("->") || out.contains("->")) {
    err = "'einsum' spec \"" + a->s + "\" needs exactly one '->'";
    return false;
  }
  llvm::SmallVector<llvm::StringRef, 2> terms;
  lhs.split(terms, ',');
  if (terms.size() != operands) {
    err = "'einsum' spec \"" + a->s + "\" has " + std::to_string(terms.size()) +
          " operand" + (terms.size() == 1 ? "" : "s") + " but the op has " +
          std::to_string(operands);
    return false;
  }
  auto letters = [&](llvm::StringRef t, const char *what) {
    for (size_t i = 0; i < t.size(); ++i) {
      char c = t[i];
      if (c < 'a' || c > 'z') {
        err = "'einsum' spec \"" + a->s + "\": unexpected '" +
              std::string(1, c) + "' (only lower-case letters, ',' and '->')";
        return false;
      }
      if (t.find(c, i + 1) != llvm::StringRef::npos) {
        err = "'einsum' spec \"" + a->s + "\": '" + std::string(1, c) +
              "' is repeated in " + what + " (diagonals are not supported)";
        return false;
      }
    }
    return true;
  };
  for (size_t i = 0; i < terms.size(); ++i) {
    std::string what = "operand " + std::to_string(i);
    if (!letters(terms[i], what.c_str()))
      return false;
    s.in.push_back(terms[i].str());
  }
  if (!letters(out, "the output"))
    return false;
  for (char c : out)
    if (lhs.find(c) == llvm::StringRef::npos) {
      err = "'einsum' spec \"" + a->s + "\": output letter '" +
            std::string(1, c) + "' is in no operand";
      return false;
    }
  s.out = out.str();
  return true;
}

/// The spec of a verified einsum.
Spec specOf(const Op &op) {
  return verifiedAttr<Spec>(op, [&](Spec &s, std::string &err) {
    return decodeSpec(op, op.operands.size(), s, err);
  });
}

Type inferEinsum(const Op &op, llvm::ArrayRef<Type> in, std::string &err) {
  Spec s;
  if (!sameDType(in, "einsum", err) || !decodeSpec(op, in.size(), s, err))
    return Type::invalid();
  std::map<char, Dim> dims;
  for (size_t i = 0; i < in.size(); ++i) {
    if (s.in[i].size() != in[i].rank()) {
      err = "'einsum' spec term \"" + s.in[i] + "\" has " +
            std::to_string(s.in[i].size()) + " letters but operand " +
            std::to_string(i) + " has rank " + std::to_string(in[i].rank()) +
            " (" + in[i].str() + ")";
      return Type::invalid();
    }
    for (size_t k = 0; k < s.in[i].size(); ++k) {
      char c = s.in[i][k];
      auto [it, fresh] = dims.try_emplace(c, in[i].dims[k]);
      if (!fresh && !(it->second == in[i].dims[k])) {
        err = "'einsum' letter '" + std::string(1, c) + "' has size " +
              it->second.str() + " and " + in[i].dims[k].str();
        return Type::invalid();
      }
    }
  }
  Type out{in[0].dtype, {}};
  for (char c : s.out)
    out.dims.push_back(dims[c]);
  return out;
}

Tensor evalEinsum(const Op &op, llvm::ArrayRef<const Tensor *> in,
                  const SymEnv &) {
  Spec s = specOf(op);
  std::string all;
  std::map<char, int64_t> size;
  for (size_t i = 0; i < in.size(); ++i)
    for (size_t k = 0; k < s.in[i].size(); ++k)
      if (!size.count(s.in[i][k])) {
        size[s.in[i][k]] = in[i]->shape[k];
        all += s.in[i][k];
      }
  // Strides of each operand and of the output over the letters of `all`.
  auto stridesOver = [&](const std::string &letters, const Shape &shape) {
    Shape own = stridesOf(shape), st(all.size(), 0);
    for (size_t k = 0; k < letters.size(); ++k)
      st[all.find(letters[k])] = own[k];
    return st;
  };
  Shape outShape;
  for (char c : s.out)
    outShape.push_back(size[c]);
  Tensor out(in[0]->dtype, outShape);
  std::vector<Shape> st;
  for (size_t i = 0; i < in.size(); ++i)
    st.push_back(stridesOver(s.in[i], in[i]->shape));
  Shape ost = stridesOver(s.out, outShape);
  Shape idx(all.size(), 0), lim;
  for (char c : all)
    lim.push_back(size[c]);
  int64_t total = 1;
  for (int64_t n : lim)
    total *= n;
  for (int64_t flat = 0; flat < total; ++flat) {
    double v = 1;
    int64_t o = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      int64_t off = 0;
      for (size_t k = 0; k < all.size(); ++k)
        off += idx[k] * st[i][k];
      v *= in[i]->data[off];
    }
    for (size_t k = 0; k < all.size(); ++k)
      o += idx[k] * ost[k];
    out.data[o] += v;
    for (int k = int(all.size()) - 1; k >= 0 && ++idx[k] == lim[k]; --k)
      idx[k] = 0;
  }
  out.roundToType();
  return out;
}

// For operand a: da = einsum(dy [, b], "out[,b]->a'") with a' the letters of
// a that occur in the output or in b, then broadcast over the rest (letters
// only a has were summed over, so each of their elements gets the same
// cotangent).
Grads vjpEinsum(Builder &b, const Op &op, Value *dy) {
  Spec s = specOf(op);
  Grads g;
  for (size_t i = 0; i < op.operands.size(); ++i) {
    Value *x = op.operands[i];
    const std::string &la = s.in[i];
    std::string other = op.operands.size() == 2 ? s.in[1 - i] : "";
    std::string kept;
    for (char c : la)
      if (s.out.find(c) != std::string::npos ||
          other.find(c) != std::string::npos)
        kept += c;
    Value *d;
    if (op.operands.size() == 2) {
      d = b.create(
          OpKind::Einsum, {dy, op.operands[1 - i]},
          {{"spec", Attr::string(s.out + "," + other + "->" + kept), {}}});
    } else {
      d = kept == s.out
              ? dy
              : b.create(OpKind::Einsum, {dy},
                         {{"spec", Attr::string(s.out + "->" + kept), {}}});
    }
    if (kept != la) {
      std::vector<Dim> withOnes;
      for (size_t k = 0; k < la.size(); ++k)
        withOnes.push_back(kept.find(la[k]) != std::string::npos
                               ? x->type.dims[k]
                               : Dim::fixed(1));
      if (withOnes != d->type.dims)
        d = b.reshape(d, withOnes);
      d = b.broadcastTo(d, x->type);
    }
    g.push_back(d);
  }
  return g;
}

// Loops over the output's letters, then over the summed letters with an
// accumulator in double (as the interpreter).
void loopsEinsum(loops::LoopBuilder &b, const Op &op) {
  Spec s = specOf(op);
  std::map<char, const loops::Expr *> size;
  std::string summed;
  for (size_t i = 0; i < s.in.size(); ++i)
    for (size_t k = 0; k < s.in[i].size(); ++k) {
      char c = s.in[i][k];
      if (size.count(c))
        continue;
      size[c] = b.dim(op.operands[i]->type.dims[k]);
      if (s.out.find(c) == std::string::npos)
        summed += c;
    }
  loops::Scalar et = loops::scalarOf(op.result->type.dtype);
  unsigned acc = b.local("acc", loops::Scalar::F64);
  std::vector<const loops::Expr *> outExt, sumExt;
  for (char c : s.out)
    outExt.push_back(size[c]);
  for (char c : summed)
    sumExt.push_back(size[c]);
  b.loops(outExt, [&](loops::Index oi) {
    b.assign(acc, b.f(0, loops::Scalar::F64));
    b.loops(sumExt, [&](loops::Index si) {
      auto at = [&](char c) {
        size_t p = s.out.find(c);
        return p != std::string::npos ? oi[p] : si[summed.find(c)];
      };
      const loops::Expr *prod = nullptr;
      for (size_t i = 0; i < s.in.size(); ++i) {
        std::vector<const loops::Expr *> idx;
        for (char c : s.in[i])
          idx.push_back(at(c));
        const loops::Expr *e =
            b.cast(b.element(op.operands[i], idx), loops::Scalar::F64);
        prod = prod ? b.apply(OpKind::Mul, {prod, e}) : e;
      }
      b.accumulate(acc, prod);
    });
    b.store(op.result, oi, b.cast(b.read(acc), et));
  });
}

} // namespace

void addEinsumOps(std::vector<OpDef> &d) {
  d.push_back(OpDef{OpKind::Einsum,
                    {{"spec", Attr::String}},
                    inferEinsum,
                    evalEinsum,
                    vjpEinsum}
                  .withLoops(loopsEinsum));
}

} // namespace gradc::ops
