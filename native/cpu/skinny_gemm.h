// Row-major C[M,N] = A[M,K] op(B) for small M, without packing (skinny_gemm.cc).
#pragma once
#include <cstdint>

namespace toroid {

// Whether reading B in place beats BLIS for this product (few rows of A, no transposed A).
bool skinny_gemm_applies(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K);
// B is [N,K] when trans_b (y = x W^T), else [K,N]; C is written, not accumulated.
void skinny_gemm(bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda,
                 const float* B, std::int64_t ldb, float* C, std::int64_t ldc);

}  // namespace toroid
