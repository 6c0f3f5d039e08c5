// GFLOP/s of bf16_matmul (native/cpu/bf16_matmul.cc) at 1024^3 and the benchmark models'
// shapes, median of 15 runs after 3 warm-ups, bf16 output; run.sh prints PyTorch beside it.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "cpu/bf16.h"
#include "cpu/bf16_matmul.h"

using namespace toroid;

int main() {
  struct Shape { long M, N, K; bool ta, tb; };
  const Shape shapes[] = {{1024, 1024, 1024, 0, 0}, {2048, 2048, 512, 0, 1}, {2048, 512, 2048, 0, 1}, {2048, 512, 512, 0, 1},
                          {2048, 8000, 512, 0, 1}, {1536, 1024, 256, 0, 1}, {1536, 256, 1024, 0, 1}, {1536, 8000, 256, 0, 1},
                          {512, 2048, 2048, 1, 0}, {2048, 512, 2048, 0, 0}};
  for (const Shape& s : shapes) {
    std::vector<std::uint16_t> a(s.M * s.K), b(s.K * s.N), c(s.M * s.N);
    for (std::size_t i = 0; i < a.size(); i++) a[i] = f32_to_bf16(static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f);
    for (std::size_t i = 0; i < b.size(); i++) b[i] = f32_to_bf16(static_cast<float>((i * 104729) % 1000) / 1000.0f - 0.5f);
    const long lda = s.ta ? s.M : s.K, ldb = s.tb ? s.K : s.N;
    std::vector<double> ms;
    for (int r = 0; r < 18; r++) {
      const auto t0 = std::chrono::steady_clock::now();
      bf16_matmul(s.ta, s.tb, s.M, s.N, s.K, a.data(), lda, b.data(), ldb, nullptr, nullptr, c.data(), s.N);
      const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (r >= 3) ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms[ms.size() / 2];
    std::printf("%-6s %5ld x %5ld x %5ld %s%s  %8.3f ms  %6.0f GFLOP/s\n", bf16_isa(), s.M, s.N, s.K, s.ta ? "T" : "N", s.tb ? "T" : "N", med, 2.0 * s.M * s.N * s.K / med / 1e6);
  }
}
