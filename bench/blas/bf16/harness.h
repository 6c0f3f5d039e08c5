// Shared by the bf16 GEMM measurement programs (dnnl.cc, openblas.cc, ours.cc): the shapes,
// the inputs and the timing. Each program defines `run(c, mode)`, one product of case c;
// main() prints "<lib> <mode> <M>x<N>x<K> <NN|TN|NT> <GFLOP/s>", the median of 11 samples
// (each sample repeats the product until 30 ms have passed) after 3 warm-up calls.
//   modes: bf16f32 (bf16 in, float32 out), bf16 (bf16 in and out), f32 (float32 GEMM)
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

struct Case {
  long M, N, K;
  bool ta, tb;  // A is [K,M] (A^T B, the weight gradient) / B is [N,K] (A B^T, x W^T)
  const char* tag() const { return ta ? (tb ? "TT" : "TN") : (tb ? "NT" : "NN"); }
};

// 1024^3, 2048^3 and the models' shapes, each as A B, A^T B and A B^T; f32 mode: 1024^3 and 2048^3 (A B).
inline std::vector<Case> cases(const std::string& mode) {
  const long shapes[][3] = {{1024, 1024, 1024}, {2048, 2048, 2048}, {2048, 2048, 512}, {2048, 512, 2048},
                            {2048, 512, 512},   {2048, 8000, 512},  {512, 2048, 2048}};
  std::vector<Case> out;
  for (const auto& s : shapes) {
    if (mode == "f32" && (s[0] != s[1] || s[1] != s[2])) continue;
    for (int t = 0; t < 3; t++) {
      if (mode == "f32" && t > 0) continue;
      out.push_back({s[0], s[1], s[2], t == 1, t == 2});
    }
  }
  return out;
}

inline std::uint16_t to_bf16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// inputs in [-0.5, 0.5), big enough for the largest case
struct Buffers {
  std::vector<std::uint16_t> a16, b16, c16;
  std::vector<float> a32, b32, c32;
  Buffers() {
    const std::size_t n = 2048L * 8000, m = 2048L * 2048;
    a32.resize(m), b32.resize(n), c32.resize(n), a16.resize(m), b16.resize(n), c16.resize(n);
    for (std::size_t i = 0; i < m; i++) a32[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f, a16[i] = to_bf16(a32[i]);
    for (std::size_t i = 0; i < n; i++) b32[i] = static_cast<float>((i * 104729) % 1000) / 1000.0f - 0.5f, b16[i] = to_bf16(b32[i]);
  }
};

void run(const Case& c, const std::string& mode, Buffers& buf);
void setup(const std::string& mode) __attribute__((weak));

inline int bench_main(const char* lib, int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "bf16f32";
  const std::string only = argc > 2 ? argv[2] : "";  // e.g. 2048x512x2048 to run one shape
  Buffers buf;
  for (const Case& c : cases(mode)) {
    char shape[64];
    std::snprintf(shape, sizeof shape, "%ldx%ldx%ld", c.M, c.N, c.K);
    if (!only.empty() && only != shape) continue;
    for (int w = 0; w < 3; w++) run(c, mode, buf);
    std::vector<double> per_call;
    for (int s = 0; s < 11; s++) {
      const auto t0 = std::chrono::steady_clock::now();
      int reps = 0;
      double el;
      do {
        run(c, mode, buf);
        reps++;
        el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      } while (el < 0.03);
      per_call.push_back(el / reps);
    }
    std::sort(per_call.begin(), per_call.end());
    std::printf("%s %s %s %s %.0f\n", lib, mode.c_str(), shape, c.tag(), 2.0 * c.M * c.N * c.K / per_call[5] / 1e9);
    std::fflush(stdout);
  }
  return 0;
}
