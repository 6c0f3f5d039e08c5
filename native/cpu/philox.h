// Philox4x32-10, the same stream as src/random/philox.ts: element i of a stream at
// (seed, offset) takes word i % 4 of the block with counter offset + i / 4 and key seed.
#pragma once
#include <cmath>
#include <cstdint>
#include "backend.h"

namespace toroid {

struct PhiloxBlock { std::uint32_t w[4]; };

static inline PhiloxBlock philox4x32_10(std::uint64_t counter, std::uint64_t key) {
  std::uint32_t c0 = static_cast<std::uint32_t>(counter), c1 = static_cast<std::uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  for (int round = 0; round < 10; round++) {
    const std::uint64_t p0 = std::uint64_t{0xd2511f53u} * c0, p1 = std::uint64_t{0xcd9e8d57u} * c2;
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
    k0 += 0x9e3779b9u; k1 += 0xbb67ae85u;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in [0,1) with 24 random bits, bit-identical to PhiloxStream.uniform.
static inline float uniform_from_word(std::uint32_t w) { return static_cast<float>(w >> 8) * (1.0f / 16777216.0f); }

// Dropout keep-scales for elements [start, start + n) of the stream into out: 0 or 1/(1-p).
// Kept when uniform >= p, compared on the integer grid (u = m / 2^24) so that a float p
// and the double p of the ts backend can never disagree.
static inline void dropout_scales(Rng rng, std::uint64_t start, std::int64_t n, double p, float* out) {
  const float keep = static_cast<float>(1.0 / (1.0 - p));
  const double threshold = std::ceil(p * 16777216.0);
  std::uint64_t cached = ~std::uint64_t{0};
  PhiloxBlock block{};
  for (std::int64_t e = 0; e < n; e++) {
    const std::uint64_t i = start + static_cast<std::uint64_t>(e), counter = rng.offset + i / 4;
    if (counter != cached) { block = philox4x32_10(counter, rng.seed); cached = counter; }
    out[e] = static_cast<double>(block.w[i & 3] >> 8) >= threshold ? keep : 0.0f;
  }
}

}  // namespace toroid
