// OpenBLAS 0.3.21 (Debian's OpenMP build): cblas_sgemm, and cblas_sbgemm (bf16 in, float32 out)
// where the library has it. cblas.h declares sbgemm, but Debian builds without BUILD_BFLOAT16,
// so the symbol is absent (a direct call fails to link): it is looked up at run time.
#include <cblas.h>
#include <dlfcn.h>

#include "harness.h"

using Sbgemm = void (*)(CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint, float, const std::uint16_t*,
                        blasint, const std::uint16_t*, blasint, float, float*, blasint);
static Sbgemm sbgemm = reinterpret_cast<Sbgemm>(dlsym(RTLD_DEFAULT, "cblas_sbgemm"));

void run(const Case& c, const std::string& mode, Buffers& buf) {
  const auto ta = c.ta ? CblasTrans : CblasNoTrans, tb = c.tb ? CblasTrans : CblasNoTrans;
  const int lda = c.ta ? c.M : c.K, ldb = c.tb ? c.K : c.N;
  if (mode == "f32") {
    cblas_sgemm(CblasRowMajor, ta, tb, c.M, c.N, c.K, 1.0f, buf.a32.data(), lda, buf.b32.data(), ldb, 0.0f, buf.c32.data(), c.N);
  } else {
    sbgemm(CblasRowMajor, ta, tb, c.M, c.N, c.K, 1.0f, buf.a16.data(), lda, buf.b16.data(), ldb, 0.0f, buf.c32.data(), c.N);
  }
}

int main(int argc, char** argv) {
  std::fprintf(stderr, "OpenBLAS: %s, core %s, cblas_sbgemm %s\n", openblas_get_config(), openblas_get_corename(),
               sbgemm != nullptr ? "present" : "absent");
  if (argc > 1 && std::string(argv[1]) != "f32" && sbgemm == nullptr) {
    std::printf("openblas %s - - n/a\n", argv[1]);
    return 0;
  }
  return bench_main("openblas", argc, argv);
}
