// Standalone check of native/cpu/bf16_matmul.cc: every path (TOROID_BF16_ISA) against a
// double-precision product of the same bf16 inputs, over tile-edge shapes and all four
// transpose combinations. The float32 output may differ from the exact sum by the float32
// rounding of its K-term accumulation (bound: K * 2^-24 * sum |a b|, checked with a 4x
// margin); the bf16 output must then be that float32 result rounded (one bf16 ulp apart
// at most where the float32 error crosses a rounding boundary).
//   bench/blas/bf16/run.sh check
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "cpu/bf16.h"
#include "cpu/bf16_matmul.h"

using namespace toroid;

int main() {
  std::mt19937 gen(7);
  std::normal_distribution<float> nd;
  const int Ms[] = {1, 5, 8, 15, 17, 31, 32, 33, 64, 100}, Ns[] = {1, 15, 16, 17, 33, 64, 130}, Ks[] = {1, 2, 31, 32, 33, 64, 129, 300, 513, 1100};  // past 512: K in chunks with float32 partial sums
  long cases = 0, failures = 0;
  for (int M : Ms) for (int N : Ns) for (int K : Ks) for (int t = 0; t < 4; t++) {
    const bool ta = t & 1, tb = t & 2;
    const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    std::vector<std::uint16_t> A((ta ? K : M) * lda), B((tb ? N : K) * ldb), bias(N);
    for (auto& v : A) v = f32_to_bf16(nd(gen));
    for (auto& v : B) v = f32_to_bf16(nd(gen));
    for (auto& v : bias) v = f32_to_bf16(nd(gen));
    const bool with_bias = (M + N + K) % 2 == 0;
    std::vector<float> cf(M * ldc, -7.0f);
    std::vector<std::uint16_t> cb(M * ldc, 0xdead);
    bf16_matmul(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, with_bias ? bias.data() : nullptr, cf.data(), nullptr, ldc);
    bf16_matmul(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, with_bias ? bias.data() : nullptr, nullptr, cb.data(), ldc);
    for (int i = 0; i < M; i++) for (int j = 0; j < N; j++) {
      double exact = with_bias ? bf16_to_f32(bias[j]) : 0, mag = std::fabs(exact);
      for (int k = 0; k < K; k++) {
        const double a = bf16_to_f32(ta ? A[k * lda + i] : A[i * lda + k]), b = bf16_to_f32(tb ? B[j * ldb + k] : B[k * ldb + j]);
        exact += a * b;
        mag += std::fabs(a * b);
      }
      const double bound = 4 * (K + 1) * std::ldexp(1.0, -24) * mag + 1e-30;
      const float got = cf[i * ldc + j];
      const float fromF32 = bf16_to_f32(f32_to_bf16(got)), gotB = bf16_to_f32(cb[i * ldc + j]);
      const double ulp = std::ldexp(1.0, std::ilogb(std::fabs(exact) + 1e-30) - 7);
      bool ok = std::fabs(got - exact) <= bound && std::fabs(gotB - fromF32) <= ulp + bound;
      if (!ok && failures++ < 10) std::printf("FAIL M=%d N=%d K=%d ta=%d tb=%d [%d,%d]: f32 %.9g bf16 %.9g exact %.9g bound %.3g\n", M, N, K, ta, tb, i, j, got, gotB, exact, bound);
    }
    // nothing outside the M x N window is written
    for (int i = 0; i < M; i++) for (int j = N; j < ldc; j++) if (cf[i * ldc + j] != -7.0f || cb[i * ldc + j] != 0xdead) { if (failures++ < 10) std::printf("FAIL wrote past N at M=%d N=%d\n", M, N); }
    cases++;
  }
  std::printf("%s: %ld shapes, %ld failures\n", bf16_isa(), cases, failures);
  return failures == 0 ? 0 : 1;
}
