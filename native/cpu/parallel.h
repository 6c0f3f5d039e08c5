// parallel_range: body(lo, hi) over [0, n) split across the pool in equal contiguous
// ranges (as schedule(static)), or on the calling thread when `big` is false or a parallel
// region is already running. An `omp parallel if (false)` still builds a one-thread team
// (~3 us each time), which the bf16 kernels' L1-sized chunks (bf16_elementwise.cc) would
// pay once per 4096 elements: 8x the cost of the work itself.
#pragma once
#include <omp.h>

#include "backend.h"

namespace toroid {

template <class Body>
void parallel_range(i64 n, bool big, Body&& body) {
  if (!big || n <= 1 || omp_in_parallel()) {
    body(i64{0}, n);
    return;
  }
#pragma omp parallel
  {
    const i64 t = omp_get_thread_num(), threads = omp_get_num_threads();
    const i64 lo = n * t / threads, hi = n * (t + 1) / threads;
    if (lo < hi) body(lo, hi);
  }
}

}  // namespace toroid
