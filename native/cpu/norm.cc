// LayerNorm and RMSNorm over rows of C: x [N,C], weight/bias [C], mean/rstd [N].
// Rows run in parallel, 8 float lanes at a time. LayerNorm's statistics are
// two-pass and shifted by the row's first element (x - x0 is exact for rows
// like 1000 +- 1 and small enough to sum in float), so precision holds without
// double arithmetic. Weight and bias gradients reduce per-thread partial sums in
// thread order: no atomics, and the same result for the same thread count.
#include <omp.h>

#include <cmath>
#include <vector>

#include "backend.h"

namespace toroid {

namespace {
// Row statistics: shift x0 (the first element), d = mean(x - x0), rstd.
struct RowStats { float x0, d, r; };

RowStats layernorm_stats(const float* x, i64 C, float eps) {
  const float x0 = x[0];
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (i64 c = 0; c < C; c++) s += x[c] - x0;
  const float d = s / static_cast<float>(C);
  float sq = 0;
#pragma omp simd reduction(+ : sq)
  for (i64 c = 0; c < C; c++) {
    const float t = (x[c] - x0) - d;
    sq += t * t;
  }
  return {x0, d, static_cast<float>(1.0 / std::sqrt(static_cast<double>(sq) / static_cast<double>(C) + eps))};
}

// dweight/dbias partials: one [C] row per thread, summed in thread order.
struct Partials {
  std::vector<float> sums;
  i64 C;
  Partials(int threads, i64 C) : sums(static_cast<std::size_t>(threads) * C, 0.0f), C(C) {}
  float* of(int t) { return sums.data() + static_cast<std::size_t>(t) * C; }
  void reduce_into(float* out, int threads) {
    for (i64 c = 0; c < C; c++) {
      double s = 0;
      for (int t = 0; t < threads; t++) s += sums[static_cast<std::size_t>(t) * C + c];
      out[c] = static_cast<float>(s);
    }
  }
};
}  // namespace

void layernorm_forward(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                       i64 N, i64 C, float eps) {
#pragma omp parallel for schedule(static) if (N * C > 16384)
  for (i64 n = 0; n < N; n++) {
    const float* xr = x + n * C;
    float* yr = y + n * C;
    const RowStats st = layernorm_stats(xr, C, eps);
    if (weight && bias) {
#pragma omp simd
      for (i64 c = 0; c < C; c++) yr[c] = ((xr[c] - st.x0) - st.d) * st.r * weight[c] + bias[c];
    } else {
#pragma omp simd
      for (i64 c = 0; c < C; c++) yr[c] = ((xr[c] - st.x0) - st.d) * st.r * (weight ? weight[c] : 1.0f) + (bias ? bias[c] : 0.0f);
    }
    mean[n] = static_cast<float>(static_cast<double>(st.x0) + st.d);
    rstd[n] = st.r;
  }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w. xhat is rebuilt
// from x with the same shifted mean as the forward (the saved float32 mean is
// too coarse at 1000 +- 1; see src/backends/ts/norm.ts).
void layernorm_backward(const float* dy, const float* x, const float* weight, const float* /*mean*/, const float* rstd,
                        float* dx, float* dweight, float* dbias, i64 N, i64 C) {
  const int threads = omp_get_max_threads();
  Partials dw(threads, C), db(threads, C);
#pragma omp parallel num_threads(threads) if (N * C > 16384)
  {
    const int t = omp_get_thread_num();
    float* dwt = dw.of(t);
    float* dbt = db.of(t);
    std::vector<float> xhat(C), g(C);
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; n++) {
      const float* xr = x + n * C;
      const float* dyr = dy + n * C;
      const float x0 = xr[0];
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (i64 c = 0; c < C; c++) s += xr[c] - x0;
      const float d = s / static_cast<float>(C), r = rstd[n];
      float g_sum = 0, gx_sum = 0;
#pragma omp simd reduction(+ : g_sum, gx_sum)
      for (i64 c = 0; c < C; c++) {
        xhat[c] = ((xr[c] - x0) - d) * r;
        g[c] = dyr[c] * (weight ? weight[c] : 1.0f);
        g_sum += g[c];
        gx_sum += g[c] * xhat[c];
        dwt[c] += dyr[c] * xhat[c];
        dbt[c] += dyr[c];
      }
      const float g_mean = g_sum / static_cast<float>(C), gx_mean = gx_sum / static_cast<float>(C);
#pragma omp simd
      for (i64 c = 0; c < C; c++) dx[n * C + c] = r * (g[c] - g_mean - xhat[c] * gx_mean);
    }
  }
  if (dweight) dw.reduce_into(dweight, threads);
  if (dbias) db.reduce_into(dbias, threads);
}

void rmsnorm_forward(const float* x, const float* weight, float* y, float* rstd, i64 N, i64 C, float eps) {
#pragma omp parallel for schedule(static) if (N * C > 16384)
  for (i64 n = 0; n < N; n++) {
    const float* xr = x + n * C;
    float sq = 0;
#pragma omp simd reduction(+ : sq)
    for (i64 c = 0; c < C; c++) sq += xr[c] * xr[c];
    const float r = static_cast<float>(1.0 / std::sqrt(static_cast<double>(sq) / static_cast<double>(C) + eps));
#pragma omp simd
    for (i64 c = 0; c < C; c++) y[n * C + c] = xr[c] * r * (weight ? weight[c] : 1.0f);
    rstd[n] = r;
  }
}

// y = x r w, r = (mean(x^2) + eps)^-1/2: dx = r (g - x r^2 mean(g x)), g = dy w.
void rmsnorm_backward(const float* dy, const float* x, const float* weight, const float* rstd,
                      float* dx, float* dweight, i64 N, i64 C) {
  const int threads = omp_get_max_threads();
  Partials dw(threads, C);
#pragma omp parallel num_threads(threads) if (N * C > 16384)
  {
    float* dwt = dw.of(omp_get_thread_num());
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; n++) {
      const float* xr = x + n * C;
      const float* dyr = dy + n * C;
      const float r = rstd[n];
      float gx = 0;
#pragma omp simd reduction(+ : gx)
      for (i64 c = 0; c < C; c++) {
        gx += dyr[c] * (weight ? weight[c] : 1.0f) * xr[c];
        dwt[c] += dyr[c] * xr[c] * r;
      }
      gx /= static_cast<float>(C);
      const float k = r * r * gx;
#pragma omp simd
      for (i64 c = 0; c < C; c++) dx[n * C + c] = r * (dyr[c] * (weight ? weight[c] : 1.0f) - xr[c] * k);
    }
  }
  if (dweight) dw.reduce_into(dweight, threads);
}

}  // namespace toroid
