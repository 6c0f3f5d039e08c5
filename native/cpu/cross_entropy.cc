// Softmax cross-entropy with label smoothing and ignore_index, fused: the forward
// keeps only lse [N]; the backward rebuilds softmax from it in the same pass that
// writes the gradient, so no [N,C] probability tensor ever exists.
// logits [N,C], target [N] int32, loss [] or [N], lse [N]
//   loss_n = (1 - eps) (lse_n - x_{n,t}) + eps (lse_n - mean_c x_{n,c}); 0 for ignored rows
//   dloss_n/dx_c = softmax_c - (1 - eps) [c == t] - eps / C
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend.h"
#include "cpu/simd.h"

namespace toroid {

i64 cross_entropy_forward(const float* logits, const std::int32_t* target, float* loss, float* lse,
                          i64 N, i64 C, i64 ignore_index, float smoothing, Reduction reduction) {
  for (i64 n = 0; n < N; n++) {
    if (target[n] != ignore_index && (target[n] < 0 || target[n] >= C)) return n;
  }
  std::vector<double> per_row(N, 0.0);
#pragma omp parallel for schedule(static) if (N * C > 16384)
  for (i64 n = 0; n < N; n++) {
    const float* x = logits + n * C;
    __m256 vmax = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    i64 c = 0;
    for (; c + 8 <= C; c += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + c));
    float m = simd::hmax(vmax);
    for (; c < C; c++) m = std::max(m, x[c]);
    const __m256 vm = _mm256_set1_ps(m);
    __m256 se = _mm256_setzero_ps(), sx = _mm256_setzero_ps();
    for (c = 0; c + 8 <= C; c += 8) {
      const __m256 v = _mm256_loadu_ps(x + c);
      se = _mm256_add_ps(se, simd::exp(_mm256_sub_ps(v, vm)));
      sx = _mm256_add_ps(sx, v);
    }
    double sum_exp = simd::hsum(se), sum_x = simd::hsum(sx);
    for (; c < C; c++) {
      sum_exp += std::exp(x[c] - m);
      sum_x += x[c];
    }
    const double row_lse = m + std::log(sum_exp);
    lse[n] = static_cast<float>(row_lse);
    const i64 t = target[n];
    if (t == ignore_index) continue;
    per_row[n] = (1.0 - smoothing) * (row_lse - x[t]) + smoothing * (row_lse - sum_x / static_cast<double>(C));
  }
  if (reduction == Reduction::none) {
    for (i64 n = 0; n < N; n++) loss[n] = static_cast<float>(per_row[n]);
    return -1;
  }
  double total = 0;
  i64 count = 0;
  for (i64 n = 0; n < N; n++) {
    if (target[n] == ignore_index) continue;
    total += per_row[n];
    count++;
  }
  // PyTorch divides by the rows that are not ignored (0/0 = NaN when none are)
  loss[0] = static_cast<float>(reduction == Reduction::mean ? total / static_cast<double>(count) : total);
  return -1;
}

void cross_entropy_backward(const float* dloss, const float* logits, const std::int32_t* target, const float* lse,
                            float* dlogits, i64 N, i64 C, i64 ignore_index, float smoothing, Reduction reduction) {
  i64 count = 0;
  for (i64 n = 0; n < N; n++) count += target[n] != ignore_index;
  const float off_target = smoothing / static_cast<float>(C);
#pragma omp parallel for schedule(static) if (N * C > 16384)
  for (i64 n = 0; n < N; n++) {
    float* dx = dlogits + n * C;
    const i64 t = target[n];
    if (t == ignore_index) {
      std::fill(dx, dx + C, 0.0f);
      continue;
    }
    const float g = reduction == Reduction::none ? dloss[n] : reduction == Reduction::mean ? dloss[0] / static_cast<float>(count) : dloss[0];
    const float* x = logits + n * C;
    const __m256 vl = _mm256_set1_ps(lse[n]), vg = _mm256_set1_ps(g), voff = _mm256_set1_ps(off_target);
    i64 c = 0;
    for (; c + 8 <= C; c += 8) {
      const __m256 p = simd::exp(_mm256_sub_ps(_mm256_loadu_ps(x + c), vl));
      _mm256_storeu_ps(dx + c, _mm256_mul_ps(vg, _mm256_sub_ps(p, voff)));
    }
    for (; c < C; c++) dx[c] = g * (std::exp(x[c] - lse[n]) - off_target);
    dx[t] -= g * (1.0f - smoothing);
  }
}

}  // namespace toroid
