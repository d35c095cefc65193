//===- Cases.h - Small programs covering every op ---------------*- C++ -*-===//
#ifndef GRADC_UNITTESTS_CASES_H
#define GRADC_UNITTESTS_CASES_H

#include <fmt/format.h>

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
  for (const char *op : {"neg", "exp", "log", "sqrt", "tanh", "sigmoid", "relu",
                         "abs", "sin", "cos"}) {
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
