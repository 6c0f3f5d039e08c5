// AVX-512 moves on bf16 data shared by the bf16 kernels (attention_bf16_tiles.h,
// bf16_matmul.cc): masks for a ragged 16 lanes, rounding 16 float32 lanes, and the
// transposes that build the K-pair ("VNNI") operands of AMX and AVX512-BF16 products.
// Callers run them only where AVX-512 is present (every bf16 matrix path has it).
#pragma once
#include "cpu/intrinsics.h"

#include <cstdint>

#include "backend.h"

// as block_gemm_avx512.h defines it (the same tokens: defining it twice is allowed)
#ifndef TOROID_AVX512
#define TOROID_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
#endif

namespace toroid::bf16_avx512 {

inline __mmask16 lanes(i64 n) { return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : static_cast<__mmask16>((1u << n) - 1); }

// 16 lanes rounded to bf16 as f32_to_bf16 does (nearest even, NaN made quiet)
TOROID_AVX512 static inline __m256i round16(__m512 v) {
  const __m512i x = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(x, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb)), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(x, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(r);
}

// the first w (<= 16) bf16 of a row as 16 32-bit words, zero-extended
TOROID_AVX512 static inline __m512i load_words(const std::uint16_t* row, i64 w) {
  return _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(lanes(w), row));
}

// r[i][j] -> r[j][i] for 16 rows of 16 32-bit words
TOROID_AVX512 static inline void transpose16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int c = 0; c < 4; c++) {
    const __m512i x = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x88), y = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xdd);
    const __m512i z = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x88), w = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xdd);
    t[c] = _mm512_shuffle_i32x4(x, z, 0x88);
    t[8 + c] = _mm512_shuffle_i32x4(x, z, 0xdd);
    t[4 + c] = _mm512_shuffle_i32x4(y, w, 0x88);
    t[12 + c] = _mm512_shuffle_i32x4(y, w, 0xdd);
  }
  for (int i = 0; i < 16; i++) r[i] = t[i];
}

// 32-bit words: dst [rows_pad][ldd] with dst[c][r] = src[r][c] for r < n, c < m, zero up to
// ldd columns (a multiple of 16) and rows_pad rows.
TOROID_AVX512 static inline void transpose_words(const std::uint32_t* src, i64 lds, i64 n, i64 m, std::uint32_t* dst, i64 ldd, i64 rows_pad) {
  __m512i r[16];
  for (i64 c0 = 0; c0 < rows_pad; c0 += 16) {
    const __mmask16 cm = lanes(m - c0);
    for (i64 r0 = 0; r0 < ldd; r0 += 16) {
      for (int i = 0; i < 16; i++) r[i] = r0 + i < n && cm ? _mm512_maskz_loadu_epi32(cm, src + (r0 + i) * lds + c0) : _mm512_setzero_si512();
      transpose16(r);
      for (int c = 0; c < 16 && c0 + c < rows_pad; c++) _mm512_storeu_si512(dst + (c0 + c) * ldd + r0, r[c]);
    }
  }
}

// The transpose of src [n][d] as rows of K pairs: dst [m_pad][ldd] with dst[c][i] = src[i][c]
// (i < n, c < d), zero beyond; ldd a multiple of 32 >= n. Rows 2q and 2q + 1 of src
// interleave into pairs, which then transpose as words. (Attention's Q^T and dO^T, the
// GEMM's transposed A.)
TOROID_AVX512 static inline void transpose_to_pairs(const std::uint16_t* src, i64 lds, i64 n, i64 d, std::uint16_t* dst, i64 ldd, i64 m_pad) {
  __m512i r[16];
  std::uint32_t* out = reinterpret_cast<std::uint32_t*>(dst);
  const i64 ldw = ldd / 2;
  for (i64 c0 = 0; c0 < m_pad; c0 += 16) {
    for (i64 q0 = 0; q0 < ldw; q0 += 16) {
      for (int q = 0; q < 16; q++) {
        const i64 i = 2 * (q0 + q);
        const __m512i lo = i < n ? load_words(src + i * lds + c0, d - c0) : _mm512_setzero_si512();
        const __m512i hi = i + 1 < n ? load_words(src + (i + 1) * lds + c0, d - c0) : _mm512_setzero_si512();
        r[q] = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
      }
      transpose16(r);
      for (int c = 0; c < 16 && c0 + c < m_pad; c++) _mm512_storeu_si512(out + (c0 + c) * ldw + q0, r[c]);
    }
  }
}

}  // namespace toroid::bf16_avx512
