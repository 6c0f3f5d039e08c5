// bf16 matrix products on the cpu's matrix units, float32 accumulation:
// AMX-BF16 tiles (Sapphire Rapids and later), AVX512-BF16 dot products (Zen 4,
// Cooper Lake), and elsewhere a widening to float32 through the BLAS. The path is
// chosen at run time; TOROID_BF16_ISA=amx-bf16|avx512-bf16|avx2 forces one (an
// unavailable choice falls back to the next), TOROID_NO_AVX512=1 forces avx2.
#pragma once
#include <cstdint>

#include "cpu/bf16_isa.h"  // bf16_isa(): the path it takes (and, first, the quiet immintrin)

namespace toroid {

// Row-major C[M,N] = op(A)[M,K] op(B)[K,N] (+ bias[N]) with A, B and bias bf16 bits.
// C is float32 (c_f32) or bf16 rounded to nearest even (c_bf16); exactly one is given.
// Runs on the pool, or on the calling thread inside an OpenMP parallel region.
void bf16_matmul(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const std::uint16_t* A,
               std::int64_t lda, const std::uint16_t* B, std::int64_t ldb, const std::uint16_t* bias, float* c_f32,
               std::uint16_t* c_bf16, std::int64_t ldc);

}  // namespace toroid
