// Calls the gradient of Inputs/threads.gir with 1, 2 and 3 threads set by
// gradc_set_num_threads, twice each; prints the loss and a hash of the bits
// of dx, and whether the two calls gave the same bits.
#include "threads.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

static uint64_t hash(const std::vector<float> &v) {
  uint64_t h = 1469598103934665603ull;
  for (float f : v) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    h = (h ^ b) * 1099511628211ull;
  }
  return h;
}

int main() {
  const int64_t n = 300001;
  std::vector<float> x(n), dx(n), dx2(n);
  for (int64_t i = 0; i < n; ++i)
    x[i] = float(i % 1999 - 999) / 300.0f;
  float dL = 1, L = 0, L2 = 0;
  for (int t : {1, 2, 3}) {
    gradc_set_num_threads(t);
    if (gradc_f_grad(x.data(), &dL, n, &L, dx.data()) != GRADC_OK ||
        gradc_f_grad(x.data(), &dL, n, &L2, dx2.data()) != GRADC_OK)
      return 1;
    bool same = std::memcmp(&L, &L2, 4) == 0 && dx == dx2;
    std::printf("threads %d: L %.7g dx %016llx %s\n", t, L,
                (unsigned long long)hash(dx),
                same ? "deterministic" : "DIFFER");
  }
  return 0;
}
