// Printing for the main() that test/Inputs/cpp_check.py generates around the
// emitted C++: each result as a flat JSON list, numbers with 17 significant
// digits, NaN and the infinities spelled as Python's json module reads them.
#include <cmath>
#include <cstdio>
#include <vector>

template <typename T>
void printList(const std::vector<T> &v, bool comma = false) {
  std::printf("%s[", comma ? ", " : "");
  for (size_t i = 0; i < v.size(); ++i) {
    double x = double(v[i]);
    const char *sep = i ? ", " : "";
    if (std::isnan(x))
      std::printf("%sNaN", sep);
    else if (std::isinf(x))
      std::printf("%s%sInfinity", sep, x < 0 ? "-" : "");
    else
      std::printf("%s%.17g", sep, x);
  }
  std::printf("]");
}
