// Embedding gather and its scatter-add backward.
// weight [V,C], ids [n] int32 (checked in range by the binding), y [n,C].
// The backward splits the C columns across threads, so every row of dweight is
// written by one thread in id order: no atomics, deterministic sums.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "backend.h"

namespace toroid {

void embedding_forward(const float* weight, const std::int32_t* ids, float* y, i64 n, i64 C) {
#pragma omp parallel for schedule(static) if (n * C > 32768)
  for (i64 i = 0; i < n; i++) std::memcpy(y + i * C, weight + static_cast<i64>(ids[i]) * C, sizeof(float) * C);
}

void embedding_backward(const float* dy, const std::int32_t* ids, float* dweight, i64 n, i64 V, i64 C, i64 padding_idx) {
#pragma omp parallel if (n * C > 32768)
  {
    const int t = omp_get_thread_num(), threads = omp_get_num_threads();
    // columns [c0, c1) belong to this thread; multiples of 16 keep cache lines apart
    const i64 per = ((C + threads - 1) / threads + 15) / 16 * 16;
    const i64 c0 = std::min<i64>(C, per * t), c1 = std::min<i64>(C, c0 + per);
    for (i64 i = 0; i < n; i++) {
      const i64 id = ids[i];
      if (id == padding_idx) continue;
      float* row = dweight + id * C;
      const float* g = dy + i * C;
      for (i64 c = c0; c < c1; c++) row[c] += g[c];
    }
  }
}

}  // namespace toroid
