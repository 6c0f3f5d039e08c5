// LayerNorm and RMSNorm over rows of C: x [N,C], weight/bias [C], mean/rstd [N].
// One warp per row when C <= 1024, else one 512-thread block per row; the row is
// re-read from L1/L2 for each pass instead of being held in registers, so any C works.
// Statistics follow native/cpu/norm.cc: LayerNorm is two-pass and shifted by the
// row's first element x0, rstd is computed in double.
// dweight/dbias never use float atomics: a column kernel writes per-row-group
// partial sums [R,C] and a second kernel adds them in a fixed order (in double).
#include <type_traits>

#include "cuda/rows.cuh"

namespace toroid {

// check, stream, the row reductions, launch_rows and Scratch: cuda/rows.cuh
using namespace cuda;

namespace {

// x, y: [N,C]; mean, rstd: [N]
template <int TPR>
__global__ void layernorm_forward_kernel(const float* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias,
                                         float* __restrict__ y, float* __restrict__ mean, float* __restrict__ rstd, i64 N, i64 C, float eps) {
  __shared__ float smem[32];
  const int t = threadIdx.x % TPR;
  TOROID_ROW_LOOP(n, N, TPR) {
    const float* xr = x + n * C;
    float* yr = y + n * C;
    // shift by x0 so rows like 1000 +- 1 keep their precision in float
    const float x0 = xr[0];
    float s = 0;
    for (i64 c = t; c < C; c += TPR) s += xr[c] - x0;
    const float d = row_sum<TPR>(s, smem) / static_cast<float>(C);
    float sq = 0;
    for (i64 c = t; c < C; c += TPR) {
      const float u = (xr[c] - x0) - d;
      sq += u * u;
    }
    sq = row_sum<TPR>(sq, smem);
    const float r = static_cast<float>(1.0 / sqrt(static_cast<double>(sq) / static_cast<double>(C) + eps));
    for (i64 c = t; c < C; c += TPR) {
      yr[c] = ((xr[c] - x0) - d) * r * (weight ? weight[c] : 1.0f) + (bias ? bias[c] : 0.0f);
    }
    if (t == 0) {
      mean[n] = static_cast<float>(static_cast<double>(x0) + d);
      rstd[n] = r;
    }
  }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w. xhat is rebuilt
// with the forward's shifted mean (x0, d); d goes to shift_d [N] for the column pass.
template <int TPR>
__global__ void layernorm_backward_kernel(const float* __restrict__ dy, const float* __restrict__ x, const float* __restrict__ weight,
                                          const float* __restrict__ rstd, float* __restrict__ dx, float* __restrict__ shift_d, i64 N, i64 C) {
  __shared__ float smem[32];
  const int t = threadIdx.x % TPR;
  TOROID_ROW_LOOP(n, N, TPR) {
    const float* xr = x + n * C;
    const float* dyr = dy + n * C;
    float* dxr = dx + n * C;
    const float x0 = xr[0];
    float s = 0;
    for (i64 c = t; c < C; c += TPR) s += xr[c] - x0;
    const float d = row_sum<TPR>(s, smem) / static_cast<float>(C), r = rstd[n];
    float g_sum = 0, gx_sum = 0;
    for (i64 c = t; c < C; c += TPR) {
      const float xhat = ((xr[c] - x0) - d) * r, g = __fmul_rn(dyr[c], weight ? weight[c] : 1.0f);  // rounded: g - g_mean must cancel exactly when C = 1
      g_sum += g;
      gx_sum += g * xhat;
    }
    const float g_mean = row_sum<TPR>(g_sum, smem) / static_cast<float>(C);
    const float gx_mean = row_sum<TPR>(gx_sum, smem) / static_cast<float>(C);
    for (i64 c = t; c < C; c += TPR) {
      const float xhat = ((xr[c] - x0) - d) * r, g = __fmul_rn(dyr[c], weight ? weight[c] : 1.0f);  // rounded: g - g_mean must cancel exactly when C = 1
      dxr[c] = r * (g - g_mean - xhat * gx_mean);
    }
    if (shift_d && t == 0) shift_d[n] = d;
  }
}

// x, y: [N,C]; rstd: [N]
template <int TPR>
__global__ void rmsnorm_forward_kernel(const float* __restrict__ x, const float* __restrict__ weight, float* __restrict__ y,
                                       float* __restrict__ rstd, i64 N, i64 C, float eps) {
  __shared__ float smem[32];
  const int t = threadIdx.x % TPR;
  TOROID_ROW_LOOP(n, N, TPR) {
    const float* xr = x + n * C;
    float* yr = y + n * C;
    float sq = 0;
    for (i64 c = t; c < C; c += TPR) sq += xr[c] * xr[c];
    sq = row_sum<TPR>(sq, smem);
    const float r = static_cast<float>(1.0 / sqrt(static_cast<double>(sq) / static_cast<double>(C) + eps));
    for (i64 c = t; c < C; c += TPR) yr[c] = xr[c] * r * (weight ? weight[c] : 1.0f);
    if (t == 0) rstd[n] = r;
  }
}

// y = x r w, r = (mean(x^2) + eps)^-1/2: dx = r (g - x r^2 mean(g x)), g = dy w.
template <int TPR>
__global__ void rmsnorm_backward_kernel(const float* __restrict__ dy, const float* __restrict__ x, const float* __restrict__ weight,
                                        const float* __restrict__ rstd, float* __restrict__ dx, i64 N, i64 C) {
  __shared__ float smem[32];
  const int t = threadIdx.x % TPR;
  TOROID_ROW_LOOP(n, N, TPR) {
    const float* xr = x + n * C;
    const float* dyr = dy + n * C;
    float* dxr = dx + n * C;
    const float r = rstd[n];
    float gx = 0;
    for (i64 c = t; c < C; c += TPR) gx += dyr[c] * (weight ? weight[c] : 1.0f) * xr[c];
    gx = row_sum<TPR>(gx, smem) / static_cast<float>(C);
    const float k = r * r * gx;
    for (i64 c = t; c < C; c += TPR) dxr[c] = r * (__fmul_rn(dyr[c], weight ? weight[c] : 1.0f) - __fmul_rn(xr[c], k));
  }
}

// ---- dweight/dbias: sum over rows of dy * xhat and dy.
// Block = 32 columns x 8 row lanes; blockIdx.y picks one of R row groups, whose
// rows are n = group * 8 + lane + k * 8R. partial_w/partial_b: [R,C] (either may be null).
// LAYER: xhat = ((x - x0) - d) r (LayerNorm); else xhat = x r (RMSNorm, no bias).
constexpr int COL_TILE = 32, ROW_LANES = 8;

template <bool LAYER>
__global__ void norm_param_partials(const float* __restrict__ dy, const float* __restrict__ x, const float* __restrict__ shift_d,
                                    const float* __restrict__ rstd, float* __restrict__ partial_w, float* __restrict__ partial_b,
                                    i64 N, i64 C) {
  __shared__ float sw[ROW_LANES][COL_TILE + 1], sb[ROW_LANES][COL_TILE + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const i64 row_step = static_cast<i64>(gridDim.y) * ROW_LANES;
  for (i64 tile = blockIdx.x; tile * COL_TILE < C; tile += gridDim.x) {
    const i64 c = tile * COL_TILE + tx;
    float aw = 0, ab = 0;
    if (c < C) {
      for (i64 n = static_cast<i64>(blockIdx.y) * ROW_LANES + ty; n < N; n += row_step) {
        const float g = dy[n * C + c], xv = x[n * C + c], r = rstd[n];
        if constexpr (LAYER) {
          aw += g * (((xv - x[n * C]) - shift_d[n]) * r);
          ab += g;
        } else {
          aw += g * xv * r;
        }
      }
    }
    sw[ty][tx] = aw;
    sb[ty][tx] = ab;
    __syncthreads();
    if (ty == 0 && c < C) {
      float w = 0, b = 0;
#pragma unroll
      for (int k = 0; k < ROW_LANES; k++) {
        w += sw[k][tx];
        b += sb[k][tx];
      }
      if (partial_w) partial_w[blockIdx.y * C + c] = w;
      if (partial_b) partial_b[blockIdx.y * C + c] = b;
    }
    __syncthreads();  // sw/sb are rewritten by the next tile
  }
}

// out[c] = sum over r of partial[r, c], in row order and double
__global__ void norm_param_finish(const float* __restrict__ partial_w, const float* __restrict__ partial_b, float* __restrict__ dweight,
                                  float* __restrict__ dbias, i64 R, i64 C) {
  TOROID_GRID_LOOP(c, C) {
    double w = 0, b = 0;
    for (i64 r = 0; r < R; r++) {
      if (dweight) w += partial_w[r * C + c];
      if (dbias) b += partial_b[r * C + c];
    }
    if (dweight) dweight[c] = static_cast<float>(w);
    if (dbias) dbias[c] = static_cast<float>(b);
  }
}

// Row groups R for the column pass: about 1024 blocks in all, at least 32 rows per group.
i64 row_groups(i64 N, i64 C) {
  const i64 tiles = (C + COL_TILE - 1) / COL_TILE;
  i64 R = 1024 / tiles;
  const i64 most = (N + 31) / 32;
  if (R > most) R = most;
  if (R > 65535) R = 65535;
  return R < 1 ? 1 : R;
}

// Launches the column pass and its finish into dweight/dbias (either may be null).
template <bool LAYER>
void param_grads(const float* dy, const float* x, const float* shift_d, const float* rstd, float* dweight, float* dbias,
                 float* partials, i64 R, i64 N, i64 C) {
  float* pw = dweight ? partials : nullptr;
  float* pb = dbias ? partials + R * C : nullptr;
  const dim3 block(COL_TILE, ROW_LANES);
  const dim3 grid(cuda::blocks_for(C, COL_TILE, 65535), static_cast<unsigned>(R));
  norm_param_partials<LAYER><<<grid, block, 0, stream()>>>(dy, x, shift_d, rstd, pw, pb, N, C);
  check_launch("norm_param_partials");
  norm_param_finish<<<cuda::blocks_for(C, 256), 256, 0, stream()>>>(pw, pb, dweight, dbias, R, C);
  check_launch("norm_param_finish");
}

}  // namespace

void layernorm_forward(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                       i64 N, i64 C, float eps) {
  if (N <= 0 || C <= 0) return;
  launch_rows(N, C, [&](auto tpr, unsigned blocks) {
    constexpr int TPR = decltype(tpr)::value;
    layernorm_forward_kernel<TPR><<<blocks, RowShape<TPR>::threads, 0, stream()>>>(x, weight, bias, y, mean, rstd, N, C, eps);
    check_launch("layernorm_forward");
  });
}

void layernorm_backward(const float* dy, const float* x, const float* weight, const float* /*mean*/, const float* rstd,
                        float* dx, float* dweight, float* dbias, i64 N, i64 C) {
  if (C <= 0) return;
  const bool params = dweight || dbias;
  if (N <= 0) {
    // sums over no rows
    if (dweight) check(cudaMemsetAsync(dweight, 0, sizeof(float) * C, stream()), "layernorm_backward");
    if (dbias) check(cudaMemsetAsync(dbias, 0, sizeof(float) * C, stream()), "layernorm_backward");
    return;
  }
  const i64 R = params ? row_groups(N, C) : 0;
  // [N] shift d, then [R,C] weight and [R,C] bias partials
  Scratch scratch(params ? sizeof(float) * (N + 2 * R * C) : 0, "layernorm_backward scratch");
  float* shift_d = params ? static_cast<float*>(scratch.ptr) : nullptr;
  launch_rows(N, C, [&](auto tpr, unsigned blocks) {
    constexpr int TPR = decltype(tpr)::value;
    layernorm_backward_kernel<TPR><<<blocks, RowShape<TPR>::threads, 0, stream()>>>(dy, x, weight, rstd, dx, shift_d, N, C);
    check_launch("layernorm_backward");
  });
  if (params) param_grads<true>(dy, x, shift_d, rstd, dweight, dbias, shift_d + N, R, N, C);
}

void rmsnorm_forward(const float* x, const float* weight, float* y, float* rstd, i64 N, i64 C, float eps) {
  if (N <= 0 || C <= 0) return;
  launch_rows(N, C, [&](auto tpr, unsigned blocks) {
    constexpr int TPR = decltype(tpr)::value;
    rmsnorm_forward_kernel<TPR><<<blocks, RowShape<TPR>::threads, 0, stream()>>>(x, weight, y, rstd, N, C, eps);
    check_launch("rmsnorm_forward");
  });
}

void rmsnorm_backward(const float* dy, const float* x, const float* weight, const float* rstd,
                      float* dx, float* dweight, i64 N, i64 C) {
  if (C <= 0) return;
  if (N <= 0) {
    if (dweight) check(cudaMemsetAsync(dweight, 0, sizeof(float) * C, stream()), "rmsnorm_backward");
    return;
  }
  launch_rows(N, C, [&](auto tpr, unsigned blocks) {
    constexpr int TPR = decltype(tpr)::value;
    rmsnorm_backward_kernel<TPR><<<blocks, RowShape<TPR>::threads, 0, stream()>>>(dy, x, weight, rstd, dx, N, C);
    check_launch("rmsnorm_backward");
  });
  if (!dweight) return;
  const i64 R = row_groups(N, C);
  Scratch scratch(sizeof(float) * R * C, "rmsnorm_backward scratch");
  param_grads<false>(dy, x, nullptr, rstd, dweight, nullptr, static_cast<float*>(scratch.ptr), R, N, C);
}

}  // namespace toroid
