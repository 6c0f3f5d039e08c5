// The binding's export list, one entry per kernel (see addon.cc), plus small
// helpers shared by the family files.
#pragma once
#include <napi.h>

#include "backend.h"
#include "binding/args.h"
#if defined(TOROID_CUDA)
#include "cuda/device.h"
#endif

namespace toroid::binding {

// seed (bigint, 64-bit) at index i, offset (non-negative integer) at i + 1
Rng read_rng(Args& a, const Napi::CallbackInfo& info, std::size_t i);
inline float* f32(const Napi::External<Block>& e) { return static_cast<float*>(e.Data()->ptr); }
inline std::int32_t* i32(const Napi::External<Block>& e) { return static_cast<std::int32_t*>(e.Data()->ptr); }
// Per-dim element strides of t broadcast (right-aligned) to `shape`, 0 where broadcast;
// a RangeError naming `name` when t does not broadcast (elementwise.cc)
std::vector<i64> broadcast_strides(Args& a, const TensorArg& t, const char* name, const std::vector<i64>& shape);

Napi::Value upload_js(const Napi::CallbackInfo& info);
Napi::Value download_js(const Napi::CallbackInfo& info);
Napi::Value free_js(const Napi::CallbackInfo& info);
Napi::Value memory_js(const Napi::CallbackInfo& info);
Napi::Value setNumThreads_js(const Napi::CallbackInfo& info);
Napi::Value getNumThreads_js(const Napi::CallbackInfo& info);
Napi::Value info_js(const Napi::CallbackInfo& info);
#if defined(TOROID_SANITIZE_BUILD)
Napi::Value sanitizer_probe_js(const Napi::CallbackInfo& info);
#endif
Napi::Value matmul_js(const Napi::CallbackInfo& info);
Napi::Value attention_forward_js(const Napi::CallbackInfo& info);
Napi::Value attention_backward_js(const Napi::CallbackInfo& info);
Napi::Value layernorm_forward_js(const Napi::CallbackInfo& info);
Napi::Value layernorm_backward_js(const Napi::CallbackInfo& info);
Napi::Value rmsnorm_forward_js(const Napi::CallbackInfo& info);
Napi::Value rmsnorm_backward_js(const Napi::CallbackInfo& info);
Napi::Value activation_forward_js(const Napi::CallbackInfo& info);
Napi::Value activation_backward_js(const Napi::CallbackInfo& info);
Napi::Value swiglu_forward_js(const Napi::CallbackInfo& info);
Napi::Value swiglu_backward_js(const Napi::CallbackInfo& info);
Napi::Value softmax_forward_js(const Napi::CallbackInfo& info);
Napi::Value topk_js(const Napi::CallbackInfo& info);
Napi::Value softmax_backward_js(const Napi::CallbackInfo& info);
Napi::Value cross_entropy_forward_js(const Napi::CallbackInfo& info);
Napi::Value cross_entropy_backward_js(const Napi::CallbackInfo& info);
Napi::Value embedding_forward_js(const Napi::CallbackInfo& info);
Napi::Value embedding_backward_js(const Napi::CallbackInfo& info);
Napi::Value dropout_forward_js(const Napi::CallbackInfo& info);
Napi::Value dropout_backward_js(const Napi::CallbackInfo& info);
Napi::Value binary_js(const Napi::CallbackInfo& info);
Napi::Value scale_js(const Napi::CallbackInfo& info);
Napi::Value sum_js(const Napi::CallbackInfo& info);
Napi::Value broadcast_to_js(const Napi::CallbackInfo& info);
Napi::Value permute_js(const Napi::CallbackInfo& info);
Napi::Value narrow_js(const Napi::CallbackInfo& info);
Napi::Value cat_js(const Napi::CallbackInfo& info);
Napi::Value write_narrow_js(const Napi::CallbackInfo& info);
Napi::Value cast_js(const Napi::CallbackInfo& info);
Napi::Value fill_js(const Napi::CallbackInfo& info);
Napi::Value adamw_step_js(const Napi::CallbackInfo& info);
Napi::Value empty_cache_js(const Napi::CallbackInfo& info);
// collectives (collective_api.cc)
Napi::Value distributed_available_js(const Napi::CallbackInfo& info);
Napi::Value distributed_init_js(const Napi::CallbackInfo& info);
Napi::Value distributed_unique_id_js(const Napi::CallbackInfo& info);
Napi::Value all_reduce_start_js(const Napi::CallbackInfo& info);
Napi::Value broadcast_start_js(const Napi::CallbackInfo& info);
Napi::Value collective_wait_js(const Napi::CallbackInfo& info);
Napi::Value all_reduce_host_js(const Napi::CallbackInfo& info);
Napi::Value collective_barrier_js(const Napi::CallbackInfo& info);
Napi::Value distributed_abandon_js(const Napi::CallbackInfo& info);
#if defined(TOROID_CUDA)
// GPU time per export while toroid.cuda.profile() runs (native/cuda/runtime.cu).
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value profiled(const Napi::CallbackInfo& info) {
  if (!cuda::profiling()) return F(info);
  const int begin = cuda::profile_mark();
  Napi::Value result = F(info);
  cuda::profile_record(static_cast<const char*>(info.Data()), begin, cuda::profile_mark());
  return result;
}
Napi::Value cuda_profile_js(const Napi::CallbackInfo& info);
Napi::Value cuda_info_js(const Napi::CallbackInfo& info);
Napi::Value cuda_set_deterministic_js(const Napi::CallbackInfo& info);
Napi::Value cuda_set_matmul_precision_js(const Napi::CallbackInfo& info);
Napi::Value cuda_synchronize_js(const Napi::CallbackInfo& info);
#endif

}  // namespace toroid::binding
