#include "cpu/blas.h"

#include <omp.h>

#include <cstdlib>
#include <string>

#if defined(TOROID_BLAS_BLIS)
#include <blis.h>
#elif defined(TOROID_BLAS_OPENBLAS)
#include <cblas.h>
#endif

namespace toroid {

// The BLAS threads of a call are the calling thread's OpenMP count (omp_set_num_threads
// is per thread), passed per call: a worker thread (a Trainer) that loads the addon or
// sets its own count no longer changes the main thread's GEMMs, as BLIS's global count did.
int blas_num_threads() { return omp_get_max_threads(); }

void blas_sgemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
                const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc) {
  if (M == 0 || N == 0) return;
#if defined(TOROID_BLAS_BLIS)
  // BLIS's native API takes row and column strides, so row-major needs no swap.
  const trans_t ta = trans_a ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb = trans_b ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE;
  // Small products run on the calling thread: BLIS's threads meet at spinning
  // barriers, and for a product this small the hand-off costs more than it saves
  // (and stalls for milliseconds when other processes share the cores).
  rntm_t rntm = BLIS_RNTM_INITIALIZER;
  if (static_cast<double>(M) * N * K < 96.0 * 96 * 96) bli_rntm_set_num_threads(1, &rntm);
  else bli_rntm_set_num_threads(blas_num_threads(), &rntm);
  bli_sgemm_ex(ta, tb, M, N, K, &alpha, const_cast<float*>(A), lda, 1, const_cast<float*>(B), ldb, 1, &beta, C, ldc, 1, nullptr, &rntm);
#else
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), alpha, A, static_cast<int>(lda), B,
              static_cast<int>(ldb), beta, C, static_cast<int>(ldc));
#endif
}

void blas_configure() {
#if defined(TOROID_BLAS_BLIS)
  // BLIS 0.9 picks its 'skx' (AVX-512) kernels only where it can count two FMA
  // units by model number; on CPUs it does not know (this machine reports a generic
  // Intel family 6 model 207 with AVX-512) it falls back to
  // 'haswell', which measured 1.7x slower there (bench/blas/run.sh). Where the
  // skx instruction set is present and the user has not chosen, ask for skx.
  // BLIS 0.9 reads BLIS_ARCH_TYPE as the numeric arch_t id, once, at its init.
  if (std::getenv("BLIS_ARCH_TYPE") == nullptr && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd")) {
    setenv("BLIS_ARCH_TYPE", std::to_string(static_cast<int>(BLIS_ARCH_SKX)).c_str(), 0);
  }
#endif
}

void blas_set_num_threads(int n) {
#if defined(TOROID_BLAS_BLIS)
  (void)n;  // per call, from the calling thread's count (blas_num_threads)
#else
  openblas_set_num_threads(n);  // OpenBLAS has only a process-wide count
#endif
}

const char* blas_name() {
#if defined(TOROID_BLAS_BLIS)
  static const std::string name = std::string("BLIS ") + bli_info_get_version_str();
  return name.c_str();
#else
  return "OpenBLAS";
#endif
}

}  // namespace toroid
