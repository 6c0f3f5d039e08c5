// Small in-cache GEMM for the attention tiles: C[M,N] (+)= A[M,K] B[K,N], all
// row-major with leading dimensions. Register tiles of 6 rows x 16 columns
// (12 AVX2 accumulators: enough independent FMAs to hide their latency on two
// FMA pipes); column tails use masked loads, so any M, N, K works.
// Tiles are at most a few hundred wide, so a plain loop order keeps B in L1.
#pragma once
#include "cpu/intrinsics.h"
#include <cstdint>
#include <cstdlib>

#include "cpu/block_gemm_avx512.h"
#include "cpu/simd.h"

namespace toroid::cpu {

// TRANS_A: A is stored K x M (A^T B), element (r, p) at A[p * lda + r].
template <int MR, bool TRANS_A = false>
static inline void block_gemm_tile16(std::int64_t K, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
                                     float* C, std::int64_t ldc, bool accumulate) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm256_setzero_ps();
  for (std::int64_t p = 0; p < K; p++) {
    const __m256 b0 = _mm256_loadu_ps(B + p * ldb), b1 = _mm256_loadu_ps(B + p * ldb + 8);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      const __m256 a = _mm256_broadcast_ss(TRANS_A ? A + p * lda + r : A + r * lda + p);
      c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
    }
  }
#pragma GCC unroll 8
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

template <int MR, bool TRANS_A = false>
static inline void block_gemm_tile8(std::int64_t K, const float* A, std::int64_t lda, const float* B, std::int64_t ldb,
                                    float* C, std::int64_t ldc, bool accumulate, int width) {
  const __m256i mask = simd::tail_mask(width);
  __m256 c0[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) c0[r] = _mm256_setzero_ps();
  for (std::int64_t p = 0; p < K; p++) {
    const __m256 b0 = _mm256_maskload_ps(B + p * ldb, mask);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) c0[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(TRANS_A ? A + p * lda + r : A + r * lda + p), b0, c0[r]);
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) {
    float* c = C + r * ldc;
    if (accumulate) c0[r] = _mm256_add_ps(c0[r], _mm256_maskload_ps(c, mask));
    _mm256_maskstore_ps(c, mask, c0[r]);
  }
}

// Full product, or with per-row-tile limits for causal tiles: row tile [i, i+mr)
// needs only columns below n_limit(i + mr - 1) and only K indices below
// k_limit(i + mr - 1); the rest of such a row is masked (or zero) anyway.
template <bool TRANS_A = false, class NLimit, class KLimit>
static inline void block_gemm_limited(std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
                                      const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate,
                                      NLimit n_limit, KLimit k_limit) {
  // TOROID_NO_AVX512=1 forces the AVX2 tiles (CI runs the consistency tests both ways)
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                             std::getenv("TOROID_NO_AVX512") == nullptr;
  if (avx512) return block_gemm_limited_512<TRANS_A>(M, N, K, A, lda, B, ldb, C, ldc, accumulate, n_limit, k_limit);
  constexpr int MR = 6;
  std::int64_t i = 0;
  for (; i < M; i += MR) {
    const int mr = M - i >= MR ? MR : static_cast<int>(M - i);
    const std::int64_t n_end = n_limit(i + mr - 1) < N ? n_limit(i + mr - 1) : N;
    const std::int64_t k_end = k_limit(i + mr - 1) < K ? k_limit(i + mr - 1) : K;
    const float* a = TRANS_A ? A + i : A + i * lda;
    float* c = C + i * ldc;
    std::int64_t j = 0;
    for (; j + 16 <= n_end; j += 16) {
      switch (mr) {
        case 6: block_gemm_tile16<6, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate); break;
        case 5: block_gemm_tile16<5, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate); break;
        case 4: block_gemm_tile16<4, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate); break;
        case 3: block_gemm_tile16<3, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate); break;
        case 2: block_gemm_tile16<2, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate); break;
        default: block_gemm_tile16<1, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate); break;
      }
    }
    for (; j < n_end; j += 8) {
      const int width = static_cast<int>(n_end - j < 8 ? n_end - j : 8);
      switch (mr) {
        case 6: block_gemm_tile8<6, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate, width); break;
        case 5: block_gemm_tile8<5, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate, width); break;
        case 4: block_gemm_tile8<4, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate, width); break;
        case 3: block_gemm_tile8<3, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate, width); break;
        case 2: block_gemm_tile8<2, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate, width); break;
        default: block_gemm_tile8<1, TRANS_A>(k_end, a, lda, B + j, ldb, c + j, ldc, accumulate, width); break;
      }
    }
  }
}

static inline void block_gemm(std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
                              const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate) {
  const auto all_n = [N](std::int64_t) { return N; };
  const auto all_k = [K](std::int64_t) { return K; };
  block_gemm_limited(M, N, K, A, lda, B, ldb, C, ldc, accumulate, all_n, all_k);
}

// C[M,N] (+)= A^T B with A stored K x M: the attention backward's dV += P^T dO
// and dK += dS^T Q without transposing the tile first.
static inline void block_gemm_tn(std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
                                 const float* B, std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate) {
  const auto all_n = [N](std::int64_t) { return N; };
  const auto all_k = [K](std::int64_t) { return K; };
  block_gemm_limited<true>(M, N, K, A, lda, B, ldb, C, ldc, accumulate, all_n, all_k);
}

// 8x8 transpose in registers: dst[c][r] = src[r][c] for r, c < 8.
static inline void transpose8x8(const float* src, std::int64_t lds, float* dst, std::int64_t ldd) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds), r2 = _mm256_loadu_ps(src + 2 * lds), r3 = _mm256_loadu_ps(src + 3 * lds);
  __m256 r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds), r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5), t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  r0 = _mm256_shuffle_ps(t0, t2, 0x44); r1 = _mm256_shuffle_ps(t0, t2, 0xEE); r2 = _mm256_shuffle_ps(t1, t3, 0x44); r3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  r4 = _mm256_shuffle_ps(t4, t6, 0x44); r5 = _mm256_shuffle_ps(t4, t6, 0xEE); r6 = _mm256_shuffle_ps(t5, t7, 0x44); r7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(r0, r4, 0x20));
  _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(r1, r5, 0x20));
  _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(r2, r6, 0x20));
  _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(r3, r7, 0x20));
  _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(r0, r4, 0x31));
  _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(r1, r5, 0x31));
  _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(r2, r6, 0x31));
  _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(r3, r7, 0x31));
}

// dst[c][r] = src[r][c] for an R x Cn block (ld in elements): 8x8 register
// transposes where they fit, scalar copies on the edges.
static inline void transpose_block(std::int64_t R, std::int64_t Cn, const float* src, std::int64_t lds, float* dst, std::int64_t ldd) {
  const std::int64_t R8 = R / 8 * 8, C8 = Cn / 8 * 8;
  for (std::int64_t r = 0; r < R8; r += 8)
    for (std::int64_t c = 0; c < C8; c += 8) transpose8x8(src + r * lds + c, lds, dst + c * ldd + r, ldd);
  for (std::int64_t r = 0; r < R; r++)
    for (std::int64_t c = r < R8 ? C8 : 0; c < Cn; c++) dst[c * ldd + r] = src[r * lds + c];
}

}  // namespace toroid::cpu
