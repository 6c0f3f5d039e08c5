// embeddingForward(weight [V,C], ids int32 [...]) -> [...,C];
// embeddingBackward(dy [...,C], ids, V, paddingIdx (-1: none)) -> dweight [V,C]
#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

namespace {
void check_ids(const Napi::Env& env, const TensorArg& ids, i64 V) {
  std::int32_t value = 0;
  const i64 n = find_out_of_range(ids.i32(), ids.size, V, -(i64{1} << 40), &value);
  if (n >= 0) {
    throw Napi::RangeError::New(env, "toroid.embedding: ids must be in [0, " + std::to_string(V) + "), got " + std::to_string(value) + " at index " + std::to_string(n));
  }
}
}  // namespace

Napi::Value embedding_forward_js(const Napi::CallbackInfo& info) {
  Args a(info, "embeddingForward", 2);
#if defined(TOROID_CUDA)
  TensorArg w = a.tensor(0, "weight"), ids = a.tensor(1, "ids", {DType::i32});
#else
  TensorArg w = a.tensor(0, "weight", {DType::f32, DType::bf16}), ids = a.tensor(1, "ids", {DType::i32});
#endif
  if (w.rank() != 2) a.range_error("weight", "[V,C]", describe_shape(w.shape));
  check_ids(info.Env(), ids, w.dim(0));
  auto y = new_storage(info.Env(), w.dtype, a.output_size("ids", mul_sat(ids.size, w.dim(1)), {ids.size, w.dim(1)}));
#if !defined(TOROID_CUDA)
  if (w.dtype == DType::bf16) {
    embedding_forward_bf16(w.bf16(), ids.i32(), static_cast<std::uint16_t*>(y.Data()->ptr), ids.size, w.dim(1));
    return y;
  }
#endif
  embedding_forward(w.f32(), ids.i32(), f32(y), ids.size, w.dim(1));
  return y;
}

Napi::Value embedding_backward_js(const Napi::CallbackInfo& info) {
  Args a(info, "embeddingBackward", 4);
  TensorArg dy = a.tensor(0, "dy"), ids = a.tensor(1, "ids", {DType::i32});
  const i64 V = a.integer(2, "V", 0, 1LL << 31);
  const i64 padding = a.integer(3, "paddingIdx", -1, V);
  if (dy.rank() != ids.rank() + 1 || std::vector<i64>(dy.shape.begin(), dy.shape.end() - 1) != ids.shape) {
    a.range_error("dy", "[...ids.shape, C] with ids " + describe_shape(ids.shape), describe_shape(dy.shape));
  }
  check_ids(info.Env(), ids, V);
  const i64 C = dy.dim(-1);
  auto dw = new_storage(info.Env(), DType::f32, a.output_size("dy", mul_sat(V, C), {V, C}), true);
  embedding_backward(dy.f32(), ids.i32(), f32(dw), ids.size, V, C, padding);
  return dw;
}

}  // namespace toroid::binding
