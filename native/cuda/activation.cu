// ReLU, GELU (erf and tanh), SiLU, tanh and SwiGLU, forward and backward:
// elementwise grid-stride kernels, one template instance per activation.
// The formulas and derivatives are those of native/cpu/activation.cc and
// src/backends/ts/activation.ts, with CUDA's accurate expf/erff/tanhf.
// x, y, dy, dx: [n] (swiglu: x [N,2F], y [N,F], the first half is the gate).
#include <cstdint>

#include "cuda/common.cuh"

namespace toroid {

using cuda::check_launch;
using cuda::stream;

namespace {
constexpr float SQRT_HALF = 0.70710678118654752f, INV_SQRT_2PI = 0.3989422804014327f;
constexpr float SQRT_2_OVER_PI = 0.7978845608028654f, GELU_CUBIC = 0.044715f;
constexpr int THREADS = 256;

__device__ __forceinline__ float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

template <Act KIND>
__device__ __forceinline__ float act_forward(float x) {
  if constexpr (KIND == Act::relu) return x > 0.0f ? x : 0.0f;
  else if constexpr (KIND == Act::gelu) return 0.5f * x * (1.0f + erff(x * SQRT_HALF));
  else if constexpr (KIND == Act::gelu_tanh) return 0.5f * x * (1.0f + tanhf(SQRT_2_OVER_PI * (GELU_CUBIC * x * (x * x) + x)));
  else if constexpr (KIND == Act::silu) return x * sigmoid(x);
  else return tanhf(x);
}

// d act / dx
template <Act KIND>
__device__ __forceinline__ float act_derivative(float x) {
  if constexpr (KIND == Act::relu) {
    return x > 0.0f ? 1.0f : 0.0f;  // PyTorch's convention: 0 at exactly 0
  } else if constexpr (KIND == Act::gelu) {
    const float pdf = INV_SQRT_2PI * expf(-0.5f * x * x);
    return 0.5f * (1.0f + erff(x * SQRT_HALF)) + x * pdf;
  } else if constexpr (KIND == Act::gelu_tanh) {
    const float x2 = x * x;
    const float t = tanhf(SQRT_2_OVER_PI * (GELU_CUBIC * x * x2 + x));
    const float dinner = SQRT_2_OVER_PI * (3.0f * GELU_CUBIC * x2 + 1.0f);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * dinner;
  } else if constexpr (KIND == Act::silu) {
    const float s = sigmoid(x);
    return s * (1.0f + x * (1.0f - s));
  } else {
    const float t = tanhf(x);
    return 1.0f - t * t;
  }
}

template <Act KIND>
__global__ void activation_forward_kernel(const float* __restrict__ x, float* __restrict__ y, i64 n) {
  TOROID_GRID_LOOP(e, n) y[e] = act_forward<KIND>(x[e]);
}

template <Act KIND>
__global__ void activation_backward_kernel(const float* __restrict__ dy, const float* __restrict__ x, float* __restrict__ dx, i64 n) {
  TOROID_GRID_LOOP(e, n) dx[e] = dy[e] * act_derivative<KIND>(x[e]);
}

template <Act KIND>
void launch_activation(const float* dy, const float* x, float* out, i64 n, bool backward) {
  const unsigned blocks = cuda::blocks_for(n, THREADS);
  if (backward) {
    activation_backward_kernel<KIND><<<blocks, THREADS, 0, stream()>>>(dy, x, out, n);
    check_launch("activation_backward");
  } else {
    activation_forward_kernel<KIND><<<blocks, THREADS, 0, stream()>>>(x, out, n);
    check_launch("activation_forward");
  }
}

void run_activation(const float* dy, const float* x, float* out, i64 n, Act kind, bool backward) {
  if (n <= 0) return;
  switch (kind) {
    case Act::relu: return launch_activation<Act::relu>(dy, x, out, n, backward);
    case Act::gelu: return launch_activation<Act::gelu>(dy, x, out, n, backward);
    case Act::gelu_tanh: return launch_activation<Act::gelu_tanh>(dy, x, out, n, backward);
    case Act::silu: return launch_activation<Act::silu>(dy, x, out, n, backward);
    case Act::tanh: return launch_activation<Act::tanh>(dy, x, out, n, backward);
  }
  throw DeviceError("toroid.activation: unknown activation kind " + std::to_string(static_cast<int>(kind)));
}

// Element e of y [N,F] is row r = e / F, column f = e % F; I is uint32_t when N*2F fits.
// x [N,2F] -> y [N,F] = silu(a) b, a = x[r, f], b = x[r, F + f]
template <class I>
__global__ void swiglu_forward_kernel(const float* __restrict__ x, float* __restrict__ y, I count, I F) {
  for (I e = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; e < count; e += static_cast<I>(gridDim.x) * blockDim.x) {
    const I r = e / F, f = e - r * F;
    const float* xr = x + r * 2 * F;
    y[e] = act_forward<Act::silu>(xr[f]) * xr[F + f];
  }
}

// d/da = g b silu'(a), d/db = g silu(a)
template <class I>
__global__ void swiglu_backward_kernel(const float* __restrict__ dy, const float* __restrict__ x, float* __restrict__ dx, I count, I F) {
  for (I e = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; e < count; e += static_cast<I>(gridDim.x) * blockDim.x) {
    const I r = e / F, f = e - r * F;
    const float* xr = x + r * 2 * F;
    float* dxr = dx + r * 2 * F;
    const float a = xr[f], b = xr[F + f], g = dy[e];
    dxr[f] = g * b * act_derivative<Act::silu>(a);
    dxr[F + f] = g * act_forward<Act::silu>(a);
  }
}

// 32-bit indices when every offset (up to N*2F) fits: i64 division is slow
bool fits_u32(i64 n) { return n <= static_cast<i64>(INT32_MAX); }
}  // namespace

void activation_forward(const float* x, float* y, i64 n, Act kind) { run_activation(nullptr, x, y, n, kind, false); }

void activation_backward(const float* dy, const float* x, float* dx, i64 n, Act kind) { run_activation(dy, x, dx, n, kind, true); }

void swiglu_forward(const float* x, float* y, i64 N, i64 F) {
  const i64 count = N * F;
  if (N <= 0 || F <= 0) return;
  const unsigned blocks = cuda::blocks_for(count, THREADS);
  if (fits_u32(2 * count)) {
    swiglu_forward_kernel<std::uint32_t><<<blocks, THREADS, 0, stream()>>>(x, y, static_cast<std::uint32_t>(count), static_cast<std::uint32_t>(F));
  } else {
    swiglu_forward_kernel<i64><<<blocks, THREADS, 0, stream()>>>(x, y, count, F);
  }
  check_launch("swiglu_forward");
}

void swiglu_backward(const float* dy, const float* x, float* dx, i64 N, i64 F) {
  const i64 count = N * F;
  if (N <= 0 || F <= 0) return;
  const unsigned blocks = cuda::blocks_for(count, THREADS);
  if (fits_u32(2 * count)) {
    swiglu_backward_kernel<std::uint32_t><<<blocks, THREADS, 0, stream()>>>(dy, x, dx, static_cast<std::uint32_t>(count), static_cast<std::uint32_t>(F));
  } else {
    swiglu_backward_kernel<i64><<<blocks, THREADS, 0, stream()>>>(dy, x, dx, count, F);
  }
  check_launch("swiglu_backward");
}

}  // namespace toroid
