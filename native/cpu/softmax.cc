// Softmax and log-softmax along one axis: x viewed as [outer, n, inner].
// The common case (last axis, inner == 1) runs 8 lanes at a time.
// Backward from the forward's output y:
//   softmax:     dx = y * (dy - sum(dy * y))
//   log-softmax: dx = dy - exp(y) * sum(dy)
#include <algorithm>
#include <cmath>
#include <limits>

#include "backend.h"
#include "cpu/simd.h"

namespace toroid {

namespace {
// one row of n contiguous values
void softmax_row(const float* x, float* y, i64 n, bool log) {
  __m256 vmax = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  i64 i = 0;
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
  float m = simd::hmax(vmax);
  for (; i < n; i++) m = std::max(m, x[i]);
  if (m == -std::numeric_limits<float>::infinity()) m = 0;  // all -inf: exp gives 0, sum 0 -> NaN like PyTorch
  const __m256 vm = _mm256_set1_ps(m);
  __m256 acc = _mm256_setzero_ps();
  i64 j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = simd::exp(_mm256_sub_ps(_mm256_loadu_ps(x + j), vm));
    if (!log) _mm256_storeu_ps(y + j, e);
    acc = _mm256_add_ps(acc, e);
  }
  float sum = simd::hsum(acc);
  for (; j < n; j++) {
    const float e = std::exp(x[j] - m);
    if (!log) y[j] = e;
    sum += e;
  }
  if (log) {
    // (x - m) - log(sum), not x - (m + log(sum)): at |x| ~ 1e38 the sum m + log(sum) rounds to m
    const float logsum = std::log(sum);
    for (i64 k = 0; k < n; k++) y[k] = (x[k] - m) - logsum;
  } else {
    const float inv = 1.0f / sum;
    for (i64 k = 0; k < n; k++) y[k] *= inv;
  }
}
}  // namespace

void softmax_forward(const float* x, float* y, i64 outer, i64 n, i64 inner, bool log) {
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * n > 16384)
    for (i64 o = 0; o < outer; o++) softmax_row(x + o * n, y + o * n, n, log);
    return;
  }
#pragma omp parallel for schedule(static) if (outer * n * inner > 16384)
  for (i64 oi = 0; oi < outer * inner; oi++) {
    const i64 o = oi / inner, i = oi % inner;
    const float* xs = x + o * n * inner + i;
    float* ys = y + o * n * inner + i;
    float m = -std::numeric_limits<float>::infinity();
    for (i64 j = 0; j < n; j++) m = std::max(m, xs[j * inner]);
    if (m == -std::numeric_limits<float>::infinity()) m = 0;
    double sum = 0;
    for (i64 j = 0; j < n; j++) sum += std::exp(xs[j * inner] - m);
    if (log) {
      const float logsum = static_cast<float>(std::log(sum));
      for (i64 j = 0; j < n; j++) ys[j * inner] = (xs[j * inner] - m) - logsum;
    } else {
      const float inv = static_cast<float>(1.0 / sum);
      for (i64 j = 0; j < n; j++) ys[j * inner] = std::exp(xs[j * inner] - m) * inv;
    }
  }
}

void softmax_backward(const float* dy, const float* y, float* dx, i64 outer, i64 n, i64 inner, bool log) {
  if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * n > 16384)
    for (i64 o = 0; o < outer; o++) {
      const float* g = dy + o * n;
      const float* yr = y + o * n;
      float* d = dx + o * n;
      float s = 0;
      if (log) {
#pragma omp simd reduction(+ : s)
        for (i64 j = 0; j < n; j++) s += g[j];
        for (i64 j = 0; j < n; j += 8) {
          const int w = n - j >= 8 ? 8 : static_cast<int>(n - j);
          const __m256i mask = simd::tail_mask(w);
          const __m256 e = simd::exp(_mm256_maskload_ps(yr + j, mask));
          _mm256_maskstore_ps(d + j, mask, _mm256_fnmadd_ps(e, _mm256_set1_ps(s), _mm256_maskload_ps(g + j, mask)));
        }
      } else {
#pragma omp simd reduction(+ : s)
        for (i64 j = 0; j < n; j++) s += g[j] * yr[j];
#pragma omp simd
        for (i64 j = 0; j < n; j++) d[j] = yr[j] * (g[j] - s);
      }
    }
    return;
  }
#pragma omp parallel for schedule(static) if (outer * n * inner > 16384)
  for (i64 oi = 0; oi < outer * inner; oi++) {
    const i64 o = oi / inner, i = oi % inner, base = o * n * inner + i;
    double s = 0;
    if (log) {
      for (i64 j = 0; j < n; j++) s += dy[base + j * inner];
      const float sf = static_cast<float>(s);
      for (i64 j = 0; j < n; j++) dx[base + j * inner] = dy[base + j * inner] - std::exp(y[base + j * inner]) * sf;
    } else {
      for (i64 j = 0; j < n; j++) s += static_cast<double>(dy[base + j * inner]) * y[base + j * inner];
      const float sf = static_cast<float>(s);
      for (i64 j = 0; j < n; j++) dx[base + j * inner] = y[base + j * inner] * (dy[base + j * inner] - sf);
    }
  }
}

}  // namespace toroid
