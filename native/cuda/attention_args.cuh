// What the fp32 attention kernels (attention.cu) and the tensor-core ones (attention_mma.cu)
// share: their argument struct, built once from AttentionParams, the causal bounds, the
// dropout keep tile and the row dot product of the backward's D_i. It is all in an anonymous
// namespace, as it was in both files: each translation unit keeps its own internal copy.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "backend.h"
#include "cuda/common.cuh"

namespace toroid {

namespace {

constexpr int THREADS = 128;
constexpr int CHUNK = 128;  // fp32 kernels: d > CHUNK runs the D = 128 kernels over ceil(d / 128) chunks
constexpr float NEG_INF = -std::numeric_limits<float>::infinity();

// Kernel arguments: AttentionParams flattened for the device, plus launch facts.
struct Args {
  const float* q; const float* k; const float* v;
  const std::uint8_t* key_padding;  // [B,Tk] or null
  const void* attn_mask;            // [mask_B,mask_h,Tq,Tk] or null
  bool mask_is_bool;
  i64 mask_b_stride, mask_h_stride;  // 0 along a broadcast axis
  i64 B, h, hkv, group, Tq, Tk, d;
  i64 kv_stride;  // elements between kv heads (forward: a KV-cache buffer may be longer than Tk)
  float scale;
  bool causal;
  i64 causal_shift;  // query i sees keys j <= i + shift (0: top_left, Tk - Tq: bottom_right)
  bool dropout;
  std::uint32_t threshold;  // kept when the 24-bit uniform >= threshold = ceil(p * 2^24)
  float keep_scale;         // 1 / (1 - p)
  Rng rng;
  int chunks;  // ceil(d / CHUNK) for the fp32 chunked kernels (the tensor-core kernels ignore it)
  bool vec;    // d % 4 == 0 and every pointer 16-byte aligned: float4 global access
};

__device__ __forceinline__ i64 min64(i64 x, i64 y) { return x < y ? x : y; }
__device__ __forceinline__ i64 max64(i64 x, i64 y) { return x > y ? x : y; }

// The last key query row i may see (Tk - 1 without a causal mask; may be negative).
__device__ __forceinline__ i64 last_key(const Args& a, i64 i) { return a.causal ? min64(i + a.causal_shift, a.Tk - 1) : a.Tk - 1; }
// Keys [0, key_end) can be seen by some row of the query tile [i0, i0 + rows).
__device__ __forceinline__ i64 key_end(const Args& a, i64 i0, i64 rows) { return max64(0, last_key(a, i0 + rows - 1) + 1); }
// Queries [first_query, Tq) can see some key of the tile starting at j0.
__device__ __forceinline__ i64 first_query(const Args& a, i64 j0) { return a.causal ? max64(0, j0 - a.causal_shift) : 0; }

__device__ __forceinline__ std::uint32_t pick_word(const cuda::PhiloxWords& lo, const cuda::PhiloxWords& hi, int i) {
  switch (i) {
    case 0: return lo.w[0];
    case 1: return lo.w[1];
    case 2: return lo.w[2];
    case 3: return lo.w[3];
    case 4: return hi.w[0];
    case 5: return hi.w[1];
    default: return hi.w[2];
  }
}

// keep[r*BC + c] = 1 where the weight (bh, i0 + r, j0 + c) survives dropout, the cpu's
// rule on stream index (bh*Tq + i)*Tk + j. One Philox block holds 4 consecutive
// indices, so each thread takes 4 keys and needs one block, or two when unaligned.
template <int BR, int BC>
__device__ __forceinline__ void fill_keep(std::uint8_t* keep, const Args& a, i64 bh, i64 i0, i64 j0) {
  for (int e = threadIdx.x; e < BR * BC / 4; e += THREADS) {
    const int r = e / (BC / 4), c = (e % (BC / 4)) * 4;
    std::uint32_t bits = 0;
    if (i0 + r < a.Tq) {
      const std::uint64_t index = static_cast<std::uint64_t>((bh * a.Tq + i0 + r) * a.Tk + j0 + c);
      const std::uint64_t counter = a.rng.offset + index / 4;
      const int first = static_cast<int>(index & 3);
      const cuda::PhiloxWords lo = cuda::philox4x32_10(counter, a.rng.seed);
      const cuda::PhiloxWords hi = first != 0 ? cuda::philox4x32_10(counter + 1, a.rng.seed) : lo;
#pragma unroll
      for (int t = 0; t < 4; t++) bits |= ((pick_word(lo, hi, first + t) >> 8) >= a.threshold ? 1u : 0u) << (8 * t);
    }
    *reinterpret_cast<std::uint32_t*>(keep + r * BC + c) = bits;
  }
}

// D_i = dot(dO_i, O_i) by one warp, lane-strided; the same bits wherever it is called.
__device__ __forceinline__ float row_dot(const float* __restrict__ x, const float* __restrict__ y, i64 d, int lane) {
  float s = 0.0f;
  for (i64 c = lane; c < d; c += 32) s = fmaf(__ldg(x + c), __ldg(y + c), s);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  return s;
}

// ---- host side

inline bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

inline Args make_args(const AttentionParams& p) {
  Args a{};
  a.q = p.q; a.k = p.k; a.v = p.v;
  a.key_padding = p.key_padding;
  a.attn_mask = p.attn_mask;
  a.mask_is_bool = p.mask_is_bool;
  if (p.attn_mask != nullptr) {
    a.mask_h_stride = p.mask_h == 1 ? 0 : p.Tq * p.Tk;
    a.mask_b_stride = p.mask_B == 1 ? 0 : p.mask_h * p.Tq * p.Tk;
  }
  a.B = p.B; a.h = p.h; a.hkv = p.hkv; a.group = p.h / p.hkv; a.Tq = p.Tq; a.Tk = p.Tk; a.d = p.d;
  a.kv_stride = p.kv_stride;
  a.scale = p.scale;
  a.causal = p.causal != Causal::none;
  a.causal_shift = p.causal == Causal::bottom_right ? p.Tk - p.Tq : 0;
  a.dropout = p.dropout_p > 0;
  // the cpu's dropout_scales: integer threshold on the 24-bit grid, float keep scale
  a.threshold = static_cast<std::uint32_t>(std::ceil(p.dropout_p * 16777216.0));
  a.keep_scale = static_cast<float>(1.0 / (1.0 - p.dropout_p));
  a.rng = p.rng;
  a.chunks = static_cast<int>((p.d + CHUNK - 1) / CHUNK);
  return a;
}

inline unsigned grid_for(i64 tiles) { return static_cast<unsigned>(tiles < 0x7fffffff ? tiles : 0x7fffffff); }

// Raise the kernel's dynamic shared memory limit once (it may exceed the default 48 KB).
template <class Kernel>
void allow_smem(Kernel kernel, std::size_t bytes, const char* what) {
  cuda::check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)), what);
}

}  // namespace

}  // namespace toroid
