// The k largest of each row (topk_forward in backend.h), on the device so that decoding
// brings R x k candidates to the host instead of R x V logits. One 256-thread block per
// row runs k rounds: round r takes the best element that comes after round r-1's pick in
// topk's order (larger first, NaN above every number, ties by lower index), so nothing is
// marked and any k works; k rounds over n elements suit the small k of decoding.
#include <cmath>
#include <cstdint>

#include "cuda/rows.cuh"

namespace toroid {

using namespace cuda;

namespace {

constexpr int TOPK_THREADS = 256;

// a is before b in topk's order; index -1 is "nothing" (after everything)
__device__ inline bool topk_before(float av, std::int32_t ai, float bv, std::int32_t bi) {
  if (bi < 0) return ai >= 0;
  if (ai < 0) return false;
  const bool an = isnan(av), bn = isnan(bv);
  if (an != bn) return an;
  if (an || av == bv) return ai < bi;
  return av > bv;
}

__global__ void topk_rows(const float* __restrict__ x, float* __restrict__ values, std::int32_t* __restrict__ indices, i64 n, i64 k) {
  __shared__ float best_v[TOPK_THREADS];
  __shared__ std::int32_t best_i[TOPK_THREADS];
  const i64 row = blockIdx.x;
  const float* xr = x + row * n;
  float prev_v = 0.0f;
  std::int32_t prev_i = -1;  // -1: no pick yet, every element qualifies
  for (i64 r = 0; r < k; r++) {
    float bv = 0.0f;
    std::int32_t bi = -1;
    for (i64 j = threadIdx.x; j < n; j += TOPK_THREADS) {
      const float v = xr[j];
      const auto id = static_cast<std::int32_t>(j);
      // after the previous pick, and better than this thread's best so far
      if (prev_i >= 0 && !topk_before(prev_v, prev_i, v, id)) continue;
      if (topk_before(v, id, bv, bi)) { bv = v; bi = id; }
    }
    best_v[threadIdx.x] = bv;
    best_i[threadIdx.x] = bi;
    __syncthreads();
    for (int s = TOPK_THREADS / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s && topk_before(best_v[threadIdx.x + s], best_i[threadIdx.x + s], best_v[threadIdx.x], best_i[threadIdx.x])) {
        best_v[threadIdx.x] = best_v[threadIdx.x + s];
        best_i[threadIdx.x] = best_i[threadIdx.x + s];
      }
      __syncthreads();
    }
    prev_v = best_v[0];
    prev_i = best_i[0];
    if (threadIdx.x == 0) {
      values[row * k + r] = prev_v;
      indices[row * k + r] = prev_i;
    }
    __syncthreads();
  }
}

}  // namespace

void topk_forward(const float* x, float* values, std::int32_t* indices, i64 R, i64 n, i64 k) {
  if (R <= 0 || n <= 0 || k <= 0) return;
  for (i64 done = 0; done < R; done += 65535) {
    const i64 rows = R - done < 65535 ? R - done : 65535;
    topk_rows<<<static_cast<unsigned>(rows), TOPK_THREADS, 0, stream()>>>(x + done * n, values + done * k, indices + done * k, n, k);
    check_launch("topk_forward");
  }
}

}  // namespace toroid
