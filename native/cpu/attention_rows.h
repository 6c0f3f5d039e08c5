// The row pieces both flash-style attention kernels share (attention.cc in float32,
// attention_bf16.cc on bf16 storage): which keys a query row sees, the masks applied to a
// tile of scores, and the online softmax's row max and exp-sum, 8 lanes at a time.
#pragma once
#include "cpu/intrinsics.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "backend.h"
#include "cpu/simd.h"

namespace toroid::attention_rows {

constexpr float NEG_INF = -std::numeric_limits<float>::infinity();

// The last key query row i may see (Tk - 1 without a causal mask).
inline i64 last_key(const AttentionParams& p, i64 i) {
  switch (p.causal) {
    case Causal::top_left: return std::min(i, p.Tk - 1);
    case Causal::bottom_right: return std::min(i + p.Tk - p.Tq, p.Tk - 1);
    default: return p.Tk - 1;
  }
}

// Keys [0, end) can be seen by some row of the query block [i0, i0 + br).
inline i64 key_end(const AttentionParams& p, i64 i0, i64 br) { return std::max<i64>(0, last_key(p, i0 + br - 1) + 1); }

// S[br,bc] (row stride lds) holds the scores q.k of rows i0.., keys j0..: multiply them by
// `scale` (1: q was pre-scaled) and apply every mask.
inline void scale_and_mask(const AttentionParams& p, i64 b, i64 head, i64 i0, i64 br, i64 j0, i64 bc, float* S, i64 lds, float scale) {
  const std::uint8_t* pad = p.key_padding ? p.key_padding + b * p.Tk : nullptr;
  for (i64 r = 0; r < br; r++) {
    float* s = S + r * lds;
    if (scale != 1.0f) for (i64 c = 0; c < bc; c++) s[c] *= scale;
    const i64 i = i0 + r, last = last_key(p, i);
    if (p.attn_mask != nullptr) {
      const i64 row = (((p.mask_B == 1 ? 0 : b) * p.mask_h + (p.mask_h == 1 ? 0 : head)) * p.Tq + i) * p.Tk + j0;
      if (p.mask_is_bool) {
        const std::uint8_t* m = static_cast<const std::uint8_t*>(p.attn_mask) + row;
        for (i64 c = 0; c < bc; c++) if (m[c]) s[c] = NEG_INF;
      } else {
        const float* m = static_cast<const float*>(p.attn_mask) + row;
        for (i64 c = 0; c < bc; c++) s[c] += m[c];
      }
    }
    if (pad != nullptr) for (i64 c = 0; c < bc; c++) if (pad[j0 + c]) s[c] = NEG_INF;
    for (i64 c = std::clamp<i64>(last + 1 - j0, 0, bc); c < bc; c++) s[c] = NEG_INF;
  }
}

// x[c] = exp(x[c] - sub) over n elements; returns their sum.
inline float exp_row(float* x, i64 n, float sub) {
  const __m256 vsub = _mm256_set1_ps(sub);
  __m256 acc = _mm256_setzero_ps();
  i64 c = 0;
  for (; c + 8 <= n; c += 8) {
    const __m256 e = simd::exp(_mm256_sub_ps(_mm256_loadu_ps(x + c), vsub));
    _mm256_storeu_ps(x + c, e);
    acc = _mm256_add_ps(acc, e);
  }
  if (c < n) {
    const __m256i mask = simd::tail_mask(static_cast<int>(n - c));
    const __m256 e = _mm256_and_ps(simd::exp(_mm256_sub_ps(_mm256_maskload_ps(x + c, mask), vsub)), _mm256_castsi256_ps(mask));
    _mm256_maskstore_ps(x + c, mask, e);
    acc = _mm256_add_ps(acc, e);
  }
  return simd::hsum(acc);
}

inline float row_max(const float* x, i64 n) {
  __m256 vm = _mm256_set1_ps(NEG_INF);
  i64 c = 0;
  for (; c + 8 <= n; c += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + c));
  float m = simd::hmax(vm);
  for (; c < n; c++) m = std::max(m, x[c]);
  return m;
}

}  // namespace toroid::attention_rows
