// Minimal stand-ins for native/cuda/runtime.cu so check.cu can link the attention kernels alone (default stream, exit on error).
#include <cuda_runtime.h>
#include <cstdio>
#include <cstdlib>
#include "backend.h"
#include "cuda/common.cuh"
namespace toroid::cuda {
static int g_prec = 0;
cudaStream_t stream() { return nullptr; }
void check(cudaError_t err, const char* what) { if (err != cudaSuccess) { printf("CUDA error in %s: %s\n", what, cudaGetErrorString(err)); exit(2); } }
bool deterministic() { return true; }
void set_deterministic(bool) {}
int matmul_precision() { return g_prec; }
void set_matmul_precision(int p) { g_prec = p; }
void refuse_if_deterministic(const char*, const char*) {}
}
