// LayerNorm and RMSNorm over rows of C: x [N,C], weight/bias [C], mean/rstd [N].
// Statistics accumulate in double, two-pass over a row that is already in cache,
// so rows like 1000 +- 1 keep their precision. Rows run in parallel; the weight
// and bias gradients are reduced from per-thread partial sums (no atomics, and
// the same result for the same thread count).
#include <omp.h>

#include <cmath>
#include <vector>

#include "backend.h"

namespace toroid {

namespace {
double row_mean(const float* x, i64 C) {
  double s = 0;
  for (i64 c = 0; c < C; c++) s += x[c];
  return C > 0 ? s / static_cast<double>(C) : 0.0;
}

// dweight/dbias partials: one [C] row per thread, summed in thread order.
struct Partials {
  std::vector<double> sums;
  i64 C;
  Partials(int threads, i64 C) : sums(static_cast<std::size_t>(threads) * C, 0.0), C(C) {}
  double* of(int t) { return sums.data() + static_cast<std::size_t>(t) * C; }
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
#pragma omp parallel for schedule(static)
  for (i64 n = 0; n < N; n++) {
    const float* xr = x + n * C;
    float* yr = y + n * C;
    const double mu = row_mean(xr, C);
    double sq = 0;
    for (i64 c = 0; c < C; c++) sq += (xr[c] - mu) * (xr[c] - mu);
    const double r = 1.0 / std::sqrt(sq / static_cast<double>(C) + eps);
    const float muf = static_cast<float>(mu), rf = static_cast<float>(r);
    for (i64 c = 0; c < C; c++) {
      // subtract in double: xr[c] - mu loses nothing that float would keep
      const float xhat = static_cast<float>((xr[c] - mu) * r);
      yr[c] = xhat * (weight ? weight[c] : 1.0f) + (bias ? bias[c] : 0.0f);
    }
    mean[n] = muf;
    rstd[n] = rf;
  }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w. The saved mean is
// float32, so the row mean is recomputed in double (see src/backends/ts/norm.ts).
void layernorm_backward(const float* dy, const float* x, const float* weight, const float* /*mean*/, const float* rstd,
                        float* dx, float* dweight, float* dbias, i64 N, i64 C) {
  const int threads = omp_get_max_threads();
  Partials dw(threads, C), db(threads, C);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    double* dwt = dw.of(t);
    double* dbt = db.of(t);
    std::vector<float> xhat(C);
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; n++) {
      const float* xr = x + n * C;
      const float* dyr = dy + n * C;
      const double mu = row_mean(xr, C), r = rstd[n];
      double g_mean = 0, gx_mean = 0;
      for (i64 c = 0; c < C; c++) {
        xhat[c] = static_cast<float>((xr[c] - mu) * r);
        const double g = static_cast<double>(dyr[c]) * (weight ? weight[c] : 1.0f);
        g_mean += g;
        gx_mean += g * xhat[c];
        dwt[c] += static_cast<double>(dyr[c]) * xhat[c];
        dbt[c] += dyr[c];
      }
      g_mean /= static_cast<double>(C);
      gx_mean /= static_cast<double>(C);
      for (i64 c = 0; c < C; c++) {
        const double g = static_cast<double>(dyr[c]) * (weight ? weight[c] : 1.0f);
        dx[n * C + c] = static_cast<float>(r * (g - g_mean - xhat[c] * gx_mean));
      }
    }
  }
  if (dweight) dw.reduce_into(dweight, threads);
  if (dbias) db.reduce_into(dbias, threads);
}

void rmsnorm_forward(const float* x, const float* weight, float* y, float* rstd, i64 N, i64 C, float eps) {
#pragma omp parallel for schedule(static)
  for (i64 n = 0; n < N; n++) {
    const float* xr = x + n * C;
    double sq = 0;
    for (i64 c = 0; c < C; c++) sq += static_cast<double>(xr[c]) * xr[c];
    const float r = static_cast<float>(1.0 / std::sqrt(sq / static_cast<double>(C) + eps));
    for (i64 c = 0; c < C; c++) y[n * C + c] = xr[c] * r * (weight ? weight[c] : 1.0f);
    rstd[n] = r;
  }
}

// y = x r w, r = (mean(x^2) + eps)^-1/2: dx = r (g - x r^2 mean(g x)), g = dy w.
void rmsnorm_backward(const float* dy, const float* x, const float* weight, const float* rstd,
                      float* dx, float* dweight, i64 N, i64 C) {
  const int threads = omp_get_max_threads();
  Partials dw(threads, C);
#pragma omp parallel num_threads(threads)
  {
    double* dwt = dw.of(omp_get_thread_num());
#pragma omp for schedule(static)
    for (i64 n = 0; n < N; n++) {
      const float* xr = x + n * C;
      const float* dyr = dy + n * C;
      const double r = rstd[n];
      double gx = 0;
      for (i64 c = 0; c < C; c++) {
        gx += static_cast<double>(dyr[c]) * (weight ? weight[c] : 1.0f) * xr[c];
        dwt[c] += static_cast<double>(dyr[c]) * xr[c] * r;
      }
      gx /= static_cast<double>(C);
      for (i64 c = 0; c < C; c++) {
        const double g = static_cast<double>(dyr[c]) * (weight ? weight[c] : 1.0f);
        dx[n * C + c] = static_cast<float>(r * (g - xr[c] * r * r * gx));
      }
    }
  }
  if (dweight) dw.reduce_into(dweight, threads);
}

}  // namespace toroid
