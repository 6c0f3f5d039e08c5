// AVX2 helpers shared by the kernels: a vectorised exp, horizontal sums, tail masks.
#pragma once
#include "cpu/intrinsics.h"
#include <cstdint>

namespace toroid::simd {

// exp(x) to about 2 ulp (Cephes expf): x = n ln2 + r, polynomial in r, times 2^n.
// exp(-inf) and anything below -86.5 give exactly 0, so masked scores vanish.
// The cut at -86.5 (true value 2.7e-38) keeps every intermediate a normal float:
// subnormal results cost microcode assists that made masked tiles 3x slower.
static inline __m256 exp(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-86.5f);
  const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  __m256i n = _mm256_cvttps_epi32(fx);
  n = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(n));
  return _mm256_andnot_ps(underflow, y);
}

static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

static inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Lane mask selecting the first n (0..8) lanes, for masked loads and stores of a tail.
static inline __m256i tail_mask(int n) {
  alignas(32) static const std::int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(table + 8 - n));
}

}  // namespace toroid::simd

namespace toroid::simd {

// 1 / x from the 12-bit estimate and one Newton step (~1 ulp): a quarter of a division's cost.
static inline __m256 reciprocal(__m256 x) {
  const __m256 r = _mm256_rcp_ps(x);
  return _mm256_mul_ps(r, _mm256_fnmadd_ps(x, r, _mm256_set1_ps(2.0f)));
}

// 1 / (1 + exp(-x)); exp(-x) overflows to ~2.4e38 at most, where 1/(1+e) is still exact enough
static inline __m256 sigmoid(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return reciprocal(_mm256_add_ps(one, exp(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

// tanh(x) = 1 - 2 / (exp(2x) + 1); exact limits +-1, sign kept for tiny x via the odd form
static inline __m256 tanh(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  // small |x|: tanh x = x - x^3/3 + 2x^5/15 avoids the cancellation in 1 - 2/(e^2x + 1)
  const __m256 x2 = _mm256_mul_ps(ax, ax);
  __m256 small = _mm256_fmadd_ps(x2, _mm256_set1_ps(2.0f / 15.0f), _mm256_set1_ps(-1.0f / 3.0f));
  small = _mm256_fmadd_ps(_mm256_mul_ps(small, x2), ax, ax);
  const __m256 big = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(exp(_mm256_mul_ps(two, ax)), one)));
  const __m256 r = _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.0625f), _CMP_LT_OQ));
  return _mm256_or_ps(r, sign);
}

// erf(x), Abramowitz & Stegun 7.1.26 refined: |error| < 1.5e-7, odd; e = exp(-x^2) is
// passed in because GELU's backward needs that exp too.
static inline __m256 erf_with_exp(__m256 x, __m256 e) {
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 t = reciprocal(_mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, one));
  __m256 y = _mm256_set1_ps(1.061405429f);
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-1.453152027f));
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(1.421413741f));
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-0.284496736f));
  y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(0.254829592f));
  y = _mm256_mul_ps(y, t);
  return _mm256_or_ps(_mm256_fnmadd_ps(y, e, one), sign);
}

static inline __m256 erf(__m256 x) {
  return erf_with_exp(x, exp(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(x, x))));
}

}  // namespace toroid::simd
