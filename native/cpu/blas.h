// The GEMM library behind matmul: BLIS by default, OpenBLAS as a build option
// (CMake TOROID_BLAS). Both are Debian's OpenMP builds, linked statically.
#pragma once
#include <cstdint>

namespace toroid {

// Row-major C[M,N] = alpha op(A) op(B) + beta C, with leading dimensions.
void blas_sgemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
                const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C, std::int64_t ldc);
// Once, before the first GEMM: pick the fastest kernels for this CPU.
void blas_configure();
void blas_set_num_threads(int n);
int blas_num_threads();
const char* blas_name();

}  // namespace toroid
