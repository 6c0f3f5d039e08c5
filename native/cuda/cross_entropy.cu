// Softmax cross-entropy with label smoothing and ignore_index, fused: the forward
// keeps only lse [N]; the backward rebuilds softmax from it in the same pass that
// writes the gradient. logits [N,C], target [N] int32, loss [] or [N], lse [N]
//   loss_n = (1 - eps) (lse_n - x_{n,t}) + eps (lse_n - mean_c x_{n,c}); 0 for ignored rows
//   dloss_n/dx_c = softmax_c - (1 - eps) [c == t] - eps / C
// Rows run one warp each (C <= 1024) or one 512-thread block each (vocab-sized C);
// the forward reads each row once, keeping a running max and sum of exponentials.
// mean/sum reductions never use float atomics: per-row losses go to a double
// scratch [N] that one block sums in a fixed order. Targets are range-checked by
// the binding (find_out_of_range) before the forward; here a bad target only
// yields NaN and never reads out of bounds.
#include <cmath>

#include "cuda/rows.cuh"

namespace toroid {

// check, stream, the row reductions, launch_rows and Scratch: cuda/rows.cuh
using namespace cuda;

namespace {
constexpr int REDUCE_THREADS = 1024;  // the single block of the mean/sum passes
constexpr int THREADS = 256;

// A row's running max m and sum s of exp(x - m): one pass over the logits
// instead of two (a max pass, then a sum pass), which matters at vocab-sized C.
struct MaxSum {
  float m, s;
};
__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.m, b.m);
  // an empty side (m = -inf) adds nothing; __fmul_rn keeps the products unfused so
  // merge(a, b) and merge(b, a) round alike and every lane ends with the same bits
  const float sa = a.m == -INFINITY ? 0.0f : __fmul_rn(a.s, expf(a.m - m));
  const float sb = b.m == -INFINITY ? 0.0f : __fmul_rn(b.s, expf(b.m - m));
  return {m, sa + sb};
}
__device__ __forceinline__ void accumulate(MaxSum& acc, float v) {
  if (v > acc.m) {
    acc.s = (acc.m == -INFINITY ? 0.0f : acc.s * expf(acc.m - v)) + 1.0f;
    acc.m = v;
  } else if (v != -INFINITY) {
    acc.s += expf(v - acc.m);  // NaN logits propagate through here
  }
}
__device__ __forceinline__ MaxSum warp_merge(MaxSum v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = merge(v, {__shfl_xor_sync(0xffffffffu, v.m, o), __shfl_xor_sync(0xffffffffu, v.s, o)});
  return v;
}

// Merge over the TPR threads of one row; every thread of the row gets the result.
template <int TPR>
__device__ __forceinline__ MaxSum row_merge(MaxSum v, MaxSum* smem) {
  return row_reduce<TPR>(v, smem, MaxSum{-INFINITY, 0.0f}, [](MaxSum x) { return warp_merge(x); });
}
// Sum over one whole block of REDUCE_THREADS; thread 0 gets the result.
template <class T>
__device__ __forceinline__ T block_sum(T v, T* smem) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  return warp_sum(lane < REDUCE_THREADS / 32 ? smem[lane] : T(0));
}

// Per row: lse [N], and the row's loss into loss_rows (float, reduction none)
// or row_losses (double, for the mean/sum pass); exactly one of them is non-null.
template <int TPR>
__global__ void cross_entropy_rows(const float* __restrict__ logits, const std::int32_t* __restrict__ target, float* __restrict__ lse,
                                   float* __restrict__ loss_rows, double* __restrict__ row_losses, i64 N, i64 C, i64 ignore_index,
                                   float smoothing) {
  __shared__ MaxSum smem_ms[32];
  __shared__ float smem[32];
  const int t = threadIdx.x % TPR;
  TOROID_ROW_LOOP(n, N, TPR) {
    const float* x = logits + n * C;
    MaxSum acc{-INFINITY, 0.0f};
    float sum_x = 0;
    for (i64 c = t; c < C; c += TPR) {
      const float v = x[c];
      accumulate(acc, v);
      sum_x += v;
    }
    acc = row_merge<TPR>(acc, smem_ms);
    sum_x = row_sum<TPR>(sum_x, smem);
    if (t != 0) continue;
    const double row_lse = static_cast<double>(acc.m) + ::log(static_cast<double>(acc.s));
    lse[n] = static_cast<float>(row_lse);
    const i64 tn = target[n];
    double row_loss = 0;
    if (tn != ignore_index) {
      row_loss = tn < 0 || tn >= C ? NAN
                                   : (1.0 - smoothing) * (row_lse - x[tn]) + smoothing * (row_lse - static_cast<double>(sum_x) / static_cast<double>(C));
    }
    if (loss_rows) loss_rows[n] = static_cast<float>(row_loss);
    else row_losses[n] = row_loss;
  }
}

// loss[0] = sum of row_losses, divided by the rows not ignored for the mean
// (0/0 = NaN when all are, like PyTorch). One block of REDUCE_THREADS.
__global__ void cross_entropy_total(const double* __restrict__ row_losses, const std::int32_t* __restrict__ target, float* __restrict__ loss,
                                    i64 N, i64 ignore_index, bool mean) {
  __shared__ double sd[32];
  __shared__ long long sc[32];
  double total = 0;
  long long count = 0;
  for (i64 n = threadIdx.x; n < N; n += REDUCE_THREADS) {
    total += row_losses[n];
    count += target[n] != ignore_index;
  }
  total = block_sum(total, sd);
  count = block_sum(count, sc);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(mean ? total / static_cast<double>(count) : total);
}

// scale[0] = dloss[0] / (rows not ignored), the mean's gradient per row. One block.
__global__ void cross_entropy_mean_scale(const float* __restrict__ dloss, const std::int32_t* __restrict__ target, float* __restrict__ scale,
                                         i64 N, i64 ignore_index) {
  __shared__ long long sc[32];
  long long count = 0;
  for (i64 n = threadIdx.x; n < N; n += REDUCE_THREADS) count += target[n] != ignore_index;
  count = block_sum(count, sc);
  if (threadIdx.x == 0) scale[0] = dloss[0] / static_cast<float>(count);
}

// dlogits [N,C], element e = (n, c). g is dloss[n] (per_row) or scale[0].
// I is uint32_t when N*C fits, since i64 division is slow.
template <class I>
__global__ void cross_entropy_grad(const float* __restrict__ scale, bool per_row, const float* __restrict__ logits,
                                   const std::int32_t* __restrict__ target, const float* __restrict__ lse, float* __restrict__ dlogits,
                                   I count, I C, i64 ignore_index, float smoothing, float off_target) {
  for (I e = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; e < count; e += static_cast<I>(gridDim.x) * blockDim.x) {
    const I n = e / C, c = e - n * C;
    const i64 t = target[n];
    if (t == ignore_index) {
      dlogits[e] = 0.0f;
      continue;
    }
    const float g = per_row ? scale[n] : scale[0];
    float d = g * (expf(logits[e] - lse[n]) - off_target);
    if (static_cast<i64>(c) == t) d -= g * (1.0f - smoothing);
    dlogits[e] = d;
  }
}

}  // namespace

i64 cross_entropy_forward(const float* logits, const std::int32_t* target, float* loss, float* lse,
                          i64 N, i64 C, i64 ignore_index, float smoothing, Reduction reduction) {
  const bool none = reduction == Reduction::none;
  Scratch row_losses(none ? 0 : sizeof(double) * (N > 0 ? N : 1), "cross_entropy_forward scratch");
  double* rows = none ? nullptr : static_cast<double*>(row_losses.ptr);
  if (N > 0) {
    launch_rows(N, C, [&](auto tpr, unsigned blocks) {
      constexpr int TPR = decltype(tpr)::value;
      cross_entropy_rows<TPR><<<blocks, RowShape<TPR>::threads, 0, stream()>>>(logits, target, lse, none ? loss : nullptr, rows, N, C,
                                                                                ignore_index, smoothing);
      check_launch("cross_entropy_forward");
    });
  }
  if (!none) {
    // runs for N = 0 too: the mean of nothing is NaN, the sum 0
    cross_entropy_total<<<1, REDUCE_THREADS, 0, stream()>>>(rows, target, loss, N, ignore_index, reduction == Reduction::mean);
    check_launch("cross_entropy_total");
  }
  return -1;  // the binding checks targets beforehand (find_out_of_range)
}

void cross_entropy_backward(const float* dloss, const float* logits, const std::int32_t* target, const float* lse,
                            float* dlogits, i64 N, i64 C, i64 ignore_index, float smoothing, Reduction reduction) {
  const i64 count = N * C;
  if (N <= 0 || C <= 0) return;
  const bool mean = reduction == Reduction::mean;
  Scratch mean_scale(mean ? sizeof(float) : 0, "cross_entropy_backward scratch");
  const float* scale = dloss;
  if (mean) {
    float* mean_g = static_cast<float*>(mean_scale.ptr);
    cross_entropy_mean_scale<<<1, REDUCE_THREADS, 0, stream()>>>(dloss, target, mean_g, N, ignore_index);
    check_launch("cross_entropy_mean_scale");
    scale = mean_g;
  }
  const bool per_row = reduction == Reduction::none;
  const float off_target = smoothing / static_cast<float>(C);
  const unsigned blocks = cuda::blocks_for(count, THREADS);
  if (count <= static_cast<i64>(INT32_MAX)) {
    cross_entropy_grad<std::uint32_t><<<blocks, THREADS, 0, stream()>>>(scale, per_row, logits, target, lse, dlogits, static_cast<std::uint32_t>(count),
                                                                         static_cast<std::uint32_t>(C), ignore_index, smoothing, off_target);
  } else {
    cross_entropy_grad<i64><<<blocks, THREADS, 0, stream()>>>(scale, per_row, logits, target, lse, dlogits, count, C, ignore_index, smoothing,
                                                              off_target);
  }
  check_launch("cross_entropy_backward");
}

}  // namespace toroid
