// Products with few rows of A (decoding: one token per sequence, M = rows being
// decoded). BLIS packs all of B for every call, whatever M is, and for its AVX-512
// kernels it does so through its reference (scalar) packing code: at M = 8 that
// packing took 5x the time of the arithmetic. Here B is read once, in place, and each
// panel of it is reused for every row of A while it sits in L1.
#include "cpu/skinny_gemm.h"

#include "cpu/intrinsics.h"
#include <omp.h>

#include <algorithm>

#include "cpu/simd.h"

namespace toroid {

namespace {

using i64 = std::int64_t;

// C[m, n0:n0+J] = A[m, :] . B[n0+j, :] for ROWS (1..4) rows m: B is [N, K] (y = x W^T, the
// layout of a Linear's weight). Four rows x three columns keep 12 sums in registers, with
// the four rows of A and one column of B beside them (16 AVX2 registers). The first row
// group of a block prefetches the next block's columns of B: B streams from L3 once per
// product, and short rows (1.5 KB at K = 384) give the hardware prefetcher little to go on.
// The K tail is one masked step.
template <int ROWS, int J>
void nt_block(const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc, i64 cols, i64 K, const float* next) {
  __m256 acc[ROWS][J];
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < J; j++) acc[r][j] = _mm256_setzero_ps();
  const float* b[J];
  for (int j = 0; j < J; j++) b[j] = B + std::min<i64>(j, cols - 1) * ldb;  // a short block repeats its last column
  i64 k = 0;
  for (; k + 8 <= K; k += 8) {
    if (next != nullptr && (k & 15) == 0)
      for (int j = 0; j < J; j++) _mm_prefetch(reinterpret_cast<const char*>(next + j * ldb + k), _MM_HINT_T0);
    __m256 a[ROWS];
    for (int r = 0; r < ROWS; r++) a[r] = _mm256_loadu_ps(A + r * lda + k);
    for (int j = 0; j < J; j++) {
      const __m256 bj = _mm256_loadu_ps(b[j] + k);
      for (int r = 0; r < ROWS; r++) acc[r][j] = _mm256_fmadd_ps(a[r], bj, acc[r][j]);
    }
  }
  if (k < K) {
    const __m256i mask = simd::tail_mask(static_cast<int>(K - k));
    __m256 a[ROWS];
    for (int r = 0; r < ROWS; r++) a[r] = _mm256_maskload_ps(A + r * lda + k, mask);
    for (int j = 0; j < J; j++) {
      const __m256 bj = _mm256_maskload_ps(b[j] + k, mask);
      for (int r = 0; r < ROWS; r++) acc[r][j] = _mm256_fmadd_ps(a[r], bj, acc[r][j]);
    }
  }
  for (int r = 0; r < ROWS; r++)
    for (i64 j = 0; j < cols; j++) C[r * ldc + j] = simd::hsum(acc[r][j]);
}

constexpr int NT_COLS = 3;

// Rows m..m+3 (fewer at the end) of one block of NT_COLS columns.
void nt_rows(i64 rows, const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc, i64 cols, i64 K, const float* next) {
  switch (rows) {
    case 1: nt_block<1, NT_COLS>(A, lda, B, ldb, C, ldc, cols, K, next); break;
    case 2: nt_block<2, NT_COLS>(A, lda, B, ldb, C, ldc, cols, K, next); break;
    case 3: nt_block<3, NT_COLS>(A, lda, B, ldb, C, ldc, cols, K, next); break;
    default: nt_block<4, NT_COLS>(A, lda, B, ldb, C, ldc, cols, K, next); break;
  }
}

// C[m, n0:n0+32] = sum_k A[m, k] B[k, n0:n0+32] for ROWS (1 or 2) rows m: B is [K, N].
// A block narrower than 32 columns (the last one) loads and stores through lane masks.
template <int ROWS, bool FULL>
void nn_block(const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc, i64 cols, i64 K) {
  __m256 acc[ROWS][4];
  __m256i mask[4];
  for (int j = 0; j < 4; j++) {
    mask[j] = simd::tail_mask(static_cast<int>(std::clamp<i64>(cols - 8 * j, 0, 8)));
    for (int r = 0; r < ROWS; r++) acc[r][j] = _mm256_setzero_ps();
  }
  for (i64 k = 0; k < K; k++) {
    __m256 a[ROWS];
    for (int r = 0; r < ROWS; r++) a[r] = _mm256_broadcast_ss(A + r * lda + k);
    const float* row = B + k * ldb;
    for (int j = 0; j < 4; j++) {
      const __m256 bj = FULL ? _mm256_loadu_ps(row + 8 * j) : _mm256_maskload_ps(row + 8 * j, mask[j]);
      for (int r = 0; r < ROWS; r++) acc[r][j] = _mm256_fmadd_ps(a[r], bj, acc[r][j]);
    }
  }
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < 4; j++) {
      if (FULL) _mm256_storeu_ps(C + r * ldc + 8 * j, acc[r][j]);
      else _mm256_maskstore_ps(C + r * ldc + 8 * j, mask[j], acc[r][j]);
    }
}

template <int ROWS>
void nn_block(const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc, i64 cols, i64 K) {
  cols == 32 ? nn_block<ROWS, true>(A, lda, B, ldb, C, ldc, cols, K) : nn_block<ROWS, false>(A, lda, B, ldb, C, ldc, cols, K);
}

}  // namespace

bool skinny_gemm_applies(bool trans_a, bool trans_b, i64 M, i64 N, i64 K) {
  // crossovers measured by bench/skinny/run.sh: ~16 rows against B^T, ~2 against B
  return !trans_a && M >= 1 && M <= (trans_b ? 16 : 2) && N >= 1 && K >= 1;
}

void skinny_gemm(bool trans_b, i64 M, i64 N, i64 K, const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc) {
  const i64 width = trans_b ? NT_COLS : 32;  // columns of C per block
  const i64 blocks = (N + width - 1) / width;
  // threads only where the product is big enough to pay for waking them
#pragma omp parallel for schedule(static) if (M * N * K >= (1 << 20) && !omp_in_parallel())
  for (i64 blk = 0; blk < blocks; blk++) {
    const i64 n0 = blk * width, cols = std::min(width, N - n0);
    if (trans_b) {
      const float* b = B + n0 * ldb;
      const float* next = n0 + 2 * width <= N ? b + width * ldb : nullptr;
      for (i64 m = 0; m < M; m += 4) nt_rows(std::min<i64>(4, M - m), A + m * lda, lda, b, ldb, C + m * ldc + n0, ldc, cols, K, m == 0 ? next : nullptr);
      continue;
    }
    for (i64 m = 0; m < M; m += 2) {
      const bool pair = m + 1 < M;
      const float* a = A + m * lda;
      float* c = C + m * ldc + n0;
      const float* b = B + n0;
      pair ? nn_block<2>(a, lda, b, ldb, c, ldc, cols, K) : nn_block<1>(a, lda, b, ldb, c, ldc, cols, K);
    }
  }
}

}  // namespace toroid
