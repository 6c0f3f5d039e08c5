// Tensor-core (mma.sync m16n8k16, bf16 / fp16 inputs, fp32 accumulation) attention,
// used by native/cuda/attention.cu when matmul_precision() is 2 ('medium', bf16) or
// 3 ('fp16'), d <= 128 and the device is sm_80 or newer. Same API and semantics as
// the fp32 kernels; only the matrix-product inputs (q*scale, k, v, dout, P, dS) are
// rounded to 16 bits. Each returns false (and does nothing) where it does not apply.
#pragma once

#include "backend.h"

namespace toroid::cuda {

bool attention_mma_forward(const AttentionParams& p, float* out, float* lse);
bool attention_mma_backward(const AttentionParams& p, const float* dout, const float* out, const float* lse,
                            float* dq, float* dk, float* dv);

}  // namespace toroid::cuda
