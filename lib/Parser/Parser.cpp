//===- Parser.cpp - Lexer and recursive-descent parser for .gir -----------===//
//
// One op per line, but the grammar does not need the newlines: a statement
// starts with `%name =` or `return`. After an error the parser skips to the
// next line and carries on, so several errors are reported in one run.
//
//===----------------------------------------------------------------------===//
#include "gradc/Parser/Parser.h"
#include "gradc/Ops/OpDef.h"
#include "gradc/Support/Suggest.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstdio>

using llvm::SMLoc;
using llvm::StringRef;

namespace gradc {
namespace {

enum class Tok {
  Eof,
  Error,
  Ident,  // func, f32, add, N, true, nan, ...
  Value,  // %name
  Func,   // @name
  Number, // 12, -2, 0.5, 1e-3
  String, // "bij,bjk->bik"
  LParen,
  RParen,
  LSquare,
  RSquare,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Equal,
  Arrow,
  Minus,
};

struct Token {
  Tok kind = Tok::Eof;
  StringRef text;
  bool startsLine = false;
  SMLoc loc() const { return SMLoc::getFromPointer(text.data()); }
};

class Lexer {
public:
  Lexer(StringRef buf) : cur_(buf.begin()), end_(buf.end()) {}

  Token next() {
    bool newline = atStart_;
    atStart_ = false;
    for (;;) {
      if (cur_ == end_)
        return {Tok::Eof, StringRef(cur_, 0), true};
      char c = *cur_;
      if (c == '\n') {
        newline = true;
        ++cur_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++cur_;
      } else if (c == '#') {
        while (cur_ != end_ && *cur_ != '\n')
          ++cur_;
      } else {
        break;
      }
    }
    Token t = lexToken();
    t.startsLine = newline;
    return t;
  }

private:
  static bool isIdentChar(char c) {
    return std::isalnum((unsigned char)c) || c == '_' || c == '.';
  }
  Token make(Tok k, const char *start) {
    return {k, StringRef(start, cur_ - start), false};
  }
  Token lexToken() {
    const char *start = cur_++;
    switch (*start) {
    case '(':
      return make(Tok::LParen, start);
    case ')':
      return make(Tok::RParen, start);
    case '[':
      return make(Tok::LSquare, start);
    case ']':
      return make(Tok::RSquare, start);
    case '{':
      return make(Tok::LBrace, start);
    case '}':
      return make(Tok::RBrace, start);
    case ',':
      return make(Tok::Comma, start);
    case ':':
      return make(Tok::Colon, start);
    case '=':
      return make(Tok::Equal, start);
    case '"': {
      while (cur_ != end_ && *cur_ != '"' && *cur_ != '\n')
        ++cur_;
      if (cur_ == end_ || *cur_ != '"')
        return make(Tok::Error, start);
      ++cur_;
      return make(Tok::String, start);
    }
    case '%':
    case '@': {
      while (cur_ != end_ && isIdentChar(*cur_))
        ++cur_;
      if (cur_ - start == 1)
        return make(Tok::Error, start);
      return make(*start == '%' ? Tok::Value : Tok::Func, start);
    }
    case '-':
      if (cur_ != end_ && *cur_ == '>') {
        ++cur_;
        return make(Tok::Arrow, start);
      }
      if (cur_ != end_ && (std::isdigit((unsigned char)*cur_) || *cur_ == '.'))
        return lexNumber(start);
      return make(Tok::Minus, start);
    default:
      break;
    }
    if (std::isdigit((unsigned char)*start) || *start == '.')
      return lexNumber(start);
    if (std::isalpha((unsigned char)*start) || *start == '_') {
      while (cur_ != end_ && isIdentChar(*cur_))
        ++cur_;
      return make(Tok::Ident, start);
    }
    return make(Tok::Error, start);
  }
  Token lexNumber(const char *start) {
    auto digits = [&] {
      while (cur_ != end_ && std::isdigit((unsigned char)*cur_))
        ++cur_;
    };
    digits();
    if (cur_ != end_ && *cur_ == '.') {
      ++cur_;
      digits();
    }
    if (cur_ != end_ && (*cur_ == 'e' || *cur_ == 'E')) {
      const char *save = cur_++;
      if (cur_ != end_ && (*cur_ == '+' || *cur_ == '-'))
        ++cur_;
      if (cur_ == end_ || !std::isdigit((unsigned char)*cur_))
        cur_ = save;
      else
        digits();
    }
    return make(Tok::Number, start);
  }

  const char *cur_, *end_;
  bool atStart_ = true;
};

/// Deepest nesting accepted in a constant literal.
constexpr unsigned kMaxNesting = 16;
/// Most elements accepted in one constant literal.
constexpr int64_t kMaxConstElements = int64_t(1) << 24;

class Parser {
public:
  Parser(DiagEngine &diag, size_t maxOps)
      : diag_(diag), maxOps_(maxOps),
        lex_(diag.sourceMgr()
                 .getMemoryBuffer(diag.sourceMgr().getMainFileID())
                 ->getBuffer()) {
    consume();
  }

  std::unique_ptr<Module> parse() {
    auto m = std::make_unique<Module>();
    llvm::StringMap<SMLoc> funcLocs;
    while (tok_.kind != Tok::Eof) {
      if (!(tok_.kind == Tok::Ident && tok_.text == "func")) {
        error("expected 'func'");
        skipToNextFunc();
        continue;
      }
      parseFunction(*m, funcLocs);
    }
    if (m->functions.empty() && !diag_.errorCount())
      error("expected at least one function ('func @name(...) -> type "
            "{ ... }')");
    if (diag_.errorCount())
      return nullptr;
    return m;
  }

private:
  // --- Tokens and errors -----------------------------------------------------
  void consume() {
    prevEnd_ = tok_.text.end();
    tok_ = lex_.next();
  }
  /// The current token, or the end of the previous one when the current token
  /// is on a later line: where a token missing at the end of a line belongs.
  SMLoc here() const {
    return tok_.startsLine && prevEnd_ ? SMLoc::getFromPointer(prevEnd_)
                                       : tok_.loc();
  }
  bool error(const llvm::Twine &msg) { return error(tok_.loc(), msg); }
  /// Reports `msg`, or the bad character itself when the current token is one.
  bool error(SMLoc loc, const llvm::Twine &msg) {
    if (tok_.kind == Tok::Error)
      diag_.error(tok_.loc(), describeBadChar());
    else
      diag_.error(loc, msg);
    return false;
  }
  std::string describeBadChar() const {
    unsigned char c = tok_.text.empty() ? 0 : tok_.text[0];
    if (c == '%' || c == '@')
      return std::string("expected a name after '") + char(c) + "'";
    if (c == '"')
      return "missing '\"' at the end of the string";
    if (std::isprint(c))
      return std::string("unexpected character '") + char(c) + "'";
    char buf[8];
    snprintf(buf, sizeof buf, "\\x%02X", c);
    return std::string("unexpected byte '") + buf + "'";
  }
  bool expect(Tok k, const char *what) {
    if (tok_.kind != k)
      return error(llvm::Twine("expected ") + what);
    consume();
    return true;
  }
  bool isIdent(StringRef s) const {
    return tok_.kind == Tok::Ident && tok_.text == s;
  }
  /// Skips to the first token of a later line (error recovery in a body).
  void skipLine() {
    do
      consume();
    while (tok_.kind != Tok::Eof && !tok_.startsLine);
  }
  void skipToNextFunc() {
    do
      consume();
    while (tok_.kind != Tok::Eof && !(tok_.startsLine && isIdent("func")));
  }

  // --- Types -----------------------------------------------------------------
  bool parseDim(Dim &d, bool allowNegative) {
    if (tok_.kind == Tok::Ident) {
      d = Dim::symbol(tok_.text.str());
      consume();
      return true;
    }
    if (tok_.kind != Tok::Number)
      return error("expected a dimension (an integer or a name)");
    int64_t n;
    if (tok_.text.getAsInteger(10, n))
      return error(tok_.text.find_first_of(".eE") != StringRef::npos
                       ? "expected an integer, got '" + tok_.text + "'"
                       : "integer '" + tok_.text + "' is too large");
    if (n > kMaxDim || n < -kMaxDim)
      return error("dimension " + tok_.text + " is too large (at most " +
                   llvm::Twine(kMaxDim) + ")");
    if (!allowNegative && n <= 0)
      return error("dimension must be positive, got " + tok_.text);
    d = Dim::fixed(n);
    consume();
    return true;
  }

  bool parseType(Type &t) {
    if (isIdent("f32"))
      t.dtype = DType::F32;
    else if (isIdent("f64"))
      t.dtype = DType::F64;
    else if (isIdent("i32"))
      t.dtype = DType::I32;
    else if (isIdent("i64"))
      t.dtype = DType::I64;
    else
      return error("expected a type ('f32', 'f64', 'i32' or 'i64', "
                   "optionally with dimensions)");
    consume();
    t.dims.clear();
    if (tok_.kind != Tok::LSquare)
      return true;
    consume();
    do {
      Dim d;
      if (!parseDim(d, /*allowNegative=*/false))
        return false;
      t.dims.push_back(d);
    } while (tok_.kind == Tok::Comma && (consume(), true));
    if (t.dims.size() > 8)
      return error("rank " + llvm::Twine(t.dims.size()) +
                   " is not supported (at most 8)");
    return expect(Tok::RSquare, "',' or ']' in the dimension list");
  }

  // --- Functions
  // ---------------------------------------------------------------
  void parseFunction(Module &m, llvm::StringMap<SMLoc> &funcLocs) {
    consume(); // func
    SMLoc nameLoc = tok_.loc();
    if (tok_.kind != Tok::Func) {
      error("expected a function name like '@f'");
      return skipToNextFunc();
    }
    StringRef name = tok_.text.drop_front();
    bool duplicate = false;
    if (auto it = funcLocs.find(name); it != funcLocs.end()) {
      diag_.error(nameLoc, "redefinition of function '@" + name + "'");
      diag_.note(it->second, "previous definition is here");
      duplicate = true;
    } else {
      funcLocs[name] = nameLoc;
    }
    consume();
    Function *f = m.addFunction(name.str());
    f->loc = nameLoc;
    values_.clear();
    failed_.clear();
    if (!parseSignature(*f))
      return skipToNextFunc();
    if (isIdent("custom_vjp")) {
      consume();
      if (tok_.kind != Tok::Func) {
        error("expected the VJP function after 'custom_vjp', like '@f_vjp'");
        return skipToNextFunc();
      }
      f->customVjp = tok_.text.drop_front().str();
      f->customVjpLoc = tok_.loc();
      consume();
    }
    if (!expect(Tok::LBrace, "'{' to begin the function body"))
      return skipToNextFunc();
    parseBody(*f);
    if (duplicate)
      m.functions.pop_back();
  }

  bool parseSignature(Function &f) {
    if (!expect(Tok::LParen, "'('"))
      return false;
    if (tok_.kind != Tok::RParen) {
      do {
        if (tok_.kind != Tok::Value)
          return error("expected an argument name like '%x'");
        SMLoc loc = tok_.loc();
        StringRef n = tok_.text.drop_front();
        consume();
        Type t;
        if (!expect(Tok::Colon, "':' and the argument's type") || !parseType(t))
          return false;
        if (!define(n, loc))
          return false;
        values_[n] = f.addArg(n.str(), t, loc);
      } while (tok_.kind == Tok::Comma && (consume(), true));
    }
    if (!expect(Tok::RParen, "',' or ')' after an argument") ||
        !expect(Tok::Arrow, "'->' and the result type"))
      return false;
    if (tok_.kind == Tok::LParen) {
      consume();
      do {
        Type t;
        if (!parseType(t))
          return false;
        f.resultTypes.push_back(t);
      } while (tok_.kind == Tok::Comma && (consume(), true));
      return expect(Tok::RParen, "',' or ')' in the result types");
    }
    Type t;
    if (!parseType(t))
      return false;
    f.resultTypes.push_back(t);
    return true;
  }

  /// Records a definition of `%n`; reports a redefinition.
  bool define(StringRef n, SMLoc loc) {
    auto it = values_.find(n);
    if (it == values_.end())
      return true;
    Value *prev = it->second;
    error(loc, "redefinition of " +
                   llvm::Twine(prev->isArg() ? "parameter" : "value") + " '%" +
                   n + "'");
    diag_.note(prev->loc, "previous definition is here");
    return false;
  }

  void parseBody(Function &f) {
    for (;;) {
      if (tok_.kind == Tok::Eof) {
        error("expected 'return' and '}' before the end of the file");
        return;
      }
      if (tok_.kind == Tok::RBrace) {
        error("function '@" + f.name + "' has no 'return'");
        consume();
        return;
      }
      if (isIdent("func")) {
        error("expected '}' to end function '@" + f.name + "'");
        return;
      }
      if (isIdent("return")) {
        if (parseReturn(f))
          return;
        continue;
      }
      if (f.ops.size() == maxOps_) {
        error("too many operations in '@" + f.name + "' (at most " +
              llvm::Twine(maxOps_) + ")");
        return skipToNextFunc();
      }
      // An error may leave the parser at the start of the next statement
      // (say, at a missing operand); that statement is not skipped.
      const char *start = tok_.text.data();
      if (!parseOp(f) && !(tok_.startsLine && tok_.text.data() != start))
        skipLine();
    }
  }

  /// Returns true when the function is done (its '}' consumed or given up).
  bool parseReturn(Function &f) {
    f.returnLoc = tok_.loc();
    consume();
    if (tok_.kind != Tok::RBrace && !tok_.startsLine) {
      do {
        Value *v = parseUse();
        if (!v) {
          skipLine();
          if (tok_.kind == Tok::RBrace) {
            consume();
            return true;
          }
          return tok_.kind == Tok::Eof || isIdent("func");
        }
        f.results.push_back(v);
      } while (tok_.kind == Tok::Comma && (consume(), true));
    }
    if (tok_.kind != Tok::RBrace) {
      error(isIdent("return") || tok_.kind == Tok::Value
                ? "'return' must be the last statement of a function"
                : "expected '}' after 'return'");
      skipToNextFunc();
      return true;
    }
    consume();
    return true;
  }

  Value *parseUse() {
    if (tok_.kind != Tok::Value) {
      error("expected a value like '%x'");
      return nullptr;
    }
    auto it = values_.find(tok_.text.drop_front());
    if (it == values_.end()) {
      // A value whose definition had an error was reported there already.
      if (!failed_.contains(tok_.text.drop_front())) {
        std::vector<llvm::StringRef> names;
        for (const auto &kv : values_)
          names.push_back(kv.getKey());
        llvm::sort(names); // a deterministic choice among equally close ones
        error("use of undefined value '" + tok_.text + "'" +
              didYouMean(tok_.text.drop_front(), names, "%"));
      }
      return nullptr;
    }
    consume();
    return it->second;
  }

  bool parseOp(Function &f) {
    if (tok_.kind != Tok::Value)
      return error("expected '%name = op ...' or 'return'");
    StringRef resName = tok_.text.drop_front();
    if (parseOpDef(f))
      return true;
    // Later uses of a value whose definition failed are not errors of their
    // own.
    if (!values_.count(resName))
      failed_.insert(resName);
    return false;
  }

  bool parseOpDef(Function &f) {
    SMLoc resLoc = tok_.loc();
    StringRef resName = tok_.text.drop_front();
    consume();
    // `call` and `cond` may have several results: `%a, %b = call @g(...)`.
    std::vector<std::pair<StringRef, SMLoc>> names = {{resName, resLoc}};
    while (tok_.kind == Tok::Comma && !tok_.startsLine) {
      consume();
      if (tok_.kind != Tok::Value)
        return error(here(), "expected a result name like '%y' after ','");
      names.push_back({tok_.text.drop_front(), tok_.loc()});
      consume();
    }
    // An op is one line; it may only continue inside a list or after a comma.
    if (tok_.kind != Tok::Equal || tok_.startsLine)
      return error(here(), names.size() > 1
                               ? "expected '=' after the result names"
                               : "expected '=' after the result name");
    consume();
    if (tok_.kind != Tok::Ident || tok_.startsLine)
      return error(here(), "expected an operation name");
    auto kind = lookupOp(tok_.text);
    if (!kind)
      return error("unknown operation '" + tok_.text + "'" +
                   suggestOp(tok_.text));
    auto op = std::make_unique<Op>();
    op->kind = *kind;
    op->loc = tok_.loc();
    consume();
    bool control =
        *kind == OpKind::Call || *kind == OpKind::Cond || *kind == OpKind::Scan;
    if (names.size() > 1 && !control)
      return error(names[1].second, "'" + mnemonic(*kind) +
                                        "' has one result; only 'call', "
                                        "'cond' and 'scan' have several");

    if (control) {
      if (!parseControl(*op))
        return false;
    } else if (*kind == OpKind::Const) {
      if (tok_.startsLine)
        return error(op->loc, "expected a number or a list after 'const'");
      if (!parseLiteral(op->constValue))
        return false;
    } else if (tok_.kind == Tok::Value && !tok_.startsLine) {
      do {
        Value *v = parseUse();
        if (!v)
          return false;
        op->operands.push_back(v);
      } while (tok_.kind == Tok::Comma && (consume(), true));
    }
    unsigned lo = minArity(*kind), hi = arity(*kind), n = op->operands.size();
    if ((n < lo || n > hi) && *kind != OpKind::Const && !control) {
      std::string want = lo == hi ? std::to_string(hi)
                         : hi > lo + 1
                             ? "at least " + std::to_string(lo)
                             : std::to_string(lo) + " or " + std::to_string(hi);
      return error(op->loc,
                   "'" + mnemonic(*kind) + "' expects " + want + " operand" +
                       (want == "1" || want == "at least 1" ? "" : "s") +
                       ", got " + llvm::Twine(n));
    }
    if (tok_.kind == Tok::LBrace && !tok_.startsLine &&
        (!control || *kind != OpKind::Cond) && !parseAttrs(*op))
      return false;
    if (tok_.kind == Tok::Colon && !tok_.startsLine && !control) {
      consume();
      Type t;
      if (!parseType(t))
        return false;
      op->declaredType = t;
    }
    if (!tok_.startsLine && tok_.kind != Tok::Eof)
      return error("expected the end of the line after the operation");
    if (*kind == OpKind::Const && !finishConst(*op))
      return false;
    for (size_t i = 0; i < names.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (names[i].first == names[j].first)
          return error(names[i].second,
                       "result '%" + names[i].first + "' is named twice");
    for (auto &[n, loc] : names)
      if (!define(n, loc))
        return false;
    for (auto &[n, loc] : names) {
      Value *res = f.newValue(n.str(), Type::invalid(), loc);
      res->def = op.get();
      if (control)
        op->results.push_back(res);
      values_[n] = res;
    }
    op->result = values_[resName];
    f.ops.push_back(std::move(op));
    return true;
  }

  /// `@g(%x, %y)` after `call`; `%p, @then, @else(%x, %y)` after `cond`.
  bool parseControl(Op &op) {
    if (op.kind == OpKind::Cond) {
      if (tok_.kind != Tok::Value || tok_.startsLine)
        return error(here(), "expected the predicate of 'cond', like '%p'");
      Value *p = parseUse();
      if (!p)
        return false;
      op.operands.push_back(p);
    }
    for (int i = 0; i < (op.kind == OpKind::Cond ? 2 : 1); ++i) {
      if (op.kind == OpKind::Cond && !expect(Tok::Comma, "','"))
        return false;
      if (tok_.kind != Tok::Func || tok_.startsLine)
        return error(here(),
                     op.kind == OpKind::Call
                         ? "expected the function to call, like '@g'"
                     : op.kind == OpKind::Scan
                         ? "expected the body of 'scan', like '@cell'"
                         : (i == 0 ? "expected the function run when the "
                                     "predicate is nonzero, like '@then'"
                                   : "expected the function run when the "
                                     "predicate is zero, like '@else'"));
      op.callees.push_back(tok_.text.drop_front().str());
      op.calleeLocs.push_back(tok_.loc());
      consume();
    }
    if (tok_.kind != Tok::LParen || tok_.startsLine)
      return error(here(), "expected '(' and the arguments");
    consume();
    if (tok_.kind != Tok::RParen) {
      do {
        Value *v = parseUse();
        if (!v)
          return false;
        op.operands.push_back(v);
      } while (tok_.kind == Tok::Comma && (consume(), true));
    }
    return expect(Tok::RParen, "',' or ')' after an argument");
  }

  bool parseAttrs(Op &op) {
    consume(); // {
    if (tok_.kind == Tok::RBrace) {
      consume();
      return true;
    }
    llvm::StringSet<> given; // a hash set: ops may have many attributes
    do {
      if (tok_.kind != Tok::Ident)
        return error("expected an attribute name");
      NamedAttr na{tok_.text.str(), {}, tok_.loc()};
      if (!given.insert(na.name).second)
        return error("attribute '" + tok_.text + "' is given twice");
      consume();
      if (!expect(Tok::Equal, "'=' after the attribute name"))
        return false;
      if (isIdent("true") || isIdent("false")) {
        na.value = Attr::boolean(tok_.text == "true");
        consume();
      } else if (tok_.kind == Tok::Number &&
                 tok_.text.find_first_of(".eE") != StringRef::npos) {
        double v;
        if (!parseNumber(v))
          return false;
        na.value = Attr::real(v);
      } else if (tok_.kind == Tok::Number) {
        Dim d;
        if (!parseDim(d, /*allowNegative=*/true))
          return false;
        na.value = Attr::integer(d.size);
      } else if (tok_.kind == Tok::String) {
        na.value = Attr::string(tok_.text.drop_front().drop_back().str());
        consume();
      } else if (tok_.kind == Tok::LSquare) {
        consume();
        std::vector<Dim> list;
        if (tok_.kind != Tok::RSquare) {
          do {
            Dim d;
            if (!parseDim(d, /*allowNegative=*/true))
              return false;
            list.push_back(d);
          } while (tok_.kind == Tok::Comma && (consume(), true));
        }
        if (!expect(Tok::RSquare, "',' or ']' in the list"))
          return false;
        na.value = Attr::dims(std::move(list));
      } else {
        return error("expected an attribute value (true, false, a number, a "
                     "list or a string)");
      }
      op.attrs.push_back(std::move(na));
    } while (tok_.kind == Tok::Comma && (consume(), true));
    return expect(Tok::RBrace, "',' or '}' after an attribute");
  }

  // --- Constant literals
  // ---------------------------------------------------------
  bool parseNumber(double &v) {
    bool negative = false;
    if (tok_.kind == Tok::Minus) {
      negative = true;
      consume();
      if (tok_.kind != Tok::Ident)
        return error("expected a number");
    }
    if (tok_.kind == Tok::Ident) {
      if (tok_.text == "nan")
        v = NAN;
      else if (tok_.text == "inf")
        v = INFINITY;
      else
        return error("expected a number");
      v = negative ? -v : v;
      consume();
      return true;
    }
    if (tok_.kind != Tok::Number)
      return error("expected a number");
    // getAsDouble fails on text that is not a whole number, such as '.';
    // out-of-range values become infinities or zeros, like strtod's.
    if (tok_.text.getAsDouble(v, /*AllowInexact=*/true))
      return error("expected a number, got '" + tok_.text + "'");
    consume();
    return true;
  }

  /// Parses a number or a nested list; the shape found goes to `lit.shape`.
  bool parseLiteral(Tensor &lit) {
    constLoc_ = tok_.loc();
    lit.shape.clear();
    lit.data.clear();
    if (tok_.kind != Tok::LSquare) {
      double v;
      if (!parseNumber(v))
        return false;
      lit.data.push_back(v);
      return true;
    }
    return parseNested(lit, 0);
  }

  bool parseNested(Tensor &lit, unsigned depth) {
    if (depth == kMaxNesting)
      return error("constant is nested too deeply (at most " +
                   llvm::Twine(kMaxNesting) + " levels)");
    // Earlier numbers sat at a shallower depth than this list.
    if (!lit.shape.empty() && depth >= lit.shape.size())
      return error("constant is ragged: expected a number here");
    SMLoc open = tok_.loc();
    consume(); // [
    int64_t count = 0;
    if (tok_.kind == Tok::RSquare)
      return error("empty lists are not allowed in a constant");
    do {
      if (tok_.kind == Tok::LSquare) {
        if (!parseNested(lit, depth + 1))
          return false;
      } else {
        if (depth + 1 != lit.shape.size() && !lit.shape.empty())
          return error("constant is ragged: expected a nested list here");
        if (lit.shape.empty())
          lit.shape.resize(depth + 1, 0);
        double v;
        if (!parseNumber(v))
          return false;
        if (lit.size() >= kMaxConstElements)
          return error("constant has too many elements");
        lit.data.push_back(v);
      }
      ++count;
    } while (tok_.kind == Tok::Comma && (consume(), true));
    if (!expect(Tok::RSquare, "',' or ']' in the constant"))
      return false;
    if (depth >= lit.shape.size())
      return error(open, "constant is ragged: lists of different depths");
    if (lit.shape[depth] == 0)
      lit.shape[depth] = count;
    else if (lit.shape[depth] != count)
      return error(open, "constant is ragged: this list has " +
                             llvm::Twine(count) + " elements, expected " +
                             llvm::Twine(lit.shape[depth]));
    return true;
  }

  /// Checks the literal against the declared type, which a const needs.
  bool finishConst(Op &op) {
    if (!op.declaredType)
      return error(op.loc, "'const' needs a type, e.g. 'const 0.5 : f64'");
    const Type &t = *op.declaredType;
    if (!t.isStatic())
      return error(op.loc, "the type of a constant must have static "
                           "dimensions, got " +
                               t.str());
    Tensor &c = op.constValue;
    Shape want;
    for (const Dim &d : t.dims)
      want.push_back(d.size);
    if (!checkedProduct(want, kMaxConstElements))
      return error(op.loc, "constant of type " + t.str() + " is too large");
    if (c.shape.empty() && c.data.size() == 1) {
      c = Tensor(t.dtype, want, c.data[0]); // a splat
    } else if (c.shape != want) {
      Type got{t.dtype, {}};
      for (int64_t n : c.shape)
        got.dims.push_back(Dim::fixed(n));
      return error(constLoc_, "constant literal has shape " + got.str() +
                                  " but the declared type is " + t.str());
    }
    if (isInt(t.dtype))
      for (double x : c.data)
        if (x != std::trunc(x) || !(std::fabs(x) <= kMaxExactInt) ||
            (t.dtype == DType::I32 && (x < INT32_MIN || x > INT32_MAX)))
          return error(constLoc_, "constant of type " + t.str() + " holds " +
                                      fmt::format("{}", x) +
                                      ", which is not an " +
                                      dtypeName(t.dtype) + " value");
    c.dtype = t.dtype;
    c.roundToType();
    return true;
  }

  DiagEngine &diag_;
  size_t maxOps_;
  Lexer lex_;
  Token tok_;
  SMLoc constLoc_;
  const char *prevEnd_ = nullptr; // the end of the previous token
  llvm::StringMap<Value *> values_;
  llvm::StringSet<> failed_; // names whose definition had an error
};

} // namespace

std::unique_ptr<Module> parseModule(DiagEngine &diag, size_t maxOps) {
  return Parser(diag, maxOps).parse();
}

} // namespace gradc
