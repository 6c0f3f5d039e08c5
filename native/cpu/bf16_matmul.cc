// bf16 GEMM. op(A) is packed in blocks of 32 rows x 32 K, op(B) in panels of
// 16 columns whose K pairs sit side by side (the "VNNI" layout that both AMX's
// TDPBF16PS and AVX512-BF16's VDPBF16PS read), zero-padded to whole tiles. Each
// 32x32 block of C is then accumulated in float32 over all of K and written once
// by the epilogue (bias, rounding to bf16, the ragged edges). N is walked in
// chunks whose packed B stays in the L2 cache while every row block passes over it.
#include "cpu/bf16_matmul.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backend.h"
#include "cpu/bf16.h"
#include "cpu/bf16_avx512.h"
#include "cpu/blas.h"

namespace toroid {
namespace {

constexpr i64 MB = 32;  // rows of a C block: two AMX tiles
constexpr i64 NP = 16;  // columns of a B panel: one AMX tile, one zmm of float32
constexpr i64 KB = 32;  // K of one tile step: 32 bf16 = 64 bytes

using Isa = Bf16Isa;

// ---- packing

// One block of a transposed A ([K,M]: op(A) row i is column i of A), kn <= KB rows of K and
// mn <= MB columns of M, with AVX-512 transposes (pack_a runs only on the paths that have it).
TOROID_AVX512 void pack_a_block_transposed(const std::uint16_t* A, i64 lda, i64 kn, i64 mn, std::uint16_t* dst) {
  bf16_avx512::transpose_to_pairs(A, lda, kn, mn, dst, KB, MB);
}

// op(A) [M,K] -> Ap[((mb * kblocks + kb) * MB + r) * KB + k]
void pack_a(bool trans, i64 M, i64 K, const std::uint16_t* A, i64 lda, std::uint16_t* Ap, i64 mblocks, i64 kblocks) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && M * K > 65536)
  for (i64 mb = 0; mb < mblocks; mb++) {
    for (i64 kb = 0; kb < kblocks; kb++) {
      std::uint16_t* dst = Ap + (mb * kblocks + kb) * MB * KB;
      const i64 k0 = kb * KB, kn = std::min(KB, K - k0);
      if (trans) {
        pack_a_block_transposed(A + k0 * lda + mb * MB, lda, kn, std::min(MB, M - mb * MB), dst);
        continue;
      }
      for (i64 r = 0; r < MB; r++) {
        const i64 i = mb * MB + r;
        std::uint16_t* d = dst + r * KB;
        if (i >= M) {
          std::memset(d, 0, KB * 2);
        } else {
          std::memcpy(d, A + i * lda + k0, static_cast<std::size_t>(kn) * 2);
          if (kn < KB) std::memset(d + kn, 0, static_cast<std::size_t>(KB - kn) * 2);
        }
      }
    }
  }
}

// One whole tile of a [K,N] B: rows k and k + 1 interleave (16 pairs of 16 columns).
__attribute__((target("avx512f,avx512bw"))) void interleave_rows_avx512(const std::uint16_t* B, i64 ldb, std::uint16_t* dst) {
  for (i64 p = 0; p < KB / 2; p++) {
    const __m512i lo = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(B + 2 * p * ldb)));
    const __m512i hi = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(B + (2 * p + 1) * ldb)));
    _mm512_storeu_si512(dst + p * 2 * NP, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
  }
}

void interleave_rows(const std::uint16_t* B, i64 ldb, std::uint16_t* dst) {
  static const bool avx512 = std::getenv("TOROID_NO_AVX512") == nullptr && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (avx512) return interleave_rows_avx512(B, ldb, dst);
  for (i64 p = 0; p < KB / 2; p++) {
    const std::uint16_t *r0 = B + 2 * p * ldb, *r1 = r0 + ldb;
    for (i64 j = 0; j < NP; j++) {
      dst[p * 2 * NP + 2 * j] = r0[j];
      dst[p * 2 * NP + 2 * j + 1] = r1[j];
    }
  }
}

// One whole tile of a [N,K] B: dst word [p][j] = the K pair p of row j, 16 x 16 words. With an
// even row stride the pairs are aligned 32-bit words and transpose 16 at a time.
TOROID_AVX512 void transpose_pairs_b_avx512(const std::uint16_t* B, i64 ldb, std::uint16_t* dst) {
  bf16_avx512::transpose_words(reinterpret_cast<const std::uint32_t*>(B), ldb / 2, NP, KB / 2, reinterpret_cast<std::uint32_t*>(dst), NP, KB / 2);
}

void transpose_pairs_b(const std::uint16_t* B, i64 ldb, std::uint16_t* dst) {
  if (ldb % 2 == 0 && reinterpret_cast<std::uintptr_t>(B) % 4 == 0) return transpose_pairs_b_avx512(B, ldb, dst);
  for (i64 j = 0; j < NP; j++) {
    const std::uint16_t* row = B + j * ldb;
    for (i64 p = 0; p < KB / 2; p++) {
      dst[p * 2 * NP + 2 * j] = row[2 * p];
      dst[p * 2 * NP + 2 * j + 1] = row[2 * p + 1];
    }
  }
}

// op(B) [K,N] -> Bp[((np * kblocks + kb) * 16 + p) * 32 + 2 j + t] = op(B)[kb*32 + 2p + t, np*16 + j]
void pack_b(bool trans, i64 N, i64 K, const std::uint16_t* B, i64 ldb, std::uint16_t* Bp, i64 panels, i64 kblocks) {
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && N * K > 65536)
  for (i64 np = 0; np < panels; np++) {
    for (i64 kb = 0; kb < kblocks; kb++) {
      std::uint16_t* dst = Bp + (np * kblocks + kb) * (KB / 2) * (2 * NP);
      const i64 n0 = np * NP, k0 = kb * KB;
      if (n0 + NP <= N && k0 + KB <= K) {
        // a whole tile: no bounds to test
        if (trans) {
          // B is [N,K]: a K pair of column j is one 32-bit word of row n0 + j (a 16x16 word transpose)
          transpose_pairs_b(B + (n0 * ldb + k0), ldb, dst);
        } else {
          interleave_rows(B + k0 * ldb + n0, ldb, dst);
        }
        continue;
      }
      for (i64 p = 0; p < KB / 2; p++) {
        for (i64 j = 0; j < NP; j++) {
          const i64 n = n0 + j;
          for (i64 t = 0; t < 2; t++) {
            const i64 k = k0 + 2 * p + t;
            dst[p * 2 * NP + 2 * j + t] = n < N && k < K ? (trans ? B[n * ldb + k] : B[k * ldb + n]) : 0;
          }
        }
      }
    }
  }
}

// ---- the epilogue: one 32x32 float32 block (row stride 32) into C

struct Out {
  i64 M, N, ldc;
  const std::uint16_t* bias;
  float* cf;
  std::uint16_t* cb;
  bool fast;  // AVX-512 for whole 32-column blocks into bf16

  // 16 lanes at a time: + bias, rounded to nearest even as f32_to_bf16 (NaN made quiet)
  TOROID_AVX512 void write_bf16_avx512(i64 r0, i64 c0, i64 rows, const float* blk) const {
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    if (bias != nullptr) {
      b0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + c0))), 16));
      b1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + c0 + NP))), 16));
    }
    for (i64 r = 0; r < rows; r++) {
      std::uint16_t* dst = cb + (r0 + r) * ldc + c0;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), bf16_avx512::round16(_mm512_add_ps(_mm512_loadu_ps(blk + r * 2 * NP), b0)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + NP), bf16_avx512::round16(_mm512_add_ps(_mm512_loadu_ps(blk + r * 2 * NP + NP), b1)));
    }
  }

  void write(i64 r0, i64 c0, const float* blk) const {
    const i64 rows = std::min(MB, M - r0), cols = std::min(2 * NP, N - c0);
    if (cb != nullptr && cols == 2 * NP && fast) return write_bf16_avx512(r0, c0, rows, blk);
    for (i64 r = 0; r < rows; r++) {
      const float* src = blk + r * 2 * NP;
      if (cf != nullptr) {
        float* dst = cf + (r0 + r) * ldc + c0;
#pragma omp simd
        for (i64 c = 0; c < cols; c++) dst[c] = src[c] + (bias != nullptr ? bf16_to_f32(bias[c0 + c]) : 0.0f);
      } else {
        std::uint16_t* dst = cb + (r0 + r) * ldc + c0;
#pragma omp simd
        for (i64 c = 0; c < cols; c++) dst[c] = f32_to_bf16(src[c] + (bias != nullptr ? bf16_to_f32(bias[c0 + c]) : 0.0f));
      }
    }
  }
};

// ---- the 32x32 block kernels: a = the row block's packed A, b0/b1 = two B panels

__attribute__((target("amx-tile,amx-bf16")))
void block_amx(const std::uint16_t* a, const std::uint16_t* b0, const std::uint16_t* b1, i64 kblocks, float* blk) {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (i64 kb = 0; kb < kblocks; kb++) {
    const std::uint16_t* ak = a + kb * MB * KB;
    // the B tiles two steps ahead into L1 while the tile unit works (B streams from L2)
    if (kb + 2 < kblocks) {
      const char* n0 = reinterpret_cast<const char*>(b0 + (kb + 2) * KB * NP);
      const char* n1 = reinterpret_cast<const char*>(b1 + (kb + 2) * KB * NP);
      for (int line = 0; line < 16; line++) {
        _mm_prefetch(n0 + 64 * line, _MM_HINT_T0);
        _mm_prefetch(n1 + 64 * line, _MM_HINT_T0);
      }
    }
    // each load just before its first use: tile registers are not renamed, so a load waits for
    // the last product reading its register, and this order lets the next step's loads start early
    _tile_loadd(4, ak, KB * 2);
    _tile_loadd(6, b0 + kb * KB * NP, 2 * NP * 2);
    _tile_dpbf16ps(0, 4, 6);
    _tile_loadd(7, b1 + kb * KB * NP, 2 * NP * 2);
    _tile_dpbf16ps(1, 4, 7);
    _tile_loadd(5, ak + 16 * KB, KB * 2);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  constexpr int stride = 2 * NP * 4;
  _tile_stored(0, blk, stride);
  _tile_stored(1, blk + NP, stride);
  _tile_stored(2, blk + 16 * 2 * NP, stride);
  _tile_stored(3, blk + 16 * 2 * NP + NP, stride);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
void block_avx512bf16(const std::uint16_t* a, const std::uint16_t* b0, const std::uint16_t* b1, i64 kblocks, float* blk) {
  // 8 rows x 32 columns at a time: 16 accumulators, the A pair broadcast as one 32-bit lane
  for (int rg = 0; rg < 4; rg++) {
    __m512 acc[8][2];
    for (auto& row : acc) row[0] = row[1] = _mm512_setzero_ps();
    for (i64 kb = 0; kb < kblocks; kb++) {
      const std::uint16_t* ak = a + kb * MB * KB + rg * 8 * KB;
      const std::uint16_t *bk0 = b0 + kb * KB * NP, *bk1 = b1 + kb * KB * NP;
      for (int p = 0; p < KB / 2; p++) {
        const __m512bh v0 = (__m512bh)_mm512_loadu_si512(bk0 + p * 2 * NP);
        const __m512bh v1 = (__m512bh)_mm512_loadu_si512(bk1 + p * 2 * NP);
        for (int r = 0; r < 8; r++) {
          std::int32_t pair;
          std::memcpy(&pair, ak + r * KB + 2 * p, 4);
          const __m512bh va = (__m512bh)_mm512_set1_epi32(pair);
          acc[r][0] = _mm512_dpbf16_ps(acc[r][0], va, v0);
          acc[r][1] = _mm512_dpbf16_ps(acc[r][1], va, v1);
        }
      }
    }
    for (int r = 0; r < 8; r++) {
      _mm512_storeu_ps(blk + (rg * 8 + r) * 2 * NP, acc[r][0]);
      _mm512_storeu_ps(blk + (rg * 8 + r) * 2 * NP + NP, acc[r][1]);
    }
  }
}

// Every 32x32 block of C, N in chunks that keep their packed B in L2.
void run_blocks(Isa path, const std::uint16_t* Ap, const std::uint16_t* Bp, i64 mblocks, i64 pairs, i64 kblocks, const Out& out) {
  const i64 panel = kblocks * KB * NP;  // elements of one packed B panel
  const i64 chunk = std::max<i64>(1, (512 * 1024) / (2 * 2 * panel));  // panel pairs per chunk: ~512 KiB of B
#pragma omp parallel if (!omp_in_parallel() && mblocks * pairs > 1)
  {
    if (path == Isa::amx) amx_begin();
    alignas(64) float blk[MB * 2 * NP];
    for (i64 c0 = 0; c0 < pairs; c0 += chunk) {
      const i64 c1 = std::min(pairs, c0 + chunk);
#pragma omp for schedule(static) collapse(2)
      for (i64 mb = 0; mb < mblocks; mb++) {
        for (i64 pr = c0; pr < c1; pr++) {
          const std::uint16_t* a = Ap + mb * kblocks * MB * KB;
          const std::uint16_t* b0 = Bp + 2 * pr * panel;
          if (path == Isa::amx) block_amx(a, b0, b0 + panel, kblocks, blk);
          else block_avx512bf16(a, b0, b0 + panel, kblocks, blk);
          out.write(mb * MB, pr * 2 * NP, blk);
        }
      }
    }
    if (path == Isa::amx) amx_end();
  }
}

// A few rows times B [N,K] (decoding: the rows of a batch against a weight) straight from B's
// layout: packing B would cost more than the product. Each C element is a dot product of two
// K-contiguous bf16 rows, 32 pairs per VDPBF16PS; the columns are split across the pool.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
void skinny_nt_avx512bf16(i64 M, i64 N, i64 K, const std::uint16_t* A, i64 lda, const std::uint16_t* B, i64 ldb, const Out& out) {
  const i64 k32 = K / 32 * 32;
  const __mmask32 tail = static_cast<__mmask32>((std::uint64_t{1} << (K - k32)) - 1);
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && N * K > 65536)
  for (i64 c0 = 0; c0 < N; c0 += 2 * NP) {
    alignas(64) float blk[MB * 2 * NP];
    for (i64 r0 = 0; r0 < M; r0 += MB) {
      const i64 rows = std::min(MB, M - r0), cols = std::min(2 * NP, N - c0);
      for (i64 j = 0; j < cols; j++) {
        const std::uint16_t* b = B + (c0 + j) * ldb;
        for (i64 i = 0; i < rows; i++) {
          const std::uint16_t* a = A + (r0 + i) * lda;
          __m512 acc = _mm512_setzero_ps();
          for (i64 k = 0; k < k32; k += 32) {
            acc = _mm512_dpbf16_ps(acc, (__m512bh)_mm512_loadu_si512(a + k), (__m512bh)_mm512_loadu_si512(b + k));
          }
          if (k32 < K) acc = _mm512_dpbf16_ps(acc, (__m512bh)_mm512_maskz_loadu_epi16(tail, a + k32), (__m512bh)_mm512_maskz_loadu_epi16(tail, b + k32));
          blk[i * 2 * NP + j] = _mm512_reduce_add_ps(acc);
        }
      }
      out.write(r0, c0, blk);
    }
  }
}

// No bf16 unit: widen op(A) and op(B) to float32 and use the BLAS.
void gemm_widened(bool trans_a, bool trans_b, i64 M, i64 N, i64 K, const std::uint16_t* A, i64 lda, const std::uint16_t* B,
                  i64 ldb, const Out& out) {
  const i64 ar = trans_a ? K : M, ac = trans_a ? M : K, br = trans_b ? N : K, bc = trans_b ? K : N;
  std::vector<float> a(static_cast<std::size_t>(ar * ac)), b(static_cast<std::size_t>(br * bc)), c(static_cast<std::size_t>(M * N));
  for (i64 r = 0; r < ar; r++) bf16_widen(A + r * lda, a.data() + r * ac, ac);
  for (i64 r = 0; r < br; r++) bf16_widen(B + r * ldb, b.data() + r * bc, bc);
  blas_sgemm(trans_a, trans_b, M, N, K, 1.0f, a.data(), ac, b.data(), bc, 0.0f, c.data(), N);
  // the epilogue reads 32x32 blocks
  alignas(64) float blk[MB * 2 * NP];
  for (i64 r0 = 0; r0 < M; r0 += MB) {
    for (i64 c0 = 0; c0 < N; c0 += 2 * NP) {
      for (i64 r = 0; r < std::min(MB, M - r0); r++) {
        for (i64 col = 0; col < std::min(2 * NP, N - c0); col++) blk[r * 2 * NP + col] = c[(r0 + r) * N + c0 + col];
      }
      out.write(r0, c0, blk);
    }
  }
}

}  // namespace

void bf16_matmul(bool trans_a, bool trans_b, i64 M, i64 N, i64 K, const std::uint16_t* A, i64 lda, const std::uint16_t* B, i64 ldb,
               const std::uint16_t* bias, float* c_f32, std::uint16_t* c_bf16, i64 ldc) {
  if (M <= 0 || N <= 0) return;
  const Isa path = bf16_path();
  const Out out{M, N, ldc, bias, c_f32, c_bf16, path != Isa::avx2};
  if (K == 0 || path == Isa::avx2) {
    if (K > 0) return gemm_widened(trans_a, trans_b, M, N, K, A, lda, B, ldb, out);
    alignas(64) float zero[MB * 2 * NP] = {};
    for (i64 r0 = 0; r0 < M; r0 += MB) for (i64 c0 = 0; c0 < N; c0 += 2 * NP) out.write(r0, c0, zero);
    return;
  }
  if (M <= 8 && !trans_a && trans_b) return skinny_nt_avx512bf16(M, N, K, A, lda, B, ldb, out);
  const i64 mblocks = (M + MB - 1) / MB, kblocks = (K + KB - 1) / KB, pairs = (N + 2 * NP - 1) / (2 * NP);
  // per thread, reused from call to call (a product may run inside a parallel region)
  thread_local std::vector<std::uint16_t> ap, bp;
  ap.resize(static_cast<std::size_t>(mblocks * kblocks * MB * KB));
  bp.resize(static_cast<std::size_t>(2 * pairs * kblocks * KB * NP));
  pack_a(trans_a, M, K, A, lda, ap.data(), mblocks, kblocks);
  pack_b(trans_b, N, K, B, ldb, bp.data(), 2 * pairs, kblocks);
  run_blocks(path, ap.data(), bp.data(), mblocks, pairs, kblocks, out);
}

}  // namespace toroid
