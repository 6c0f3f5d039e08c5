// AdamW over every parameter in one call, in place (decoupled weight decay):
//   p -= lr * wd * p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// Multi-tensor: the pointer tables of up to TENSORS_PER_LAUNCH tensors ride in the
// kernel arguments (no upload), blockIdx.y picks the tensor and blockIdx.x strides
// over it, so a model's ~100-200 tensors take a handful of launches.
#include <cmath>

#include "cuda/common.cuh"

namespace toroid {

using cuda::check_launch;
using cuda::stream;

namespace {
constexpr int THREADS = 256;
constexpr int TENSORS_PER_LAUNCH = 64;  // 64 * 40 bytes of tables: well inside the 4 KiB argument limit
constexpr i64 MAX_BLOCKS_PER_LAUNCH = 8192;

struct TensorTable {
  float* p[TENSORS_PER_LAUNCH];
  const float* g[TENSORS_PER_LAUNCH];
  float* m[TENSORS_PER_LAUNCH];
  float* v[TENSORS_PER_LAUNCH];
  i64 size[TENSORS_PER_LAUNCH];
};

struct AdamwScalars {
  float beta1, beta2, eps, step_size, inv_sqrt_bc2, decay;
};

__global__ void adamw_kernel(TensorTable t, AdamwScalars s) {
  const int k = blockIdx.y;
  float* __restrict__ p = t.p[k];
  const float* __restrict__ g = t.g[k];
  float* __restrict__ m = t.m[k];
  float* __restrict__ v = t.v[k];
  const i64 n = t.size[k];
  TOROID_GRID_LOOP(e, n) {
    const float ge = g[e];
    const float me = s.beta1 * m[e] + (1.0f - s.beta1) * ge;
    const float ve = s.beta2 * v[e] + (1.0f - s.beta2) * ge * ge;
    m[e] = me;
    v[e] = ve;
    p[e] = p[e] * s.decay - s.step_size * me / (sqrtf(ve) * s.inv_sqrt_bc2 + s.eps);
  }
}
}  // namespace

void adamw_step(float* const* params, const float* const* grads, float* const* m, float* const* v, const i64* sizes, i64 n,
                float lr, float beta1, float beta2, float eps, float weight_decay, i64 step) {
  // the same host-side constants as native/cpu/adamw.cc
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  AdamwScalars s{};
  s.beta1 = beta1;
  s.beta2 = beta2;
  s.eps = eps;
  s.step_size = static_cast<float>(lr / bc1);
  s.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  s.decay = 1.0f - lr * weight_decay;

  TensorTable table{};
  int count = 0;
  i64 largest = 0;
  auto flush = [&]() {
    if (count == 0) return;
    // blocks per tensor from the largest one; smaller tensors' extra blocks exit at once
    i64 per_tensor = MAX_BLOCKS_PER_LAUNCH / count;
    const i64 needed = (largest + THREADS - 1) / THREADS;
    if (per_tensor > needed) per_tensor = needed;
    if (per_tensor < 1) per_tensor = 1;
    const dim3 grid(static_cast<unsigned>(per_tensor), static_cast<unsigned>(count));
    adamw_kernel<<<grid, THREADS, 0, stream()>>>(table, s);
    check_launch("adamw_step");
    table = TensorTable{};
    count = 0;
    largest = 0;
  };
  for (i64 i = 0; i < n; i++) {
    if (sizes[i] <= 0) continue;
    table.p[count] = params[i];
    table.g[count] = grads[i];
    table.m[count] = m[i];
    table.v[count] = v[i];
    table.size[count] = sizes[i];
    if (sizes[i] > largest) largest = sizes[i];
    if (++count == TENSORS_PER_LAUNCH) flush();
  }
  flush();
}

}  // namespace toroid
