//===- BenchUtil.h - Inputs and timing for gradc-bench ----------*- C++ -*-===//
//
// The input generator of ../shared/peers/cpp/common.h (a counter-based
// splitmix64; bit-identical float32 inputs in C++ and Python) and the timing
// loop: 2 warm-up calls, then repetitions of at least 20 ms each, median.
//
//===----------------------------------------------------------------------===//
#ifndef GRADC_BENCH_BENCHUTIL_H
#define GRADC_BENCH_BENCHUTIL_H

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

namespace gradc::bench {

/// 24 random bits: element `i` of stream `seed`.
inline uint64_t splitmixBits24(uint64_t seed, uint64_t i) {
  uint64_t z = (seed << 32) + i + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z = z ^ (z >> 31);
  return z >> 40;
}

/// `n` floats uniform in [-scale, scale).
inline std::vector<float> uniform(uint64_t seed, size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = float(double(splitmixBits24(seed, i)) * (1.0 / 8388608.0) - 1.0) *
           scale;
  return v;
}

/// `n` integers in [0, mod).
inline std::vector<int> ints(uint64_t seed, size_t n, int mod) {
  std::vector<int> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = int(splitmixBits24(seed, i) % uint64_t(mod));
  return v;
}

/// Median over `reps` repetitions of the mean time of one call of `f`, in
/// milliseconds. Each repetition runs enough calls to last `minRepS` seconds.
template <class F> double benchMs(F &&f, int reps = 9, double minRepS = 0.02) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  f();
  f();
  long inner = 1;
  for (;;) {
    auto t0 = Clock::now();
    for (long i = 0; i < inner; ++i)
      f();
    double dt = seconds(t0);
    if (dt >= minRepS)
      break;
    long want = long(inner * 1.2 * minRepS / std::max(dt, 1e-9));
    inner = std::min(inner * 100, std::max(inner * 2, want));
  }
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    for (long i = 0; i < inner; ++i)
      f();
    t.push_back(seconds(t0) / double(inner));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2] * 1e3;
}

/// Keeps results alive so that the optimizer cannot drop the work.
inline volatile float sinkValue;
inline void sink(float v) { sinkValue = v; }

} // namespace gradc::bench

#endif
