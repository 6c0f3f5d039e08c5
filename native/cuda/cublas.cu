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
constexpr int kDefaultMath = 0;
constexpr int kDataF32 = 0;  // CUDA_R_32F
// cublasComputeType_t by matmul_precision(): exact fp32, TF32, bf16, fp16 (fp32 accumulation in all)
constexpr int kComputeTypes[] = {68 /* 32F */, 77 /* 32F_FAST_TF32 */, 75 /* 32F_FAST_16BF */, 74 /* 32F_FAST_16F */};
constexpr int kGemmDefault = -1;

using CreateFn = Status (*)(Handle*);
using SetStreamFn = Status (*)(Handle, cudaStream_t);
using SetMathModeFn = Status (*)(Handle, int);
using GemmStridedBatchedExFn = Status (*)(Handle, int, int, int, int, int, const void*, const void*, int, int, long long, const void*, int,
                                          int, long long, const void*, void*, int, int, long long, int, int, int);
}  // namespace

struct Cublas {
  Handle handle = nullptr;
  GemmStridedBatchedExFn gemm_strided_batched_ex = nullptr;
  std::mutex mutex;  // one handle for every Node thread
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
  auto set_math_mode = reinterpret_cast<SetMathModeFn>(dlsym(lib, "cublasSetMathMode"));
  c->gemm_strided_batched_ex = reinterpret_cast<GemmStridedBatchedExFn>(dlsym(lib, "cublasGemmStridedBatchedEx"));
  if (create == nullptr || set_stream == nullptr || set_math_mode == nullptr || c->gemm_strided_batched_ex == nullptr) {
    g_why = g_path + " lacks the cuBLAS entry points toroid uses";
    delete c;
    return nullptr;
  }
  if (create(&c->handle) != 0 || set_stream(c->handle, stream()) != 0 || set_math_mode(c->handle, kDefaultMath) != 0) {
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
  const float alpha = 1.0f;
  return lib->gemm_strided_batched_ex(lib->handle, trans_a ? kOpT : kOpN, trans_b ? kOpT : kOpN, m, n, k, &alpha, A, kDataF32, lda, stride_a,
                                      B, kDataF32, ldb, stride_b, &beta, C, kDataF32, ldc, stride_c, batch,
                                      kComputeTypes[matmul_precision()], kGemmDefault) == 0;
}

}  // namespace toroid::cuda
