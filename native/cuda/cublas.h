// cuBLAS, opened at run time: the prebuilt addon needs only the NVIDIA driver,
// and uses cuBLAS where one is installed (the CUDA toolkit, or the nvidia-cublas
// wheel that PyTorch installs). Only the few entry points we call are declared,
// with cuBLAS's stable C ABI (cublas_api.h, CUDA 12 and 13).
#pragma once
#include <cuda_runtime.h>

namespace toroid::cuda {

struct Cublas;
// The loaded library with a handle on our stream, or null (then `why` says why).
const Cublas* cublas(const char** why = nullptr);
const char* cublas_path();  // the file that was opened, or ""

// Column-major C = op(A) op(B) (+ beta C) over `batch` matrices with element strides.
// Returns false when cuBLAS refused (the caller then runs its own kernel).
bool cublas_sgemm_strided(const Cublas* lib, bool trans_a, bool trans_b, int m, int n, int k, const float* A, int lda,
                          long long stride_a, const float* B, int ldb, long long stride_b, float beta, float* C, int ldc,
                          long long stride_c, int batch);

}  // namespace toroid::cuda
