// Row reductions, the row loop and scratch memory shared by the row kernels (norm,
// softmax, cross-entropy, sum): TPR threads per row, warp butterflies (every lane gets the
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

// One value from the TPR threads of a row; every thread of the row gets it. warp_reduce
// folds a warp; block-wide rows fold the warps' results once more through smem, where a
// missing warp counts as `none` (0 for a sum, -inf for a max). One body for row_sum,
// row_max and cross-entropy's running max-and-sum.
template <int TPR, class T, class WarpReduce>
__device__ __forceinline__ T row_reduce(T v, T* smem, T none, WarpReduce warp_reduce) {
  v = warp_reduce(v);
  if constexpr (TPR > 32) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) smem[warp] = v;
    __syncthreads();
    v = warp_reduce(lane < TPR / 32 ? smem[lane] : none);
    __syncthreads();  // smem is reused by the next reduction
  }
  return v;
}
template <int TPR>
__device__ __forceinline__ float row_sum(float v, float* smem) {
  return row_reduce<TPR>(v, smem, 0.0f, [](float x) { return warp_sum(x); });
}
template <int TPR>
__device__ __forceinline__ float row_max(float v, float* smem) {
  return row_reduce<TPR>(v, smem, -INFINITY, [](float x) { return warp_max(x); });
}

// The row loop of every row kernel: this thread's group of TPR threads takes row n, then
// every gridDim.x * RowShape<TPR>::rows rows after it. A macro like TOROID_GRID_LOOP, so
// that `continue` in the body moves on to the next row.
#define TOROID_ROW_LOOP(n, count, TPR) \
  for (i64 n = static_cast<i64>(blockIdx.x) * RowShape<TPR>::rows + threadIdx.x / (TPR); n < (count); n += static_cast<i64>(gridDim.x) * RowShape<TPR>::rows)

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
