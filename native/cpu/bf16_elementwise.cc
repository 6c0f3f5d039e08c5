// bf16 in, bf16 out for the elementwise kernels and the bias gradient: chunks of
// 4096 elements are widened into per-thread float32 buffers (they stay in L1),
// run through the float32 kernel and rounded back, so the data crosses memory
// once each way as bf16 instead of three times as float32. Same numerics as
// widening the whole tensor: float32 compute, one rounding of the result.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend.h"
#include "cpu/bf16.h"

namespace toroid {

namespace {
constexpr i64 CHUNK = 4096;  // a multiple of 4: dropout's chunks start on a Philox block

// body(lo, len, scratch) for every chunk, chunks split across the pool
template <class Body>
void chunked(i64 n, Body&& body) {
  const i64 chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel if (n > 32768)
  {
    std::vector<float> scratch(3 * CHUNK);
#pragma omp for schedule(static)
    for (i64 c = 0; c < chunks; c++) {
      const i64 lo = c * CHUNK;
      body(lo, std::min(CHUNK, n - lo), scratch.data());
    }
  }
}
}  // namespace

void activation_forward_bf16(const std::uint16_t* x, std::uint16_t* y, i64 n, Act kind) {
  chunked(n, [&](i64 lo, i64 len, float* s) {
    bf16_widen(x + lo, s, len);
    activation_forward(s, s + CHUNK, len, kind);
    bf16_round(s + CHUNK, y + lo, len);
  });
}

void activation_backward_bf16(const std::uint16_t* dy, const std::uint16_t* x, std::uint16_t* dx, i64 n, Act kind) {
  chunked(n, [&](i64 lo, i64 len, float* s) {
    bf16_widen(dy + lo, s, len);
    bf16_widen(x + lo, s + CHUNK, len);
    activation_backward(s, s + CHUNK, s + 2 * CHUNK, len, kind);
    bf16_round(s + 2 * CHUNK, dx + lo, len);
  });
}

void dropout_forward_bf16(const std::uint16_t* x, std::uint16_t* y, i64 n, double p, Rng rng) {
  chunked(n, [&](i64 lo, i64 len, float* s) {
    bf16_widen(x + lo, s, len);
    // the chunk's elements keep their indices in the stream: the offset counts 4-element blocks
    dropout_forward(s, s + CHUNK, len, p, Rng{rng.seed, rng.offset + static_cast<std::uint64_t>(lo / 4)});
    bf16_round(s + CHUNK, y + lo, len);
  });
}

void scale_forward_bf16(const std::uint16_t* x, std::uint16_t* y, i64 n, float factor) {
  chunked(n, [&](i64 lo, i64 len, float* s) {
    bf16_widen(x + lo, s, len);
    scale_forward(s, s + CHUNK, len, factor);
    bf16_round(s + CHUNK, y + lo, len);
  });
}

// y[c] = sum_r x[r, c], in double, in row order: the same result for any thread count
void sum_rows_bf16(const std::uint16_t* x, std::uint16_t* y, i64 rows, i64 cols) {
  constexpr i64 W = 64;
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
  for (i64 c0 = 0; c0 < cols; c0 += W) {
    const i64 w = std::min(W, cols - c0);
    double acc[W] = {};
    for (i64 r = 0; r < rows; r++) {
      const std::uint16_t* row = x + r * cols + c0;
#pragma omp simd
      for (i64 c = 0; c < w; c++) acc[c] += bf16_to_f32(row[c]);
    }
    for (i64 c = 0; c < w; c++) y[c0 + c] = f32_to_bf16(static_cast<float>(acc[c]));
  }
}

void embedding_forward_bf16(const std::uint16_t* weight, const std::int32_t* ids, std::uint16_t* y, i64 n, i64 C) {
#pragma omp parallel for schedule(static) if (n * C > 65536)
  for (i64 i = 0; i < n; i++) std::memcpy(y + i * C, weight + static_cast<i64>(ids[i]) * C, sizeof(std::uint16_t) * static_cast<std::size_t>(C));
}

}  // namespace toroid
