// Fused scaled-dot-product attention on the GPU: FlashAttention-2 in float32,
// the same semantics as native/cpu/attention.cc (the reference is src/backends/ts/attention.ts).
//
// q [B,h,Tq,d], k/v [B,hkv,Tk,d] (query head `head` reads kv head head / (h/hkv)),
// out [B,h,Tq,d], lse [B,h,Tq] (natural log of the row's sum of exp; -inf where every key is masked).
//
// Forward: one CTA per (batch*head, block of BR query rows); it walks the keys in
// tiles of BC staged in shared memory, with an online softmax (running max m and
// sum l, rescaled accumulator), so no Tq x Tk matrix exists in global memory.
// Backward (deterministic, no atomics): D_i = rowsum(dO_i * O_i) first; then one
// CTA per (batch*kv head, key tile) accumulates dK, dV over every query tile of
// every query head of its group in a fixed order; then one CTA per query tile
// accumulates dQ over the key tiles. Both recompute P = exp(S - lse).
//
// Register tiling: 128 threads; for a score tile S [BR,BC] thread (rg, cg) owns rows
// rg + RG*r (r < 4) and columns cg + TPR*c, so the TPR threads of a row sit in one
// warp and reduce the row max / sum with shuffles. Outputs [BR,d] use the same rows
// and float4 columns 4*(cg + TPR*m). d is padded to the template width D (32, 64,
// 128) with zeros; d > 128 runs the D = 128 kernels in chunks of 128 columns: every
// chunk of the output gets its own CTA, which sums the scores over all chunks.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "backend.h"
#include "cuda/attention_args.cuh"
#include "cuda/attention_mma.cuh"
#include "cuda/common.cuh"

namespace toroid {

namespace {

constexpr int RM = 4;  // rows (forward, dQ) or keys (dK, dV) per thread

// Tile geometry. LD pads d-wide rows by 4 floats so that 8 threads reading float4s
// from 8 consecutive rows cover all 32 banks; LDS pads score rows the same way.
template <int D_, int BR_, int BC_>
struct Tiles {
  static constexpr int D = D_, BR = BR_, BC = BC_;
  static constexpr int LD = D + 4, LDS = BC + 4;
  // score tiles [BR,BC] and row outputs [BR,D]
  static constexpr int RG = BR / RM, TPR = THREADS / RG, SC = BC / TPR, OC4 = D / (4 * TPR);
  // key outputs [BC,D] (dK, dV): thread (kg, kc) owns keys 4*kg.. and float4 columns kc + TPK*m
  static constexpr int KG = BC / RM, TPK = THREADS / KG, KC4 = D / (4 * TPK);
  static_assert(BR % RM == 0 && THREADS % RG == 0 && 32 % TPR == 0, "rows of a score tile must share a warp");
  static_assert(BC % TPR == 0 && BC % 4 == 0 && D % 4 == 0, "partial thread tiles");
  static_assert(THREADS % KG == 0 && KG * TPK == THREADS && OC4 >= 0 && KC4 >= 0, "key tiles");
};

// A buffer that holds a [BC,D] tile and later a [BR,BC] score tile.
__host__ __device__ constexpr int tile_or_scores(int D, int BR, int BC) { return BC * (D + 4) > BR * (BC + 4) ? BC * (D + 4) : BR * (BC + 4); }

__device__ __forceinline__ float4 lds4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ void fma4(float4& acc, float x, const float4& y) {
  acc.x = fmaf(x, y.x, acc.x); acc.y = fmaf(x, y.y, acc.y); acc.z = fmaf(x, y.z, acc.z); acc.w = fmaf(x, y.w, acc.w);
}
__device__ __forceinline__ float dot4(const float4& x, const float4& y, float acc) {
  return fmaf(x.w, y.w, fmaf(x.z, y.z, fmaf(x.y, y.y, fmaf(x.x, y.x, acc))));
}
__device__ __forceinline__ float component(const float4& x, int i) { return i == 0 ? x.x : i == 1 ? x.y : i == 2 ? x.z : x.w; }

// Max / sum over the WIDTH lanes of a row group; every lane gets the same bits.
template <int WIDTH>
__device__ __forceinline__ float group_max(float x) {
#pragma unroll
  for (int o = WIDTH / 2; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}
template <int WIDTH>
__device__ __forceinline__ float group_sum(float x) {
#pragma unroll
  for (int o = WIDTH / 2; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// dst[r][c] (row stride D + 4) = src[r*d + col0 + c] * mul for r < rows and col0 + c < d, else 0.
// src points at the tile's first row; zeros keep padded rows/columns out of every dot product.
template <int R, int D>
__device__ __forceinline__ void load_tile(float* dst, const float* __restrict__ src, i64 rows, i64 d, i64 col0, bool vec,
                                          float mul = 1.0f) {
  constexpr int LD = D + 4;
  // fixed trip counts, unrolled by 4: four loads per thread in flight before their stores
  if (vec) {
    constexpr int C4 = D / 4, STEPS = (R * C4 + THREADS - 1) / THREADS;
#pragma unroll 4
    for (int step = 0; step < STEPS; step++) {
      const int e = step * THREADS + threadIdx.x, r = e / C4, c = (e % C4) * 4;
      if (R * C4 % THREADS != 0 && e >= R * C4) break;
      float4 x = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (r < rows && col0 + c < d) x = __ldg(reinterpret_cast<const float4*>(src + r * d + col0 + c));
      x.x *= mul; x.y *= mul; x.z *= mul; x.w *= mul;
      *reinterpret_cast<float4*>(dst + r * LD + c) = x;
    }
  } else {
    constexpr int STEPS = (R * D + THREADS - 1) / THREADS;
#pragma unroll 8
    for (int step = 0; step < STEPS; step++) {
      const int e = step * THREADS + threadIdx.x, r = e / D, c = e % D;
      if (R * D % THREADS != 0 && e >= R * D) break;
      dst[r * LD + c] = r < rows && col0 + c < d ? __ldg(src + r * d + col0 + c) * mul : 0.0f;
    }
  }
}

// s[r][c] += A[row r] . B[col c] over D: the thread's rows of A [BR,LD], its columns from B [BC,LD].
template <class T>
__device__ __forceinline__ void gemm_abt(float (&s)[RM][T::SC], const float* A, const float* Bm, int rg, int cg) {
#pragma unroll 1
  for (int k = 0; k < T::D; k += 4) {
    float4 x[RM], y[T::SC];
#pragma unroll
    for (int r = 0; r < RM; r++) x[r] = lds4(A + (rg + T::RG * r) * T::LD + k);
#pragma unroll
    for (int c = 0; c < T::SC; c++) y[c] = lds4(Bm + (cg + T::TPR * c) * T::LD + k);
#pragma unroll
    for (int r = 0; r < RM; r++)
#pragma unroll
      for (int c = 0; c < T::SC; c++) s[r][c] = dot4(x[r], y[c], s[r][c]);
  }
}

// o[r][m] += P[row r, :] V[:, float4 column m]: P [BR,LDS], V [BC,LD].
template <class T>
__device__ __forceinline__ void gemm_pv(float4 (&o)[RM][T::OC4], const float* P, const float* V, int rg, int cg) {
#pragma unroll 1
  for (int j = 0; j < T::BC; j += 4) {
    float4 p[RM];
#pragma unroll
    for (int r = 0; r < RM; r++) p[r] = lds4(P + (rg + T::RG * r) * T::LDS + j);
#pragma unroll
    for (int jj = 0; jj < 4; jj++) {
      float4 v[T::OC4];
#pragma unroll
      for (int m = 0; m < T::OC4; m++) v[m] = lds4(V + (j + jj) * T::LD + 4 * (cg + T::TPR * m));
#pragma unroll
      for (int r = 0; r < RM; r++) {
        const float pj = component(p[r], jj);
#pragma unroll
        for (int m = 0; m < T::OC4; m++) fma4(o[r][m], pj, v[m]);
      }
    }
  }
}

// Every mask on the thread's scores of rows i_base + RG*r, keys j_base + TPR*c, as the cpu's
// scale_and_mask: bool mask, padding, causal and padded rows/keys give -inf, a float mask adds.
template <class T>
__device__ __forceinline__ void mask_scores(const Args& a, float (&s)[RM][T::SC], i64 b, i64 head, i64 i_base, i64 j_base) {
  bool key_ok[T::SC];
#pragma unroll
  for (int c = 0; c < T::SC; c++) {
    const i64 j = j_base + T::TPR * c;
    key_ok[c] = j < a.Tk && (a.key_padding == nullptr || a.key_padding[b * a.Tk + j] == 0);
  }
#pragma unroll
  for (int r = 0; r < RM; r++) {
    const i64 i = i_base + T::RG * r;
    if (i >= a.Tq) {
#pragma unroll
      for (int c = 0; c < T::SC; c++) s[r][c] = NEG_INF;
      continue;
    }
    const i64 last = last_key(a, i), mask_row = b * a.mask_b_stride + head * a.mask_h_stride + i * a.Tk;
#pragma unroll
    for (int c = 0; c < T::SC; c++) {
      const i64 j = j_base + T::TPR * c;
      bool ok = key_ok[c] && j <= last;
      float add = 0.0f;
      if (ok && a.attn_mask != nullptr) {
        if (a.mask_is_bool) ok = static_cast<const std::uint8_t*>(a.attn_mask)[mask_row + j] == 0;
        else add = static_cast<const float*>(a.attn_mask)[mask_row + j];
      }
      s[r][c] = ok ? s[r][c] + add : NEG_INF;
    }
  }
}

// Dropout keep-scale of score (row, col) of the tile: 0 or 1/(1-p); 1 without dropout.
__device__ __forceinline__ float keep_at(const Args& a, const std::uint8_t* keep, int index) {
  return a.dropout ? (keep[index] != 0 ? a.keep_scale : 0.0f) : 1.0f;
}

// The backward's scores: P = exp(S - lse) (0 on a row whose keys are all masked) and
// dS = P (keep*dP - D) into dSs [BR,LDS]; WITH_P: P*keep into Ps too (dV's operand).
template <class T, bool WITH_P>
__device__ __forceinline__ void backward_scores(const Args& a, const float (&s)[RM][T::SC], const float (&dp)[RM][T::SC],
                                                const float* lse_s, const float* Di_s, const std::uint8_t* keep,
                                                float* Ps, float* dSs, int rg, int cg) {
#pragma unroll
  for (int r = 0; r < RM; r++) {
    const int row = rg + T::RG * r;
    const float L = lse_s[row], Di = Di_s[row];
#pragma unroll
    for (int c = 0; c < T::SC; c++) {
      const int col = cg + T::TPR * c;
      const float p = L == NEG_INF ? 0.0f : __expf(s[r][c] - L), kp = keep_at(a, keep, row * T::BC + col);
      if constexpr (WITH_P) Ps[row * T::LDS + col] = p * kp;
      dSs[row * T::LDS + col] = p * (kp * dp[r][c] - Di);
    }
  }
}

// Row i of a [*, d] output: the thread's float4 columns col0 + 4*(cg + TPR*m), clipped at d.
template <int N, int STRIDE>
__device__ __forceinline__ void store_row(float* __restrict__ row, const float4 (&x)[N], float mul, i64 d, i64 col0, int cg, bool vec) {
#pragma unroll
  for (int m = 0; m < N; m++) {
    const i64 col = col0 + 4 * (cg + STRIDE * m);
    const float4 y = make_float4(x[m].x * mul, x[m].y * mul, x[m].z * mul, x[m].w * mul);
    if (vec) {
      if (col < d) *reinterpret_cast<float4*>(row + col) = y;
    } else {
      if (col < d) row[col] = y.x;
      if (col + 1 < d) row[col + 1] = y.y;
      if (col + 2 < d) row[col + 2] = y.z;
      if (col + 3 < d) row[col + 3] = y.w;
    }
  }
}

// ---- forward ----------------------------------------------------------------
// out [B,h,Tq,d], lse [B,h,Tq]. Tiles: (query tile, b*h, output chunk), longest causal tiles first.
// Shared: Q [BR,LD] (pre-scaled, as the cpu), K [BC,LD] (P [BR,LDS] reuses it), V [BC,LD], keep [BR,BC] bytes.
template <int D, int BR, int BC, bool CHUNKED, int MIN_BLOCKS>
__global__ void __launch_bounds__(THREADS, MIN_BLOCKS)
attention_forward_kernel(const Args a, float* __restrict__ out, float* __restrict__ lse, i64 tiles) {
  using T = Tiles<D, BR, BC>;
  static_assert(T::OC4 >= 1, "each thread needs a float4 of output columns");
  extern __shared__ float4 smem[];
  float* Qs = reinterpret_cast<float*>(smem);
  float* Ks = Qs + BR * T::LD;
  float* Ps = Ks;  // P replaces K once the scores are in registers
  float* Vs = Ks + tile_or_scores(D, BR, BC);
  std::uint8_t* keep = reinterpret_cast<std::uint8_t*>(Vs + BC * T::LD);

  const int rg = threadIdx.x / T::TPR, cg = threadIdx.x % T::TPR;
  const i64 q_tiles = (a.Tq + BR - 1) / BR, heads = a.B * a.h;
  for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const i64 i0 = (q_tiles - 1 - tile % q_tiles) * BR, bh = tile / q_tiles % heads, oc = tile / q_tiles / heads;
    const i64 b = bh / a.h, head = bh % a.h, q_rows = min64(BR, a.Tq - i0);
    const float* Q = a.q + (bh * a.Tq + i0) * a.d;
    const i64 kv = (b * a.hkv + head / a.group) * a.kv_stride;
    const float* K = a.k + kv;
    const float* V = a.v + kv;
    if (!CHUNKED) load_tile<BR, D>(Qs, Q, q_rows, a.d, 0, a.vec, a.scale);

    float m[RM], l[RM];  // running max (same in every lane of a row) and this lane's share of the sum
    float4 o[RM][T::OC4];
#pragma unroll
    for (int r = 0; r < RM; r++) {
      m[r] = NEG_INF;
      l[r] = 0.0f;
#pragma unroll
      for (int c = 0; c < T::OC4; c++) o[r][c] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }

    const i64 kend = key_end(a, i0, q_rows);  // causal: later key tiles are fully masked
    for (i64 j0 = 0; j0 < kend; j0 += BC) {
      const i64 k_rows = min64(BC, a.Tk - j0);
      if (a.dropout) fill_keep<BR, BC>(keep, a, bh, i0, j0);
      float s[RM][T::SC] = {};
      if (!CHUNKED) {
        load_tile<BC, D>(Ks, K + j0 * a.d, k_rows, a.d, 0, a.vec);
        load_tile<BC, D>(Vs, V + j0 * a.d, k_rows, a.d, 0, a.vec);
        __syncthreads();
        gemm_abt<T>(s, Qs, Ks, rg, cg);
        __syncthreads();  // every thread is done with K before P overwrites it
      } else {
        for (int c = 0; c < a.chunks; c++) {
          load_tile<BR, D>(Qs, Q, q_rows, a.d, c * D, a.vec, a.scale);
          load_tile<BC, D>(Ks, K + j0 * a.d, k_rows, a.d, c * D, a.vec);
          __syncthreads();
          gemm_abt<T>(s, Qs, Ks, rg, cg);
          __syncthreads();
        }
        load_tile<BC, D>(Vs, V + j0 * a.d, k_rows, a.d, oc * D, a.vec);
      }
      mask_scores<T>(a, s, b, head, i0 + rg, j0 + cg);

#pragma unroll
      for (int r = 0; r < RM; r++) {
        const int row = rg + T::RG * r;
        float tile_max = NEG_INF;
#pragma unroll
        for (int c = 0; c < T::SC; c++) tile_max = fmaxf(tile_max, s[r][c]);
        const float m_new = fmaxf(m[r], group_max<T::TPR>(tile_max));
        // every key so far masked: P = 0 and nothing to rescale (exp(-inf - -inf) would be NaN)
        const bool none = m_new == NEG_INF;
        const float alpha = none ? 1.0f : __expf(m[r] - m_new);
        m[r] = m_new;
        l[r] *= alpha;
#pragma unroll
        for (int c = 0; c < T::OC4; c++) {
          o[r][c].x *= alpha; o[r][c].y *= alpha; o[r][c].z *= alpha; o[r][c].w *= alpha;
        }
#pragma unroll
        for (int c = 0; c < T::SC; c++) {
          const int col = cg + T::TPR * c;
          const float p = none ? 0.0f : __expf(s[r][c] - m_new);
          l[r] += p;  // the softmax sum excludes dropout, as the cpu's
          Ps[row * T::LDS + col] = p * keep_at(a, keep, row * BC + col);
        }
      }
      __syncthreads();
      gemm_pv<T>(o, Ps, Vs, rg, cg);
      __syncthreads();  // the next tile's loads overwrite K/P and V
    }

#pragma unroll
    for (int r = 0; r < RM; r++) {
      const float sum = group_sum<T::TPR>(l[r]);
      const i64 i = i0 + rg + T::RG * r;
      if (i < a.Tq) {
        store_row<T::OC4, T::TPR>(out + (bh * a.Tq + i) * a.d, o[r], sum > 0.0f ? 1.0f / sum : 0.0f, a.d, oc * D, cg, a.vec);
        if (cg == 0 && oc == 0) lse[bh * a.Tq + i] = sum > 0.0f ? m[r] + logf(sum) : NEG_INF;
      }
    }
    __syncthreads();  // the next tile's Q load must wait for this tile's readers
  }
}

// ---- backward ---------------------------------------------------------------
// D_i = rowsum(dO_i * O_i) for every row of [B*h*Tq], one warp per row, written to
// d_scratch[row * d]: the first element of row i of dq, which only the dQ kernel (launched
// after the dK/dV kernel, the only reader) overwrites; no scratch allocation needed.
__global__ void attention_row_dot_kernel(const float* __restrict__ dout, const float* __restrict__ out, float* d_scratch,
                                         i64 rows, i64 d) {
  const int lane = threadIdx.x % 32;
  const i64 warps = static_cast<i64>(gridDim.x) * (blockDim.x / 32);
  for (i64 row = static_cast<i64>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; row < rows; row += warps) {
    const float x = row_dot(dout + row * d, out + row * d, d, lane);
    if (lane == 0) d_scratch[row * d] = x;
  }
}

// dk, dv [B,hkv,Tk,d]. Tiles: (key tile, b*hkv, output chunk). For each query head of the
// kv head's group, then each query tile that can see the keys (fixed order, no atomics):
//   S = Q K^T (Q pre-scaled), P = exp(S - lse), dP = dO V^T,
//   dV += (P*keep)^T dO, dS = P (keep*dP - D), dK += dS^T Q*scale.
// Shared: K, V [BC,LD], Q, dO [BR,LD], P*keep and dS [BR,LDS], lse and D [BR], keep [BR,BC] bytes.
template <int D, int BR, int BC, bool CHUNKED, int MIN_BLOCKS>
__global__ void __launch_bounds__(THREADS, MIN_BLOCKS)
attention_backward_dkdv_kernel(const Args a, const float* __restrict__ dout, const float* __restrict__ lse,
                               const float* d_scratch, float* __restrict__ dk, float* __restrict__ dv, i64 tiles) {
  using T = Tiles<D, BR, BC>;
  static_assert(T::KC4 >= 1, "each thread needs a float4 of dK/dV columns");
  extern __shared__ float4 smem[];
  float* Ks = reinterpret_cast<float*>(smem);
  float* Vs = Ks + BC * T::LD;
  float* Qs = Vs + BC * T::LD;
  float* dOs = Qs + BR * T::LD;
  float* Ps = dOs + BR * T::LD;
  float* dSs = Ps + BR * T::LDS;
  float* lse_s = dSs + BR * T::LDS;
  float* Di_s = lse_s + BR;
  std::uint8_t* keep = reinterpret_cast<std::uint8_t*>(Di_s + BR);

  const int rg = threadIdx.x / T::TPR, cg = threadIdx.x % T::TPR;  // score layout
  const int kg = threadIdx.x / T::TPK, kc = threadIdx.x % T::TPK;  // dK/dV layout
  const i64 k_tiles = (a.Tk + BC - 1) / BC, kv_heads = a.B * a.hkv;
  for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const i64 j0 = tile % k_tiles * BC, bkv = tile / k_tiles % kv_heads, oc = tile / k_tiles / kv_heads;
    const i64 b = bkv / a.hkv, kvh = bkv % a.hkv, k_rows = min64(BC, a.Tk - j0);
    const float* K = a.k + (bkv * a.Tk + j0) * a.d;
    const float* V = a.v + (bkv * a.Tk + j0) * a.d;
    if (!CHUNKED) {
      load_tile<BC, D>(Ks, K, k_rows, a.d, 0, a.vec);
      load_tile<BC, D>(Vs, V, k_rows, a.d, 0, a.vec);
    }
    float4 dk_acc[RM][T::KC4], dv_acc[RM][T::KC4];
#pragma unroll
    for (int u = 0; u < RM; u++)
#pragma unroll
      for (int c = 0; c < T::KC4; c++) dk_acc[u][c] = dv_acc[u][c] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);

    const i64 first = first_query(a, j0), i_start = first < a.Tq ? first / BR * BR : a.Tq;
    for (i64 g = 0; g < a.group; g++) {
      const i64 head = kvh * a.group + g, bh = b * a.h + head;
      for (i64 i0 = i_start; i0 < a.Tq; i0 += BR) {
        const i64 q_rows = min64(BR, a.Tq - i0);
        const float* Q = a.q + (bh * a.Tq + i0) * a.d;
        const float* dO = dout + (bh * a.Tq + i0) * a.d;
        if (threadIdx.x < BR) {
          const i64 i = i0 + threadIdx.x;
          lse_s[threadIdx.x] = i < a.Tq ? lse[bh * a.Tq + i] : NEG_INF;
          Di_s[threadIdx.x] = i < a.Tq ? d_scratch[(bh * a.Tq + i) * a.d] : 0.0f;
        }
        if (a.dropout) fill_keep<BR, BC>(keep, a, bh, i0, j0);
        float s[RM][T::SC] = {}, dp[RM][T::SC] = {};
        if (!CHUNKED) {
          load_tile<BR, D>(Qs, Q, q_rows, a.d, 0, a.vec, a.scale);
          load_tile<BR, D>(dOs, dO, q_rows, a.d, 0, a.vec);
          __syncthreads();
          gemm_abt<T>(s, Qs, Ks, rg, cg);
          gemm_abt<T>(dp, dOs, Vs, rg, cg);
        } else {
          for (int c = 0; c < a.chunks; c++) {
            load_tile<BR, D>(Qs, Q, q_rows, a.d, c * D, a.vec, a.scale);
            load_tile<BC, D>(Ks, K, k_rows, a.d, c * D, a.vec);
            load_tile<BR, D>(dOs, dO, q_rows, a.d, c * D, a.vec);
            load_tile<BC, D>(Vs, V, k_rows, a.d, c * D, a.vec);
            __syncthreads();
            gemm_abt<T>(s, Qs, Ks, rg, cg);
            gemm_abt<T>(dp, dOs, Vs, rg, cg);
            __syncthreads();
          }
          if (oc != a.chunks - 1) {  // this CTA's dK/dV columns
            load_tile<BR, D>(Qs, Q, q_rows, a.d, oc * D, a.vec, a.scale);
            load_tile<BR, D>(dOs, dO, q_rows, a.d, oc * D, a.vec);
          }
        }
        mask_scores<T>(a, s, b, head, i0 + rg, j0 + cg);
        backward_scores<T, true>(a, s, dp, lse_s, Di_s, keep, Ps, dSs, rg, cg);
        __syncthreads();
#pragma unroll 1
        for (int i = 0; i < BR; i++) {
          const float4 p = lds4(Ps + i * T::LDS + 4 * kg), ds = lds4(dSs + i * T::LDS + 4 * kg);
#pragma unroll
          for (int c = 0; c < T::KC4; c++) {
            const float4 go = lds4(dOs + i * T::LD + 4 * (kc + T::TPK * c)), q = lds4(Qs + i * T::LD + 4 * (kc + T::TPK * c));
            fma4(dv_acc[0][c], p.x, go); fma4(dv_acc[1][c], p.y, go); fma4(dv_acc[2][c], p.z, go); fma4(dv_acc[3][c], p.w, go);
            fma4(dk_acc[0][c], ds.x, q); fma4(dk_acc[1][c], ds.y, q); fma4(dk_acc[2][c], ds.z, q); fma4(dk_acc[3][c], ds.w, q);
          }
        }
        __syncthreads();  // the next query tile overwrites Q, dO, P, dS, lse, D and keep
      }
    }

#pragma unroll
    for (int u = 0; u < RM; u++) {
      const i64 j = j0 + 4 * kg + u;
      if (j < a.Tk) {
        const i64 row = (bkv * a.Tk + j) * a.d;
        store_row<T::KC4, T::TPK>(dk + row, dk_acc[u], 1.0f, a.d, oc * D, kc, a.vec);
        store_row<T::KC4, T::TPK>(dv + row, dv_acc[u], 1.0f, a.d, oc * D, kc, a.vec);
      }
    }
    __syncthreads();  // the next tile's K/V loads must wait for this tile's readers
  }
}

// dq [B,h,Tq,d]. Tiles: (query tile, b*h, output chunk), longest causal tiles first.
//   S = Q K^T, P = exp(S - lse), dP = dO V^T, dS = P (keep*dP - D), dQ = scale * dS K.
// D is recomputed from dO and O here (the scratch in dq belongs to other CTAs' columns).
// Shared: Q, dO [BR,LD], K [BC,LD], V [BC,LD] (dS [BR,LDS] reuses it), lse and D [BR], keep [BR,BC] bytes.
template <int D, int BR, int BC, bool CHUNKED, int MIN_BLOCKS>
__global__ void __launch_bounds__(THREADS, MIN_BLOCKS)
attention_backward_dq_kernel(const Args a, const float* __restrict__ dout, const float* __restrict__ out,
                             const float* __restrict__ lse, float* dq, i64 tiles) {
  using T = Tiles<D, BR, BC>;
  static_assert(T::OC4 >= 1, "each thread needs a float4 of dQ columns");
  extern __shared__ float4 smem[];
  float* Qs = reinterpret_cast<float*>(smem);
  float* dOs = Qs + BR * T::LD;
  float* Ks = dOs + BR * T::LD;
  float* Vs = Ks + BC * T::LD;
  float* dSs = Vs;  // dS replaces V once dP is in registers
  float* lse_s = Vs + tile_or_scores(D, BR, BC);
  float* Di_s = lse_s + BR;
  std::uint8_t* keep = reinterpret_cast<std::uint8_t*>(Di_s + BR);

  const int rg = threadIdx.x / T::TPR, cg = threadIdx.x % T::TPR;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const i64 q_tiles = (a.Tq + BR - 1) / BR, heads = a.B * a.h;
  for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const i64 i0 = (q_tiles - 1 - tile % q_tiles) * BR, bh = tile / q_tiles % heads, oc = tile / q_tiles / heads;
    const i64 b = bh / a.h, head = bh % a.h, q_rows = min64(BR, a.Tq - i0);
    const i64 rows = (bh * a.Tq + i0) * a.d;
    const float* Q = a.q + rows;
    const float* dO = dout + rows;
    const i64 kv = (b * a.hkv + head / a.group) * a.Tk * a.d;
    const float* K = a.k + kv;
    const float* V = a.v + kv;
    for (int r = warp; r < BR; r += THREADS / 32) {
      const float x = r < q_rows ? row_dot(dO + r * a.d, out + rows + r * a.d, a.d, lane) : 0.0f;
      if (lane == 0) Di_s[r] = x;
    }
    if (threadIdx.x < BR) lse_s[threadIdx.x] = threadIdx.x < q_rows ? lse[bh * a.Tq + i0 + threadIdx.x] : NEG_INF;
    if (!CHUNKED) {
      load_tile<BR, D>(Qs, Q, q_rows, a.d, 0, a.vec, a.scale);
      load_tile<BR, D>(dOs, dO, q_rows, a.d, 0, a.vec);
    }
    float4 acc[RM][T::OC4];
#pragma unroll
    for (int r = 0; r < RM; r++)
#pragma unroll
      for (int c = 0; c < T::OC4; c++) acc[r][c] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);

    const i64 kend = key_end(a, i0, q_rows);
    for (i64 j0 = 0; j0 < kend; j0 += BC) {
      const i64 k_rows = min64(BC, a.Tk - j0);
      if (a.dropout) fill_keep<BR, BC>(keep, a, bh, i0, j0);
      float s[RM][T::SC] = {}, dp[RM][T::SC] = {};
      if (!CHUNKED) {
        load_tile<BC, D>(Ks, K + j0 * a.d, k_rows, a.d, 0, a.vec);
        load_tile<BC, D>(Vs, V + j0 * a.d, k_rows, a.d, 0, a.vec);
        __syncthreads();
        gemm_abt<T>(s, Qs, Ks, rg, cg);
        gemm_abt<T>(dp, dOs, Vs, rg, cg);
        __syncthreads();  // every thread is done with V before dS overwrites it
      } else {
        for (int c = 0; c < a.chunks; c++) {
          load_tile<BR, D>(Qs, Q, q_rows, a.d, c * D, a.vec, a.scale);
          load_tile<BR, D>(dOs, dO, q_rows, a.d, c * D, a.vec);
          load_tile<BC, D>(Ks, K + j0 * a.d, k_rows, a.d, c * D, a.vec);
          load_tile<BC, D>(Vs, V + j0 * a.d, k_rows, a.d, c * D, a.vec);
          __syncthreads();
          gemm_abt<T>(s, Qs, Ks, rg, cg);
          gemm_abt<T>(dp, dOs, Vs, rg, cg);
          __syncthreads();
        }
        if (oc != a.chunks - 1) load_tile<BC, D>(Ks, K + j0 * a.d, k_rows, a.d, oc * D, a.vec);  // this CTA's dQ columns
      }
      mask_scores<T>(a, s, b, head, i0 + rg, j0 + cg);
      backward_scores<T, false>(a, s, dp, lse_s, Di_s, keep, nullptr, dSs, rg, cg);
      __syncthreads();
      gemm_pv<T>(acc, dSs, Ks, rg, cg);
      __syncthreads();  // the next tile's loads overwrite K and V/dS
    }

#pragma unroll
    for (int r = 0; r < RM; r++) {
      const i64 i = i0 + rg + T::RG * r;
      if (i < a.Tq) store_row<T::OC4, T::TPR>(dq + (bh * a.Tq + i) * a.d, acc[r], a.scale, a.d, oc * D, cg, a.vec);
    }
    __syncthreads();  // the next tile's loads must wait for this tile's readers
  }
}

// ---- host side --------------------------------------------------------------

// The kernels' dynamic shared memory in bytes (keep tile only with dropout).
template <int D, int BR, int BC>
struct Smem {
  using T = Tiles<D, BR, BC>;
  static std::size_t keep(bool dropout) { return dropout ? BR * BC : 0; }
  static std::size_t forward(bool dropout) {
    return sizeof(float) * (BR * T::LD + tile_or_scores(D, BR, BC) + BC * T::LD) + keep(dropout);
  }
  static std::size_t dkdv(bool dropout) {
    return sizeof(float) * (2 * BC * T::LD + 2 * BR * T::LD + 2 * BR * T::LDS + 2 * BR) + keep(dropout);
  }
  static std::size_t dq(bool dropout) {
    return sizeof(float) * (2 * BR * T::LD + BC * T::LD + tile_or_scores(D, BR, BC) + 2 * BR) + keep(dropout);
  }
};

// One kernel's tiles and the CTAs per SM its registers are capped for (__launch_bounds__):
// at most what its shared memory lets an H100 hold, and no more than ptxas fits without spills.
template <int D_, int BR_, int BC_, int MIN_BLOCKS_>
struct Config {
  static constexpr int D = D_, BR = BR_, BC = BC_, MIN_BLOCKS = MIN_BLOCKS_;
  using S = Smem<D, BR, BC>;
};

template <class C, bool CHUNKED>
void launch_forward(const Args& a, float* out, float* lse) {
  const auto kernel = attention_forward_kernel<C::D, C::BR, C::BC, CHUNKED, C::MIN_BLOCKS>;
  static const bool ready = (allow_smem(kernel, C::S::forward(true), "attention_forward (shared memory)"), true);
  (void)ready;
  const i64 tiles = (a.Tq + C::BR - 1) / C::BR * a.B * a.h * a.chunks;
  if (tiles == 0) return;
  kernel<<<grid_for(tiles), THREADS, C::S::forward(a.dropout), cuda::stream()>>>(a, out, lse, tiles);
  cuda::check_launch("attention_forward");
}

// KV: the dK/dV kernel's config, Q: the dQ kernel's.
template <class KV, class Q, bool CHUNKED>
void launch_backward(const Args& a, const float* dout, const float* out, const float* lse, float* dq, float* dk, float* dv) {
  static_assert(KV::D == Q::D, "one head width");
  const auto dkdv = attention_backward_dkdv_kernel<KV::D, KV::BR, KV::BC, CHUNKED, KV::MIN_BLOCKS>;
  const auto dq_kernel = attention_backward_dq_kernel<Q::D, Q::BR, Q::BC, CHUNKED, Q::MIN_BLOCKS>;
  static const bool ready = (allow_smem(dkdv, KV::S::dkdv(true), "attention_backward (shared memory)"),
                             allow_smem(dq_kernel, Q::S::dq(true), "attention_backward (shared memory)"), true);
  (void)ready;
  // dq holds D_i until the dQ kernel overwrites it, so only the dK/dV kernel reads that scratch
  const i64 kv_tiles = (a.Tk + KV::BC - 1) / KV::BC * a.B * a.hkv * a.chunks;
  if (kv_tiles > 0) {
    dkdv<<<grid_for(kv_tiles), THREADS, KV::S::dkdv(a.dropout), cuda::stream()>>>(a, dout, lse, dq, dk, dv, kv_tiles);
    cuda::check_launch("attention_backward (dk, dv)");
  }
  const i64 q_tiles = (a.Tq + Q::BR - 1) / Q::BR * a.B * a.h * a.chunks;
  if (q_tiles > 0) {
    dq_kernel<<<grid_for(q_tiles), THREADS, Q::S::dq(a.dropout), cuda::stream()>>>(a, dout, out, lse, dq, q_tiles);
    cuda::check_launch("attention_backward (dq)");
  }
}

}  // namespace

void attention_forward(const AttentionParams& p, float* out, float* lse) {
  if (cuda::attention_mma_forward(p, out, lse)) return;  // precision 2/3, d <= 128, sm_80+: tensor cores
  Args a = make_args(p);
  a.vec = p.d % 4 == 0 && aligned16(p.q) && aligned16(p.k) && aligned16(p.v) && aligned16(out);
  // Config<D, BR, BC, CTAs per SM>; shared memory 35, 51, 66 KB (+ BR*BC keep bytes with dropout)
  if (p.d <= 32) launch_forward<Config<32, 64, 64, 3>, false>(a, out, lse);
  else if (p.d <= 64) launch_forward<Config<64, 64, 64, 3>, false>(a, out, lse);
  else if (p.d <= 128) launch_forward<Config<128, 64, 32, 3>, false>(a, out, lse);
  else launch_forward<Config<CHUNK, 64, 32, 3>, true>(a, out, lse);
}

void attention_backward(const AttentionParams& p, const float* dout, const float* out, const float* lse,
                        float* dq, float* dk, float* dv) {
  if (cuda::attention_mma_backward(p, dout, out, lse, dq, dk, dv)) return;  // precision 2/3, d <= 128, sm_80+
  Args a = make_args(p);
  a.vec = p.d % 4 == 0 && aligned16(p.q) && aligned16(p.k) && aligned16(p.v) && aligned16(dout) && aligned16(out) &&
          aligned16(dq) && aligned16(dk) && aligned16(dv);
  const i64 rows = p.B * p.h * p.Tq;
  if (rows > 0) {  // one warp per row
    attention_row_dot_kernel<<<cuda::blocks_for(rows * 32, 256), 256, 0, cuda::stream()>>>(dout, out, dq, rows, p.d);
    cuda::check_launch("attention_backward (rowsum dO*O)");
  }
  // dK/dV kernel 70, 68, 75 KB and dQ kernel 32, 52, 83 KB of shared memory (+ BR*BC keep bytes with dropout)
  if (p.d <= 32) launch_backward<Config<32, 64, 64, 2>, Config<32, 64, 32, 3>, false>(a, dout, out, lse, dq, dk, dv);
  else if (p.d <= 64) launch_backward<Config<64, 32, 64, 2>, Config<64, 64, 32, 4>, false>(a, dout, out, lse, dq, dk, dv);
  else if (p.d <= 128) launch_backward<Config<128, 32, 32, 2>, Config<128, 64, 16, 2>, false>(a, dout, out, lse, dq, dk, dv);
  else launch_backward<Config<CHUNK, 32, 32, 2>, Config<CHUNK, 64, 16, 2>, true>(a, dout, out, lse, dq, dk, dv);
}

}  // namespace toroid
