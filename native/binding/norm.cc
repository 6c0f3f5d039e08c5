// layernormForward/Backward, rmsnormForward/Backward: x [...,C] viewed as [N,C].
#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

namespace {
// Rows of C in x; checks that C divides x's size and the last dim.
i64 rows_of(Args& a, const TensorArg& x, i64 C) {
  // C is the product of the normalized trailing dims
  i64 tail = 1;
  bool fits = false;
  for (int k = x.rank() - 1; k >= 0 && !fits; k--) fits = (tail = mul_sat(tail, x.shape[k])) == C;
  if (C < 1 || !fits) a.range_error("x", "[...,normalized dims] with the normalized dims holding C=" + std::to_string(C) + " elements", describe_shape(x.shape));
  return x.size / C;
}
void check_param(Args& a, const TensorArg& t, const char* name, i64 C) {
  if (t.present && t.size != C) a.range_error(name, std::to_string(C) + " elements (the normalized shape)", describe_shape(t.shape));
}
void check_rows(Args& a, const TensorArg& t, const char* name, i64 N) {
  if (t.size != N) a.range_error(name, std::to_string(N) + " row statistics", describe_shape(t.shape));
}
}  // namespace

// (x, weight|null, bias|null, C, eps) -> [y, mean, rstd]
Napi::Value layernorm_forward_js(const Napi::CallbackInfo& info) {
  Args a(info, "layernormForward", 5);
  TensorArg x = a.tensor(0, "x"), w = a.optional_tensor(1, "weight"), b = a.optional_tensor(2, "bias");
  const i64 C = a.integer(3, "C", 1, kMaxElements), N = rows_of(a, x, C);
  check_param(a, w, "weight", C);
  check_param(a, b, "bias", C);
  const float eps = static_cast<float>(a.number(4, "eps", 0, 1e10));
  auto y = new_storage(info.Env(), DType::f32, x.size);
  auto mean = new_storage(info.Env(), DType::f32, N), rstd = new_storage(info.Env(), DType::f32, N);
  layernorm_forward(x.f32(), w.f32(), b.f32(), f32(y), f32(mean), f32(rstd), N, C, eps);
  return results(info.Env(), {y, mean, rstd});
}

// (dy, x, weight|null, mean, rstd, C, hasBias) -> [dx, dweight|null, dbias|null]
Napi::Value layernorm_backward_js(const Napi::CallbackInfo& info) {
  Args a(info, "layernormBackward", 7);
  TensorArg dy = a.tensor(0, "dy"), x = a.tensor(1, "x"), w = a.optional_tensor(2, "weight");
  TensorArg mean = a.tensor(3, "mean"), rstd = a.tensor(4, "rstd");
  const i64 C = a.integer(5, "C", 1, kMaxElements), N = rows_of(a, x, C);
  const bool has_bias = a.boolean(6, "hasBias");
  if (dy.shape != x.shape) a.range_error("dy", "the shape of x " + describe_shape(x.shape), describe_shape(dy.shape));
  check_param(a, w, "weight", C);
  check_rows(a, mean, "mean", N);
  check_rows(a, rstd, "rstd", N);
  auto dx = new_storage(info.Env(), DType::f32, x.size);
  Napi::Value dw = info.Env().Null(), db = info.Env().Null();
  float *dwp = nullptr, *dbp = nullptr;
  if (w.present) { auto s = new_storage(info.Env(), DType::f32, C); dwp = f32(s); dw = s; }
  if (has_bias) { auto s = new_storage(info.Env(), DType::f32, C); dbp = f32(s); db = s; }
  layernorm_backward(dy.f32(), x.f32(), w.f32(), mean.f32(), rstd.f32(), f32(dx), dwp, dbp, N, C);
  return results(info.Env(), {dx, dw, db});
}

// (x, weight|null, C, eps) -> [y, rstd]
Napi::Value rmsnorm_forward_js(const Napi::CallbackInfo& info) {
  Args a(info, "rmsnormForward", 4);
  TensorArg x = a.tensor(0, "x"), w = a.optional_tensor(1, "weight");
  const i64 C = a.integer(2, "C", 1, kMaxElements), N = rows_of(a, x, C);
  check_param(a, w, "weight", C);
  const float eps = static_cast<float>(a.number(3, "eps", 0, 1e10));
  auto y = new_storage(info.Env(), DType::f32, x.size), rstd = new_storage(info.Env(), DType::f32, N);
  rmsnorm_forward(x.f32(), w.f32(), f32(y), f32(rstd), N, C, eps);
  return results(info.Env(), {y, rstd});
}

// (dy, x, weight|null, rstd, C) -> [dx, dweight|null]
Napi::Value rmsnorm_backward_js(const Napi::CallbackInfo& info) {
  Args a(info, "rmsnormBackward", 5);
  TensorArg dy = a.tensor(0, "dy"), x = a.tensor(1, "x"), w = a.optional_tensor(2, "weight"), rstd = a.tensor(3, "rstd");
  const i64 C = a.integer(4, "C", 1, kMaxElements), N = rows_of(a, x, C);
  if (dy.shape != x.shape) a.range_error("dy", "the shape of x " + describe_shape(x.shape), describe_shape(dy.shape));
  check_param(a, w, "weight", C);
  check_rows(a, rstd, "rstd", N);
  auto dx = new_storage(info.Env(), DType::f32, x.size);
  Napi::Value dw = info.Env().Null();
  float* dwp = nullptr;
  if (w.present) { auto s = new_storage(info.Env(), DType::f32, C); dwp = f32(s); dw = s; }
  rmsnorm_backward(dy.f32(), x.f32(), w.f32(), rstd.f32(), f32(dx), dwp, N, C);
  return results(info.Env(), {dx, dw});
}

}  // namespace toroid::binding
