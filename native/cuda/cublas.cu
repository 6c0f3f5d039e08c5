// dlopen()s libcublas once and resolves the handful of functions matmul needs.
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>

#include "cuda/common.cuh"
#include "cuda/cublas.h"

namespace toroid::cuda {

namespace {
// From cublas_api.h (values fixed by NVIDIA's ABI).
using Status = int;
using Handle = void*;
constexpr int kOpN = 0, kOpT = 1;
constexpr int kDefaultMath = 0, kTf32TensorOpMath = 3;

using CreateFn = Status (*)(Handle*);
using SetStreamFn = Status (*)(Handle, cudaStream_t);
using SetMathModeFn = Status (*)(Handle, int);
using SgemmStridedBatchedFn = Status (*)(Handle, int, int, int, int, int, const float*, const float*, int, long long, const float*, int,
                                         long long, const float*, float*, int, long long, int);
}  // namespace

struct Cublas {
  Handle handle = nullptr;
  SetMathModeFn set_math_mode = nullptr;
  SgemmStridedBatchedFn sgemm_strided_batched = nullptr;
  std::mutex mutex;  // one handle for every Node thread
  bool tf32 = false;
};

namespace {
std::string g_path, g_why = "not loaded yet";

Cublas* load() {
  std::string names[] = {"", "libcublas.so.13", "libcublas.so.12", "libcublas.so"};
  if (const char* env = std::getenv("TOROID_CUBLAS")) {
    if (std::string(env) == "0") {
      g_why = "disabled by TOROID_CUBLAS=0";
      return nullptr;
    }
    names[0] = env;
  }
  void* lib = nullptr;
  for (const std::string& name : names) {
    if (name.empty()) continue;
    lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib != nullptr) {
      g_path = name;
      break;
    }
  }
  if (lib == nullptr) {
    g_why = "libcublas.so.13/.12 not found (set TOROID_CUBLAS to its path or add its folder to LD_LIBRARY_PATH)";
    return nullptr;
  }
  auto create = reinterpret_cast<CreateFn>(dlsym(lib, "cublasCreate_v2"));
  auto set_stream = reinterpret_cast<SetStreamFn>(dlsym(lib, "cublasSetStream_v2"));
  auto* c = new Cublas();
  c->set_math_mode = reinterpret_cast<SetMathModeFn>(dlsym(lib, "cublasSetMathMode"));
  c->sgemm_strided_batched = reinterpret_cast<SgemmStridedBatchedFn>(dlsym(lib, "cublasSgemmStridedBatched"));
  if (create == nullptr || set_stream == nullptr || c->set_math_mode == nullptr || c->sgemm_strided_batched == nullptr) {
    g_why = g_path + " lacks the cuBLAS entry points toroid uses";
    delete c;
    return nullptr;
  }
  if (create(&c->handle) != 0 || set_stream(c->handle, stream()) != 0 || c->set_math_mode(c->handle, kDefaultMath) != 0) {
    g_why = "cublasCreate failed with " + g_path;
    delete c;
    return nullptr;
  }
  g_why = "";
  return c;
}
}  // namespace

const Cublas* cublas(const char** why) {
  static Cublas* lib = load();
  if (why != nullptr) *why = g_why.c_str();
  return lib;
}

const char* cublas_path() { return g_path.c_str(); }

bool cublas_sgemm_strided(const Cublas* clib, bool trans_a, bool trans_b, int m, int n, int k, const float* A, int lda,
                          long long stride_a, const float* B, int ldb, long long stride_b, float beta, float* C, int ldc,
                          long long stride_c, int batch) {
  auto* lib = const_cast<Cublas*>(clib);
  std::lock_guard<std::mutex> lock(lib->mutex);
  const bool tf32 = allow_tf32();
  if (tf32 != lib->tf32) {
    if (lib->set_math_mode(lib->handle, tf32 ? kTf32TensorOpMath : kDefaultMath) != 0) return false;
    lib->tf32 = tf32;
  }
  const float alpha = 1.0f;
  return lib->sgemm_strided_batched(lib->handle, trans_a ? kOpT : kOpN, trans_b ? kOpT : kOpN, m, n, k, &alpha, A, lda, stride_a, B, ldb,
                                    stride_b, &beta, C, ldc, stride_c, batch) == 0;
}

}  // namespace toroid::cuda
