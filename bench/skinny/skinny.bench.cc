// Crossover of the unpacked small-M GEMM (native/cpu/skinny_gemm.cc) against BLIS:
// median microseconds per product at the shapes decoding runs, for M = 1..128.
//   bench/skinny/run.sh
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>
#include <algorithm>
#include <omp.h>

#include "cpu/blas.h"
#include "cpu/skinny_gemm.h"

using namespace toroid;

template <class F>
double median_us(F f) {
  std::vector<double> t;
  for (int r = 0; r < 31; r++) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int main() {
  blas_configure();
  blas_set_num_threads(omp_get_max_threads());
  struct Shape { long N, K; bool tb; const char* what; };
  const Shape shapes[] = {{1152, 384, true, "GPT qkv"}, {1536, 384, true, "GPT fc"}, {384, 1536, true, "GPT proj"},
                          {256, 256, true, "Seq2Seq d"}, {8000, 256, true, "Seq2Seq head"}, {1152, 384, false, "x W (nn)"}};
  std::printf("%-14s %5s %10s %10s %8s %10s\n", "shape", "M", "blis_us", "skinny_us", "ratio", "max_err");
  for (const Shape& s : shapes) {
    for (long M : {1, 2, 4, 8, 16, 32, 64, 128}) {
      std::vector<float> A(M * s.K), B(s.N * s.K), C1(M * s.N), C2(M * s.N);
      for (size_t i = 0; i < A.size(); i++) A[i] = std::sin(0.37 * i);
      for (size_t i = 0; i < B.size(); i++) B[i] = std::cos(0.11 * i);
      const long ldb = s.tb ? s.K : s.N;
      double tb = median_us([&] { blas_sgemm(false, s.tb, M, s.N, s.K, 1.0f, A.data(), s.K, B.data(), ldb, 0.0f, C1.data(), s.N); });
      double ts = median_us([&] { skinny_gemm(s.tb, M, s.N, s.K, A.data(), s.K, B.data(), ldb, C2.data(), s.N); });
      double err = 0;
      for (size_t i = 0; i < C1.size(); i++) err = std::max(err, (double)std::fabs(C1[i] - C2[i]));
      std::printf("%-14s %5ld %10.1f %10.1f %8.2f %10.2e\n", s.what, M, tb, ts, tb / ts, err);
    }
  }
}
