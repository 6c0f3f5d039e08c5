// AdamW over every parameter in one call, in place (decoupled weight decay):
//   p -= lr * wd * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// Parameters are cut into fixed chunks that both threads share out.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend.h"

namespace toroid {

void adamw_step(float* const* params, const float* const* grads, float* const* m, float* const* v, const i64* sizes, i64 n,
                float lr, float beta1, float beta2, float eps, float weight_decay, i64 step) {
  constexpr i64 CHUNK = 16384;
  struct Piece { i64 tensor, begin, end; };
  std::vector<Piece> pieces;
  for (i64 t = 0; t < n; t++)
    for (i64 b = 0; b < sizes[t]; b += CHUNK) pieces.push_back({t, b, std::min(sizes[t], b + CHUNK)});
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  const float step_size = static_cast<float>(lr / bc1), inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float decay = 1.0f - lr * weight_decay;
  const i64 count = static_cast<i64>(pieces.size());
#pragma omp parallel for schedule(static) if (count > 1)
  for (i64 k = 0; k < count; k++) {
    const Piece pc = pieces[k];
    float* p = params[pc.tensor];
    const float* g = grads[pc.tensor];
    float* mt = m[pc.tensor];
    float* vt = v[pc.tensor];
#pragma omp simd
    for (i64 e = pc.begin; e < pc.end; e++) {
      mt[e] = beta1 * mt[e] + (1.0f - beta1) * g[e];
      vt[e] = beta2 * vt[e] + (1.0f - beta2) * g[e] * g[e];
      p[e] = p[e] * decay - step_size * mt[e] / (std::sqrt(vt[e]) * inv_sqrt_bc2 + eps);
    }
  }
}

}  // namespace toroid
