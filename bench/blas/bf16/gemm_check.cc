// Standalone check of native/cpu/bf16_gemm.cc, run once per path (TOROID_BF16_ISA=amx-bf16,
// avx512-bf16, avx2; run.sh check does all three and TOROID_NO_AVX512=1):
//  - float32 output against a double-precision product of the same bf16 inputs (+ bias), with
//    |got - exact| <= 1e-5 sqrt(K) (sqrt(sum_k (a_ik b_kj)^2) + |bias_j|), i.e. relative to the
//    size of a random-signed sum, over tile-edge shapes (1, 15, 16, 17, 31, 32, 33, ...), odd K,
//    K = 0, padded leading dimensions and all four transpose combinations;
//  - bf16 output bit for bit equal to the float32 output rounded to nearest even;
//  - nothing written outside the M x N window (the padding of ldc keeps its sentinel);
//  - NaN in an input row reaches the whole output row in both outputs;
//  - products inside an OpenMP parallel region (one per thread) give the same bits as outside;
//  - a few large shapes that cross the packing chunks and the thread split.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "cpu/bf16.h"
#include "cpu/bf16_gemm.h"
#include "cpu/blas.h"

using namespace toroid;
using u16 = std::uint16_t;

namespace {
long cases = 0, failures = 0;
std::mt19937 gen(7);

void fail(const char* what, int M, int N, int K, bool ta, bool tb, int i, int j, double got, double want) {
  if (failures++ < 12) std::printf("FAIL %s M=%d N=%d K=%d ta=%d tb=%d [%d,%d]: got %.9g want %.9g\n", what, M, N, K, ta, tb, i, j, got, want);
}

void check(int M, int N, int K, bool ta, bool tb, int pad, bool nan_row = false) {
  std::normal_distribution<float> nd;
  const int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + (pad ? 1 : 0), ldc = N + (pad ? 2 : 0);
  std::vector<u16> A(static_cast<std::size_t>(ta ? K : M) * lda + 1), B(static_cast<std::size_t>(tb ? N : K) * ldb + 1);
  std::vector<float> bias(N);
  for (auto& v : A) v = f32_to_bf16(nd(gen));
  for (auto& v : B) v = f32_to_bf16(nd(gen));
  for (auto& v : bias) v = nd(gen);
  if (nan_row && K > 0) A[ta ? 0 : 0] = 0x7fc0;  // op(A)[0, 0] = NaN: row 0 of C is NaN
  const bool with_bias = (M + N + K) % 2 == 0;
  const float* bp = with_bias ? bias.data() : nullptr;
  std::vector<float> cf(static_cast<std::size_t>(M) * ldc, -7.0f);
  std::vector<u16> cb(static_cast<std::size_t>(M) * ldc, 0xdead);
  gemm_bf16(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, bp, cf.data(), nullptr, ldc);
  gemm_bf16(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, bp, nullptr, cb.data(), ldc);
  const double tol = 1e-5 * std::sqrt(static_cast<double>(std::max(K, 1)));
  for (int i = 0; i < M; i++) {
    for (int j = 0; j < N; j++) {
      double exact = bp != nullptr ? bp[j] : 0.0, sq = 0;
      for (int k = 0; k < K; k++) {
        const double a = bf16_to_f32(ta ? A[k * lda + i] : A[i * lda + k]), b = bf16_to_f32(tb ? B[j * ldb + k] : B[k * ldb + j]);
        exact += a * b;
        sq += a * b * a * b;
      }
      const float got = cf[i * ldc + j];
      const u16 gotb = cb[i * ldc + j];
      if (std::isnan(exact)) {
        if (!std::isnan(got) || !std::isnan(bf16_to_f32(gotb))) fail("NaN lost", M, N, K, ta, tb, i, j, got, exact);
        continue;
      }
      const double bound = tol * (std::sqrt(sq) + (bp != nullptr ? std::fabs(bp[j]) : 0.0)) + 1e-30;
      if (!(std::fabs(got - exact) <= bound)) fail("f32", M, N, K, ta, tb, i, j, got, exact);
      if (gotb != f32_to_bf16(got)) fail("bf16 rounding", M, N, K, ta, tb, i, j, bf16_to_f32(gotb), bf16_to_f32(f32_to_bf16(got)));
    }
    for (int j = N; j < ldc; j++) {
      if (cf[i * ldc + j] != -7.0f || cb[i * ldc + j] != 0xdead) fail("wrote past N", M, N, K, ta, tb, i, j, 0, 0);
    }
  }
  cases++;
}

// batched small products from a parallel for, one per thread, against the same products outside
void check_nested() {
  const int batch = 8, M = 33, N = 47, K = 70;
  std::normal_distribution<float> nd;
  std::vector<u16> A(batch * M * K), B(batch * K * N);
  for (auto& v : A) v = f32_to_bf16(nd(gen));
  for (auto& v : B) v = f32_to_bf16(nd(gen));
  std::vector<u16> inside(batch * M * N), outside(batch * M * N);
#pragma omp parallel for schedule(dynamic, 1)
  for (int n = 0; n < batch; n++) gemm_bf16(false, true, M, N, K, &A[n * M * K], K, &B[n * K * N], K, nullptr, nullptr, &inside[n * M * N], N);
  for (int n = 0; n < batch; n++) gemm_bf16(false, true, M, N, K, &A[n * M * K], K, &B[n * K * N], K, nullptr, nullptr, &outside[n * M * N], N);
  for (int e = 0; e < batch * M * N; e++) {
    if (inside[e] != outside[e]) {
      fail("nested differs", M, N, K, false, true, e / N, e % N, inside[e], outside[e]);
      break;
    }
  }
  cases++;
}
}  // namespace

int main(int argc, char** argv) {
  blas_configure();
  blas_set_num_threads(omp_get_max_threads());
  const int Ms[] = {1, 15, 16, 17, 31, 32, 33, 64, 100}, Ns[] = {1, 15, 16, 17, 31, 33, 64, 130}, Ks[] = {0, 1, 2, 15, 17, 31, 32, 33, 63, 129, 300};
  for (int M : Ms) for (int N : Ns) for (int K : Ks) for (int t = 0; t < 4; t++) check(M, N, K, t & 1, t & 2, (M + N + K + t) % 3);
  for (int t = 0; t < 4; t++) {
    check(17, 33, 64, t & 1, t & 2, 1, true);
    check(40, 40, 2, t & 1, t & 2, 0, true);
  }
  check_nested();
  if (argc < 2 || std::string(argv[1]) != "quick") {
    // several B chunks per thread, the row split for narrow N, K of the models
    for (int t = 0; t < 4; t++) {
      check(257, 1100, 1000, t & 1, t & 2, 3);
      check(1000, 40, 500, t & 1, t & 2, 0);
      check(96, 600, 2048, t & 1, t & 2, 0);
    }
  }
  std::printf("%s: %ld cases, %ld failures\n", bf16_gemm_isa(), cases, failures);
  return failures == 0 ? 0 : 1;
}
