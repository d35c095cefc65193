//===- Cases.h - Small programs covering every op ---------------*- C++ -*-===//
#ifndef GRADC_UNITTESTS_CASES_H
#define GRADC_UNITTESTS_CASES_H

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <ostream>
#include <string>
#include <vector>

namespace gradc::test {

struct Case {
  std::string name, source;
};
inline void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

/// f(a, b) = op(a, b) for the given operand types.
inline Case binary(const std::string &op, const std::string &ta,
                   const std::string &tb) {
  return {op + " " + ta + " " + tb,
          fmt::format("func @f(%a: {}, %b: {}) -> {} {{\n  %y = {} %a, %b\n  "
                      "%z = mul %y, %y\n  %s = sum %z\n  return %s\n}}\n",
                      ta, tb, "f64", op)};
}

inline Case unary(const std::string &op, const std::string &t) {
  return {op + " " + t,
          fmt::format("func @f(%a: {0}) -> {0} {{\n  %y = {1} %a\n  "
                      "return %y\n}}\n",
                      t, op)};
}

inline Case body(const std::string &name, const std::string &sig,
                 const std::string &ops) {
  return {name, "func @f(" + sig + " {\n" + ops + "}\n"};
}

inline std::vector<Case> allCases() {
  std::vector<Case> cases;
  const char *shapes[][2] = {
      {"f64[3,4]", "f64[3,4]"}, {"f64[3,4]", "f64[4]"},   // row
      {"f64[3,4]", "f64[3,1]"}, {"f64[3,1]", "f64[3,4]"}, // column
      {"f64[3,4]", "f64"},      {"f64", "f64[3,4]"},      // scalar
      {"f64[1,4]", "f64[3,1]"},                           // [1,K]+[N,1]
      {"f64[N,4]", "f64[4]"},   {"f64[N,1]", "f64[1,K]"}, // symbolic
  };
  for (const char *op : {"add", "sub", "mul", "div", "max", "min", "pow"})
    for (auto &s : shapes)
      cases.push_back(binary(op, s[0], s[1]));
  for (const char *op :
       {"neg", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "sin",
        "cos", "erf", "log1p", "expm1", "softplus", "rsqrt", "sign", "floor"}) {
    cases.push_back(unary(op, "f64[3,4]"));
    cases.push_back(unary(op, "f32[N]"));
  }
  cases.push_back(body("select", "%a: f64[3,4], %b: f64[4]) -> f64[3,4]",
                       "  %c = gt %a, %b\n  %y = select %c, %a, %b\n"
                       "  return %y\n"));
  cases.push_back(body("select scalar branch", "%a: f64[3], %b: f64) -> f64[3]",
                       "  %c = lt %a, %b\n  %y = select %c, %b, %a\n"
                       "  return %y\n"));
  // Linear algebra, non-square, every supported rank.
  cases.push_back(body("matmul 2x2", "%a: f64[3,4], %b: f64[4,5]) -> f64[3,5]",
                       "  %y = matmul %a, %b\n  return %y\n"));
  cases.push_back(body("matmul 2x1", "%a: f64[3,4], %b: f64[4]) -> f64[3]",
                       "  %y = matmul %a, %b\n  return %y\n"));
  cases.push_back(body("matmul 1x2", "%a: f64[4], %b: f64[4,5]) -> f64[5]",
                       "  %y = matmul %a, %b\n  return %y\n"));
  cases.push_back(body("matmul symbolic",
                       "%a: f64[N,K], %b: f64[K,M]) -> f64[N,M]",
                       "  %y = matmul %a, %b\n  return %y\n"));
  cases.push_back(body("dot", "%a: f64[5], %b: f64[5]) -> f64",
                       "  %y = dot %a, %b\n  return %y\n"));
  cases.push_back(body("transpose", "%a: f64[3,4]) -> f64[4,3]",
                       "  %y = transpose %a\n  return %y\n"));
  cases.push_back(body("transpose perm", "%a: f64[2,3,4]) -> f64[4,2,3]",
                       "  %y = transpose %a {perm=[2,0,1]}\n  return %y\n"));
  cases.push_back(body("reshape", "%a: f64[N,4]) -> f64[4,N]",
                       "  %y = reshape %a {shape=[4,N]}\n  return %y\n"));
  cases.push_back(body("broadcast_to row", "%a: f64[4]) -> f64[3,4]",
                       "  %y = broadcast_to %a {shape=[3,4]}\n  return %y\n"));
  cases.push_back(body("broadcast_to column", "%a: f64[N,1]) -> f64[N,4]",
                       "  %y = broadcast_to %a {shape=[N,4]}\n  return %y\n"));
  cases.push_back(body("broadcast_to scalar",
                       "%a: f64, %b: f64[N]) -> f64[2,N]",
                       "  %y = broadcast_to %a {shape=[2,N]}\n"
                       "  %z = mul %y, %b\n  return %z\n"));
  cases.push_back(body("dim", "%a: f64[N,3]) -> f64[N,3]",
                       "  %n = dim %a {axis=0}\n  %k = dim %a {axis=-1}\n"
                       "  %y = mul %a, %n\n  %z = div %y, %k\n  return %z\n"));
  // Reductions and the stable composites.
  for (const char *op : {"sum", "mean", "reduce_max"}) {
    std::string o = op;
    cases.push_back(body(o + " all", "%a: f64[N,3]) -> f64",
                         "  %y = " + o + " %a\n  return %y\n"));
    cases.push_back(body(o + " axis 0", "%a: f64[N,3]) -> f64[3]",
                         "  %y = " + o + " %a {axes=[0]}\n  return %y\n"));
    cases.push_back(
        body(o + " keepdims", "%a: f64[2,N,3]) -> f64[2,1,3]",
             "  %y = " + o + " %a {axes=[1], keepdims=true}\n  return %y\n"));
    cases.push_back(body(o + " axes 0,2", "%a: f64[2,3,4]) -> f64[3]",
                         "  %y = " + o + " %a {axes=[0,-1]}\n  return %y\n"));
  }
  for (const char *op : {"logsumexp", "softmax", "log_softmax"}) {
    std::string o = op;
    std::string out = o == "logsumexp" ? "f64[N]" : "f64[N,5]";
    std::string out0 = o == "logsumexp" ? "f64[5]" : "f64[N,5]";
    cases.push_back(body(o + " last axis", "%a: f64[N,5]) -> " + out,
                         "  %y = " + o + " %a\n  return %y\n"));
    cases.push_back(body(o + " axis 0", "%a: f64[N,5]) -> " + out0,
                         "  %y = " + o + " %a {axis=0}\n  return %y\n"));
  }
  // Fan-out, constants, a chain through everything.
  cases.push_back(body("fan-out", "%x: f64[3]) -> f64[3]",
                       "  %y = mul %x, %x\n  %z = add %y, %x\n"
                       "  %w = mul %z, %x\n  return %w\n"));
  cases.push_back(body("two outputs", "%x: f64[3], %w: f64) -> (f64[3], f64)",
                       "  %y = mul %x, %w\n  %s = sum %y\n  return %y, %s\n"));
  cases.push_back(body("const", "%x: f64[2]) -> f64[2]",
                       "  %c = const [2, 3] : f64[2]\n  %y = mul %x, %c\n"
                       "  %h = const 0.5 : f64\n  %z = pow %y, %h\n"
                       "  %e = exp %z\n  return %e\n"));
  cases.push_back(
      body("mlp",
           "%X: f64[N,4], %W1: f64[4,3], %b1: f64[3], %W2: f64[3,2], "
           "%b2: f64[2], %Y: f64[N,2]) -> f64",
           "  %u = matmul %X, %W1\n  %h0 = add %u, %b1\n  %h = tanh %h0\n"
           "  %z0 = matmul %h, %W2\n  %z = add %z0, %b2\n"
           "  %l = logsumexp %z {axis=1}\n  %p = mul %Y, %z\n"
           "  %ps = sum %p {axes=[1]}\n  %r = sub %l, %ps\n  %L = mean %r\n"
           "  return %L\n"));
  return cases;
}

/// Programs with the ops of issue 9 (integers, indexing, batched matmul,
/// einsum, convolution, pooling), every attribute combination.
inline std::vector<Case> modelCases() {
  std::vector<Case> c;
  auto add = [&](std::string name, std::string sig, std::string ops) {
    c.push_back(body(std::move(name), std::move(sig), std::move(ops)));
  };
  // cast
  add("cast f32 round trip", "%a: f64[3,4]) -> f64[3,4]",
      "  %b = cast %a : f32\n  %c = cast %b : f64[3,4]\n"
      "  %y = mul %c, %a\n  return %y\n");
  add("cast through i64", "%a: f64[N,3]) -> f64[N,3]",
      "  %i = cast %a : i64\n  %f = cast %i : f64\n  %y = mul %f, %a\n"
      "  return %y\n");
  // reductions
  add("reduce_min all", "%a: f64[N,3]) -> f64",
      "  %y = reduce_min %a\n  return %y\n");
  add("reduce_min keepdims", "%a: f64[2,N,3]) -> f64[2,1,3]",
      "  %y = reduce_min %a {axes=[1], keepdims=true}\n  return %y\n");
  add("reduce_min axes", "%a: f64[2,3,4]) -> f64[3]",
      "  %y = reduce_min %a {axes=[0,-1]}\n  return %y\n");
  // slice, concat, pad
  add("slice", "%a: f64[4,5]) -> f64[2,5]",
      "  %y = slice %a {starts=[1], ends=[3]}\n  return %y\n");
  add("slice steps negative unordered", "%a: f64[4,5]) -> f64[2,2]",
      "  %y = slice %a {starts=[-4,1], ends=[100,-1], axes=[-1,0], "
      "steps=[2,1]}\n  return %y\n");
  add("slice step 3 symbolic", "%a: f64[N,5]) -> f64[N,2]",
      "  %y = slice %a {starts=[0,1], ends=[N,5], steps=[1,3]}\n  return %y\n");
  add("slice step 2 exact", "%a: f64[6]) -> f64[3]",
      "  %y = slice %a {starts=[0], ends=[6], steps=[2]}\n  return %y\n");
  add("concat", "%a: f64[N,2], %b: f64[N,3]) -> f64[N,7]",
      "  %y = concat %a, %b, %a {axis=1}\n  return %y\n");
  add("concat axis 0", "%a: f64[2,3], %b: f64[1,3]) -> f64[3,3]",
      "  %y = concat %a, %b {axis=-2}\n  return %y\n");
  add("pad", "%a: f64[2,3]) -> f64[3,5]",
      "  %y = pad %a {pads=[1,0,0,2], value=0.5}\n  %z = mul %y, %y\n"
      "  return %z\n");
  add("pad symbolic", "%a: f64[N,3]) -> f64[N,6]",
      "  %y = pad %a {pads=[0,1,0,2]}\n  return %y\n");
  // gather and scatter
  add("gather axis 1", "%a: f64[N,3]) -> f64[N,4]",
      "  %i = const [2, 0, 2, -1] : i64[4]\n  %y = gather %a, %i {axis=1}\n"
      "  return %y\n");
  add("gather 0-d index", "%a: f64[3,4]) -> f64[4]",
      "  %i = const -2 : i32\n  %y = gather %a, %i\n  return %y\n");
  add("gather 2-d index", "%a: f64[3,4]) -> f64[2,2,4]",
      "  %i = const [[0, 1], [1, 1]] : i32[2,2]\n  %y = gather %a, %i "
      "{axis=0}\n"
      "  return %y\n");
  add("gather index argument", "%E: f64[3,4], %t: i64[N]) -> f64[N,4]",
      "  %y = gather %E, %t {axis=0}\n  %z = mul %y, %y\n  return %z\n");
  add("scatter_add", "%b: f64[4,3], %u: f64[3,3]) -> f64[4,3]",
      "  %i = const [1, 1, -1] : i64[3]\n  %y = scatter_add %b, %i, %u\n"
      "  %z = mul %y, %y\n  return %z\n");
  add("gather_elements labels", "%a: f64[N,4], %y: i64[N,1]) -> f64[N,1]",
      "  %p = gather_elements %a, %y {axis=1}\n  return %p\n");
  add("gather_elements axis 0", "%a: f64[3,4]) -> f64[2,4]",
      "  %i = const [[0, -1, 2, 2], [1, 1, 0, -3]] : i64[2,4]\n"
      "  %y = gather_elements %a, %i {axis=0}\n  return %y\n");
  add("scatter_add_elements", "%b: f64[3,4], %u: f64[3,2]) -> f64[3,4]",
      "  %i = const [[0, 0], [3, -1], [2, 1]] : i64[3,2]\n"
      "  %y = scatter_add_elements %b, %i, %u {axis=1}\n  %z = mul %y, %y\n"
      "  return %z\n");
  add("one_hot", "%a: f64[3,4]) -> f64[3,4]",
      "  %i = const [0, 3, -1] : i64[3]\n  %o = one_hot %i {depth=4} : f64\n"
      "  %y = mul %o, %a\n  return %y\n");
  add("iota mask", "%a: f64[N,4]) -> f64[N,4]",
      "  %m = iota {shape=[N,4], axis=1} : f64\n  %y = mul %m, %a\n"
      "  return %y\n");
  add("argmax picks the row max", "%a: f64[N,4]) -> f64[N,1]",
      "  %k = argmax %a {axis=1} : i64\n  %k2 = reshape %k {shape=[N,1]}\n"
      "  %y = gather_elements %a, %k2 {axis=1}\n  return %y\n");
  add("cumsum", "%a: f64[3,4]) -> f64[3,4]",
      "  %y = cumsum %a {axis=0}\n  %z = mul %y, %y\n  return %z\n");
  add("cumsum exclusive reverse", "%a: f64[N,4]) -> f64[N,4]",
      "  %y = cumsum %a {axis=-1, exclusive=true, reverse=true}\n"
      "  %z = mul %y, %a\n  return %z\n");
  // batched matmul and einsum
  add("matmul batched", "%a: f64[2,3,4], %b: f64[2,4,5]) -> f64[2,3,5]",
      "  %y = matmul %a, %b\n  return %y\n");
  add("matmul batch x matrix", "%a: f64[B,3,4], %b: f64[4,5]) -> f64[B,3,5]",
      "  %y = matmul %a, %b\n  return %y\n");
  add("matmul broadcast batch",
      "%a: f64[2,1,3,4], %b: f64[3,4,2]) -> f64[2,3,3,2]",
      "  %y = matmul %a, %b\n  return %y\n");
  add("matmul vector x batch", "%a: f64[4], %b: f64[2,4,5]) -> f64[2,5]",
      "  %y = matmul %a, %b\n  return %y\n");
  add("matmul batch x vector", "%a: f64[2,3,4], %b: f64[4]) -> f64[2,3]",
      "  %y = matmul %a, %b\n  return %y\n");
  for (auto [spec, sig, out] : std::vector<std::array<const char *, 3>>{
           {"ij,jk->ik", "%a: f64[3,4], %b: f64[4,2]", "f64[3,2]"},
           {"bij,bjk->bik", "%a: f64[B,3,4], %b: f64[B,4,2]", "f64[B,3,2]"},
           {"bhqd,bhkd->bhqk", "%a: f64[2,2,3,4], %b: f64[2,2,5,4]",
            "f64[2,2,3,5]"},
           {"i,j->ij", "%a: f64[3], %b: f64[4]", "f64[3,4]"},
           {"ij,j->i", "%a: f64[3,4], %b: f64[4]", "f64[3]"},
           {"ij,kj->", "%a: f64[3,4], %b: f64[2,4]", "f64"},
           {"ij,jk->k", "%a: f64[3,4], %b: f64[4,2]", "f64[2]"},
           {"ij->ji", "%a: f64[3,4]", "f64[4,3]"},
           {"ij->", "%a: f64[3,4]", "f64"},
           {"ijk->ki", "%a: f64[2,3,4]", "f64[4,2]"}}) {
    std::string operands =
        std::string(sig).find("%b") != std::string::npos ? "%a, %b" : "%a";
    add(std::string("einsum ") + spec, std::string(sig) + ") -> " + out,
        "  %y = einsum " + operands + " {spec=\"" + spec +
            "\"}\n"
            "  return %y\n");
  }
  // convolution and pooling
  add("conv2d",
      "%x: f64[N,2,5,5], %w: f64[3,2,3,3], %b: f64[3]) -> f64[N,3,3,3]",
      "  %y = conv2d %x, %w, %b\n  return %y\n");
  add("conv2d strides pads dilations",
      "%x: f64[1,2,6,7], %w: f64[2,2,3,2]) -> f64[1,2,3,4]",
      "  %y = conv2d %x, %w {strides=[2,2], pads=[1,0,1,2], dilations=[1,2]}\n"
      "  return %y\n");
  add("conv2d groups", "%x: f64[1,4,4,4], %w: f64[6,2,2,2]) -> f64[1,6,3,3]",
      "  %y = conv2d %x, %w {groups=2}\n  return %y\n");
  add("max_pool2d", "%x: f64[N,2,4,4]) -> f64[N,2,2,2]",
      "  %y = max_pool2d %x {kernel=[2,2], strides=[2,2]}\n  return %y\n");
  add("max_pool2d overlapping padded", "%x: f64[1,2,5,4]) -> f64[1,2,3,4]",
      "  %y = max_pool2d %x {kernel=[3,2], strides=[2,1], pads=[1,1,1,0]}\n"
      "  return %y\n");
  add("avg_pool2d", "%x: f64[N,2,5,5]) -> f64[N,2,3,3]",
      "  %y = avg_pool2d %x {kernel=[3,3], strides=[2,2], pads=[1,1,1,1]}\n"
      "  return %y\n");
  add("avg_pool2d count_include_pad", "%x: f64[1,2,5,5]) -> f64[1,2,3,3]",
      "  %y = avg_pool2d %x {kernel=[3,3], strides=[2,2], pads=[1,1,1,1], "
      "count_include_pad=true}\n  return %y\n");
  return c;
}

/// GoogleTest's name for a parameterized case: its name, sanitized, and its
/// index.
struct CaseName {
  template <typename Info> std::string operator()(const Info &info) const {
    std::string n = info.param.name;
    for (char &c : n)
      if (!std::isalnum((unsigned char)c))
        c = '_';
    return n + "_" + std::to_string(info.index);
  }
};

} // namespace gradc::test

#endif
