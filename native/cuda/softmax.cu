// Softmax and log-softmax along one axis: x viewed as [outer, n, inner].
// Last axis (inner == 1): one warp per row when n <= 1024, else one 512-thread
// block per row, three passes over the row (max, sum, write).
// Other axes: one thread per (outer, inner) column, walking n with stride inner
// (neighbouring threads read neighbouring columns), summing in double like the cpu.
// Backward from the forward's output y:
//   softmax:     dx = y * (dy - sum(dy * y))
//   log-softmax: dx = dy - exp(y) * sum(dy)
#include <cmath>
#include <type_traits>

#include "cuda/rows.cuh"

namespace toroid {

// check_launch, stream, the row reductions and launch_rows: cuda/rows.cuh
using namespace cuda;

namespace {

constexpr int COLUMN_THREADS = 256;

// x, y: [rows, n]
template <int TPR>
__global__ void softmax_rows_forward(const float* __restrict__ x, float* __restrict__ y, i64 rows, i64 n, bool log) {
  __shared__ float smem[32];
  const int t = threadIdx.x % TPR;
  TOROID_ROW_LOOP(o, rows, TPR) {
    const float* xr = x + o * n;
    float* yr = y + o * n;
    float m = -INFINITY;
    for (i64 j = t; j < n; j += TPR) m = fmaxf(m, xr[j]);
    m = row_max<TPR>(m, smem);
    if (m == -INFINITY) m = 0;  // all -inf: exp gives 0, sum 0 -> NaN like PyTorch
    float sum = 0;
    for (i64 j = t; j < n; j += TPR) sum += expf(xr[j] - m);
    sum = row_sum<TPR>(sum, smem);
    if (log) {
      // (x - m) - log(sum), not x - (m + log(sum)): at |x| ~ 1e38 the sum m + log(sum) rounds to m
      const float logsum = logf(sum);
      for (i64 j = t; j < n; j += TPR) yr[j] = (xr[j] - m) - logsum;
    } else {
      const float inv = 1.0f / sum;
      for (i64 j = t; j < n; j += TPR) yr[j] = expf(xr[j] - m) * inv;
    }
  }
}

// dy, y, dx: [rows, n]
template <int TPR>
__global__ void softmax_rows_backward(const float* __restrict__ dy, const float* __restrict__ y, float* __restrict__ dx, i64 rows, i64 n, bool log) {
  __shared__ float smem[32];
  const int t = threadIdx.x % TPR;
  TOROID_ROW_LOOP(o, rows, TPR) {
    const float* g = dy + o * n;
    const float* yr = y + o * n;
    float* d = dx + o * n;
    float s = 0;
    if (log) {
      for (i64 j = t; j < n; j += TPR) s += g[j];
      s = row_sum<TPR>(s, smem);
      for (i64 j = t; j < n; j += TPR) d[j] = g[j] - expf(yr[j]) * s;
    } else {
      for (i64 j = t; j < n; j += TPR) s += g[j] * yr[j];
      s = row_sum<TPR>(s, smem);
      for (i64 j = t; j < n; j += TPR) d[j] = yr[j] * (g[j] - s);
    }
  }
}

// x, y: [outer, n, inner], one thread per (o, i)
__global__ void softmax_columns_forward(const float* __restrict__ x, float* __restrict__ y, i64 outer, i64 n, i64 inner, bool log) {
  TOROID_GRID_LOOP(oi, outer * inner) {
    const i64 o = oi / inner, i = oi - o * inner;
    const float* xs = x + o * n * inner + i;
    float* ys = y + o * n * inner + i;
    float m = -INFINITY;
    for (i64 j = 0; j < n; j++) m = fmaxf(m, xs[j * inner]);
    if (m == -INFINITY) m = 0;
    double sum = 0;
    for (i64 j = 0; j < n; j++) sum += expf(xs[j * inner] - m);
    if (log) {
      const float logsum = static_cast<float>(::log(sum));
      for (i64 j = 0; j < n; j++) ys[j * inner] = (xs[j * inner] - m) - logsum;
    } else {
      const float inv = static_cast<float>(1.0 / sum);
      for (i64 j = 0; j < n; j++) ys[j * inner] = expf(xs[j * inner] - m) * inv;
    }
  }
}

__global__ void softmax_columns_backward(const float* __restrict__ dy, const float* __restrict__ y, float* __restrict__ dx,
                                         i64 outer, i64 n, i64 inner, bool log) {
  TOROID_GRID_LOOP(oi, outer * inner) {
    const i64 o = oi / inner, i = oi - o * inner, base = o * n * inner + i;
    double s = 0;
    if (log) {
      for (i64 j = 0; j < n; j++) s += dy[base + j * inner];
      const float sf = static_cast<float>(s);
      for (i64 j = 0; j < n; j++) dx[base + j * inner] = dy[base + j * inner] - expf(y[base + j * inner]) * sf;
    } else {
      for (i64 j = 0; j < n; j++) s += static_cast<double>(dy[base + j * inner]) * y[base + j * inner];
      const float sf = static_cast<float>(s);
      for (i64 j = 0; j < n; j++) dx[base + j * inner] = y[base + j * inner] * (dy[base + j * inner] - sf);
    }
  }
}

}  // namespace

void softmax_forward(const float* x, float* y, i64 outer, i64 n, i64 inner, bool log) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  if (inner == 1) {
    launch_rows(outer, n, [&](auto tpr, unsigned blocks) {
      constexpr int TPR = decltype(tpr)::value;
      softmax_rows_forward<TPR><<<blocks, RowShape<TPR>::threads, 0, stream()>>>(x, y, outer, n, log);
      check_launch("softmax_forward");
    });
    return;
  }
  softmax_columns_forward<<<cuda::blocks_for(outer * inner, COLUMN_THREADS), COLUMN_THREADS, 0, stream()>>>(x, y, outer, n, inner, log);
  check_launch("softmax_forward");
}

void softmax_backward(const float* dy, const float* y, float* dx, i64 outer, i64 n, i64 inner, bool log) {
  if (outer <= 0 || n <= 0 || inner <= 0) return;
  if (inner == 1) {
    launch_rows(outer, n, [&](auto tpr, unsigned blocks) {
      constexpr int TPR = decltype(tpr)::value;
      softmax_rows_backward<TPR><<<blocks, RowShape<TPR>::threads, 0, stream()>>>(dy, y, dx, outer, n, log);
      check_launch("softmax_backward");
    });
    return;
  }
  softmax_columns_backward<<<cuda::blocks_for(outer * inner, COLUMN_THREADS), COLUMN_THREADS, 0, stream()>>>(dy, y, dx, outer, n, inner, log);
  check_launch("softmax_backward");
}

}  // namespace toroid
