// The export list of toroid.node. Every entry is wrapped by guarded<>, so no
// C++ exception reaches V8; argument checks live in the family files.
#include <napi.h>

#include <dlfcn.h>

#include <cstdlib>

#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

namespace {
// Keeps this module (and so libgomp, the CUDA runtime, our statics) mapped until the
// process ends. Node dlcloses an addon when the last worker thread that loaded it
// exits; libgomp's pool threads stay parked inside libgomp's code, so after that
// unload any signal that wakes one of them (a profiler, LeakSanitizer stopping
// the threads at exit) jumps into unmapped memory: SIGSEGV. Seen with a Trainer in
// a process whose main thread never loaded the addon (test/train/resume-child.ts
// under npm run test:asan). RTLD_NOLOAD|RTLD_NODELETE only marks the loaded copy.
void pin_module() {
  static const bool pinned = [] {
    Dl_info self{};
    if (dladdr(reinterpret_cast<void*>(&pin_module), &self) == 0 || self.dli_fname == nullptr) return false;
    return dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) != nullptr;  // never closed, on purpose
  }();
  (void)pinned;
}
}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  pin_module();
#if defined(TOROID_CUDA)
  // the name travels as the function's data, for toroid.cuda.profile()
#define EXPORT(name, fn) exports.Set(name, Napi::Function::New<guarded<profiled<fn>>>(env, name, const_cast<char*>(name)))
#else
#define EXPORT(name, fn) exports.Set(name, Napi::Function::New<guarded<fn>>(env, name))
#endif
  EXPORT("upload", upload_js);
  EXPORT("download", download_js);
  EXPORT("free", free_js);
  EXPORT("memory", memory_js);
  EXPORT("setNumThreads", setNumThreads_js);
  EXPORT("getNumThreads", getNumThreads_js);
  EXPORT("info", info_js);
#if defined(TOROID_SANITIZE_BUILD)
  EXPORT("sanitizerProbe", sanitizer_probe_js);
#endif
  EXPORT("matmul", matmul_js);
  EXPORT("attentionForward", attention_forward_js);
  EXPORT("attentionBackward", attention_backward_js);
  EXPORT("layernormForward", layernorm_forward_js);
  EXPORT("layernormBackward", layernorm_backward_js);
  EXPORT("rmsnormForward", rmsnorm_forward_js);
  EXPORT("rmsnormBackward", rmsnorm_backward_js);
  EXPORT("activationForward", activation_forward_js);
  EXPORT("activationBackward", activation_backward_js);
  EXPORT("swigluForward", swiglu_forward_js);
  EXPORT("swigluBackward", swiglu_backward_js);
  EXPORT("softmaxForward", softmax_forward_js);
  EXPORT("softmaxBackward", softmax_backward_js);
  EXPORT("topk", topk_js);
  EXPORT("crossEntropyForward", cross_entropy_forward_js);
  EXPORT("crossEntropyBackward", cross_entropy_backward_js);
  EXPORT("embeddingForward", embedding_forward_js);
  EXPORT("embeddingBackward", embedding_backward_js);
  EXPORT("dropoutForward", dropout_forward_js);
  EXPORT("dropoutBackward", dropout_backward_js);
  EXPORT("binary", binary_js);
  EXPORT("scale", scale_js);
  EXPORT("sum", sum_js);
  EXPORT("broadcastTo", broadcast_to_js);
  EXPORT("permute", permute_js);
  EXPORT("cast", cast_js);
  EXPORT("narrow", narrow_js);
  EXPORT("cat", cat_js);
  EXPORT("writeNarrow", write_narrow_js);
  EXPORT("fill", fill_js);
  EXPORT("adamwStep", adamw_step_js);
  EXPORT("emptyCache", empty_cache_js);
  EXPORT("distributedAvailable", distributed_available_js);
  EXPORT("distributedInit", distributed_init_js);
  EXPORT("distributedUniqueId", distributed_unique_id_js);
  EXPORT("allReduceStart", all_reduce_start_js);
  EXPORT("broadcastStart", broadcast_start_js);
  EXPORT("collectiveWait", collective_wait_js);
  EXPORT("allReduceHost", all_reduce_host_js);
  EXPORT("collectiveBarrier", collective_barrier_js);
  EXPORT("distributedAbandon", distributed_abandon_js);
#if defined(TOROID_CUDA)
  EXPORT("cudaInfo", cuda_info_js);
  EXPORT("cudaSetDeterministic", cuda_set_deterministic_js);
  EXPORT("cudaSetMatmulPrecision", cuda_set_matmul_precision_js);
  EXPORT("cudaSynchronize", cuda_synchronize_js);
  EXPORT("cudaProfile", cuda_profile_js);
#endif
#undef EXPORT
  // One pool for our kernels and the BLAS, sized once from OMP_NUM_THREADS or the cores.
  set_num_threads(num_threads());
  return exports;
}

}  // namespace toroid::binding

static Napi::Object InitToroid(Napi::Env env, Napi::Object exports) { return toroid::binding::init(env, exports); }

#if defined(TOROID_CUDA)
NODE_API_MODULE(toroid_cuda, InitToroid)
#else
NODE_API_MODULE(toroid, InitToroid)
#endif
