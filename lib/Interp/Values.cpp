//===- Values.cpp - Reading and printing tensor values --------------------===//
#include "gradc/Interp/Values.h"
#include "gradc/IR/Printer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CRC.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

namespace gradc {
namespace {

llvm::Error fail(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

constexpr unsigned kMaxDepth = 16;
constexpr int64_t kMaxValueElements = int64_t(1) << 31;

/// A small reader for numbers and nested lists (JSON arrays of numbers).
class ValueReader {
public:
  explicit ValueReader(llvm::StringRef s) : s_(s) {}

  llvm::Expected<Tensor> read() {
    Tensor t;
    skipSpace();
    if (peek() == '[') {
      if (auto e = list(t, 0))
        return e;
    } else {
      double v;
      if (auto e = number(v))
        return e;
      t.data.push_back(v);
    }
    skipSpace();
    if (pos_ != s_.size())
      return fail(where() + "unexpected '" + s_.substr(pos_, 1) +
                  "' after the value");
    return t;
  }

private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skipSpace() {
    while (pos_ < s_.size() && std::isspace((unsigned char)s_[pos_]))
      ++pos_;
  }
  std::string where() const {
    return "at offset " + std::to_string(pos_) + ": ";
  }

  llvm::Error number(double &v) {
    skipSpace();
    llvm::StringRef rest = s_.substr(pos_);
    bool neg = rest.consume_front("-");
    for (auto [word, val] :
         {std::pair<const char *, double>{"Infinity", INFINITY},
          {"inf", INFINITY},
          {"NaN", NAN},
          {"nan", NAN}}) {
      if (rest.starts_with(word)) {
        v = neg ? -val : val;
        pos_ = s_.size() - rest.size() + std::strlen(word);
        return llvm::Error::success();
      }
    }
    size_t len = rest.find_first_not_of("0123456789.eE+-");
    llvm::StringRef num = rest.substr(0, len);
    if (num.empty() || num.getAsDouble(v))
      return fail(where() + "expected a number");
    v = neg ? -v : v;
    pos_ = s_.size() - rest.size() + num.size();
    return llvm::Error::success();
  }

  llvm::Error list(Tensor &t, unsigned depth) {
    if (depth == kMaxDepth)
      return fail(where() + "value is nested too deeply (at most " +
                  llvm::Twine(kMaxDepth) + " levels)");
    // Earlier numbers sat at a shallower depth than this list.
    if (!t.shape.empty() && depth >= t.shape.size())
      return fail(where() + "ragged value: expected a number");
    size_t open = pos_++;
    int64_t count = 0;
    skipSpace();
    if (peek() == ']')
      return fail(where() + "empty lists are not allowed");
    for (;;) {
      skipSpace();
      if (peek() == '[') {
        if (auto e = list(t, depth + 1))
          return e;
      } else {
        if (!t.shape.empty() && t.shape.size() != depth + 1)
          return fail(where() + "ragged value: expected a nested list");
        if (t.shape.empty())
          t.shape.assign(depth + 1, 0);
        double v;
        if (auto e = number(v))
          return e;
        if (t.size() >= kMaxValueElements)
          return fail("value has too many elements");
        t.data.push_back(v);
      }
      ++count;
      skipSpace();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        break;
      }
      return fail(where() + "expected ',' or ']'");
    }
    if (depth >= t.shape.size())
      return fail("at offset " + llvm::Twine(open) +
                  ": ragged value: lists of different depths");
    if (t.shape[depth] == 0)
      t.shape[depth] = count;
    else if (t.shape[depth] != count)
      return fail("at offset " + llvm::Twine(open) +
                  ": ragged value: list of " + llvm::Twine(count) +
                  " elements, expected " + llvm::Twine(t.shape[depth]));
    return llvm::Error::success();
  }

  llvm::StringRef s_;
  size_t pos_ = 0;
};

llvm::Expected<Tensor> loadNpy(llvm::StringRef path, llvm::StringRef buf,
                               bool *integral) {
  auto bad = [&](const llvm::Twine &why) {
    return fail("'" + path + "' is not a usable .npy file: " + why);
  };
  if (buf.size() < 10 || !buf.starts_with("\x93NUMPY"))
    return bad("missing the \\x93NUMPY magic");
  unsigned major = (unsigned char)buf[6];
  size_t headerLen, start;
  if (major == 1) {
    headerLen = (unsigned char)buf[8] | (unsigned char)buf[9] << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (buf.size() < 12)
      return bad("truncated header");
    headerLen = 0;
    for (int i = 3; i >= 0; --i)
      headerLen = headerLen << 8 | (unsigned char)buf[8 + i];
    start = 12;
  } else {
    return bad("unknown format version " + llvm::Twine(major));
  }
  if (buf.size() < start + headerLen)
    return bad("truncated header");
  llvm::StringRef header = buf.substr(start, headerLen);
  auto field = [&](llvm::StringRef key) -> llvm::StringRef {
    size_t k = header.find(("'" + key + "'").str());
    if (k == llvm::StringRef::npos)
      return {};
    llvm::StringRef rest = header.substr(k + key.size() + 2).ltrim();
    return rest.consume_front(":") ? rest.ltrim() : llvm::StringRef();
  };
  llvm::StringRef descr = field("descr");
  // The element kind ('f' float, 'i' signed, 'u' unsigned, 'b' bool) and
  // size: little-endian, or '|' for one byte.
  char kind = 0;
  size_t elt = 0;
  static const struct {
    const char *descr;
    char kind;
    size_t size;
  } kTypes[] = {{"'<f8'", 'f', 8}, {"'<f4'", 'f', 4}, {"'<i8'", 'i', 8},
                {"'<i4'", 'i', 4}, {"'<i2'", 'i', 2}, {"'|i1'", 'i', 1},
                {"'<u8'", 'u', 8}, {"'<u4'", 'u', 4}, {"'<u2'", 'u', 2},
                {"'|u1'", 'u', 1}, {"'|b1'", 'b', 1}};
  for (const auto &k : kTypes)
    if (descr.starts_with(k.descr)) {
      kind = k.kind;
      elt = k.size;
    }
  if (!kind)
    return bad("element type must be little-endian float (f4, f8), integer "
               "(i1, i2, i4, i8, u1, u2, u4, u8) or bool (b1), got " +
               descr.take_until([](char c) { return c == ','; }));
  DType dtype = kind == 'f' ? (elt == 4 ? DType::F32 : DType::F64)
                : elt < 4 || (kind != 'u' && elt == 4) ? DType::I32
                                                       : DType::I64;
  if (integral)
    *integral = kind != 'f';
  if (!field("fortran_order").starts_with("False"))
    return bad("only C order is supported");
  llvm::StringRef shapeText = field("shape");
  if (!shapeText.consume_front("("))
    return bad("missing shape");
  shapeText = shapeText.take_until([](char c) { return c == ')'; });
  Tensor t;
  t.dtype = dtype;
  int64_t n = 1;
  llvm::SmallVector<llvm::StringRef, 4> parts;
  shapeText.split(parts, ',');
  for (llvm::StringRef part : parts) {
    part = part.trim();
    if (part.empty())
      continue;
    int64_t d;
    if (part.getAsInteger(10, d) || d <= 0)
      return bad("bad or empty dimension '" + part + "'");
    t.shape.push_back(d);
    std::optional<int64_t> m = checkedProduct(t.shape, kMaxValueElements);
    if (!m)
      return bad("more than " + llvm::Twine(kMaxValueElements) + " elements");
    n = *m;
  }
  llvm::StringRef data = buf.substr(start + headerLen);
  if (data.size() != size_t(n) * elt)
    return bad("expected " + llvm::Twine(n * elt) + " bytes of data, found " +
               llvm::Twine(data.size()));
  t.data.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const char *p = data.data() + i * elt;
    if (kind == 'f' && elt == 8) {
      std::memcpy(&t.data[i], p, 8);
    } else if (kind == 'f') {
      float v;
      std::memcpy(&v, p, 4);
      t.data[i] = v;
    } else {
      // Little-endian integers, sign-extended for 'i'; booleans are 0 or 1.
      uint64_t u = 0;
      std::memcpy(&u, p, elt);
      if (kind == 'i' && elt < 8 && (u >> (8 * elt - 1)) & 1)
        u |= ~uint64_t(0) << (8 * elt);
      if (kind == 'b')
        u = u != 0;
      bool neg = kind == 'i' && int64_t(u) < 0;
      uint64_t mag = neg ? uint64_t(0) - u : u;
      // Integers of up to 53 bits are exact in f64.
      if (mag > (uint64_t(1) << 53))
        return bad("element " + llvm::Twine(i) + " (" + (neg ? "-" : "") +
                   llvm::Twine(mag) + ") has no exact f64 value");
      t.data[i] = neg ? -double(mag) : double(mag);
    }
  }
  return t;
}

} // namespace

llvm::Expected<Tensor> parseValue(llvm::StringRef text) {
  return ValueReader(text).read();
}

llvm::Expected<Tensor> loadValueFile(llvm::StringRef path, bool *integral) {
  if (integral)
    *integral = false;
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return fail("cannot read '" + path + "': " + buf.getError().message());
  llvm::StringRef contents = (*buf)->getBuffer();
  if (llvm::sys::path::extension(path) == ".npy")
    return loadNpy(path, contents, integral);
  if (llvm::sys::path::extension(path) == ".json") {
    auto t = parseValue(contents);
    if (!t)
      return fail("'" + path + "': " + llvm::toString(t.takeError()));
    return t;
  }
  return fail("'" + path + "': expected a .npy or .json file");
}

void writeNpy(const Tensor &t, llvm::raw_ostream &os) {
  std::string shape;
  for (int64_t d : t.shape)
    shape += std::to_string(d) + ",";
  if (t.shape.size() > 1)
    shape.pop_back();
  std::string header = fmt::format(
      "{{'descr': '<{}{}', 'fortran_order': False, 'shape': ({}), }}",
      isInt(t.dtype) ? 'i' : 'f', dtypeSize(t.dtype), shape);
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  os << "\x93NUMPY" << char(1) << char(0) << char(header.size() & 0xff)
     << char(header.size() >> 8) << header;
  for (double v : t.data) {
    if (t.dtype == DType::F64) {
      os.write(reinterpret_cast<const char *>(&v), 8);
    } else if (t.dtype == DType::F32) {
      float f = float(v);
      os.write(reinterpret_cast<const char *>(&f), 4);
    } else if (t.dtype == DType::I64) {
      int64_t i = int64_t(v);
      os.write(reinterpret_cast<const char *>(&i), 8);
    } else {
      int32_t i = int32_t(v);
      os.write(reinterpret_cast<const char *>(&i), 4);
    }
  }
}

llvm::Error writeNpz(llvm::ArrayRef<NamedTensor> arrays,
                     llvm::raw_ostream &os) {
  // A zip archive with each member stored (method 0): local headers and
  // data, then the central directory. Little-endian throughout.
  std::string out, central;
  auto put = [](std::string &s, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
      s += char((v >> (8 * i)) & 0xff);
  };
  for (const NamedTensor &nt : arrays) {
    std::string data;
    llvm::raw_string_ostream ds(data);
    writeNpy(nt.second, ds);
    std::string name = nt.first + ".npy";
    if (out.size() + data.size() + name.size() + 30 >= (uint64_t(1) << 32))
      return fail("the arrays are too large for a .npz without zip64 (4 GiB)");
    uint32_t crc = llvm::crc32(llvm::arrayRefFromStringRef(data));
    uint64_t offset = out.size();
    // Local file header: version 2.0, no flags, stored, no time stamp.
    put(out, 0x04034b50, 4);
    put(out, 20, 2);
    put(out, 0, 2);
    put(out, 0, 2);
    put(out, 0, 4);
    put(out, crc, 4);
    put(out, data.size(), 4);
    put(out, data.size(), 4);
    put(out, name.size(), 2);
    put(out, 0, 2);
    out += name + data;
    // Its central directory entry.
    put(central, 0x02014b50, 4);
    put(central, 20, 2);
    put(central, 20, 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 4);
    put(central, crc, 4);
    put(central, data.size(), 4);
    put(central, data.size(), 4);
    put(central, name.size(), 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 4);
    put(central, offset, 4);
    central += name;
  }
  // End of central directory.
  std::string end;
  put(end, 0x06054b50, 4);
  put(end, 0, 2);
  put(end, 0, 2);
  put(end, arrays.size(), 2);
  put(end, arrays.size(), 2);
  put(end, central.size(), 4);
  put(end, out.size(), 4);
  put(end, 0, 2);
  os << out << central << end;
  return llvm::Error::success();
}

llvm::Error saveNpy(const Tensor &t, llvm::StringRef path) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return fail("cannot write '" + path + "': " + ec.message());
  writeNpy(t, os);
  return llvm::Error::success();
}

std::string jsonNumber(double v, DType t) {
  if (isInt(t))
    return fmt::format("{}", int64_t(v));
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "Infinity" : "-Infinity";
  return t == DType::F64 ? fmt::format("{:.17g}", v) : fmt::format("{:.9g}", v);
}

void printJsonValue(const Tensor &t, llvm::raw_ostream &os) {
  printNestedList(t, os, jsonNumber);
}

void printJson(llvm::ArrayRef<Tensor> outputs,
               llvm::ArrayRef<NamedTensor> gradients, llvm::raw_ostream &os) {
  os << "{\"outputs\": [";
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (i)
      os << ", ";
    printJsonValue(outputs[i], os);
  }
  os << "], \"gradients\": {";
  for (size_t i = 0; i < gradients.size(); ++i) {
    os << (i ? ", \"" : "\"") << gradients[i].first << "\": ";
    printJsonValue(gradients[i].second, os);
  }
  os << "}}\n";
}

static std::string typeOf(const Tensor &t) {
  std::string s = dtypeName(t.dtype);
  if (t.shape.empty())
    return s;
  s += '[';
  for (size_t i = 0; i < t.shape.size(); ++i)
    s += (i ? "," : "") + std::to_string(t.shape[i]);
  return s + ']';
}

/// numpy's print options: more than kThreshold elements are summarized,
/// showing kEdgeItems at each end of every longer axis.
constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;

/// The indices of an axis of `n` elements that are shown; -1 stands for
/// the elided middle (`...`).
static std::vector<int64_t> shownIndices(int64_t n, bool summarize) {
  std::vector<int64_t> idx;
  if (!summarize || n <= 2 * kEdgeItems) {
    for (int64_t i = 0; i < n; ++i)
      idx.push_back(i);
    return idx;
  }
  for (int64_t i = 0; i < kEdgeItems; ++i)
    idx.push_back(i);
  idx.push_back(-1);
  for (int64_t i = n - kEdgeItems; i < n; ++i)
    idx.push_back(i);
  return idx;
}

/// Prints a value for people: 6 significant digits, columns aligned, one
/// row of the last axis per line; summarized like numpy if `summarize` and
/// the tensor has more than 1000 elements.
static void printPretty(const Tensor &t, llvm::raw_ostream &os,
                        const std::string &indent, bool summarize) {
  auto num = [&](double v) {
    if (isInt(t.dtype))
      return fmt::format("{}", int64_t(v));
    if (std::isnan(v))
      return std::string("nan");
    return fmt::format("{:.6g}", v);
  };
  if (t.shape.empty()) {
    os << num(t.data[0]);
    return;
  }
  summarize = summarize && t.size() > kThreshold;
  int64_t cols = t.shape.back();
  std::vector<int64_t> shownCols = shownIndices(cols, summarize);
  // The offsets of the rows shown (-1: a `...` line), in order.
  std::vector<int64_t> rows = {0};
  for (size_t a = 0; a + 1 < t.shape.size(); ++a) {
    int64_t stride = 1;
    for (size_t b = a + 1; b < t.shape.size(); ++b)
      stride *= t.shape[b];
    std::vector<int64_t> next;
    for (int64_t base : rows) {
      if (base < 0) {
        next.push_back(-1);
        continue;
      }
      for (int64_t i : shownIndices(t.shape[a], summarize))
        if (i < 0) {
          if (next.empty() || next.back() != -1)
            next.push_back(-1);
        } else {
          next.push_back(base + i * stride);
        }
    }
    rows = std::move(next);
  }
  size_t width = 0;
  for (int64_t r : rows)
    for (int64_t c : shownCols)
      if (r >= 0 && c >= 0)
        width = std::max(width, num(t.data[r + c]).size());
  for (size_t k = 0; k < rows.size(); ++k) {
    if (k)
      os << '\n' << indent;
    if (rows[k] < 0) {
      os << "...";
      continue;
    }
    os << '[';
    for (size_t j = 0; j < shownCols.size(); ++j) {
      os << (j ? "  " : "");
      if (shownCols[j] < 0)
        os << "...";
      else
        os << fmt::format("{:>{}}", num(t.data[rows[k] + shownCols[j]]), width);
    }
    os << ']';
  }
}

void printText(llvm::ArrayRef<NamedTensor> outputs,
               llvm::ArrayRef<NamedTensor> gradients, llvm::raw_ostream &os,
               bool summarize) {
  size_t width = 0;
  for (auto *list : {&outputs, &gradients})
    for (const NamedTensor &nt : *list)
      width = std::max(width, nt.first.size() + typeOf(nt.second).size() + 3);
  auto section = [&](llvm::ArrayRef<NamedTensor> list) {
    for (const NamedTensor &nt : list) {
      std::string head = fmt::format("{} : {}", nt.first, typeOf(nt.second));
      os << fmt::format("{:<{}}", head, width) << " = ";
      printPretty(nt.second, os, std::string(width + 3, ' '), summarize);
      os << '\n';
    }
  };
  section(outputs);
  if (!gradients.empty()) {
    os << "gradients:\n";
    section(gradients);
  }
}

} // namespace gradc
