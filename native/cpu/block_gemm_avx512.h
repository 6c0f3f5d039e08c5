// AVX-512 variant of block_gemm.h's tiles, chosen at run time where the CPU has
// AVX-512 (this machine measured ~1.6x the AVX2 tile's GFLOP/s on 64^3 tiles).
// Register tiles of 8 rows x 32 columns (16 zmm accumulators); tails use
// lane masks. Compiled for AVX-512 by function attribute only: the rest of the
// addon keeps the AVX2 floor.
#pragma once
#include "cpu/intrinsics.h"
#include <cstdint>

#define TOROID_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))

namespace toroid::cpu {

template <int MR, bool TRANS_A>
TOROID_AVX512 static inline void tile512(std::int64_t K, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
                                         float* C, std::int64_t ldc, bool accumulate, __mmask16 m0, __mmask16 m1) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
  for (std::int64_t p = 0; p < K; p++) {
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, B + p * ldb), b1 = _mm512_maskz_loadu_ps(m1, B + p * ldb + 16);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      const __m512 a = _mm512_set1_ps(TRANS_A ? A[p * lda + r] : A[r * lda + p]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) {
    float* c = C + r * ldc;
    if (accumulate) {
      c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, c));
      c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, c + 16));
    }
    _mm512_mask_storeu_ps(c, m0, c0[r]);
    _mm512_mask_storeu_ps(c + 16, m1, c1[r]);
  }
}

template <bool TRANS_A, int MR>
TOROID_AVX512 static inline void rows512(int mr, std::int64_t K, const float* a, std::int64_t lda, const float* B, std::int64_t ldb,
                                         float* c, std::int64_t ldc, bool acc, __mmask16 m0, __mmask16 m1) {
  switch (mr) {
    case 8: tile512<8, TRANS_A>(K, a, lda, B, ldb, c, ldc, acc, m0, m1); break;
    case 7: tile512<7, TRANS_A>(K, a, lda, B, ldb, c, ldc, acc, m0, m1); break;
    case 6: tile512<6, TRANS_A>(K, a, lda, B, ldb, c, ldc, acc, m0, m1); break;
    case 5: tile512<5, TRANS_A>(K, a, lda, B, ldb, c, ldc, acc, m0, m1); break;
    case 4: tile512<4, TRANS_A>(K, a, lda, B, ldb, c, ldc, acc, m0, m1); break;
    case 3: tile512<3, TRANS_A>(K, a, lda, B, ldb, c, ldc, acc, m0, m1); break;
    case 2: tile512<2, TRANS_A>(K, a, lda, B, ldb, c, ldc, acc, m0, m1); break;
    default: tile512<1, TRANS_A>(K, a, lda, B, ldb, c, ldc, acc, m0, m1); break;
  }
}

// Same contract as block_gemm_limited (block_gemm.h).
template <bool TRANS_A, class NLimit, class KLimit>
TOROID_AVX512 static void block_gemm_limited_512(std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
                                                 const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate,
                                                 NLimit n_limit, KLimit k_limit) {
  constexpr int MR = 8;
  for (std::int64_t i = 0; i < M; i += MR) {
    const int mr = M - i >= MR ? MR : static_cast<int>(M - i);
    const std::int64_t n_end = n_limit(i + mr - 1) < N ? n_limit(i + mr - 1) : N;
    const std::int64_t k_end = k_limit(i + mr - 1) < K ? k_limit(i + mr - 1) : K;
    const float* a = TRANS_A ? A + i : A + i * lda;
    float* c = C + i * ldc;
    for (std::int64_t j = 0; j < n_end; j += 32) {
      const std::int64_t w = n_end - j;
      const __mmask16 m0 = w >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << w) - 1);
      const __mmask16 m1 = w >= 32 ? 0xFFFF : w <= 16 ? 0 : static_cast<__mmask16>((1u << (w - 16)) - 1);
      rows512<TRANS_A, MR>(mr, k_end, a, lda, B + j, ldb, c + j, ldc, accumulate, m0, m1);
    }
  }
}

}  // namespace toroid::cpu
