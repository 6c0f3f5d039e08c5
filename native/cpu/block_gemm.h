// Small in-cache GEMM for the attention tiles: C[M,N] (+)= A[M,K] B[K,N], all
// row-major with leading dimensions. Register tiles of 4 rows x 16 columns
// (8 AVX2 accumulators); column tails use masked loads, so any M, N, K works.
// Tiles are at most a few hundred wide, so a plain loop order keeps B in L1.
#pragma once
#include <immintrin.h>
#include <cstdint>

#include "cpu/simd.h"

namespace toroid::cpu {

template <int MR>
static inline void block_gemm_tile16(std::int64_t K, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
                                     float* C, std::int64_t ldc, bool accumulate) {
  __m256 c0[MR], c1[MR];
  for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm256_setzero_ps();
  for (std::int64_t p = 0; p < K; p++) {
    const __m256 b0 = _mm256_loadu_ps(B + p * ldb), b1 = _mm256_loadu_ps(B + p * ldb + 8);
    for (int r = 0; r < MR; r++) {
      const __m256 a = _mm256_broadcast_ss(A + r * lda + p);
      c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
    }
  }
  for (int r = 0; r < MR; r++) {
    float* c = C + r * ldc;
    if (accumulate) {
      c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(c));
      c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(c + 8));
    }
    _mm256_storeu_ps(c, c0[r]);
    _mm256_storeu_ps(c + 8, c1[r]);
  }
}

template <int MR>
static inline void block_gemm_tile8(std::int64_t K, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
                                    float* C, std::int64_t ldc, bool accumulate, int width) {
  const __m256i mask = simd::tail_mask(width);
  __m256 c0[MR];
  for (int r = 0; r < MR; r++) c0[r] = _mm256_setzero_ps();
  for (std::int64_t p = 0; p < K; p++) {
    const __m256 b0 = _mm256_maskload_ps(B + p * ldb, mask);
    for (int r = 0; r < MR; r++) c0[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(A + r * lda + p), b0, c0[r]);
  }
  for (int r = 0; r < MR; r++) {
    float* c = C + r * ldc;
    if (accumulate) c0[r] = _mm256_add_ps(c0[r], _mm256_maskload_ps(c, mask));
    _mm256_maskstore_ps(c, mask, c0[r]);
  }
}

static inline void block_gemm(std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
                              const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate) {
  std::int64_t j = 0;
  for (; j + 16 <= N; j += 16) {
    std::int64_t i = 0;
    for (; i + 4 <= M; i += 4) block_gemm_tile16<4>(K, A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc, accumulate);
    for (; i < M; i++) block_gemm_tile16<1>(K, A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc, accumulate);
  }
  for (; j < N; j += 8) {
    const int width = static_cast<int>(N - j < 8 ? N - j : 8);
    std::int64_t i = 0;
    for (; i + 4 <= M; i += 4) block_gemm_tile8<4>(K, A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc, accumulate, width);
    for (; i < M; i++) block_gemm_tile8<1>(K, A + i * lda, lda, B + j, ldb, C + i * ldc + j, ldc, accumulate, width);
  }
}

// dst[c][r] = src[r][c] for an R x Cn block (ld in elements)
static inline void transpose_block(std::int64_t R, std::int64_t Cn, const float* src, std::int64_t lds, float* dst, std::int64_t ldd) {
  for (std::int64_t r = 0; r < R; r++)
    for (std::int64_t c = 0; c < Cn; c++) dst[c * ldd + r] = src[r * lds + c];
}

}  // namespace toroid::cpu
