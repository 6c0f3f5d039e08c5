// Fused attention on tensor cores: FlashAttention-2 with mma.sync.m16n8k16 (bf16 or
// fp16 inputs, fp32 accumulators), for matmul_precision() 2 ('medium') and 3 ('fp16').
// Same semantics as the fp32 kernels in attention.cu (masks, causal modes, GQA, the
// dropout stream and rule, lse -inf and out 0 on all-masked rows, no atomics); the
// inputs of every matrix product are rounded to 16 bits when staged into shared
// memory (q*scale, k, v, dout) or packed from registers (P, dS), as FlashAttention.
//
// Layout: 128 threads = 4 warps. A warp owns 16 rows of the product (query rows in the
// forward and dQ kernels, key rows in the dK/dV kernel); its scores live in registers
// in the mma accumulator layout (lane = 4*g + t holds rows g, g+8 and columns 2t, 2t+1
// of every 8-column tile), are masked and exponentiated there, and are repacked as the
// A operand of the second product without touching shared memory. Operands come from
// shared memory through ldmatrix (.trans for the [k][n] row-major B operands: V, K in
// dQ, Q and dO in dK/dV). Rows are padded by 8 elements (16 bytes) so that the 8 row
// addresses of an 8x8 ldmatrix hit distinct banks. d is zero-padded to D in {32, 64, 128}.
//
// Global tensors are float32: tiles are read as float4 (or scalars when misaligned),
// converted, and stored into shared memory as packed 16-bit pairs (cp.async cannot
// convert). The forward and dQ kernels issue the loads of a key tile's K and V together
// and store V while S = Q K^T runs, so V's latency hides behind the first product.
//
// Measured on an H200 (B=16, h=16, T=1024, bf16, fwd+bwd, FLOPs counted as 3.5 x 4BhT^2d):
// d=64 2.96 ms (81 TFLOP/s; fp32 kernels 11.2 ms), causal 1.85 ms; d=128 5.64 ms
// (85 TFLOP/s; fp32 24.7 ms), causal 3.40 ms. The deterministic backward recomputes
// S and dP in both of its kernels (7 products against FlashAttention-2's 5 with atomics).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "backend.h"
#include "cuda/attention_args.cuh"
#include "cuda/attention_mma.cuh"
#include "cuda/common.cuh"

namespace toroid {

namespace {

// ---- primitives: the inline PTX (pack, mma, ldmatrix)

// Two floats rounded (nearest even) to bf16 / fp16, lo in the low half.
template <bool HALF>
__device__ __forceinline__ std::uint32_t pack2(float lo, float hi) {
  if constexpr (HALF) {
    __half2 h = __floats2half2_rn(lo, hi);
    return *reinterpret_cast<std::uint32_t*>(&h);
  } else {
    __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<std::uint32_t*>(&h);
  }
}

// c += A B: A 16x16 row-major fragment (4 regs), B 16x8 column fragment (2 regs), c 16x8 fp32.
template <bool HALF>
__device__ __forceinline__ void mma16816(float (&c)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (HALF) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
#endif
}

// Four 8x8 b16 matrices; lanes 8i..8i+7 give the row addresses of matrix i (16-byte aligned).
__device__ __forceinline__ void ldsm_x4(std::uint32_t (&r)[4], const std::uint16_t* p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
#endif
}
__device__ __forceinline__ void ldsm_x4_trans(std::uint32_t (&r)[4], const std::uint16_t* p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
#endif
}
// ---- primitives end

// dst[r][c] (row stride D + 8 halves) = 16-bit(src[r*d + c] * mul) for r < rows, c < d, else 0.
template <bool HALF, int R, int D>
__device__ __forceinline__ void stage(std::uint16_t* dst, const float* __restrict__ src, i64 rows, i64 d, bool vec, float mul) {
  constexpr int LD = D + 8, C4 = D / 4, N = R * C4, STEPS = (N + THREADS - 1) / THREADS;
  if (vec) {
#pragma unroll 4
    for (int step = 0; step < STEPS; step++) {
      const int e = step * THREADS + threadIdx.x, r = e / C4, c = (e % C4) * 4;
      if (N % THREADS != 0 && e >= N) break;
      float4 x = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (r < rows && c < d) x = __ldg(reinterpret_cast<const float4*>(src + r * d + c));
      uint2 y;
      y.x = pack2<HALF>(x.x * mul, x.y * mul);
      y.y = pack2<HALF>(x.z * mul, x.w * mul);
      *reinterpret_cast<uint2*>(dst + r * LD + c) = y;
    }
  } else {
#pragma unroll 4
    for (int step = 0; step < STEPS; step++) {
      const int e = step * THREADS + threadIdx.x, r = e / C4, c = (e % C4) * 4;
      if (N % THREADS != 0 && e >= N) break;
      float x[4];
#pragma unroll
      for (int u = 0; u < 4; u++) x[u] = r < rows && c + u < d ? __ldg(src + r * d + c + u) * mul : 0.0f;
      uint2 y;
      y.x = pack2<HALF>(x[0], x[1]);
      y.y = pack2<HALF>(x[2], x[3]);
      *reinterpret_cast<uint2*>(dst + r * LD + c) = y;
    }
  }
}

// The split form of stage(): tile_load issues every global load of the tile into registers
// (all in flight at once), tile_store converts and writes them, so that a product can run
// between the two while the loads land.
template <int R, int D>
__host__ __device__ constexpr int tile_steps() { return (R * (D / 4) + THREADS - 1) / THREADS; }

template <int R, int D>
__device__ __forceinline__ void tile_load(float4 (&x)[tile_steps<R, D>()], const float* __restrict__ src, i64 rows, i64 d, bool vec) {
  constexpr int C4 = D / 4, N = R * C4;
#pragma unroll
  for (int step = 0; step < tile_steps<R, D>(); step++) {
    const int e = step * THREADS + threadIdx.x, r = e / C4, c = (e % C4) * 4;
    x[step] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (N % THREADS != 0 && e >= N) continue;
    if (vec) {
      if (r < rows && c < d) x[step] = __ldg(reinterpret_cast<const float4*>(src + r * d + c));
    } else {
      if (r < rows && c < d) x[step].x = __ldg(src + r * d + c);
      if (r < rows && c + 1 < d) x[step].y = __ldg(src + r * d + c + 1);
      if (r < rows && c + 2 < d) x[step].z = __ldg(src + r * d + c + 2);
      if (r < rows && c + 3 < d) x[step].w = __ldg(src + r * d + c + 3);
    }
  }
}

template <bool HALF, int R, int D>
__device__ __forceinline__ void tile_store(std::uint16_t* dst, const float4 (&x)[tile_steps<R, D>()], float mul) {
  constexpr int LD = D + 8, C4 = D / 4, N = R * C4;
#pragma unroll
  for (int step = 0; step < tile_steps<R, D>(); step++) {
    const int e = step * THREADS + threadIdx.x, r = e / C4, c = (e % C4) * 4;
    if (N % THREADS != 0 && e >= N) continue;
    uint2 y;
    y.x = pack2<HALF>(x[step].x * mul, x[step].y * mul);
    y.y = pack2<HALF>(x[step].z * mul, x[step].w * mul);
    *reinterpret_cast<uint2*>(dst + r * LD + c) = y;
  }
}

__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

// acc (16 x 8*NT) += A B^T over 16*KS: A rows from As (row-major, stride lda), B^T rows
// (the n index) from Bs (row-major [n][k], stride ldb). NT even.
template <bool HALF, int NT, int KS>
__device__ __forceinline__ void mma_abt(float (&acc)[NT][4], const std::uint16_t* As, int lda, const std::uint16_t* Bs, int ldb,
                                        int lane) {
  static_assert(NT % 2 == 0, "pairs of n tiles");
  const int i = lane / 8, r8 = lane % 8;
#pragma unroll
  for (int ks = 0; ks < KS; ks++) {
    std::uint32_t a[4];
    // matrices: (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15) = a0..a3
    ldsm_x4(a, As + ((i % 2) * 8 + r8) * lda + ks * 16 + (i / 2) * 8);
#pragma unroll
    for (int np = 0; np < NT / 2; np++) {
      std::uint32_t b[4];
      // matrices: (n 0-7, k 0-7), (n 0-7, k 8-15), (n 8-15, k 0-7), (n 8-15, k 8-15) = b0, b1 of tiles 2np, 2np+1
      ldsm_x4(b, Bs + (np * 16 + (i / 2) * 8 + r8) * ldb + ks * 16 + (i % 2) * 8);
      mma16816<HALF>(acc[2 * np], a, b[0], b[1]);
      mma16816<HALF>(acc[2 * np + 1], a, b[2], b[3]);
    }
  }
}

// acc (16 x 8*NT) += P B over 16*KS: P as register A fragments, B row-major [k][n] in Bs (stride ldb).
template <bool HALF, int NT, int KS>
__device__ __forceinline__ void mma_pb(float (&acc)[NT][4], const std::uint32_t (&pa)[KS][4], const std::uint16_t* Bs, int ldb,
                                       int lane) {
  static_assert(NT % 2 == 0, "pairs of n tiles");
  const int i = lane / 8, r8 = lane % 8;
#pragma unroll
  for (int ks = 0; ks < KS; ks++) {
#pragma unroll
    for (int np = 0; np < NT / 2; np++) {
      std::uint32_t b[4];
      // transposed matrices: (k 0-7, n 0-7), (k 8-15, n 0-7), (k 0-7, n 8-15), (k 8-15, n 8-15)
      ldsm_x4_trans(b, Bs + (ks * 16 + (i % 2) * 8 + r8) * ldb + np * 16 + (i / 2) * 8);
      mma16816<HALF>(acc[2 * np], pa[ks], b[0], b[1]);
      mma16816<HALF>(acc[2 * np + 1], pa[ks], b[2], b[3]);
    }
  }
}

// Accumulator tiles 2ks, 2ks+1 (16 x 16) as the A fragment of k step ks.
template <bool HALF, int NT>
__device__ __forceinline__ void to_a(std::uint32_t (&pa)[NT / 2][4], const float (&x)[NT][4]) {
#pragma unroll
  for (int ks = 0; ks < NT / 2; ks++) {
    pa[ks][0] = pack2<HALF>(x[2 * ks][0], x[2 * ks][1]);
    pa[ks][1] = pack2<HALF>(x[2 * ks][2], x[2 * ks][3]);
    pa[ks][2] = pack2<HALF>(x[2 * ks + 1][0], x[2 * ks + 1][1]);
    pa[ks][3] = pack2<HALF>(x[2 * ks + 1][2], x[2 * ks + 1][3]);
  }
}

// The masks of the cpu's scale_and_mask on a warp's accumulator tile. Element (nt, e) of
// lane 4g + t sits at row rbase + g + 8*(e/2), column cbase + 8*nt + 2t + e%2; rows are
// queries and columns keys, or the reverse with KEY_ROWS. Masked (or outside Tq / Tk): -inf.
template <int NT, bool KEY_ROWS>
__device__ __forceinline__ void mask_tile(const Args& a, float (&s)[NT][4], i64 b, i64 head, i64 rbase, i64 cbase, int lane) {
  const int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int nt = 0; nt < NT; nt++)
#pragma unroll
    for (int e = 0; e < 4; e++) {
      const i64 r = rbase + g + 8 * (e / 2), c = cbase + 8 * nt + 2 * t + e % 2;
      const i64 i = KEY_ROWS ? c : r, j = KEY_ROWS ? r : c;
      bool ok = i < a.Tq && j < a.Tk && j <= last_key(a, i) && (a.key_padding == nullptr || a.key_padding[b * a.Tk + j] == 0);
      float add = 0.0f;
      if (ok && a.attn_mask != nullptr) {
        const i64 at = b * a.mask_b_stride + head * a.mask_h_stride + i * a.Tk + j;
        if (a.mask_is_bool) ok = static_cast<const std::uint8_t*>(a.attn_mask)[at] == 0;
        else add = static_cast<const float*>(a.attn_mask)[at];
      }
      s[nt][e] = ok ? s[nt][e] + add : NEG_INF;
    }
}

// True when no element of the query rows [i0, i0 + rows) x keys [j0, j0 + cols) can be masked.
__device__ __forceinline__ bool tile_clear(const Args& a, i64 i0, i64 rows, i64 j0, i64 cols) {
  return a.key_padding == nullptr && a.attn_mask == nullptr && i0 + rows <= a.Tq && j0 + cols <= a.Tk &&
         (!a.causal || j0 + cols - 1 <= i0 + a.causal_shift);
}

__device__ __forceinline__ float keep_at(const Args& a, const std::uint8_t* keep, int index) {
  return a.dropout ? (keep[index] != 0 ? a.keep_scale : 0.0f) : 1.0f;
}

// Row `row` of a [*, d] output from a warp's accumulator: columns 8*nt + 2t, +1 (e = 2*half, 2*half+1).
template <int NT>
__device__ __forceinline__ void store_acc_row(float* __restrict__ dst, const float (&x)[NT][4], int half, float mul, i64 d, int t) {
#pragma unroll
  for (int nt = 0; nt < NT; nt++) {
    const i64 c = 8 * nt + 2 * t;
    if (c < d) dst[c] = x[nt][2 * half] * mul;
    if (c + 1 < d) dst[c + 1] = x[nt][2 * half + 1] * mul;
  }
}

// ---- forward ----------------------------------------------------------------
// Tiles (query tile of 64 rows, b*h), longest causal tiles first. Shared: Q [64,LD]
// (pre-scaled), K, V [BC,LD], keep [64,BC] bytes with dropout.
template <bool HALF, int D, int BC, int MIN_BLOCKS>
__global__ void __launch_bounds__(THREADS, MIN_BLOCKS)
mma_forward_kernel(const Args a, float* __restrict__ out, float* __restrict__ lse, i64 tiles) {
  constexpr int BR = 64, LD = D + 8, NT = BC / 8, DK = D / 16, ON = D / 8;
  extern __shared__ float4 smem[];
  std::uint16_t* Qs = reinterpret_cast<std::uint16_t*>(smem);
  std::uint16_t* Ks = Qs + BR * LD;
  std::uint16_t* Vs = Ks + BC * LD;
  std::uint8_t* keep = reinterpret_cast<std::uint8_t*>(Vs + BC * LD);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const i64 q_tiles = (a.Tq + BR - 1) / BR, heads = a.B * a.h;
  for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const i64 i0 = (q_tiles - 1 - tile % q_tiles) * BR, bh = tile / q_tiles % heads;
    const i64 b = bh / a.h, head = bh % a.h, q_rows = min64(BR, a.Tq - i0);
    const i64 kv = (b * a.hkv + head / a.group) * a.kv_stride;
    __syncthreads();  // the previous tile's readers of Q
    stage<HALF, BR, D>(Qs, a.q + (bh * a.Tq + i0) * a.d, q_rows, a.d, a.vec, a.scale);

    float m[2] = {NEG_INF, NEG_INF}, l[2] = {0.0f, 0.0f};  // l: this lane's share of the row sum
    float o[ON][4];
#pragma unroll
    for (int n = 0; n < ON; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;

    const i64 kend = key_end(a, i0, q_rows);
    for (i64 j0 = 0; j0 < kend; j0 += BC) {
      const i64 k_rows = min64(BC, a.Tk - j0);
      float4 kx[tile_steps<BC, D>()], vx[tile_steps<BC, D>()];
      __syncthreads();  // every warp is done with the previous K, V and keep
      tile_load<BC, D>(kx, a.k + kv + j0 * a.d, k_rows, a.d, a.vec);
      tile_load<BC, D>(vx, a.v + kv + j0 * a.d, k_rows, a.d, a.vec);
      tile_store<HALF, BC, D>(Ks, kx, 1.0f);
      if (a.dropout) fill_keep<BR, BC>(keep, a, bh, i0, j0);
      __syncthreads();

      float s[NT][4];
#pragma unroll
      for (int n = 0; n < NT; n++) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
      mma_abt<HALF, NT, DK>(s, Qs + warp * 16 * LD, LD, Ks, LD, lane);
      tile_store<HALF, BC, D>(Vs, vx, 1.0f);  // V lands while S is computed; nobody reads V before the barrier below
      if (!tile_clear(a, i0 + warp * 16, 16, j0, BC)) mask_tile<NT, false>(a, s, b, head, i0 + warp * 16, j0, lane);

#pragma unroll
      for (int h = 0; h < 2; h++) {
        float tile_max = NEG_INF;
#pragma unroll
        for (int n = 0; n < NT; n++) tile_max = fmaxf(tile_max, fmaxf(s[n][2 * h], s[n][2 * h + 1]));
        const float m_new = fmaxf(m[h], quad_max(tile_max));
        const bool none = m_new == NEG_INF;  // every key so far masked
        const float alpha = none ? 1.0f : __expf(m[h] - m_new);
        m[h] = m_new;
        l[h] *= alpha;
#pragma unroll
        for (int n = 0; n < ON; n++) {
          o[n][2 * h] *= alpha;
          o[n][2 * h + 1] *= alpha;
        }
        const int row = warp * 16 + g + 8 * h;
#pragma unroll
        for (int n = 0; n < NT; n++)
#pragma unroll
          for (int e = 2 * h; e < 2 * h + 2; e++) {
            const float p = none ? 0.0f : __expf(s[n][e] - m_new);
            l[h] += p;  // the softmax sum excludes dropout
            s[n][e] = p * keep_at(a, keep, row * BC + 8 * n + 2 * t + e % 2);
          }
      }
      std::uint32_t pa[NT / 2][4];
      to_a<HALF, NT>(pa, s);
      __syncthreads();  // every warp's share of V is stored
      mma_pb<HALF, ON, NT / 2>(o, pa, Vs, LD, lane);
    }

#pragma unroll
    for (int h = 0; h < 2; h++) {
      const float sum = quad_sum(l[h]);
      const i64 i = i0 + warp * 16 + g + 8 * h;
      if (i < a.Tq) {
        store_acc_row<ON>(out + (bh * a.Tq + i) * a.d, o, h, sum > 0.0f ? 1.0f / sum : 0.0f, a.d, t);
        if (t == 0) lse[bh * a.Tq + i] = sum > 0.0f ? m[h] + logf(sum) : NEG_INF;
      }
    }
  }
}

// ---- backward ---------------------------------------------------------------
// D_i = rowsum(dO_i * O_i) into d_scratch[row * d] (the first element of dq's row i,
// overwritten only by the dQ kernel, launched after the dK/dV kernel that reads it).
__global__ void mma_row_dot_kernel(const float* __restrict__ dout, const float* __restrict__ out, float* d_scratch, i64 rows,
                                   i64 d) {
  const int lane = threadIdx.x % 32;
  const i64 warps = static_cast<i64>(gridDim.x) * (blockDim.x / 32);
  for (i64 row = static_cast<i64>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; row < rows; row += warps) {
    const float x = row_dot(dout + row * d, out + row * d, d, lane);
    if (lane == 0) d_scratch[row * d] = x;
  }
}

// The backward kernels' shared memory, in order: two 16-bit tiles of R0 rows, two of R1 rows
// (row stride D + 8), lse and D [BR] floats, then the keep bytes.
struct BackwardSmem {
  std::uint16_t* tiles[4];
  float* lse;
  float* Di;
  std::uint8_t* keep;
};

template <int D, int R0, int R1, int BR>
__device__ __forceinline__ BackwardSmem backward_smem(float4* smem) {
  constexpr int LD = D + 8;
  BackwardSmem m;
  m.tiles[0] = reinterpret_cast<std::uint16_t*>(smem);
  m.tiles[1] = m.tiles[0] + R0 * LD;
  m.tiles[2] = m.tiles[1] + R0 * LD;
  m.tiles[3] = m.tiles[2] + R1 * LD;
  m.lse = reinterpret_cast<float*>(m.tiles[3] + R1 * LD);
  m.Di = m.lse + BR;
  m.keep = reinterpret_cast<std::uint8_t*>(m.Di + BR);
  return m;
}

// dk, dv [B,hkv,Tk,d]. Tiles (key tile of 64, b*hkv); a warp owns 16 keys. For each query
// head of the group, each query tile of BR rows that can see the keys (fixed order):
//   S^T = K Q^T (Q pre-scaled), P^T = exp(S^T - lse), dP^T = V dO^T,
//   dV += (P^T*keep) dO, dS^T = P^T (keep*dP^T - D), dK += dS^T (Q*scale).
// Shared: K, V [64,LD], Q, dO [BR,LD], lse and D [BR], keep [BR,64] bytes.
template <bool HALF, int D, int BR, int MIN_BLOCKS>
__global__ void __launch_bounds__(THREADS, MIN_BLOCKS)
mma_dkdv_kernel(const Args a, const float* __restrict__ dout, const float* __restrict__ lse, const float* d_scratch,
                float* __restrict__ dk, float* __restrict__ dv, i64 tiles) {
  constexpr int BC = 64, LD = D + 8, NQ = BR / 8, DK = D / 16, ON = D / 8;
  extern __shared__ float4 smem[];
  const BackwardSmem m = backward_smem<D, BC, BR, BR>(smem);
  std::uint16_t *Ks = m.tiles[0], *Vs = m.tiles[1], *Qs = m.tiles[2], *dOs = m.tiles[3];
  float *lse_s = m.lse, *Di_s = m.Di;
  std::uint8_t* keep = m.keep;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const i64 k_tiles = (a.Tk + BC - 1) / BC, kv_heads = a.B * a.hkv;
  for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const i64 j0 = tile % k_tiles * BC, bkv = tile / k_tiles % kv_heads;
    const i64 b = bkv / a.hkv, kvh = bkv % a.hkv, k_rows = min64(BC, a.Tk - j0);
    const i64 jw = j0 + warp * 16;  // this warp's first key
    __syncthreads();  // the previous tile's readers of K and V
    stage<HALF, BC, D>(Ks, a.k + (bkv * a.Tk + j0) * a.d, k_rows, a.d, a.vec, 1.0f);
    stage<HALF, BC, D>(Vs, a.v + (bkv * a.Tk + j0) * a.d, k_rows, a.d, a.vec, 1.0f);
    float dk_acc[ON][4], dv_acc[ON][4];
#pragma unroll
    for (int n = 0; n < ON; n++)
#pragma unroll
      for (int e = 0; e < 4; e++) dk_acc[n][e] = dv_acc[n][e] = 0.0f;

    const i64 first = first_query(a, j0), i_start = first < a.Tq ? first / BR * BR : a.Tq;
    for (i64 gi = 0; gi < a.group; gi++) {
      const i64 head = kvh * a.group + gi, bh = b * a.h + head;
      for (i64 i0 = i_start; i0 < a.Tq; i0 += BR) {
        const i64 q_rows = min64(BR, a.Tq - i0);
        __syncthreads();  // every warp is done with the previous Q, dO, lse, D and keep
        stage<HALF, BR, D>(Qs, a.q + (bh * a.Tq + i0) * a.d, q_rows, a.d, a.vec, a.scale);
        stage<HALF, BR, D>(dOs, dout + (bh * a.Tq + i0) * a.d, q_rows, a.d, a.vec, 1.0f);
        if (threadIdx.x < BR) {
          const i64 i = i0 + threadIdx.x;
          lse_s[threadIdx.x] = i < a.Tq ? lse[bh * a.Tq + i] : NEG_INF;
          Di_s[threadIdx.x] = i < a.Tq ? d_scratch[(bh * a.Tq + i) * a.d] : 0.0f;
        }
        if (a.dropout) fill_keep<BR, BC>(keep, a, bh, i0, j0);
        __syncthreads();

        float s[NQ][4], dp[NQ][4];
#pragma unroll
        for (int n = 0; n < NQ; n++)
#pragma unroll
          for (int e = 0; e < 4; e++) s[n][e] = dp[n][e] = 0.0f;
        mma_abt<HALF, NQ, DK>(s, Ks + warp * 16 * LD, LD, Qs, LD, lane);
        mma_abt<HALF, NQ, DK>(dp, Vs + warp * 16 * LD, LD, dOs, LD, lane);
        if (!tile_clear(a, i0, BR, jw, 16)) mask_tile<NQ, true>(a, s, b, head, jw, i0, lane);
#pragma unroll
        for (int n = 0; n < NQ; n++)
#pragma unroll
          for (int e = 0; e < 4; e++) {
            const int qc = 8 * n + 2 * t + e % 2, kr = warp * 16 + g + 8 * (e / 2);
            const float L = lse_s[qc], Di = Di_s[qc];
            const float p = L == NEG_INF ? 0.0f : __expf(s[n][e] - L), kp = keep_at(a, keep, qc * BC + kr);
            s[n][e] = p * kp;
            dp[n][e] = p * (kp * dp[n][e] - Di);
          }
        std::uint32_t pa[NQ / 2][4];
        to_a<HALF, NQ>(pa, s);
        mma_pb<HALF, ON, NQ / 2>(dv_acc, pa, dOs, LD, lane);
        to_a<HALF, NQ>(pa, dp);
        mma_pb<HALF, ON, NQ / 2>(dk_acc, pa, Qs, LD, lane);
      }
    }

#pragma unroll
    for (int h = 0; h < 2; h++) {
      const i64 j = jw + g + 8 * h;
      if (j < a.Tk) {
        const i64 row = (bkv * a.Tk + j) * a.d;
        store_acc_row<ON>(dk + row, dk_acc, h, 1.0f, a.d, t);
        store_acc_row<ON>(dv + row, dv_acc, h, 1.0f, a.d, t);
      }
    }
  }
}

// dq [B,h,Tq,d]. Tiles (query tile of 64, b*h), longest causal tiles first; a warp owns 16 rows.
//   S = Q K^T, P = exp(S - lse), dP = dO V^T, dS = P (keep*dP - D), dQ = scale * dS K.
// D is recomputed from dO and O (the scratch in dq belongs to other CTAs' rows).
// Shared: Q, dO [64,LD], K, V [BC,LD], lse and D [64], keep [64,BC] bytes.
template <bool HALF, int D, int BC, int MIN_BLOCKS>
__global__ void __launch_bounds__(THREADS, MIN_BLOCKS)
mma_dq_kernel(const Args a, const float* __restrict__ dout, const float* __restrict__ out, const float* __restrict__ lse,
              float* dq, i64 tiles) {
  constexpr int BR = 64, LD = D + 8, NT = BC / 8, DK = D / 16, ON = D / 8;
  extern __shared__ float4 smem[];
  const BackwardSmem m = backward_smem<D, BR, BC, BR>(smem);
  std::uint16_t *Qs = m.tiles[0], *dOs = m.tiles[1], *Ks = m.tiles[2], *Vs = m.tiles[3];
  float *lse_s = m.lse, *Di_s = m.Di;
  std::uint8_t* keep = m.keep;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const i64 q_tiles = (a.Tq + BR - 1) / BR, heads = a.B * a.h;
  for (i64 tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const i64 i0 = (q_tiles - 1 - tile % q_tiles) * BR, bh = tile / q_tiles % heads;
    const i64 b = bh / a.h, head = bh % a.h, q_rows = min64(BR, a.Tq - i0);
    const i64 rows = (bh * a.Tq + i0) * a.d;
    const i64 kv = (b * a.hkv + head / a.group) * a.Tk * a.d;
    __syncthreads();  // the previous tile's readers of Q, dO, lse, D
    for (int r = warp; r < BR; r += THREADS / 32) {
      const float x = r < q_rows ? row_dot(dout + rows + r * a.d, out + rows + r * a.d, a.d, lane) : 0.0f;
      if (lane == 0) Di_s[r] = x;
    }
    if (threadIdx.x < BR) lse_s[threadIdx.x] = threadIdx.x < q_rows ? lse[bh * a.Tq + i0 + threadIdx.x] : NEG_INF;
    stage<HALF, BR, D>(Qs, a.q + rows, q_rows, a.d, a.vec, a.scale);
    stage<HALF, BR, D>(dOs, dout + rows, q_rows, a.d, a.vec, 1.0f);
    float acc[ON][4];
#pragma unroll
    for (int n = 0; n < ON; n++) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;

    const i64 kend = key_end(a, i0, q_rows);
    for (i64 j0 = 0; j0 < kend; j0 += BC) {
      const i64 k_rows = min64(BC, a.Tk - j0);
      float4 kx[tile_steps<BC, D>()], vx[tile_steps<BC, D>()];
      __syncthreads();  // every warp is done with the previous K, V and keep (first pass: Q, dO, lse, D are written)
      tile_load<BC, D>(kx, a.k + kv + j0 * a.d, k_rows, a.d, a.vec);
      tile_load<BC, D>(vx, a.v + kv + j0 * a.d, k_rows, a.d, a.vec);
      tile_store<HALF, BC, D>(Ks, kx, 1.0f);
      if (a.dropout) fill_keep<BR, BC>(keep, a, bh, i0, j0);
      __syncthreads();

      float s[NT][4], dp[NT][4];
#pragma unroll
      for (int n = 0; n < NT; n++)
#pragma unroll
        for (int e = 0; e < 4; e++) s[n][e] = dp[n][e] = 0.0f;
      mma_abt<HALF, NT, DK>(s, Qs + warp * 16 * LD, LD, Ks, LD, lane);
      tile_store<HALF, BC, D>(Vs, vx, 1.0f);  // V lands while S is computed
      __syncthreads();
      mma_abt<HALF, NT, DK>(dp, dOs + warp * 16 * LD, LD, Vs, LD, lane);
      if (!tile_clear(a, i0 + warp * 16, 16, j0, BC)) mask_tile<NT, false>(a, s, b, head, i0 + warp * 16, j0, lane);
#pragma unroll
      for (int h = 0; h < 2; h++) {
        const int row = warp * 16 + g + 8 * h;
        const float L = lse_s[row], Di = Di_s[row];
#pragma unroll
        for (int n = 0; n < NT; n++)
#pragma unroll
          for (int e = 2 * h; e < 2 * h + 2; e++) {
            const float p = L == NEG_INF ? 0.0f : __expf(s[n][e] - L);
            dp[n][e] = p * (keep_at(a, keep, row * BC + 8 * n + 2 * t + e % 2) * dp[n][e] - Di);
          }
      }
      std::uint32_t pa[NT / 2][4];
      to_a<HALF, NT>(pa, dp);
      mma_pb<HALF, ON, NT / 2>(acc, pa, Ks, LD, lane);
    }

#pragma unroll
    for (int h = 0; h < 2; h++) {
      const i64 i = i0 + warp * 16 + g + 8 * h;
      if (i < a.Tq) store_acc_row<ON>(dq + (bh * a.Tq + i) * a.d, acc, h, a.scale, a.d, t);
    }
  }
}

// ---- host side --------------------------------------------------------------

// Shared memory in bytes: 16-bit tiles of `rows` rows, `floats` float32 values, keep bytes with dropout.
constexpr std::size_t tile_bytes(int D, int rows) { return static_cast<std::size_t>(rows) * (D + 8) * 2; }

// Does the tensor-core path apply: precision 2 or 3, d <= 128, an sm_80+ device?
int path_for(const AttentionParams& p) {
  const int precision = cuda::matmul_precision();
  if ((precision != 2 && precision != 3) || p.d < 1 || p.d > 128) return 0;
  static int major[64] = {};  // per device, 0 = not asked yet
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= 64) return 0;
  if (major[dev] == 0) {
    int m = 0;
    if (cudaDeviceGetAttribute(&m, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) return 0;
    major[dev] = m > 0 ? m : -1;
  }
  return major[dev] >= 8 ? precision : 0;
}

template <bool HALF, int D, int BC, int MIN_BLOCKS>
void launch_forward(const Args& a, float* out, float* lse) {
  constexpr int BR = 64;
  const auto kernel = mma_forward_kernel<HALF, D, BC, MIN_BLOCKS>;
  const std::size_t base = tile_bytes(D, BR) + 2 * tile_bytes(D, BC), bytes = base + (a.dropout ? BR * BC : 0);
  static const bool ready = (allow_smem(kernel, base + BR * BC, "attention_forward (shared memory)"), true);
  (void)ready;
  const i64 tiles = (a.Tq + BR - 1) / BR * a.B * a.h;
  if (tiles == 0) return;
  kernel<<<grid_for(tiles), THREADS, bytes, cuda::stream()>>>(a, out, lse, tiles);
  cuda::check_launch("attention_forward");
}

template <bool HALF, int D, int KV_BR, int KV_MIN, int Q_BC, int Q_MIN>
void launch_backward(const Args& a, const float* dout, const float* out, const float* lse, float* dq, float* dk, float* dv) {
  constexpr int KV_BC = 64, Q_BR = 64;
  const auto dkdv = mma_dkdv_kernel<HALF, D, KV_BR, KV_MIN>;
  const auto dq_kernel = mma_dq_kernel<HALF, D, Q_BC, Q_MIN>;
  const std::size_t kv_base = 2 * tile_bytes(D, KV_BC) + 2 * tile_bytes(D, KV_BR) + 2 * sizeof(float) * KV_BR;
  const std::size_t q_base = 2 * tile_bytes(D, Q_BR) + 2 * tile_bytes(D, Q_BC) + 2 * sizeof(float) * Q_BR;
  static const bool ready = (allow_smem(dkdv, kv_base + KV_BR * KV_BC, "attention_backward (shared memory)"),
                             allow_smem(dq_kernel, q_base + Q_BR * Q_BC, "attention_backward (shared memory)"), true);
  (void)ready;
  const i64 kv_tiles = (a.Tk + KV_BC - 1) / KV_BC * a.B * a.hkv;
  if (kv_tiles > 0) {
    dkdv<<<grid_for(kv_tiles), THREADS, kv_base + (a.dropout ? KV_BR * KV_BC : 0), cuda::stream()>>>(a, dout, lse, dq, dk, dv,
                                                                                                       kv_tiles);
    cuda::check_launch("attention_backward (dk, dv)");
  }
  const i64 q_tiles = (a.Tq + Q_BR - 1) / Q_BR * a.B * a.h;
  if (q_tiles > 0) {
    dq_kernel<<<grid_for(q_tiles), THREADS, q_base + (a.dropout ? Q_BR * Q_BC : 0), cuda::stream()>>>(a, dout, out, lse, dq,
                                                                                                        q_tiles);
    cuda::check_launch("attention_backward (dq)");
  }
}

template <bool HALF>
void forward(const AttentionParams& p, const Args& a, float* out, float* lse) {
  // <D, BC, CTAs per SM>: shared memory 15, 18, 34 KB (+ 64*BC keep bytes with dropout); 149, 126, 240 registers on sm_90
  if (p.d <= 32) launch_forward<HALF, 32, 64, 3>(a, out, lse);
  else if (p.d <= 64) launch_forward<HALF, 64, 32, 4>(a, out, lse);
  else launch_forward<HALF, 128, 32, 2>(a, out, lse);
}

template <bool HALF>
void backward(const AttentionParams& p, const Args& a, const float* dout, const float* out, const float* lse, float* dq, float* dk,
              float* dv) {
  // <D, dK/dV BR, CTAs, dQ BC, CTAs>: dK/dV 21, 37, 53 KB, dQ 21, 28, 53 KB of shared memory (+ BR*BC keep bytes
  // with dropout); dK/dV 228, 246, 247 and dQ 173, 168, 255 registers on sm_90, no spills
  if (p.d <= 32) launch_backward<HALF, 32, 64, 2, 64, 2>(a, dout, out, lse, dq, dk, dv);
  else if (p.d <= 64) launch_backward<HALF, 64, 64, 2, 32, 3>(a, dout, out, lse, dq, dk, dv);
  else launch_backward<HALF, 128, 32, 2, 32, 2>(a, dout, out, lse, dq, dk, dv);
}

}  // namespace

namespace cuda {

bool attention_mma_forward(const AttentionParams& p, float* out, float* lse) {
  const int path = path_for(p);
  if (path == 0) return false;
  Args a = make_args(p);
  a.vec = p.d % 4 == 0 && aligned16(p.q) && aligned16(p.k) && aligned16(p.v);
  if (path == 3) forward<true>(p, a, out, lse);
  else forward<false>(p, a, out, lse);
  return true;
}

bool attention_mma_backward(const AttentionParams& p, const float* dout, const float* out, const float* lse, float* dq,
                            float* dk, float* dv) {
  const int path = path_for(p);
  if (path == 0) return false;
  Args a = make_args(p);
  a.vec = p.d % 4 == 0 && aligned16(p.q) && aligned16(p.k) && aligned16(p.v) && aligned16(dout);
  const i64 rows = p.B * p.h * p.Tq;
  if (rows > 0) {  // one warp per row
    mma_row_dot_kernel<<<blocks_for(rows * 32, 256), 256, 0, stream()>>>(dout, out, dq, rows, p.d);
    check_launch("attention_backward (rowsum dO*O)");
  }
  if (path == 3) backward<true>(p, a, dout, out, lse, dq, dk, dv);
  else backward<false>(p, a, dout, out, lse, dq, dk, dv);
  return true;
}

}  // namespace cuda

}  // namespace toroid
