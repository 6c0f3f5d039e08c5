// Row reductions and scratch memory shared by the row kernels (norm, softmax,
// cross-entropy, sum): TPR threads per row, warp butterflies (every lane gets the
// same bits) and, for block-wide rows, one pass through shared memory.
#pragma once
#include <cmath>
#include <type_traits>

#include "cuda/common.cuh"

namespace toroid::cuda {

constexpr i64 WARP_ROW_MAX = 1024;  // longer rows get a whole block

// Threads per row (TPR) 32: 8 rows per 256-thread block; TPR 512: one row per block.
template <int TPR> struct RowShape {
  static constexpr int threads = TPR == 32 ? 256 : TPR;
  static constexpr int rows = threads / TPR;
};

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum / max over the TPR threads of one row; every thread of the row gets the result.
template <int TPR>
__device__ __forceinline__ float row_sum(float v, float* smem) {
  v = warp_sum(v);
  if constexpr (TPR > 32) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) smem[warp] = v;
    __syncthreads();
    v = warp_sum(lane < TPR / 32 ? smem[lane] : 0.0f);
    __syncthreads();  // smem is reused by the next reduction
  }
  return v;
}
template <int TPR>
__device__ __forceinline__ float row_max(float v, float* smem) {
  v = warp_max(v);
  if constexpr (TPR > 32) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) smem[warp] = v;
    __syncthreads();
    v = warp_max(lane < TPR / 32 ? smem[lane] : -INFINITY);
    __syncthreads();
  }
  return v;
}

// Picks the row width for rows of n elements and calls f(integral_constant<TPR>, blocks).
template <class F>
void launch_rows(i64 rows, i64 n, F f) {
  if (n <= WARP_ROW_MAX) f(std::integral_constant<int, 32>{}, blocks_for(rows, RowShape<32>::rows));
  else f(std::integral_constant<int, 512>{}, blocks_for(rows, RowShape<512>::rows));
}

// Stream-ordered scratch (none for 0 bytes), freed after the kernels queued before it.
struct Scratch {
  void* ptr = nullptr;
  Scratch(std::size_t bytes, const char* what) {
    if (bytes > 0) check(cudaMallocAsync(&ptr, bytes, stream()), what);
  }
  ~Scratch() { if (ptr) cudaFreeAsync(ptr, stream()); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

}  // namespace toroid::cuda
