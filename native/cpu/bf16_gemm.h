// bf16 matrix products with float32 accumulation, on the cpu's matrix units where it
// has them: AMX-BF16 tiles (Sapphire Rapids and later), AVX512-BF16 dot products
// (Zen 4, Cooper Lake), elsewhere bf16 widened to float32 through the BLAS (AVX2).
// The path is chosen once, at the first call: TOROID_BF16_ISA=amx-bf16|avx512-bf16|avx2
// forces one (an unavailable one falls back downward), TOROID_NO_AVX512=1 forces avx2.
// Chosen over oneDNN 2.6.3 and OpenBLAS by measurement: bench/blas/bf16/README.md.
#pragma once
#include <cstdint>

namespace toroid {

// Row-major C[M,N] = op(A)[M,K] op(B)[K,N] (+ bias[N], float32); A and B are bf16 bits,
// op(A) = A^T when trans_a (A is [K,M]), op(B) = B^T when trans_b (B is [N,K]).
// Exactly one output: float32 (c_f32) or bf16 rounded to nearest even, NaN kept (c_bf16).
// Leading dimensions are in elements, each >= its row length. K == 0 gives bias (or zeros).
// Runs on the OpenMP pool, or on the calling thread inside a parallel region.
void gemm_bf16(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const std::uint16_t* A,
               std::int64_t lda, const std::uint16_t* B, std::int64_t ldb, const float* bias, float* c_f32,
               std::uint16_t* c_bf16, std::int64_t ldc);

// "amx-bf16" | "avx512-bf16" | "avx2": the path gemm_bf16 takes in this process.
const char* bf16_gemm_isa();

}  // namespace toroid
