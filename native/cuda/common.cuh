// Shared by the CUDA kernel files: error checks that throw (never abort), the
// one stream every kernel runs on, launch sizing and the runtime switches.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "backend.h"

namespace toroid::cuda {

// Every kernel runs on this stream, in order: a freed block can be reused by the
// next op without a sync, and downloads synchronise with cudaMemcpyAsync + sync.
cudaStream_t stream();

// Throws DeviceError (or DeviceOutOfMemory) naming `what` when `err` is not cudaSuccess.
void check(cudaError_t err, const char* what);
// After a launch: catches bad launch configurations at once (kernel faults surface at the next sync).
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

// Switches set from JS (native/binding/cuda_api.cc).
bool deterministic();            // refuse kernels whose results depend on atomics' order
void set_deterministic(bool on);
// What float32 GEMMs may compute in (like torch.set_float32_matmul_precision):
// 0 'highest' exact fp32, 1 'high' TF32, 2 'medium' bf16, 3 'fp16' half; inputs are
// rounded inside cuBLAS, products accumulate in fp32, outputs stay fp32.
int matmul_precision();
void set_matmul_precision(int p);
// Throws Refused("toroid.<op>: ...") in deterministic mode.
void refuse_if_deterministic(const char* op, const char* why);

inline unsigned blocks_for(i64 n, int threads, i64 cap = 65535LL * 32) {
  i64 b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  return static_cast<unsigned>(b < cap ? b : cap);
}

// Grid-stride loop over [0, n).
#define TOROID_GRID_LOOP(i, n) \
  for (i64 i = static_cast<i64>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += static_cast<i64>(gridDim.x) * blockDim.x)

// Philox4x32-10, bit-identical to native/cpu/philox.h and src/random/philox.ts.
struct PhiloxWords { std::uint32_t w[4]; };
__device__ __forceinline__ PhiloxWords philox4x32_10(std::uint64_t counter, std::uint64_t key) {
  std::uint32_t c0 = static_cast<std::uint32_t>(counter), c1 = static_cast<std::uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
#pragma unroll
  for (int round = 0; round < 10; round++) {
    const std::uint32_t hi0 = __umulhi(0xd2511f53u, c0), lo0 = 0xd2511f53u * c0;
    const std::uint32_t hi1 = __umulhi(0xcd9e8d57u, c2), lo1 = 0xcd9e8d57u * c2;
    c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
    k0 += 0x9e3779b9u; k1 += 0xbb67ae85u;
  }
  return {{c0, c1, c2, c3}};
}

}  // namespace toroid::cuda
