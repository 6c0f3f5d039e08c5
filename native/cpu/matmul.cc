// y [batch,M,N] = op(a) op(b) (+ bias [N]) through the BLAS.
// Many small products (attention-sized batches) run one per thread with a
// single-threaded GEMM; a few large ones let the BLAS use the whole pool.
#include <omp.h>

#include "backend.h"
#include "cpu/bf16_matmul.h"
#include "cpu/blas.h"
#include "cpu/skinny_gemm.h"

namespace toroid {

void matmul_forward(const float* a, const float* b, const float* bias, float* y, i64 batch,
                    const i64* a_offsets, const i64* b_offsets, i64 M, i64 N, i64 K, bool trans_a, bool trans_b) {
  const i64 lda = trans_a ? M : K, ldb = trans_b ? K : N;
  auto one = [&](i64 n) {
    float* out = y + n * M * N;
    if (K == 0) {
      for (i64 e = 0; e < M * N; e++) out[e] = 0.0f;
    } else if (skinny_gemm_applies(trans_a, trans_b, M, N, K)) {
      skinny_gemm(trans_b, M, N, K, a + a_offsets[n], lda, b + b_offsets[n], ldb, out, N);
    } else {
      blas_sgemm(trans_a, trans_b, M, N, K, 1.0f, a + a_offsets[n], lda, b + b_offsets[n], ldb, 0.0f, out, N);
    }
  };
  // the bias is added after the product, rows split across threads: prefilling C
  // and using beta = 1 cost a single-threaded pass plus an extra read of C
  auto add_bias = [&]() {
    if (bias == nullptr) return;
#pragma omp parallel for schedule(static) if (batch * M * N > 65536)
    for (i64 r = 0; r < batch * M; r++) {
      float* row = y + r * N;
#pragma omp simd
      for (i64 j = 0; j < N; j++) row[j] += bias[j];
    }
  };
  const bool small = M * N * K < 128 * 128 * 128;
  if (batch > 1 && small) {
    // inside the parallel region the BLAS's own region is nested, so it runs on 1 thread
#pragma omp parallel for schedule(dynamic, 1)
    for (i64 n = 0; n < batch; n++) one(n);
  } else {
    for (i64 n = 0; n < batch; n++) one(n);
  }
  add_bias();
}

void matmul_forward_bf16(const std::uint16_t* a, const std::uint16_t* b, const std::uint16_t* bias, std::uint16_t* y, i64 batch,
                         const i64* a_offsets, const i64* b_offsets, i64 M, i64 N, i64 K, bool trans_a, bool trans_b) {
  const i64 lda = trans_a ? M : K, ldb = trans_b ? K : N;
  auto one = [&](i64 n) {
    bf16_matmul(trans_a, trans_b, M, N, K, a + a_offsets[n], lda, b + b_offsets[n], ldb, bias, nullptr, y + n * M * N, N);
  };
  // as in float32: many small products one per thread, a few large ones on the whole pool
  if (batch > 1 && M * N * K < 128 * 128 * 128) {
#pragma omp parallel for schedule(dynamic, 1)
    for (i64 n = 0; n < batch; n++) one(n);
  } else {
    for (i64 n = 0; n < batch; n++) one(n);
  }
}

}  // namespace toroid
