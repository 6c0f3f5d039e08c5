// activationForward/Backward (kind 0 relu, 1 gelu, 2 gelu_tanh, 3 silu, 4 tanh), swigluForward/Backward.
#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

Napi::Value activation_forward_js(const Napi::CallbackInfo& info) {
  Args a(info, "activationForward", 2);
  TensorArg x = a.tensor(0, "x", {DType::f32, DType::bf16});
  const Act kind = static_cast<Act>(a.integer(1, "kind", 0, 4));
  auto y = new_storage(info.Env(), x.dtype, x.size);
#if !defined(TOROID_CUDA)
  if (x.dtype == DType::bf16) {
    activation_forward_bf16(x.bf16(), static_cast<std::uint16_t*>(y.Data()->ptr), x.size, kind);
    return y;
  }
#endif
  activation_forward(x.f32(), f32(y), x.size, kind);
  return y;
}

Napi::Value activation_backward_js(const Napi::CallbackInfo& info) {
  Args a(info, "activationBackward", 3);
  TensorArg dy = a.tensor(0, "dy", {DType::f32, DType::bf16}), x = a.tensor(1, "x", {DType::f32, DType::bf16});
  const Act kind = static_cast<Act>(a.integer(2, "kind", 0, 4));
  if (dy.shape != x.shape) a.range_error("dy", "the shape of x " + describe_shape(x.shape), describe_shape(dy.shape));
  if (dy.dtype != x.dtype) a.type_error("dy", std::string(dtype_name(x.dtype)) + " like x", dtype_name(dy.dtype));
  auto dx = new_storage(info.Env(), x.dtype, x.size);
#if !defined(TOROID_CUDA)
  if (x.dtype == DType::bf16) {
    activation_backward_bf16(dy.bf16(), x.bf16(), static_cast<std::uint16_t*>(dx.Data()->ptr), x.size, kind);
    return dx;
  }
#endif
  activation_backward(dy.f32(), x.f32(), f32(dx), x.size, kind);
  return dx;
}

namespace {
i64 half_width(Args& a, const TensorArg& x) {
  if (x.rank() < 1 || x.dim(-1) % 2 != 0) a.range_error("x", "[...,2F] with an even last dimension", describe_shape(x.shape));
  return x.dim(-1) / 2;
}
}  // namespace

Napi::Value swiglu_forward_js(const Napi::CallbackInfo& info) {
  Args a(info, "swigluForward", 1);
  TensorArg x = a.tensor(0, "x");
  const i64 F = half_width(a, x), N = F == 0 ? 0 : x.size / (2 * F);
  auto y = new_storage(info.Env(), DType::f32, N * F);
  swiglu_forward(x.f32(), f32(y), N, F);
  return y;
}

Napi::Value swiglu_backward_js(const Napi::CallbackInfo& info) {
  Args a(info, "swigluBackward", 2);
  TensorArg dy = a.tensor(0, "dy"), x = a.tensor(1, "x");
  const i64 F = half_width(a, x), N = F == 0 ? 0 : x.size / (2 * F);
  if (dy.size != N * F) a.range_error("dy", std::to_string(N * F) + " elements ([...,F])", describe_shape(dy.shape));
  auto dx = new_storage(info.Env(), DType::f32, x.size);
  swiglu_backward(dy.f32(), x.f32(), f32(dx), N, F);
  return dx;
}

}  // namespace toroid::binding
