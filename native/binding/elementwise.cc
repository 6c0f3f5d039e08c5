// dropoutForward(x, p, seed, offset), dropoutBackward(dy, p, seed, offset), binary(a, b, op, outShape),
// scale(x, factor), cast(x, dtype), fill(shape, dtype, value)
#include <cmath>

#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

// the backward draws the forward's mask from the same (seed, offset), so both are one call
static Napi::Value dropout(const Napi::CallbackInfo& info, const char* fn, const char* x_name) {
  Args a(info, fn, 4);
  TensorArg x = a.tensor(0, x_name, {DType::f32, DType::bf16});
  const double p = a.number(1, "p", 0, 1);
  const Rng rng = read_rng(a, info, 2);
  auto y = new_storage(info.Env(), x.dtype, x.size);
#if !defined(TOROID_CUDA)
  if (x.dtype == DType::bf16) {
    dropout_forward_bf16(x.bf16(), static_cast<std::uint16_t*>(y.Data()->ptr), x.size, p, rng);
    return y;
  }
#endif
  dropout_forward(x.f32(), f32(y), x.size, p, rng);
  return y;
}

Napi::Value dropout_forward_js(const Napi::CallbackInfo& info) { return dropout(info, "dropoutForward", "x"); }
Napi::Value dropout_backward_js(const Napi::CallbackInfo& info) { return dropout(info, "dropoutBackward", "dy"); }

// Per-dim element strides of t broadcast (right-aligned) to `shape`, 0 where broadcast.
std::vector<i64> broadcast_strides(Args& a, const TensorArg& t, const char* name, const std::vector<i64>& shape) {
  const int rank = static_cast<int>(shape.size()), off = rank - t.rank();
  if (off < 0) a.range_error(name, "broadcastable to " + describe_shape(shape), describe_shape(t.shape));
  std::vector<i64> strides(rank, 0);
  i64 s = 1;
  for (int k = t.rank() - 1; k >= 0; k--) {
    if (t.shape[k] != shape[k + off] && t.shape[k] != 1) a.range_error(name, "broadcastable to " + describe_shape(shape), describe_shape(t.shape));
    strides[k + off] = t.shape[k] == 1 ? 0 : s;
    s = mul_sat(s, t.shape[k]);
  }
  return strides;
}

Napi::Value binary_js(const Napi::CallbackInfo& info) {
  Args a(info, "binary", 4);
  TensorArg x = a.tensor(0, "a"), y = a.tensor(1, "b");
  const BinOp op = static_cast<BinOp>(a.integer(2, "op", 0, 3));
  const std::vector<i64> shape = a.int_array(3, "shape", 0, 1LL << 40);
  const std::vector<i64> sa = broadcast_strides(a, x, "a", shape), sb = broadcast_strides(a, y, "b", shape);
  const i64 size = a.output_size("shape", product_sat(shape), shape);
  auto out = new_storage(info.Env(), DType::f32, size);
#if defined(TOROID_CUDA)
  if (cuda::profiling()) cuda::profile_label("binary " + describe_shape(x.shape) + " " + describe_shape(y.shape));
#endif
  if (size > 0) binary_forward(x.f32(), y.f32(), f32(out), static_cast<int>(shape.size()), shape.data(), sa.data(), sb.data(), op);
  return out;
}

Napi::Value scale_js(const Napi::CallbackInfo& info) {
  Args a(info, "scale", 2);
  TensorArg x = a.tensor(0, "x", {DType::f32, DType::bf16});
  const float factor = static_cast<float>(a.number(1, "factor", -INFINITY, INFINITY));
  auto y = new_storage(info.Env(), x.dtype, x.size);
#if !defined(TOROID_CUDA)
  if (x.dtype == DType::bf16) {
    scale_forward_bf16(x.bf16(), static_cast<std::uint16_t*>(y.Data()->ptr), x.size, factor);
    return y;
  }
#endif
  scale_forward(x.f32(), f32(y), x.size, factor);
  return y;
}

// cast between float32, bfloat16, int32 and bool (nonzero -> 1; float -> int truncates like the
// ts backend; float32 -> bfloat16 rounds to nearest even)
Napi::Value cast_js(const Napi::CallbackInfo& info) {
  Args a(info, "cast", 2);
  TensorArg x = a.tensor(0, "x", {DType::f32, DType::bf16, DType::i32, DType::u8});
  DType to;
  const std::string name = a.string(1, "dtype");
  if (!parse_dtype(name, &to)) a.type_error("dtype", dtype_names(), name);
  auto y = new_storage(info.Env(), to, x.size);
  cast_forward(x.block->ptr, static_cast<int>(x.dtype), y.Data()->ptr, static_cast<int>(to), x.size);
  return y;
}

Napi::Value fill_js(const Napi::CallbackInfo& info) {
  Args a(info, "fill", 3);
  DType to;
  const std::string name = a.string(1, "dtype");
  if (!parse_dtype(name, &to)) a.type_error("dtype", dtype_names(), name);
  const std::vector<i64> shape = a.int_array(0, "shape", 0, 1LL << 40);
  const i64 size = a.output_size("shape", product_sat(shape), shape);
  const double v = a.number(2, "value", -INFINITY, INFINITY);
  auto y = new_storage(info.Env(), to, size);
  fill_forward(y.Data()->ptr, static_cast<int>(to), size, v);
  return y;
}

}  // namespace toroid::binding
