// Exports of toroid_cuda.node only: the device, the switches, synchronisation.
#include "binding/args.h"
#include "binding/kernels.h"
#include "cuda/device.h"

namespace toroid::binding {

Napi::Value cuda_info_js(const Napi::CallbackInfo& info) {
  const cuda::DeviceInfo d = cuda::device_info();
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", Napi::Number::New(env, d.count));
  o.Set("error", d.error.empty() ? env.Null() : Napi::String::New(env, d.error));
  if (d.count > 0 && d.error.empty()) {
    o.Set("device", Napi::Number::New(env, d.device));
    o.Set("name", Napi::String::New(env, d.name));
    o.Set("computeCapability", Napi::String::New(env, std::to_string(d.major) + "." + std::to_string(d.minor)));
    o.Set("multiprocessors", Napi::Number::New(env, d.multiprocessors));
    o.Set("totalBytes", Napi::Number::New(env, static_cast<double>(d.total_bytes)));
    o.Set("freeBytes", Napi::Number::New(env, static_cast<double>(d.free_bytes)));
    o.Set("driverVersion", Napi::Number::New(env, d.driver_version));
    o.Set("runtimeVersion", Napi::Number::New(env, d.runtime_version));
    o.Set("cublas", Napi::Boolean::New(env, d.cublas));
    o.Set("blas", Napi::String::New(env, d.blas));
  }
  o.Set("deterministic", Napi::Boolean::New(env, cuda::deterministic()));
  static const char* const kPrecisions[] = {"highest", "high", "medium", "fp16"};
  o.Set("matmulPrecision", Napi::String::New(env, kPrecisions[cuda::matmul_precision()]));
  return o;
}

Napi::Value cuda_set_deterministic_js(const Napi::CallbackInfo& info) {
  Args a(info, "cuda.setDeterministic", 1);
  cuda::set_deterministic(a.boolean(0, "on"));
  return info.Env().Undefined();
}

// 0 highest (fp32), 1 high (TF32), 2 medium (bf16), 3 fp16
Napi::Value cuda_set_matmul_precision_js(const Napi::CallbackInfo& info) {
  Args a(info, "cuda.setMatmulPrecision", 1);
  cuda::set_matmul_precision(static_cast<int>(a.integer(0, "precision", 0, 3)));
  return info.Env().Undefined();
}

// cudaProfile(true) starts recording, cudaProfile(false) stops and returns
// [{ name, calls, ms }] of GPU time per export since the start.
Napi::Value cuda_profile_js(const Napi::CallbackInfo& info) {
  Args a(info, "cuda.profile", 1);
  const bool on = a.boolean(0, "on");
  if (on) {
    (void)cuda::profile_report();  // drop anything left from before
    cuda::set_profiling(true);
    return info.Env().Undefined();
  }
  cuda::set_profiling(false);
  const std::vector<cuda::ProfileEntry> entries = cuda::profile_report();
  Napi::Array out = Napi::Array::New(info.Env(), entries.size());
  for (std::size_t i = 0; i < entries.size(); i++) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("name", entries[i].name);
    o.Set("calls", Napi::Number::New(info.Env(), entries[i].calls));
    o.Set("ms", Napi::Number::New(info.Env(), entries[i].ms));
    out.Set(static_cast<std::uint32_t>(i), o);
  }
  return out;
}

Napi::Value cuda_synchronize_js(const Napi::CallbackInfo& info) {
  cuda::synchronize();
  return info.Env().Undefined();
}

}  // namespace toroid::binding
