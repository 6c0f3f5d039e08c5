// bf16 GEMM (see bf16_gemm.h). C is computed in 32x32 blocks, each accumulated in
// float32 over all of K, starting from the bias:
//   op(A) is packed once per call in 32-row blocks of 16x32 tiles (rows with K contiguous),
//   op(B) in 16-column panels of 16x16 tiles of K pairs (the "VNNI" layout that AMX's
//   TDPBF16PS and AVX512-BF16's VDPBF16PS both read), zero-padded to whole tiles.
// Each thread owns a range of column pairs (or of row blocks, when N is narrow) and packs
// its B in chunks of ~1 MiB, so a chunk is read from memory once and then from L2 while
// every row block of A passes over it (a 32-row block of A stays in L1 while it does).
// Packing is done with AVX-512 shuffles: a 16x16 transpose of 32-bit K pairs for B^T and
// A^T, and an interleave of two K rows for B.
#include "cpu/bf16_gemm.h"

// GCC 12's AVX-512 headers warn that their own _mm512_undefined_* values are used
// uninitialized once inlined at -O3 (GCC bug 105593, fixed in 13)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#include <omp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu/bf16.h"
#include "cpu/blas.h"

#define TOROID_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#define TOROID_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define TOROID_AMX __attribute__((target("avx512f,avx512bw,avx512vl,amx-tile,amx-bf16")))

namespace toroid {
namespace {

using i64 = std::int64_t;
using u16 = std::uint16_t;

constexpr i64 TILE = 16 * 32;  // bf16 elements of one tile: 16 rows of 64 bytes
constexpr i64 BLOCK = 32;      // rows and columns of a C block: 2x2 float32 tiles

enum class Isa { amx, avx512bf16, avx2 };

// Linux hands out the AMX tile state only on request, once per process.
bool amx_granted() {
  constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
}

Isa pick_isa() {
  const char* force = std::getenv("TOROID_BF16_ISA");
  const int want = force == nullptr                       ? 0
                   : std::strcmp(force, "avx512-bf16") == 0 ? 1
                   : std::strcmp(force, "avx2") == 0        ? 2
                                                            : 0;
  const bool avx512 = std::getenv("TOROID_NO_AVX512") == nullptr && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  const bool dpbf16 = avx512 && __builtin_cpu_supports("avx512bf16");
  const bool amx = avx512 && __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16");
  if (want <= 0 && amx && amx_granted()) return Isa::amx;
  if (want <= 1 && dpbf16) return Isa::avx512bf16;
  return Isa::avx2;
}

Isa isa() {
  static const Isa chosen = pick_isa();
  return chosen;
}

struct Problem {
  bool trans_a, trans_b;
  i64 M, N, K;
  const u16* A;
  i64 lda;
  const u16* B;
  i64 ldb;
  const float* bias;
  float* cf;
  u16* cb;
  i64 ldc;
};

// ---- packing (AVX-512: both matrix paths have it)

// r[i][j] -> r[j][i] for 16 rows of 16 32-bit words
TOROID_AVX512 inline void transpose16(__m512i r[16]) {
  __m512i t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  // r[4i + c], 128-bit lane L: column 4L + c of rows 4i .. 4i + 3
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

// 16 K pairs (r0[j], r1[j]) as 32-bit words
TOROID_AVX512 inline __m512i interleave(const u16* r0, const u16* r1) {
  const __m512i lo = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0)));
  const __m512i hi = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1)));
  return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

// One tile of op(B): dst[p * 32 + 2 j + t] = op(B)[k0 + 2 p + t, n0 + j], zero outside [K,N].
TOROID_AVX512 void pack_b_tile(const Problem& p, i64 n0, i64 k0, u16* dst) {
  if (n0 + 16 <= p.N && k0 + 32 <= p.K) {
    __m512i r[16];
    if (p.trans_b) {
      // B is [N,K]: row n0 + j holds the 16 K pairs of column j
      for (int j = 0; j < 16; j++) r[j] = _mm512_loadu_si512(p.B + (n0 + j) * p.ldb + k0);
      transpose16(r);
    } else {
      for (int q = 0; q < 16; q++) r[q] = interleave(p.B + (k0 + 2 * q) * p.ldb + n0, p.B + (k0 + 2 * q + 1) * p.ldb + n0);
    }
    for (int q = 0; q < 16; q++) _mm512_storeu_si512(dst + q * 32, r[q]);
    return;
  }
  for (i64 q = 0; q < 16; q++) {
    for (i64 j = 0; j < 16; j++) {
      for (i64 t = 0; t < 2; t++) {
        const i64 k = k0 + 2 * q + t, n = n0 + j;
        dst[q * 32 + 2 * j + t] = k < p.K && n < p.N ? (p.trans_b ? p.B[n * p.ldb + k] : p.B[k * p.ldb + n]) : 0;
      }
    }
  }
}

// One tile of op(A): dst[i * 32 + k] = op(A)[m0 + i, k0 + k], zero outside [M,K].
TOROID_AVX512 void pack_a_tile(const Problem& p, i64 m0, i64 k0, u16* dst) {
  if (m0 + 16 <= p.M && k0 + 32 <= p.K) {
    if (!p.trans_a) {
      for (int i = 0; i < 16; i++) _mm512_storeu_si512(dst + i * 32, _mm512_loadu_si512(p.A + (m0 + i) * p.lda + k0));
      return;
    }
    // A is [K,M]: interleave K rows into pairs per column, then each column becomes a row
    __m512i r[16];
    for (int q = 0; q < 16; q++) r[q] = interleave(p.A + (k0 + 2 * q) * p.lda + m0, p.A + (k0 + 2 * q + 1) * p.lda + m0);
    transpose16(r);
    for (int i = 0; i < 16; i++) _mm512_storeu_si512(dst + i * 32, r[i]);
    return;
  }
  for (i64 i = 0; i < 16; i++) {
    for (i64 k = 0; k < 32; k++) {
      const i64 m = m0 + i, kk = k0 + k;
      dst[i * 32 + k] = m < p.M && kk < p.K ? (p.trans_a ? p.A[kk * p.lda + m] : p.A[m * p.lda + kk]) : 0;
    }
  }
}

// ---- one 32x32 block of C = bias + a (32 rows) . b0 | b1 (16 columns each), over kblocks of 32 K.
// c: float32 with row stride ldc (C itself, or a 32x32 scratch block)

struct alignas(64) TileConfig {
  std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};

TOROID_AMX void amx_begin() {
  // tmm0-3: the 2x2 float32 accumulators; tmm4-5: A (16 rows x 32 bf16); tmm6-7: B (16 K pairs x 16 columns)
  TileConfig cfg;
  for (int t = 0; t < 8; t++) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  // GCC 12's _tile_loadconfig tells the compiler it reads 8 bytes; without this barrier the
  // stores to the rest of cfg can be dropped and the first tile instruction faults
  __asm__ volatile("" : : "r"(&cfg) : "memory");
  _tile_loadconfig(&cfg);
}

TOROID_AMX void amx_end() { _tile_release(); }

TOROID_AMX void block_amx(const u16* a, const u16* b0, const u16* b1, i64 kblocks, const float* bias, float* c, i64 ldc) {
  if (bias != nullptr) {
    // a row stride of 0 repeats the 16 bias values down the tile
    _tile_loadd(0, bias, 0);
    _tile_loadd(1, bias + 16, 0);
    _tile_loadd(2, bias, 0);
    _tile_loadd(3, bias + 16, 0);
  } else {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
  }
  for (i64 kb = 0; kb < kblocks; kb++) {
    const u16* ak = a + kb * 2 * TILE;
    // each load just before its first use: tile registers are not renamed, so a load waits
    // for the last product reading its register
    _tile_loadd(4, ak, 64);
    _tile_loadd(6, b0 + kb * TILE, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_loadd(7, b1 + kb * TILE, 64);
    _tile_dpbf16ps(1, 4, 7);
    _tile_loadd(5, ak + TILE, 64);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  const i64 stride = ldc * 4;
  _tile_stored(0, c, stride);
  _tile_stored(1, c + 16, stride);
  _tile_stored(2, c + 16 * ldc, stride);
  _tile_stored(3, c + 16 * ldc + 16, stride);
}

TOROID_AVX512BF16 void block_avx512bf16(const u16* a, const u16* b0, const u16* b1, i64 kblocks, const float* bias, float* c,
                                        i64 ldc) {
  const __m512 bias0 = bias != nullptr ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  const __m512 bias1 = bias != nullptr ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
  // 8 rows x 32 columns at a time: 16 accumulators, each row's K pair broadcast as one 32-bit word
  for (int rg = 0; rg < 4; rg++) {
    __m512 acc[8][2];
    for (auto& row : acc) row[0] = bias0, row[1] = bias1;
    for (i64 kb = 0; kb < kblocks; kb++) {
      const u16* ak = a + kb * 2 * TILE + rg * 8 * 32;
      const u16 *bk0 = b0 + kb * TILE, *bk1 = b1 + kb * TILE;
      for (int q = 0; q < 16; q++) {
        const __m512bh v0 = (__m512bh)_mm512_loadu_si512(bk0 + q * 32);
        const __m512bh v1 = (__m512bh)_mm512_loadu_si512(bk1 + q * 32);
        for (int r = 0; r < 8; r++) {
          std::int32_t pair;
          std::memcpy(&pair, ak + r * 32 + 2 * q, 4);
          const __m512bh va = (__m512bh)_mm512_set1_epi32(pair);
          acc[r][0] = _mm512_dpbf16_ps(acc[r][0], va, v0);
          acc[r][1] = _mm512_dpbf16_ps(acc[r][1], va, v1);
        }
      }
    }
    for (int r = 0; r < 8; r++) {
      _mm512_storeu_ps(c + (rg * 8 + r) * ldc, acc[r][0]);
      _mm512_storeu_ps(c + (rg * 8 + r) * ldc + 16, acc[r][1]);
    }
  }
}

// ---- the epilogue: a 32x32 float32 scratch block into C (ragged edges, bf16 rounding)

// 16 lanes rounded to nearest even exactly as f32_to_bf16 (NaN made quiet)
TOROID_AVX512 inline __m256i round16(__m512 v) {
  const __m512i x = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(x, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb)), 16);
  const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(x, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(r);
}

TOROID_AVX512 void write_block(const Problem& p, i64 r0, i64 c0, const float* blk) {
  const i64 rows = std::min(BLOCK, p.M - r0), cols = std::min(BLOCK, p.N - c0);
  for (i64 r = 0; r < rows; r++) {
    const float* src = blk + r * BLOCK;
    if (p.cf != nullptr) {
      std::memcpy(p.cf + (r0 + r) * p.ldc + c0, src, static_cast<std::size_t>(cols) * 4);
      continue;
    }
    u16* dst = p.cb + (r0 + r) * p.ldc + c0;
    if (cols == BLOCK) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), round16(_mm512_loadu_ps(src)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 16), round16(_mm512_loadu_ps(src + 16)));
    } else {
      for (i64 c = 0; c < cols; c++) dst[c] = f32_to_bf16(src[c]);
    }
  }
}

// ---- the matrix-unit GEMM

void gemm_tiles(Isa path, const Problem& p) {
  const i64 mblocks = (p.M + BLOCK - 1) / BLOCK, kblocks = (p.K + 31) / 32, pairs = (p.N + BLOCK - 1) / BLOCK;
  const int threads = omp_in_parallel() || 2.0 * p.M * p.N * p.K < 4e6 ? 1 : omp_get_max_threads();
  // threads split the column pairs (tn ways) and the row blocks (tm ways): columns first,
  // each thread then packs only its own B; rows only where N is too narrow to share
  int tn = threads;
  while (tn > 1 && (threads % tn != 0 || pairs < 2 * tn)) tn--;
  const int tm = threads / tn;
  // B pairs per chunk: ~1 MiB packed (half of this machine's L2)
  const i64 pair_bytes = 2 * kblocks * TILE * 2, chunk = std::max<i64>(1, (i64{1} << 20) / pair_bytes);

  // op(A), packed once for all threads; the bias, padded to whole blocks
  thread_local std::vector<u16> ap;
  thread_local std::vector<float> biasp;
  ap.resize(static_cast<std::size_t>(mblocks * kblocks * 2 * TILE));
  if (p.bias != nullptr) {
    biasp.assign(static_cast<std::size_t>(pairs * BLOCK), 0.0f);
    std::memcpy(biasp.data(), p.bias, static_cast<std::size_t>(p.N) * 4);
  }
  u16* const Ap = ap.data();
  const float* const bias = p.bias != nullptr ? biasp.data() : nullptr;

#pragma omp parallel num_threads(threads) if (threads > 1)
  {
#pragma omp for schedule(static) collapse(2)
    for (i64 mt = 0; mt < 2 * mblocks; mt++) {
      for (i64 kb = 0; kb < kblocks; kb++) pack_a_tile(p, mt * 16, kb * 32, Ap + ((mt / 2) * kblocks + kb) * 2 * TILE + (mt % 2) * TILE);
    }
    const int t = omp_get_thread_num(), in = t % tn, im = t / tn;
    const i64 pr0 = in * pairs / tn, pr1 = (in + 1) * pairs / tn, mb0 = im * mblocks / tm, mb1 = (im + 1) * mblocks / tm;
    thread_local std::vector<u16> bp;
    bp.resize(static_cast<std::size_t>(std::min(chunk, std::max<i64>(pr1 - pr0, 1)) * 2 * kblocks * TILE));
    if (path == Isa::amx) amx_begin();
    alignas(64) float blk[BLOCK * BLOCK];
    for (i64 c0 = pr0; c0 < pr1; c0 += chunk) {
      const i64 c1 = std::min(pr1, c0 + chunk);
      for (i64 panel = 2 * c0; panel < 2 * c1; panel++) {
        for (i64 kb = 0; kb < kblocks; kb++) pack_b_tile(p, panel * 16, kb * 32, bp.data() + ((panel - 2 * c0) * kblocks + kb) * TILE);
      }
      for (i64 mb = mb0; mb < mb1; mb++) {
        const u16* a = Ap + mb * kblocks * 2 * TILE;
        for (i64 pr = c0; pr < c1; pr++) {
          const u16* b0 = bp.data() + 2 * (pr - c0) * kblocks * TILE;
          const i64 r0 = mb * BLOCK, col0 = pr * BLOCK;
          const float* bias_blk = bias != nullptr ? bias + col0 : nullptr;
          // whole float32 blocks go straight into C
          const bool direct = p.cf != nullptr && r0 + BLOCK <= p.M && col0 + BLOCK <= p.N;
          float* out = direct ? p.cf + r0 * p.ldc + col0 : blk;
          const i64 ldo = direct ? p.ldc : BLOCK;
          if (path == Isa::amx) block_amx(a, b0, b0 + kblocks * TILE, kblocks, bias_blk, out, ldo);
          else block_avx512bf16(a, b0, b0 + kblocks * TILE, kblocks, bias_blk, out, ldo);
          if (!direct) write_block(p, r0, col0, blk);
        }
      }
    }
    if (path == Isa::amx) amx_end();
  }
}

// ---- no bf16 unit: widen op(A) and op(B) to float32 and use the BLAS

void gemm_widened(const Problem& p) {
  const i64 ar = p.trans_a ? p.K : p.M, ac = p.trans_a ? p.M : p.K, br = p.trans_b ? p.N : p.K, bc = p.trans_b ? p.K : p.N;
  std::vector<float> a(static_cast<std::size_t>(ar * ac)), b(static_cast<std::size_t>(br * bc)), c;
  const bool par = !omp_in_parallel() && (ar * ac + br * bc) > 65536;
#pragma omp parallel for schedule(static) if (par)
  for (i64 r = 0; r < ar + br; r++) {
    if (r < ar) bf16_widen(p.A + r * p.lda, a.data() + r * ac, ac);
    else bf16_widen(p.B + (r - ar) * p.ldb, b.data() + (r - ar) * bc, bc);
  }
  if (p.cb != nullptr) c.resize(static_cast<std::size_t>(p.M * p.N));
  float* out = p.cf != nullptr ? p.cf : c.data();
  const i64 ldo = p.cf != nullptr ? p.ldc : p.N;
  blas_sgemm(p.trans_a, p.trans_b, p.M, p.N, p.K, 1.0f, a.data(), ac, b.data(), bc, 0.0f, out, ldo);
#pragma omp parallel for schedule(static) if (par)
  for (i64 r = 0; r < p.M; r++) {
    float* row = out + r * ldo;
    if (p.bias != nullptr) {
#pragma omp simd
      for (i64 j = 0; j < p.N; j++) row[j] += p.bias[j];
    }
    if (p.cb != nullptr) bf16_round(row, p.cb + r * p.ldc, p.N);
  }
}

}  // namespace

const char* bf16_gemm_isa() {
  switch (isa()) {
    case Isa::amx: return "amx-bf16";
    case Isa::avx512bf16: return "avx512-bf16";
    default: return "avx2";
  }
}

void gemm_bf16(bool trans_a, bool trans_b, i64 M, i64 N, i64 K, const u16* A, i64 lda, const u16* B, i64 ldb, const float* bias,
               float* c_f32, u16* c_bf16, i64 ldc) {
  if (M <= 0 || N <= 0) return;
  const Problem p{trans_a, trans_b, M, N, K, A, lda, B, ldb, bias, c_f32, c_bf16, ldc};
  if (K <= 0) {
    for (i64 r = 0; r < M; r++) {
      for (i64 j = 0; j < N; j++) {
        const float v = bias != nullptr ? bias[j] : 0.0f;
        if (c_f32 != nullptr) c_f32[r * ldc + j] = v;
        else c_bf16[r * ldc + j] = f32_to_bf16(v);
      }
    }
    return;
  }
  const Isa path = isa();
  if (path == Isa::avx2) return gemm_widened(p);
  gemm_tiles(path, p);
}

}  // namespace toroid
