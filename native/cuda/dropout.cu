// Dropout from the counter-based Philox stream (native/cpu/philox.h,
// src/random/philox.ts): element e uses word e % 4 of the block with counter
// offset + e / 4, and is kept (scaled by 1/(1-p)) when its 24-bit uniform m
// satisfies m >= ceil(p * 2^24). One thread per Philox block: four elements from
// one philox4x32_10 call, bit-identical to the cpu's dropout_scales() (native/cpu/philox.h).
#include <cmath>
#include <cstdint>

#include "cpu/philox.h"
#include "cuda/common.cuh"

namespace toroid {

using cuda::check_launch;
using cuda::stream;

namespace {
constexpr int THREADS = 256;

// x, y: [n]; VEC: x and y are 16-byte aligned, so whole blocks of 4 move as float4
template <bool VEC>
__global__ void dropout_kernel(const float* __restrict__ x, float* __restrict__ y, i64 n, Rng rng, double threshold, float keep) {
  const i64 groups = (n + 3) / 4;
  TOROID_GRID_LOOP(q, groups) {
    const cuda::PhiloxWords b = cuda::philox4x32_10(rng.offset + static_cast<std::uint64_t>(q), rng.seed);
    float s[4];
#pragma unroll
    for (int j = 0; j < 4; j++) s[j] = static_cast<double>(b.w[j] >> 8) >= threshold ? keep : 0.0f;
    const i64 e0 = q * 4;
    if (VEC && e0 + 4 <= n) {
      const float4 v = reinterpret_cast<const float4*>(x)[q];
      reinterpret_cast<float4*>(y)[q] = make_float4(v.x * s[0], v.y * s[1], v.z * s[2], v.w * s[3]);
    } else {
      for (int j = 0; j < 4 && e0 + j < n; j++) y[e0 + j] = x[e0 + j] * s[j];
    }
  }
}
}  // namespace

// y = x * keep / (1 - p); the backward is the same call on dy
void dropout_forward(const float* x, float* y, i64 n, double p, Rng rng) {
  if (n <= 0) return;
  const float keep = static_cast<float>(1.0 / (1.0 - p));
  const double threshold = std::ceil(p * 16777216.0);
  const unsigned blocks = cuda::blocks_for((n + 3) / 4, THREADS);
  const bool aligned = reinterpret_cast<std::uintptr_t>(x) % 16 == 0 && reinterpret_cast<std::uintptr_t>(y) % 16 == 0;
  if (aligned) dropout_kernel<true><<<blocks, THREADS, 0, stream()>>>(x, y, n, rng, threshold, keep);
  else dropout_kernel<false><<<blocks, THREADS, 0, stream()>>>(x, y, n, rng, threshold, keep);
  check_launch("dropout_forward");
}

// Host-side: the same Philox stream as the cpu (used rarely, never on device data).
float philox_uniform(Rng rng, std::uint64_t index) {
  return uniform_from_word(philox4x32_10(rng.offset + index / 4, rng.seed).w[index & 3]);
}

}  // namespace toroid
