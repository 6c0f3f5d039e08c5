// topk(x [..., n] float32, k) -> [values [..., k] float32, indices [..., k] int32]: the k
// largest along the last axis, best first (order in backend.h).
#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

Napi::Value topk_js(const Napi::CallbackInfo& info) {
  Args a(info, "topk", 2);
  TensorArg x = a.tensor(0, "x");
  if (x.rank() < 1) a.range_error("x", "at least 1-D", describe_shape(x.shape));
  const i64 n = x.dim(x.rank() - 1);
  if (n > 2147483647LL) a.range_error("x", "a last axis of at most 2^31 - 1 (int32 indices)", describe_shape(x.shape));
  const i64 k = a.integer(1, "k", 0, n);
  const i64 R = n == 0 ? 0 : x.size / n;
  std::vector<i64> dims = x.shape;
  dims.back() = k;
  a.output_size("k", R * k, dims);
  auto values = new_storage(info.Env(), DType::f32, R * k);
  auto indices = new_storage(info.Env(), DType::i32, R * k);
  if (R * k > 0) topk_forward(x.f32(), f32(values), i32(indices), R, n, k);
  return results(info.Env(), {values, indices});
}

}  // namespace toroid::binding
