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
// GCC 12's AVX-512 headers warn that their own _mm512_undefined_* values are used
// uninitialized once inlined at -O3 (GCC bug 105593, fixed in 13)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backend.h"
#include "cpu/bf16.h"
#include "cpu/block_gemm.h"

#define TOROID_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma")))
#define TOROID_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,amx-tile,amx-bf16")))

namespace toroid::attn_bf16 {

enum class Isa { amx, avx512bf16, avx2 };

inline constexpr i64 round_up(i64 x, i64 m) { return (x + m - 1) / m * m; }

// ---- packers (scalar, shared by every path; T says which layout)

template <class T>
inline T from_bits(std::uint16_t b) {
  if constexpr (std::is_same_v<T, float>) return bf16_to_f32(b);
  else return b;
}
template <class T>
inline T from_f32(float f) {
  if constexpr (std::is_same_v<T, float>) return f;
  else return f32_to_bf16(f);
}

// A rows from src [n][d] (row stride lds): dst [m_pad][ldd], ldd >= d, zero beyond.
template <class T>
void a_rows(const std::uint16_t* src, i64 lds, i64 n, i64 d, T* dst, i64 ldd, i64 m_pad) {
  for (i64 r = 0; r < m_pad; r++) {
    T* o = dst + r * ldd;
    i64 c = 0;
    if (r < n) for (; c < d; c++) o[c] = from_bits<T>(src[r * lds + c]);
    for (; c < ldd; c++) o[c] = T(0);
  }
}

// A rows from the transpose of src [n][d]: dst [m_pad][ldd] with dst[c][r] = src[r][c]
// (M = d, K = n; ldd >= n), zero beyond.
template <class T>
void a_cols(const std::uint16_t* src, i64 lds, i64 n, i64 d, T* dst, i64 ldd, i64 m_pad) {
  for (i64 c = 0; c < m_pad; c++) {
    T* o = dst + c * ldd;
    i64 r = 0;
    if (c < d) for (; r < n; r++) o[r] = from_bits<T>(src[r * lds + c]);
    for (; r < ldd; r++) o[r] = T(0);
  }
}

// B panel reducing over d, one column per row of src [n][d] (Q K^T's K): K = k_pad >= d,
// N = ldb >= n, zero beyond.
template <class T>
void b_cols(const std::uint16_t* src, i64 lds, i64 n, i64 d, T* dst, i64 ldb, i64 k_pad) {
  for (i64 k = 0; k < k_pad; k++) {
    for (i64 j = 0; j < ldb; j++) {
      const T x = k < d && j < n ? from_bits<T>(src[j * lds + k]) : T(0);
      if constexpr (std::is_same_v<T, float>) dst[k * ldb + j] = x;
      else dst[(k / 2) * ldb * 2 + j * 2 + (k & 1)] = x;
    }
  }
}

// B panel reducing over the rows of src [n][d] (P V's V): K = k_pad >= n, N = ldb >= d.
template <class T>
void b_rows(const std::uint16_t* src, i64 lds, i64 n, i64 d, T* dst, i64 ldb, i64 k_pad) {
  for (i64 k = 0; k < k_pad; k++) {
    for (i64 c = 0; c < ldb; c++) {
      const T x = k < n && c < d ? from_bits<T>(src[k * lds + c]) : T(0);
      if constexpr (std::is_same_v<T, float>) dst[k * ldb + c] = x;
      else dst[(k / 2) * ldb * 2 + c * 2 + (k & 1)] = x;
    }
  }
}

// A rows from a float32 tile S [m][lds] (P, dS): the first n columns of m rows, rounded
// to bf16; dst [m_pad][ldd], zero beyond. The avx2 path reads S itself (returns it).
inline const float* a_tile(const float* S, i64 lds, i64 m, i64 n, float* dst, i64 ldd, i64 m_pad, i64* ld) {
  *ld = lds;
  return S;
}
inline const std::uint16_t* a_tile(const float* S, i64 lds, i64 m, i64 n, std::uint16_t* dst, i64 ldd, i64 m_pad, i64* ld) {
  for (i64 r = 0; r < m_pad; r++) {
    std::uint16_t* o = dst + r * ldd;
    i64 c = 0;
    if (r < m) for (; c < n; c++) o[c] = f32_to_bf16(S[r * lds + c]);
    for (; c < ldd; c++) o[c] = 0;
  }
  *ld = ldd;
  return dst;
}

// B panel from a float32 tile S [k][lds] reducing over its rows (dV += dO^T P, dK += Q^T dS):
// K = k_pad >= k, N = ldb >= n, zero beyond. The avx2 path reads S itself.
inline const float* b_tile(const float* S, i64 lds, i64 k, i64 n, float* dst, i64 ldb, i64 k_pad, i64* ld) {
  *ld = lds;
  return S;
}
inline const std::uint16_t* b_tile(const float* S, i64 lds, i64 k, i64 n, std::uint16_t* dst, i64 ldb, i64 k_pad, i64* ld) {
  for (i64 p = 0; p < k_pad; p++) {
    for (i64 c = 0; c < ldb; c++) dst[(p / 2) * ldb * 2 + c * 2 + (p & 1)] = p < k && c < n ? f32_to_bf16(S[p * lds + c]) : 0;
  }
  *ld = ldb;
  return dst;
}

// The B panel from reduction index k0 (a multiple of KA) and column n0.
inline const float* b_at(const float* B, i64 ldb, i64 k0, i64 n0) { return B + k0 * ldb + n0; }
inline const std::uint16_t* b_at(const std::uint16_t* B, i64 ldb, i64 k0, i64 n0) { return B + k0 * ldb + n0 * 2; }

// ---- AVX512-BF16: register tiles of MR rows x NV zmm (16 columns each)

template <int MR, int NV>
TOROID_AVX512BF16 static inline void dp_tile(i64 pairs, const std::uint16_t* A, i64 lda, const std::uint16_t* B, i64 ldb,
                                             float* C, i64 ldc, bool accumulate) {
  __m512 c[MR][NV];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) c[r][v] = accumulate ? _mm512_loadu_ps(C + r * ldc + 16 * v) : _mm512_setzero_ps();
  for (i64 p = 0; p < pairs; p++) {
    __m512bh b[NV];
    for (int v = 0; v < NV; v++) b[v] = (__m512bh)_mm512_loadu_si512(B + p * ldb * 2 + 32 * v);
    for (int r = 0; r < MR; r++) {
      std::int32_t pair;
      std::memcpy(&pair, A + r * lda + 2 * p, 4);
      const __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
      for (int v = 0; v < NV; v++) c[r][v] = _mm512_dpbf16_ps(c[r][v], a, b[v]);
    }
  }
  for (int r = 0; r < MR; r++)
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

struct alignas(64) TileConfig {
  std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};

TOROID_AMX static inline void amx_begin() {
  TileConfig cfg;
  for (int t = 0; t < 8; t++) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  // GCC 12's _tile_loadconfig tells the compiler it reads 8 bytes: keep the stores above
  __asm__ volatile("" : : "r"(&cfg) : "memory");
  _tile_loadconfig(&cfg);
}

TOROID_AMX static inline void amx_end() { _tile_release(); }

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
  static void begin() {}
  static void end() {}
  static void gemm(i64 M, i64 N, i64 K, const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc, bool acc) {
    cpu::block_gemm(M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
};

struct PathAvx512Bf16 {
  using T = std::uint16_t;
  static constexpr i64 KA = 2, MA = 1, NA = 16;
  static void begin() {}
  static void end() {}
  static void gemm(i64 M, i64 N, i64 K, const T* A, i64 lda, const T* B, i64 ldb, float* C, i64 ldc, bool acc) {
    gemm_dp(M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
};

struct PathAmx {
  using T = std::uint16_t;
  static constexpr i64 KA = 32, MA = 16, NA = 16;
  static void begin() { amx_begin(); }
  static void end() { amx_end(); }
  static void gemm(i64 M, i64 N, i64 K, const T* A, i64 lda, const T* B, i64 ldb, float* C, i64 ldc, bool acc) {
    gemm_amx(M, N, K, A, lda, B, ldb, C, ldc, acc);
  }
};

}  // namespace toroid::attn_bf16
