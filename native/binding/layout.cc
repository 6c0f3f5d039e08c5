// sum(x, axes, keepDims) and stridedCopy(x, shape, strides) for permute and broadcastTo.
#include <algorithm>

#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

// sum(x, axes) -> storage of the kept shape's size (the TS side knows the shape)
Napi::Value sum_js(const Napi::CallbackInfo& info) {
  Args a(info, "sum", 2);
  TensorArg x = a.tensor(0, "x");
  const std::vector<i64> axes = a.int_array(1, "axes", 0, std::max(0, x.rank() - 1));
  const int rank = x.rank();
  std::vector<bool> summed(rank, false);
  for (i64 ax : axes) summed[ax] = true;
  // y strides over x's dims: 0 on summed axes, row-major over the kept ones
  std::vector<i64> ys(rank, 0);
  i64 s = 1;
  for (int k = rank - 1; k >= 0; k--) {
    if (summed[k]) continue;
    ys[k] = s;
    s *= x.shape[k];
  }
  auto y = new_storage(info.Env(), DType::f32, s);
  if (x.size > 0) sum_into(x.f32(), f32(y), rank, x.shape.data(), ys.data(), s);
  return y;
}

// stridedCopy(x, shape, strides): y[shape] with y[i] = x[sum_k idx_k * strides[k]];
// every reachable offset is checked against x's size first.
Napi::Value strided_copy_js(const Napi::CallbackInfo& info) {
  Args a(info, "stridedCopy", 3);
  TensorArg x = a.tensor(0, "x", {DType::f32, DType::i32, DType::u8});
  const std::vector<i64> shape = a.int_array(1, "shape", 0, 1LL << 40);
  const std::vector<i64> strides = a.int_array(2, "strides", 0, 1LL << 40);
  if (strides.size() != shape.size()) a.range_error("strides", std::to_string(shape.size()) + " entries", std::to_string(strides.size()));
  i64 size = 1, last = 0;
  for (std::size_t k = 0; k < shape.size(); k++) {
    size *= shape[k];
    if (shape[k] > 0) last += (shape[k] - 1) * strides[k];
  }
  if (size > 0 && last >= x.size) a.range_error("strides", "offsets within x's " + std::to_string(x.size) + " elements", "a largest offset of " + std::to_string(last));
  auto y = new_storage(info.Env(), x.dtype, size);
  if (size > 0) strided_copy(x.block->ptr, y.Data()->ptr, static_cast<int>(dtype_bytes(x.dtype)), static_cast<int>(shape.size()), shape.data(), strides.data());
  return y;
}

}  // namespace toroid::binding
