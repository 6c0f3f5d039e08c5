// softmaxForward(x, axis, log) / softmaxBackward(dy, y, axis, log)
#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

namespace {
struct View { i64 outer = 1, n = 1, inner = 1; };
View view_of(Args& a, const TensorArg& x, std::size_t axis_index) {
  const i64 axis = a.integer(axis_index, "axis", 0, x.rank() > 0 ? x.rank() - 1 : 0);
  View v;
  for (int k = 0; k < x.rank(); k++) {
    // saturating: an empty x leaves its other dims unbounded (its kernels are skipped)
    if (k < axis) v.outer = mul_sat(v.outer, x.shape[k]);
    else if (k == axis) v.n = x.shape[k];
    else v.inner = mul_sat(v.inner, x.shape[k]);
  }
  return v;
}
}  // namespace

Napi::Value softmax_forward_js(const Napi::CallbackInfo& info) {
  Args a(info, "softmaxForward", 3);
  TensorArg x = a.tensor(0, "x");
  const View v = view_of(a, x, 1);
  const bool log = a.boolean(2, "log");
  auto y = new_storage(info.Env(), DType::f32, x.size);
  if (x.size == 0) return y;
  softmax_forward(x.f32(), f32(y), v.outer, v.n, v.inner, log);
  return y;
}

Napi::Value softmax_backward_js(const Napi::CallbackInfo& info) {
  Args a(info, "softmaxBackward", 4);
  TensorArg dy = a.tensor(0, "dy"), y = a.tensor(1, "y");
  if (dy.shape != y.shape) a.range_error("dy", "the shape of y " + describe_shape(y.shape), describe_shape(dy.shape));
  const View v = view_of(a, y, 2);
  const bool log = a.boolean(3, "log");
  auto dx = new_storage(info.Env(), DType::f32, y.size);
  if (y.size == 0) return dx;
  softmax_backward(dy.f32(), y.f32(), f32(dx), v.outer, v.n, v.inner, log);
  return dx;
}

}  // namespace toroid::binding
