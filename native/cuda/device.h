// What the cuda addon tells JS about the GPU and its switches; plain C++ types so
// the binding (compiled by the host compiler) needs no CUDA headers.
#pragma once
#include <cstddef>
#include <string>

namespace toroid::cuda {

struct DeviceInfo {
  int count = 0;            // visible devices; 0 with `error` set when there is no usable driver/GPU
  std::string error;
  int device = 0;           // the one toroid uses (TOROID_CUDA_DEVICE, default 0)
  std::string name;
  int major = 0, minor = 0, multiprocessors = 0;
  std::size_t total_bytes = 0, free_bytes = 0;
  int driver_version = 0, runtime_version = 0;
  std::string blas;         // cuBLAS path, or why our own GEMM runs
  bool cublas = false;
};

DeviceInfo device_info();
void synchronize();
bool deterministic();
void set_deterministic(bool on);
int matmul_precision();          // see common.cuh
void set_matmul_precision(int p);

}  // namespace toroid::cuda
