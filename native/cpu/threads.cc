// One thread pool for everything: our kernels and the BLAS both run on OpenMP
// (libgomp), so on 2 cores there are 2 threads, never 2 + 2 fighting.
#include <omp.h>

#include "backend.h"
#include "cpu/blas.h"

namespace toroid {

int num_threads() { return omp_get_max_threads(); }

void set_num_threads(int n) {
  static const bool configured = (blas_configure(), true);
  (void)configured;
  omp_set_num_threads(n);
  blas_set_num_threads(n);
}

}  // namespace toroid
