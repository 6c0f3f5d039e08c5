// toroid's own: bf16_matmul (native/cpu/bf16_matmul.cc, the addon's bf16 GEMM) on the path
// TOROID_BF16_ISA picks, bf16 in, float32 or bf16 out; and, for f32, the float32 GEMM the addon
// ships (BLIS through native/cpu/blas.cc, configured as the addon configures it).
#include <omp.h>

#include "cpu/bf16_matmul.h"
#include "cpu/blas.h"
#include "harness.h"

void run(const Case& c, const std::string& mode, Buffers& buf) {
  const long lda = c.ta ? c.M : c.K, ldb = c.tb ? c.K : c.N;
  if (mode == "f32") {
    toroid::blas_sgemm(c.ta, c.tb, c.M, c.N, c.K, 1.0f, buf.a32.data(), lda, buf.b32.data(), ldb, 0.0f, buf.c32.data(), c.N);
  } else {
    toroid::bf16_matmul(c.ta, c.tb, c.M, c.N, c.K, buf.a16.data(), lda, buf.b16.data(), ldb, nullptr,
                        mode == "bf16f32" ? buf.c32.data() : nullptr, mode == "bf16" ? buf.c16.data() : nullptr, c.N);
  }
}

int main(int argc, char** argv) {
  toroid::blas_configure();
  toroid::blas_set_num_threads(omp_get_max_threads());
  const std::string lib = argc > 1 && std::string(argv[1]) == "f32" ? std::string("blis") : std::string("toroid-") + toroid::bf16_isa();
  return bench_main(lib.c_str(), argc, argv);
}
