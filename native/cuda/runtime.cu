// The CUDA runtime side of the cuda backend: the one stream, error checks that
// throw instead of aborting, device memory for the binding's block cache, and
// the switches (deterministic mode, TF32) set from JS.
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include "cuda/common.cuh"

namespace toroid {
namespace cuda {

namespace {
std::atomic<bool> g_deterministic{false};
std::atomic<int> g_matmul_precision{0};

int chosen_device() {
  const char* env = std::getenv("TOROID_CUDA_DEVICE");
  return env != nullptr ? std::atoi(env) : 0;
}
}  // namespace

void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  (void)cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  const std::string msg = std::string("toroid (cuda): ") + what + " failed: " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
  if (err == cudaErrorMemoryAllocation) throw DeviceOutOfMemory(msg);
  throw DeviceError(msg);
}

cudaStream_t stream() {
  // Created once for the process; every Node thread (the Trainer's worker too)
  // enqueues on it, so kernels of one program run in the order they were called.
  static cudaStream_t s = [] {
    check(cudaSetDevice(chosen_device()), "cudaSetDevice");
    cudaStream_t created = nullptr;
    check(cudaStreamCreateWithFlags(&created, cudaStreamNonBlocking), "cudaStreamCreate");
    // kernels' scratch comes from cudaMallocAsync: keep the pool's memory mapped
    // between calls instead of returning it to the driver at every sync
    cudaMemPool_t pool = nullptr;
    if (cudaDeviceGetDefaultMemPool(&pool, chosen_device()) == cudaSuccess) {
      std::uint64_t keep = ~std::uint64_t{0};
      (void)cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
    }
    (void)cudaGetLastError();
    return created;
  }();
  // cudaSetDevice is per host thread: a worker thread starts on device 0
  static thread_local bool on_device = (check(cudaSetDevice(chosen_device()), "cudaSetDevice"), true);
  (void)on_device;
  return s;
}

bool deterministic() { return g_deterministic.load(); }
void set_deterministic(bool on) { g_deterministic.store(on); }
int matmul_precision() { return g_matmul_precision.load(); }
void set_matmul_precision(int p) { g_matmul_precision.store(p); }

void refuse_if_deterministic(const char* op, const char* why) {
  if (!deterministic()) return;
  throw Refused(std::string("toroid.") + op + ": refused in deterministic mode on cuda (" + why +
                "); call toroid.cuda.setDeterministic(false) to allow it, or run this op on the cpu backend");
}

}  // namespace cuda

// ---- memory: the binding's size-class cache sits on top, so cudaMalloc/cudaFree
// run only when a size is first seen or the cache is flushed.

void* memory_alloc(std::size_t bytes) {
  cuda::stream();
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    return nullptr;  // the binding flushes its cache, retries, then throws a RangeError
  }
  cuda::check(err, "cudaMalloc");
  return p;
}

void memory_release(void* ptr, std::size_t) {
  // a block may still be in use by queued kernels: cudaFree waits for the device
  (void)cudaFree(ptr);
}

void memory_zero(void* ptr, std::size_t bytes) { cuda::check(cudaMemsetAsync(ptr, 0, bytes, cuda::stream()), "cudaMemsetAsync"); }

void memory_upload(void* dst, const void* host, std::size_t bytes) {
  cuda::check(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, cuda::stream()), "upload (cudaMemcpyAsync)");
  // the host array may be reused by JS as soon as we return
  cuda::check(cudaStreamSynchronize(cuda::stream()), "upload (cudaStreamSynchronize)");
}

void memory_download(void* host, const void* src, std::size_t bytes) {
  cuda::check(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, cuda::stream()), "download (cudaMemcpyAsync)");
  // also where a fault of an earlier kernel surfaces, as a JS error
  cuda::check(cudaStreamSynchronize(cuda::stream()), "download (cudaStreamSynchronize)");
}

// Freed device blocks stay cached for reuse (like PyTorch's caching allocator);
// toroid.cuda.emptyCache() hands them back.
std::size_t memory_cache_limit() { return ~std::size_t{0}; }

const char* device_name() { return "cuda"; }

// Host-side threads do no kernel work here.
int num_threads() { return 1; }
int blas_num_threads() { return 1; }
void set_num_threads(int) {}

}  // namespace toroid

#include "cuda/cublas.h"
#include "cuda/device.h"

namespace toroid::cuda {

DeviceInfo device_info() {
  DeviceInfo d;
  cudaError_t err = cudaGetDeviceCount(&d.count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    d.count = 0;
    d.error = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    return d;
  }
  if (d.count == 0) {
    d.error = "no CUDA device is visible";
    return d;
  }
  d.device = chosen_device();
  if (d.device < 0 || d.device >= d.count) {
    d.error = "TOROID_CUDA_DEVICE=" + std::to_string(d.device) + " but " + std::to_string(d.count) + " device(s) are visible";
    return d;
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, d.device), "cudaGetDeviceProperties");
  d.name = prop.name;
  d.major = prop.major;
  d.minor = prop.minor;
  d.multiprocessors = prop.multiProcessorCount;
  stream();
  check(cudaMemGetInfo(&d.free_bytes, &d.total_bytes), "cudaMemGetInfo");
  (void)cudaDriverGetVersion(&d.driver_version);
  (void)cudaRuntimeGetVersion(&d.runtime_version);
  const char* why = nullptr;
  d.cublas = cublas(&why) != nullptr;
  d.blas = d.cublas ? std::string(cublas_path()) : std::string(why);
  return d;
}

void synchronize() { check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize"); }

}  // namespace toroid::cuda

#include <map>
#include <vector>

namespace toroid::cuda {

namespace {
std::atomic<bool> g_profiling{false};
std::mutex g_profile_mutex;
std::vector<cudaEvent_t> g_events;  // reused across reports
int g_used_events = 0;
struct Span { std::string name; int begin, end; };
thread_local std::string t_label;
std::vector<Span> g_spans;
}  // namespace

bool profiling() { return g_profiling.load(); }
void set_profiling(bool on) { g_profiling.store(on); }

int profile_mark() {
  std::lock_guard<std::mutex> lock(g_profile_mutex);
  if (g_used_events == static_cast<int>(g_events.size())) {
    cudaEvent_t e = nullptr;
    check(cudaEventCreate(&e), "cudaEventCreate");
    g_events.push_back(e);
  }
  const int index = g_used_events++;
  check(cudaEventRecord(g_events[index], stream()), "cudaEventRecord");
  return index;
}

void profile_label(std::string label) { t_label = std::move(label); }

void profile_record(const char* name, int begin, int end) {
  std::lock_guard<std::mutex> lock(g_profile_mutex);
  g_spans.push_back({t_label.empty() ? std::string(name) : t_label, begin, end});
  t_label.clear();
}

std::vector<ProfileEntry> profile_report() {
  check(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
  std::lock_guard<std::mutex> lock(g_profile_mutex);
  std::map<std::string, ProfileEntry> by_name;
  for (const Span& s : g_spans) {
    float ms = 0;
    check(cudaEventElapsedTime(&ms, g_events[s.begin], g_events[s.end]), "cudaEventElapsedTime");
    ProfileEntry& e = by_name[s.name];
    e.name = s.name;
    e.calls++;
    e.ms += ms;
  }
  g_spans.clear();
  g_used_events = 0;
  std::vector<ProfileEntry> out;
  for (auto& [name, e] : by_name) out.push_back(e);
  return out;
}

}  // namespace toroid::cuda
