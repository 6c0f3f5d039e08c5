// What the cuda addon tells JS about the GPU and its switches; plain C++ types so
// the binding (compiled by the host compiler) needs no CUDA headers.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

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

namespace toroid::cuda {

// Per-export GPU time (TOROID profiling, toroid.cuda.profile): CUDA events around
// every binding call on the stream, summed by export name at report time.
bool profiling();
void set_profiling(bool on);
int profile_mark();  // records an event on the stream; its index
void profile_record(const char* name, int begin, int end);
// Replaces the export name of the call in progress (e.g. with a GEMM's shape), once.
void profile_label(std::string label);
struct ProfileEntry {
  std::string name;
  int calls = 0;
  double ms = 0;
};
std::vector<ProfileEntry> profile_report();  // synchronises, then clears
}  // namespace toroid::cuda
