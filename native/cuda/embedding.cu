// Embedding gather and its scatter-add backward.
// weight [V,C], ids [n] int32 (checked in range by the binding), y [n,C].
// The backward adds dy rows into the zeroed dweight [V,C] with float atomics, so
// repeated ids sum in a varying order: deterministic mode refuses it.
#include <cstdint>

#include "cuda/common.cuh"

namespace toroid {

using cuda::check_launch;
using cuda::stream;

namespace {
constexpr int THREADS = 256;

// Element e of y [n,C] is (i, c) = (e / C, e % C); I is uint32_t when n*C fits (i64 division is slow).
template <class I>
__global__ void embedding_forward_kernel(const float* __restrict__ weight, const std::int32_t* __restrict__ ids, float* __restrict__ y,
                                         I count, I C) {
  for (I e = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; e < count; e += static_cast<I>(gridDim.x) * blockDim.x) {
    const I i = e / C, c = e - i * C;
    y[e] = weight[static_cast<i64>(ids[i]) * static_cast<i64>(C) + static_cast<i64>(c)];
  }
}

template <class I>
__global__ void embedding_backward_kernel(const float* __restrict__ dy, const std::int32_t* __restrict__ ids, float* __restrict__ dweight,
                                          I count, I C, i64 V, i64 padding_idx) {
  for (I e = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; e < count; e += static_cast<I>(gridDim.x) * blockDim.x) {
    const I i = e / C, c = e - i * C;
    const i64 id = ids[i];
    // out-of-range ids never get here (the binding checks them); skip rather than write outside dweight
    if (id == padding_idx || id < 0 || id >= V) continue;
    atomicAdd(dweight + id * static_cast<i64>(C) + static_cast<i64>(c), dy[e]);
  }
}

bool fits_u32(i64 n) { return n <= static_cast<i64>(INT32_MAX); }
}  // namespace

void embedding_forward(const float* weight, const std::int32_t* ids, float* y, i64 n, i64 C) {
  const i64 count = n * C;
  if (n <= 0 || C <= 0) return;
  const unsigned blocks = cuda::blocks_for(count, THREADS);
  if (fits_u32(count)) {
    embedding_forward_kernel<std::uint32_t><<<blocks, THREADS, 0, stream()>>>(weight, ids, y, static_cast<std::uint32_t>(count),
                                                                             static_cast<std::uint32_t>(C));
  } else {
    embedding_forward_kernel<i64><<<blocks, THREADS, 0, stream()>>>(weight, ids, y, count, C);
  }
  check_launch("embedding_forward");
}

void embedding_backward(const float* dy, const std::int32_t* ids, float* dweight, i64 n, i64 V, i64 C, i64 padding_idx) {
  if (cuda::deterministic()) {
    cuda::refuse_if_deterministic("embeddingBackward", "it adds the rows of repeated ids with float atomics, in a varying order");
  }
  const i64 count = n * C;
  if (n <= 0 || C <= 0 || V <= 0) return;
  const unsigned blocks = cuda::blocks_for(count, THREADS);
  if (fits_u32(count)) {
    embedding_backward_kernel<std::uint32_t><<<blocks, THREADS, 0, stream()>>>(dy, ids, dweight, static_cast<std::uint32_t>(count),
                                                                              static_cast<std::uint32_t>(C), V, padding_idx);
  } else {
    embedding_backward_kernel<i64><<<blocks, THREADS, 0, stream()>>>(dy, ids, dweight, count, C, V, padding_idx);
  }
  check_launch("embedding_backward");
}

}  // namespace toroid
