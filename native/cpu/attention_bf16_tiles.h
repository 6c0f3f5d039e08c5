// The tile products of the bf16 attention (attention_bf16.cc) on each path, and the
// packing that builds their operands. Every product is C[M,N] (+)= A[M,K] B[K,N] with a
// float32 C; the operands are in one of two layouts per path:
//   A "rows":  [M][lda] elements, row r holding its K reduction elements.
//   B "panel": bf16 paths: [K/2][ldb][2], the K pairs of a column side by side (the
//              "VNNI" layout that AMX's TDPBF16PS and AVX512-BF16's VDPBF16PS read);
//              avx2 path: [K][ldb] float32, row-major.
// The bf16 paths use bf16 operands (T = uint16_t); the avx2 path widens them to
// float32 (T = float) and runs block_gemm.h's tiles. Padding is zero and comes from the
// packers: K to a multiple of KA, M to MA, N to NA (AMX: whole 16x32 tiles).
#pragma once
#include "cpu/intrinsics.h"

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backend.h"
#include "cpu/bf16.h"
#include "cpu/bf16_avx512.h"
#include "cpu/bf16_isa.h"
#include "cpu/block_gemm.h"  // and TOROID_AVX512

#define TOROID_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#define TOROID_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,amx-tile,amx-bf16")))

namespace toroid::attn_bf16 {

using bf16_avx512::lanes;
using bf16_avx512::load_words;
using bf16_avx512::round16;
using bf16_avx512::transpose16;
using bf16_avx512::transpose_to_pairs;
using bf16_avx512::transpose_words;

using Isa = Bf16Isa;

inline constexpr i64 round_up(i64 x, i64 m) { return (x + m - 1) / m * m; }

// ---- packers. The float32 (avx2) layouts are filled by plain loops; the bf16 ones with
// AVX-512 moves (both bf16 paths have AVX-512): 16x16 transposes of 32-bit K pairs, row
// interleaves, and rounding 16 lanes at a time.

// A rows from src [n][d] (row stride lds): dst [m_pad][ldd], ldd >= d, zero beyond.
inline void a_rows(const std::uint16_t* src, i64 lds, i64 n, i64 d, float* dst, i64 ldd, i64 m_pad) {
  for (i64 r = 0; r < m_pad; r++) {
    float* o = dst + r * ldd;
    i64 c = 0;
    if (r < n) for (; c < d; c++) o[c] = bf16_to_f32(src[r * lds + c]);
    for (; c < ldd; c++) o[c] = 0.0f;
  }
}
inline void a_rows(const std::uint16_t* src, i64 lds, i64 n, i64 d, std::uint16_t* dst, i64 ldd, i64 m_pad) {
  for (i64 r = 0; r < m_pad; r++) {
    std::uint16_t* o = dst + r * ldd;
    const i64 w = r < n ? d : 0;
    if (w > 0) std::memcpy(o, src + r * lds, static_cast<std::size_t>(w) * 2);
    if (ldd > w) std::memset(o + w, 0, static_cast<std::size_t>(ldd - w) * 2);
  }
}

// src [n][d] transposed: dst [m_pad][ldd] float32 with dst[c][r] = src[r][c], zero beyond
// (for avx2 both the A rows of src^T and the B panel reducing over d).
inline void transpose_widen(const std::uint16_t* src, i64 lds, i64 n, i64 d, float* dst, i64 ldd, i64 m_pad) {
  for (i64 c = 0; c < m_pad; c++) {
    float* o = dst + c * ldd;
    i64 r = 0;
    if (c < d) for (; r < n; r++) o[r] = bf16_to_f32(src[r * lds + c]);
    for (; r < ldd; r++) o[r] = 0.0f;
  }
}

// A rows from the transpose of src [n][d]: M = d (m_pad rows), K = n (ldd >= n).
inline void a_cols(const std::uint16_t* src, i64 lds, i64 n, i64 d, float* dst, i64 ldd, i64 m_pad) {
  transpose_widen(src, lds, n, d, dst, ldd, m_pad);
}

// B panel reducing over d, one column per row of src [n][d] (Q K^T's K): K = k_pad >= d,
// N = ldb >= n, zero beyond.
inline void b_cols(const std::uint16_t* src, i64 lds, i64 n, i64 d, float* dst, i64 ldb, i64 k_pad) {
  transpose_widen(src, lds, n, d, dst, ldb, k_pad);
}

// B panel reducing over the rows of src [n][d] (P V's V): K = k_pad >= n, N = ldb >= d.
inline void b_rows(const std::uint16_t* src, i64 lds, i64 n, i64 d, float* dst, i64 ldb, i64 k_pad) {
  a_rows(src, lds, n, d, dst, ldb, k_pad);
}

// A rows from a float32 tile S [m][lds] (P, dS): the avx2 path reads S itself.
inline const float* a_tile(const float* S, i64 lds, i64 m, i64 n, float* dst, i64 ldd, i64 m_pad, i64* ld) {
  *ld = lds;
  return S;
}

// B panel from a float32 tile S [k][lds] reducing over its rows: the avx2 path reads S itself.
inline const float* b_tile(const float* S, i64 lds, i64 k, i64 n, float* dst, i64 ldb, i64 k_pad, i64* ld) {
  *ld = lds;
  return S;
}

// A rows from the transpose of src [n][d] (Q^T, dO^T): dst [m_pad][ldd], ldd a multiple of 32 >= n.
TOROID_AVX512 static inline void a_cols(const std::uint16_t* src, i64 lds, i64 n, i64 d, std::uint16_t* dst, i64 ldd, i64 m_pad) {
  transpose_to_pairs(src, lds, n, d, dst, ldd, m_pad);
}

// B panel reducing over d, one column per row of src [n][d] (K^T, V^T): [k_pad/2][ldb][2],
// ldb a multiple of 16 >= n. With d even a row of src is d/2 K pairs already.
TOROID_AVX512 static void b_cols(const std::uint16_t* src, i64 lds, i64 n, i64 d, std::uint16_t* dst, i64 ldb, i64 k_pad) {
  if (d % 2 == 0 && lds % 2 == 0) {
    return transpose_words(reinterpret_cast<const std::uint32_t*>(src), lds / 2, n, d / 2, reinterpret_cast<std::uint32_t*>(dst), ldb, k_pad / 2);
  }
  for (i64 k = 0; k < k_pad; k++)
    for (i64 j = 0; j < ldb; j++) dst[(k / 2) * ldb * 2 + j * 2 + (k & 1)] = k < d && j < n ? src[j * lds + k] : 0;
}

// B panel reducing over the rows of src [n][d] (V, K, dO, Q): [k_pad/2][ldb][2], ldb a
// multiple of 16 >= d: rows 2p and 2p + 1 interleave.
TOROID_AVX512 static void b_rows(const std::uint16_t* src, i64 lds, i64 n, i64 d, std::uint16_t* dst, i64 ldb, i64 k_pad) {
  for (i64 p = 0; p < k_pad / 2; p++) {
    const std::uint16_t* r0 = src + 2 * p * lds;
    for (i64 c0 = 0; c0 < ldb; c0 += 16) {
      const __m512i lo = 2 * p < n ? load_words(r0 + c0, d - c0) : _mm512_setzero_si512();
      const __m512i hi = 2 * p + 1 < n ? load_words(r0 + lds + c0, d - c0) : _mm512_setzero_si512();
      _mm512_storeu_si512(dst + p * ldb * 2 + c0 * 2, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
    }
  }
}

// A rows from a float32 tile S [m][lds] (P, dS): the first n columns of m rows rounded to
// bf16; dst [m_pad][ldd], zero beyond.
TOROID_AVX512 static const std::uint16_t* a_tile(const float* S, i64 lds, i64 m, i64 n, std::uint16_t* dst, i64 ldd, i64 m_pad, i64* ld) {
  for (i64 r = 0; r < m_pad; r++) {
    for (i64 c0 = 0; c0 < ldd; c0 += 16) {
      const __m256i x = r < m ? round16(_mm512_maskz_loadu_ps(lanes(n - c0), S + r * lds + c0)) : _mm256_setzero_si256();
      _mm256_mask_storeu_epi16(dst + r * ldd + c0, lanes(ldd - c0), x);
    }
  }
  *ld = ldd;
  return dst;
}

// B panel from a float32 tile S [k][lds] reducing over its rows (dV^T += dO^T P, dK^T += Q^T dS):
// rows 2p and 2p + 1 rounded and interleaved; K = k_pad >= k, N = ldb (a multiple of 16) >= n.
TOROID_AVX512 static const std::uint16_t* b_tile(const float* S, i64 lds, i64 k, i64 n, std::uint16_t* dst, i64 ldb, i64 k_pad, i64* ld) {
  for (i64 p = 0; p < k_pad / 2; p++) {
    for (i64 c0 = 0; c0 < ldb; c0 += 16) {
      const __mmask16 cm = lanes(n - c0);
      const __m512i lo = 2 * p < k ? _mm512_cvtepu16_epi32(round16(_mm512_maskz_loadu_ps(cm, S + 2 * p * lds + c0))) : _mm512_setzero_si512();
      const __m512i hi = 2 * p + 1 < k ? _mm512_cvtepu16_epi32(round16(_mm512_maskz_loadu_ps(cm, S + (2 * p + 1) * lds + c0))) : _mm512_setzero_si512();
      _mm512_storeu_si512(dst + p * ldb * 2 + c0 * 2, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
    }
  }
  *ld = ldb;
  return dst;
}

// The B panel from reduction index k0 (a multiple of KA) and column n0.
inline const float* b_at(const float* B, i64 ldb, i64 k0, i64 n0) { return B + k0 * ldb + n0; }
inline const std::uint16_t* b_at(const std::uint16_t* B, i64 ldb, i64 k0, i64 n0) { return B + k0 * ldb + n0 * 2; }

// ---- rounding the float32 accumulators into the bf16 outputs

// dst[r][c] = bf16(src[r][c] * scale[r]) for r < m, c < d (scale null: 1)
inline void round_rows(const float* src, i64 lds, i64 m, i64 d, const float* scale, std::uint16_t* dst, i64 ldd) {
  for (i64 r = 0; r < m; r++) {
    const float f = scale != nullptr ? scale[r] : 1.0f;
    for (i64 c = 0; c < d; c++) dst[r * ldd + c] = f32_to_bf16(src[r * lds + c] * f);
  }
}
TOROID_AVX512 static void round_rows512(const float* src, i64 lds, i64 m, i64 d, const float* scale, std::uint16_t* dst, i64 ldd) {
  for (i64 r = 0; r < m; r++) {
    const __m512 f = _mm512_set1_ps(scale != nullptr ? scale[r] : 1.0f);
    for (i64 c0 = 0; c0 < d; c0 += 16) {
      const __mmask16 cm = lanes(d - c0);
      _mm256_mask_storeu_epi16(dst + r * ldd + c0, cm, round16(_mm512_mul_ps(_mm512_maskz_loadu_ps(cm, src + r * lds + c0), f)));
    }
  }
}

// dst[j][c] = bf16(src[c][j]) for j < n, c < d: the transposed dK^T, dV^T accumulators
inline void round_cols(const float* src, i64 lds, i64 n, i64 d, std::uint16_t* dst, i64 ldd) {
  for (i64 j = 0; j < n; j++)
    for (i64 c = 0; c < d; c++) dst[j * ldd + c] = f32_to_bf16(src[c * lds + j]);
}
TOROID_AVX512 static void round_cols512(const float* src, i64 lds, i64 n, i64 d, std::uint16_t* dst, i64 ldd) {
  __m512i r[16];
  for (i64 c0 = 0; c0 < d; c0 += 16) {
    const __mmask16 cm = lanes(d - c0);
    for (i64 j0 = 0; j0 < n; j0 += 16) {
      const __mmask16 jm = lanes(n - j0);
      for (int c = 0; c < 16; c++) r[c] = c0 + c < d ? _mm512_maskz_loadu_epi32(jm, src + (c0 + c) * lds + j0) : _mm512_setzero_si512();
      transpose16(r);
      for (int j = 0; j < 16 && j0 + j < n; j++) _mm256_mask_storeu_epi16(dst + (j0 + j) * ldd + c0, cm, round16(_mm512_castsi512_ps(r[j])));
    }
  }
}

// ---- AVX512-BF16: register tiles of MR rows x NV zmm (16 columns each)

template <int MR, int NV>
TOROID_AVX512BF16 static inline void dp_tile(i64 pairs, const std::uint16_t* A, i64 lda, const std::uint16_t* B, i64 ldb,
                                             float* C, i64 ldc, bool accumulate) {
  // every loop fully unrolled, so the MR x NV accumulators live in registers
  __m512 c[MR][NV];
#pragma GCC unroll 4
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) c[r][v] = accumulate ? _mm512_loadu_ps(C + r * ldc + 16 * v) : _mm512_setzero_ps();
  for (i64 p = 0; p < pairs; p++) {
    __m512bh b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = (__m512bh)_mm512_loadu_si512(B + p * ldb * 2 + 32 * v);
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++) {
      std::int32_t pair;
      std::memcpy(&pair, A + r * lda + 2 * p, 4);
      const __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) c[r][v] = _mm512_dpbf16_ps(c[r][v], a, b[v]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) _mm512_storeu_ps(C + r * ldc + 16 * v, c[r][v]);
}

template <int MR>
TOROID_AVX512BF16 static inline void dp_rows(int nv, i64 pairs, const std::uint16_t* A, i64 lda, const std::uint16_t* B, i64 ldb,
                                             float* C, i64 ldc, bool accumulate) {
  switch (nv) {
    case 4: dp_tile<MR, 4>(pairs, A, lda, B, ldb, C, ldc, accumulate); break;
    case 3: dp_tile<MR, 3>(pairs, A, lda, B, ldb, C, ldc, accumulate); break;
    case 2: dp_tile<MR, 2>(pairs, A, lda, B, ldb, C, ldc, accumulate); break;
    default: dp_tile<MR, 1>(pairs, A, lda, B, ldb, C, ldc, accumulate); break;
  }
}

// M any, N a multiple of 16, K even.
TOROID_AVX512BF16 static void gemm_dp(i64 M, i64 N, i64 K, const std::uint16_t* A, i64 lda, const std::uint16_t* B, i64 ldb,
                                      float* C, i64 ldc, bool accumulate) {
  constexpr int MR = 4;
  const i64 pairs = K / 2;
  for (i64 i = 0; i < M; i += MR) {
    const int mr = M - i >= MR ? MR : static_cast<int>(M - i);
    for (i64 j = 0; j < N; j += 64) {
      const int nv = N - j >= 64 ? 4 : static_cast<int>((N - j) / 16);
      const std::uint16_t* a = A + i * lda;
      const std::uint16_t* b = B + j * 2;
      float* c = C + i * ldc + j;
      switch (mr) {
        case 4: dp_rows<4>(nv, pairs, a, lda, b, ldb, c, ldc, accumulate); break;
        case 3: dp_rows<3>(nv, pairs, a, lda, b, ldb, c, ldc, accumulate); break;
        case 2: dp_rows<2>(nv, pairs, a, lda, b, ldb, c, ldc, accumulate); break;
        default: dp_rows<1>(nv, pairs, a, lda, b, ldb, c, ldc, accumulate); break;
      }
    }
  }
}

// ---- AMX-BF16: tmm0-3 the float32 C tiles (16x16), tmm4-5 A (16 rows x 32 bf16), tmm6-7 B
// (16 K pairs x 16 columns). Blocks of MT x NT tiles (up to 2x2: 32x32 of C).

template <int MT, int NT>
TOROID_AMX static inline void amx_block(i64 K, const std::uint16_t* A, i64 lda, const std::uint16_t* B, i64 ldb, float* C,
                                        i64 ldc, bool accumulate) {
  const i64 sa = lda * 2, sb = ldb * 4, sc = ldc * 4;
  if (accumulate) {
    _tile_loadd(0, C, sc);
    if constexpr (NT == 2) _tile_loadd(1, C + 16, sc);
    if constexpr (MT == 2) _tile_loadd(2, C + 16 * ldc, sc);
    if constexpr (MT == 2 && NT == 2) _tile_loadd(3, C + 16 * ldc + 16, sc);
  } else {
    _tile_zero(0);
    if constexpr (NT == 2) _tile_zero(1);
    if constexpr (MT == 2) _tile_zero(2);
    if constexpr (MT == 2 && NT == 2) _tile_zero(3);
  }
  for (i64 k0 = 0; k0 < K; k0 += 32) {
    const std::uint16_t* a = A + k0;
    const std::uint16_t* b = B + k0 * ldb;  // pair row k0 / 2
    _tile_loadd(4, a, sa);
    _tile_loadd(6, b, sb);
    _tile_dpbf16ps(0, 4, 6);
    if constexpr (NT == 2) {
      _tile_loadd(7, b + 32, sb);
      _tile_dpbf16ps(1, 4, 7);
    }
    if constexpr (MT == 2) {
      _tile_loadd(5, a + 16 * lda, sa);
      _tile_dpbf16ps(2, 5, 6);
      if constexpr (NT == 2) _tile_dpbf16ps(3, 5, 7);
    }
  }
  _tile_stored(0, C, sc);
  if constexpr (NT == 2) _tile_stored(1, C + 16, sc);
  if constexpr (MT == 2) _tile_stored(2, C + 16 * ldc, sc);
  if constexpr (MT == 2 && NT == 2) _tile_stored(3, C + 16 * ldc + 16, sc);
}

// M and N multiples of 16, K of 32; inside amx_begin / amx_end.
TOROID_AMX static void gemm_amx(i64 M, i64 N, i64 K, const std::uint16_t* A, i64 lda, const std::uint16_t* B, i64 ldb,
                                float* C, i64 ldc, bool accumulate) {
  for (i64 i = 0; i < M; i += 32) {
    const bool m2 = M - i >= 32;
    for (i64 j = 0; j < N; j += 32) {
      const bool n2 = N - j >= 32;
      const std::uint16_t* a = A + i * lda;
      const std::uint16_t* b = B + j * 2;
      float* c = C + i * ldc + j;
      if (m2 && n2) amx_block<2, 2>(K, a, lda, b, ldb, c, ldc, accumulate);
      else if (m2) amx_block<2, 1>(K, a, lda, b, ldb, c, ldc, accumulate);
      else if (n2) amx_block<1, 2>(K, a, lda, b, ldb, c, ldc, accumulate);
      else amx_block<1, 1>(K, a, lda, b, ldb, c, ldc, accumulate);
    }
  }
}

// ---- the three paths: element type, padding, product, per-thread setup

struct PathAvx2 {
  using T = float;
  static constexpr i64 KA = 1, MA = 1, NA = 1;
  static constexpr bool wide = false;  // AVX-512 vectors for the float32 work around the products
  static void begin() {}
  static void end() {}
  static void gemm(i64 M, i64 N, i64 K, const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc, bool acc) {
    cpu::block_gemm(M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
};

struct PathAvx512Bf16 {
  using T = std::uint16_t;
  static constexpr i64 KA = 2, MA = 1, NA = 16;
  static constexpr bool wide = true;
  static void begin() {}
  static void end() {}
  static void gemm(i64 M, i64 N, i64 K, const T* A, i64 lda, const T* B, i64 ldb, float* C, i64 ldc, bool acc) {
    gemm_dp(M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
};

struct PathAmx {
  using T = std::uint16_t;
  static constexpr i64 KA = 32, MA = 16, NA = 16;
  static constexpr bool wide = true;
  static void begin() { amx_begin(); }
  static void end() { amx_end(); }
  static void gemm(i64 M, i64 N, i64 K, const T* A, i64 lda, const T* B, i64 ldb, float* C, i64 ldc, bool acc) {
    gemm_amx(M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
};

}  // namespace toroid::attn_bf16
