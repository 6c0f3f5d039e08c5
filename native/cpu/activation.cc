// ReLU, GELU (erf and tanh), SiLU and SwiGLU, forward and backward, 8 lanes at a
// time with the vector exp/erf/tanh of simd.h, rows split across threads.
// x, y, dy, dx: [n] (swiglu: x [N,2F], y [N,F], first half is the gate).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "backend.h"
#include "cpu/parallel.h"
#include "cpu/simd.h"
#include "cpu/simd512.h"

namespace toroid {

namespace {
const float SQRT_HALF = 0.70710678118654752f, INV_SQRT_2PI = 0.3989422804014327f;
const float SQRT_2_OVER_PI = 0.7978845608028654f, GELU_CUBIC = 0.044715f;

inline __m256 set(float v) { return _mm256_set1_ps(v); }

inline __m256 act_forward(__m256 x, Act kind) {
  switch (kind) {
    case Act::relu: return _mm256_max_ps(x, _mm256_setzero_ps());
    case Act::gelu: return _mm256_mul_ps(_mm256_mul_ps(set(0.5f), x), _mm256_add_ps(set(1.0f), simd::erf(_mm256_mul_ps(x, set(SQRT_HALF)))));
    case Act::gelu_tanh: {
      const __m256 inner = _mm256_mul_ps(set(SQRT_2_OVER_PI), _mm256_fmadd_ps(_mm256_mul_ps(set(GELU_CUBIC), x), _mm256_mul_ps(x, x), x));
      return _mm256_mul_ps(_mm256_mul_ps(set(0.5f), x), _mm256_add_ps(set(1.0f), simd::tanh(inner)));
    }
    case Act::silu: return _mm256_mul_ps(x, simd::sigmoid(x));
    case Act::tanh: return simd::tanh(x);
  }
  return x;
}

// d act / dx
inline __m256 act_derivative(__m256 x, Act kind) {
  switch (kind) {
    case Act::relu: return _mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ), set(1.0f));
    case Act::gelu: {
      // one exp(-x^2/2) serves both the normal pdf and erf(x / sqrt 2)
      const __m256 e = simd::exp(_mm256_mul_ps(set(-0.5f), _mm256_mul_ps(x, x)));
      const __m256 cdf = _mm256_mul_ps(set(0.5f), _mm256_add_ps(set(1.0f), simd::erf_with_exp(_mm256_mul_ps(x, set(SQRT_HALF)), e)));
      return _mm256_fmadd_ps(x, _mm256_mul_ps(set(INV_SQRT_2PI), e), cdf);
    }
    case Act::gelu_tanh: {
      const __m256 x2 = _mm256_mul_ps(x, x);
      const __m256 t = simd::tanh(_mm256_mul_ps(set(SQRT_2_OVER_PI), _mm256_fmadd_ps(_mm256_mul_ps(set(GELU_CUBIC), x), x2, x)));
      const __m256 dinner = _mm256_mul_ps(set(SQRT_2_OVER_PI), _mm256_fmadd_ps(set(3.0f * GELU_CUBIC), x2, set(1.0f)));
      const __m256 sech2 = _mm256_fnmadd_ps(t, t, set(1.0f));
      return _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(set(0.5f), x), sech2), dinner, _mm256_mul_ps(set(0.5f), _mm256_add_ps(set(1.0f), t)));
    }
    case Act::silu: {
      const __m256 s = simd::sigmoid(x);
      return _mm256_mul_ps(s, _mm256_fmadd_ps(x, _mm256_sub_ps(set(1.0f), s), set(1.0f)));
    }
    case Act::tanh: {
      const __m256 t = simd::tanh(x);
      return _mm256_fnmadd_ps(t, t, set(1.0f));
    }
  }
  return x;
}

// f over [0, n) in chunks of 8 (masked tail). Each thread takes one contiguous
// range and runs two independent chunks per iteration, so the long exp/erf
// dependency chains of neighbouring chunks overlap.
template <class F>
void for_chunks(i64 n, F f) {
  parallel_range((n + 7) / 8, n > 32768, [&](i64 k0, i64 k1) {
    i64 k = k0;
    for (; k + 2 <= k1 && (k + 2) * 8 <= n; k += 2) f(k * 8, 16);
    for (; k < k1; k++) f(k * 8, n - k * 8 >= 8 ? 8 : static_cast<int>(n - k * 8));
  });
}

inline __m256 load(const float* p, int width) { return width == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, simd::tail_mask(width)); }
inline void store(float* p, __m256 v, int width) {
  if (width == 8) _mm256_storeu_ps(p, v);
  else _mm256_maskstore_ps(p, simd::tail_mask(width), v);
}
}  // namespace

// GELU (erf), the common FFN activation, also runs 16 lanes wide where AVX-512 is
// present: its erf + exp chain is compute-bound in 8 lanes.
TOROID_AVX512 static void gelu_512_range(const float* x, const float* dy, float* out, i64 e0, i64 e1, bool backward) {
  const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f), sqrt_half = _mm512_set1_ps(SQRT_HALF);
  const __m512 inv_sqrt_2pi = _mm512_set1_ps(INV_SQRT_2PI), neg_half = _mm512_set1_ps(-0.5f);
  for (i64 e = e0; e < e1; e += 16) {
    const __mmask16 m = e1 - e >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (e1 - e)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + e);
    const __m512 ex = simd512::exp(_mm512_mul_ps(neg_half, _mm512_mul_ps(v, v)));
    const __m512 cdf = _mm512_mul_ps(half, _mm512_add_ps(one, simd512::erf_with_exp(_mm512_mul_ps(v, sqrt_half), ex)));
    __m512 r;
    if (backward) r = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + e), _mm512_fmadd_ps(v, _mm512_mul_ps(inv_sqrt_2pi, ex), cdf));
    else r = _mm512_mul_ps(v, cdf);
    _mm512_mask_storeu_ps(out + e, m, r);
  }
}

static void gelu_512(const float* x, const float* dy, float* out, i64 n, bool backward) {
  parallel_range((n + 15) / 16, n > 32768, [&](i64 g0, i64 g1) { gelu_512_range(x, dy, out, g0 * 16, std::min(n, g1 * 16), backward); });
}

static bool use_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && std::getenv("TOROID_NO_AVX512") == nullptr;
  return yes;
}

void activation_forward(const float* x, float* y, i64 n, Act kind) {
  if (kind == Act::gelu && use_avx512()) return gelu_512(x, nullptr, y, n, false);
  for_chunks(n, [&](i64 e, int w) {
    if (w == 16) {
      const __m256 a = act_forward(_mm256_loadu_ps(x + e), kind), b = act_forward(_mm256_loadu_ps(x + e + 8), kind);
      _mm256_storeu_ps(y + e, a);
      _mm256_storeu_ps(y + e + 8, b);
    } else {
      store(y + e, act_forward(load(x + e, w), kind), w);
    }
  });
}

void activation_backward(const float* dy, const float* x, float* dx, i64 n, Act kind) {
  if (kind == Act::gelu && use_avx512()) return gelu_512(x, dy, dx, n, true);
  for_chunks(n, [&](i64 e, int w) {
    if (w == 16) {
      const __m256 a = act_derivative(_mm256_loadu_ps(x + e), kind), b = act_derivative(_mm256_loadu_ps(x + e + 8), kind);
      _mm256_storeu_ps(dx + e, _mm256_mul_ps(_mm256_loadu_ps(dy + e), a));
      _mm256_storeu_ps(dx + e + 8, _mm256_mul_ps(_mm256_loadu_ps(dy + e + 8), b));
    } else {
      store(dx + e, _mm256_mul_ps(load(dy + e, w), act_derivative(load(x + e, w), kind)), w);
    }
  });
}

void swiglu_forward(const float* x, float* y, i64 N, i64 F) {
#pragma omp parallel for schedule(static) if (N * F > 32768)
  for (i64 r = 0; r < N; r++) {
    const float* a = x + r * 2 * F;
    const float* b = a + F;
    for (i64 f = 0; f < F; f += 8) {
      const int w = F - f >= 8 ? 8 : static_cast<int>(F - f);
      store(y + r * F + f, _mm256_mul_ps(act_forward(load(a + f, w), Act::silu), load(b + f, w)), w);
    }
  }
}

// d/da = g b silu'(a), d/db = g silu(a)
void swiglu_backward(const float* dy, const float* x, float* dx, i64 N, i64 F) {
#pragma omp parallel for schedule(static) if (N * F > 32768)
  for (i64 r = 0; r < N; r++) {
    const float* a = x + r * 2 * F;
    const float* b = a + F;
    const float* g = dy + r * F;
    for (i64 f = 0; f < F; f += 8) {
      const int w = F - f >= 8 ? 8 : static_cast<int>(F - f);
      const __m256 av = load(a + f, w), gv = load(g + f, w);
      store(dx + r * 2 * F + f, _mm256_mul_ps(_mm256_mul_ps(gv, load(b + f, w)), act_derivative(av, Act::silu)), w);
      store(dx + r * 2 * F + F + f, _mm256_mul_ps(gv, act_forward(av, Act::silu)), w);
    }
  }
}

}  // namespace toroid
