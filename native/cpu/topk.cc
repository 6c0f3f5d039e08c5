// The k largest of each row (topk_forward in backend.h): decoding picks its candidates
// here, so a beam's step downloads R x k values instead of R x V.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend.h"

namespace toroid {

namespace {

// a is before b in topk's order: larger first, NaN above every number, ties by lower index
inline bool before(float av, std::int32_t ai, float bv, std::int32_t bi) {
  const bool an = std::isnan(av), bn = std::isnan(bv);
  if (an != bn) return an;
  if (an || av == bv) return ai < bi;
  return av > bv;
}

void row_topk(const float* x, i64 n, i64 k, float* values, std::int32_t* indices, std::vector<std::int32_t>& scratch) {
  if (k == 0) return;
  if (k <= 32) {
    // insertion into a sorted list of k: most elements fail the comparison with its last
    i64 held = 0;
    for (i64 j = 0; j < n; j++) {
      const float v = x[j];
      const auto id = static_cast<std::int32_t>(j);
      if (held == k && !before(v, id, values[k - 1], indices[k - 1])) continue;
      i64 at = held < k ? held++ : k - 1;
      while (at > 0 && before(v, id, values[at - 1], indices[at - 1])) {
        values[at] = values[at - 1];
        indices[at] = indices[at - 1];
        at--;
      }
      values[at] = v;
      indices[at] = id;
    }
    return;
  }
  scratch.resize(n);
  for (i64 j = 0; j < n; j++) scratch[j] = static_cast<std::int32_t>(j);
  std::partial_sort(scratch.begin(), scratch.begin() + k, scratch.end(),
                    [x](std::int32_t a, std::int32_t b) { return before(x[a], a, x[b], b); });
  for (i64 i = 0; i < k; i++) {
    indices[i] = scratch[i];
    values[i] = x[scratch[i]];
  }
}

}  // namespace

void topk_forward(const float* x, float* values, std::int32_t* indices, i64 R, i64 n, i64 k) {
#pragma omp parallel if (R * n >= (1 << 16) && R > 1 && !omp_in_parallel())
  {
    std::vector<std::int32_t> scratch;
#pragma omp for schedule(static)
    for (i64 r = 0; r < R; r++) row_topk(x + r * n, n, k, values + r * k, indices + r * k, scratch);
  }
}

}  // namespace toroid
