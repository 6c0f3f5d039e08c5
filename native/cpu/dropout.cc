// Dropout from the counter-based Philox stream: element i is kept when its
// uniform >= p and scaled by 1/(1-p). The mask depends only on (seed, offset, i),
// so it is the same on every backend and for every thread count; the backward
// is the same call on dy.
#include <algorithm>

#include "backend.h"
#include "cpu/parallel.h"
#include "cpu/philox.h"

namespace toroid {

void dropout_forward(const float* x, float* y, i64 n, double p, Rng rng) {
  constexpr i64 CHUNK = 4096;  // a multiple of 4: chunks start on a Philox block
  const i64 chunks = (n + CHUNK - 1) / CHUNK;
  parallel_range(chunks, n > 65536, [&](i64 k0, i64 k1) {
    alignas(64) float keep[CHUNK];
    for (i64 k = k0; k < k1; k++) {
      const i64 e0 = k * CHUNK, count = std::min(CHUNK, n - e0);
      dropout_scales(rng, static_cast<std::uint64_t>(e0), count, p, keep);
      for (i64 e = 0; e < count; e++) y[e0 + e] = x[e0 + e] * keep[e];
    }
  });
}

float philox_uniform(Rng rng, std::uint64_t index) {
  return uniform_from_word(philox4x32_10(rng.offset + index / 4, rng.seed).w[index & 3]);
}

}  // namespace toroid
