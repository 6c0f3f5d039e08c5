// sum(x, axes), broadcastTo(x, shape), permute(x, dims), narrow(x, axis, start, length),
// cat(xs, axis), writeNarrow(dst, src, axis, start).
#include <algorithm>
#include <cstring>

#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

// sum(x, axes) -> storage of the kept shape's size (the TS side knows the shape)
Napi::Value sum_js(const Napi::CallbackInfo& info) {
  Args a(info, "sum", 2);
  TensorArg x = a.tensor(0, "x", {DType::f32, DType::bf16});
  const int rank = x.rank();
  // a 0-D x has no axis to sum (no entry may pass the empty summed[] below)
  const std::vector<i64> axes = a.int_array(1, "axes", 0, rank - 1);
  std::vector<bool> summed(rank, false);
  for (i64 ax : axes) summed[ax] = true;
  // y strides over x's dims: 0 on summed axes, row-major over the kept ones
  std::vector<i64> ys(rank, 0);
  i64 s = 1;
  for (int k = rank - 1; k >= 0; k--) {
    if (summed[k]) continue;
    ys[k] = s;
    s = mul_sat(s, x.shape[k]);
  }
  auto y = new_storage(info.Env(), x.dtype, a.output_size("x", s, x.shape));
  if (x.size == 0) {
    if (s > 0) fill_forward(y.Data()->ptr, static_cast<int>(x.dtype), s, 0.0);
    return y;
  }
#if !defined(TOROID_CUDA)
  if (x.dtype == DType::bf16) {
    auto* out = static_cast<std::uint16_t*>(y.Data()->ptr);
    // every leading dim summed, the last kept: the bias gradient, read once as bf16
    bool leading = rank >= 1 && !summed[rank - 1];
    for (int k = 0; k + 1 < rank; k++) leading = leading && summed[k];
    if (leading) {
      sum_rows_bf16(x.bf16(), out, x.size / s, s);
    } else {
      std::vector<float> wide(static_cast<std::size_t>(x.size)), part(static_cast<std::size_t>(s), 0.0f);
      cast_forward(x.block->ptr, static_cast<int>(DType::bf16), wide.data(), static_cast<int>(DType::f32), x.size);
      sum_forward(wide.data(), part.data(), rank, x.shape.data(), ys.data(), s);
      cast_forward(part.data(), static_cast<int>(DType::f32), out, static_cast<int>(DType::bf16), s);
    }
    return y;
  }
#endif
  sum_forward(x.f32(), f32(y), rank, x.shape.data(), ys.data(), s);
  return y;
}

// y [shape] with y[i] = x[offset + sum_k idx_k * strides[k]]: the copy behind broadcastTo,
// permute and narrow. Each derives strides and offset from x's checked shape, so every
// element read lies inside x.
static Napi::Value copy_strided(const Napi::CallbackInfo& info, const char* fn, const TensorArg& x, const std::vector<i64>& shape,
                                const std::vector<i64>& strides, i64 offset, i64 size) {
  auto y = new_storage(info.Env(), x.dtype, size);
#if defined(TOROID_CUDA)
  if (cuda::profiling()) cuda::profile_label(std::string(fn) + " " + describe_shape(x.shape) + " -> " + describe_shape(shape));
#else
  (void)fn;
#endif
  const char* base = static_cast<const char*>(x.block->ptr) + offset * static_cast<i64>(dtype_bytes(x.dtype));
  if (size > 0) strided_copy(base, y.Data()->ptr, static_cast<int>(dtype_bytes(x.dtype)), static_cast<int>(shape.size()), shape.data(), strides.data());
  return y;
}

// row-major element strides of a shape whose size is bounded by a storage
static std::vector<i64> row_major(const std::vector<i64>& shape) {
  std::vector<i64> strides(shape.size(), 1);
  for (int k = static_cast<int>(shape.size()) - 2; k >= 0; k--) strides[k] = mul_sat(strides[k + 1], shape[k + 1]);
  return strides;
}

// broadcastTo(x, shape): x right-aligned against shape, size-1 dims repeated (stride 0)
Napi::Value broadcast_to_js(const Napi::CallbackInfo& info) {
  Args a(info, "broadcastTo", 2);
  TensorArg x = a.tensor(0, "x", {DType::f32, DType::bf16, DType::i32, DType::u8});
  const std::vector<i64> shape = a.int_array(1, "shape", 0, 1LL << 40);
  const std::vector<i64> strides = broadcast_strides(a, x, "x", shape);
  return copy_strided(info, "broadcastTo", x, shape, strides, 0, a.output_size("shape", product_sat(shape), shape));
}

// permute(x, dims): y's dim k is x's dim dims[k]
Napi::Value permute_js(const Napi::CallbackInfo& info) {
  Args a(info, "permute", 2);
  TensorArg x = a.tensor(0, "x", {DType::f32, DType::bf16, DType::i32, DType::u8});
  const std::vector<i64> dims = a.int_array(1, "dims", 0, x.rank() - 1);
  std::vector<bool> seen(x.rank(), false);
  bool valid = static_cast<int>(dims.size()) == x.rank();
  for (i64 d : dims) {
    valid = valid && !seen[d];
    seen[d] = true;
  }
  if (!valid) a.range_error("dims", "a permutation of the " + std::to_string(x.rank()) + " dims of x", describe_shape(dims));
  const std::vector<i64> xs = row_major(x.shape);
  std::vector<i64> shape(dims.size()), strides(dims.size());
  for (std::size_t k = 0; k < dims.size(); k++) {
    shape[k] = x.shape[dims[k]];
    strides[k] = xs[dims[k]];
  }
  return copy_strided(info, "permute", x, shape, strides, 0, x.size);
}

// narrow(x, axis, start, length): x[..., start:start+length, ...] along axis
Napi::Value narrow_js(const Napi::CallbackInfo& info) {
  Args a(info, "narrow", 4);
  TensorArg x = a.tensor(0, "x", {DType::f32, DType::bf16, DType::i32, DType::u8});
  if (x.rank() == 0) a.range_error("x", "at least 1-D", describe_shape(x.shape));
  const i64 axis = a.integer(1, "axis", 0, x.rank() - 1);
  const i64 start = a.integer(2, "start", 0, x.shape[axis]);
  const i64 length = a.integer(3, "length", 0, x.shape[axis] - start);
  std::vector<i64> shape = x.shape;
  shape[axis] = length;
  const std::vector<i64> strides = row_major(x.shape);
  return copy_strided(info, "narrow", x, shape, strides, start * strides[axis], product_sat(shape));
}

// cat(xs[], axis): join along axis; every x has the first one's dtype, rank and
// dims except along axis.
Napi::Value cat_js(const Napi::CallbackInfo& info) {
  Args a(info, "cat", 2);
  std::vector<TensorArg> xs = a.tensor_list(0, "xs", {DType::f32, DType::bf16, DType::i32, DType::u8});
  if (xs.empty()) a.range_error("xs", "at least one tensor", "none");
  const TensorArg& first = xs[0];
  const i64 axis = a.integer(1, "axis", 0, std::max(0, first.rank() - 1));
  if (first.rank() == 0) a.range_error("xs[0]", "at least 1-D", describe_shape(first.shape));
  i64 total = 0;
  for (std::size_t n = 0; n < xs.size(); n++) {
    const TensorArg& x = xs[n];
    const std::string name = "xs[" + std::to_string(n) + "]";
    if (x.dtype != first.dtype) a.type_error(name, std::string(dtype_name(first.dtype)) + " like xs[0]", dtype_name(x.dtype));
    bool same = x.rank() == first.rank();
    for (int k = 0; same && k < x.rank(); k++) same = k == axis || x.shape[k] == first.shape[k];
    if (!same) a.range_error(name, "the shape of xs[0] " + describe_shape(first.shape) + " except along axis " + std::to_string(axis), describe_shape(x.shape));
    if (__builtin_add_overflow(total, x.shape[axis], &total) || total > kSaturated) total = kSaturated;
  }
  i64 outer = 1, inner = 1;
  for (int k = 0; k < axis; k++) outer = mul_sat(outer, first.shape[k]);
  for (int k = static_cast<int>(axis) + 1; k < first.rank(); k++) inner = mul_sat(inner, first.shape[k]);
  const std::size_t eb = dtype_bytes(first.dtype);
  std::vector<i64> out_shape = first.shape;
  out_shape[axis] = total;
  const i64 out_size = a.output_size("xs", product_sat({outer, total, inner}), out_shape);
  auto y = new_storage(info.Env(), first.dtype, out_size);
  if (out_size == 0) return y;
  char* out = static_cast<char*>(y.Data()->ptr);
  i64 at = 0;
  for (const TensorArg& x : xs) {
    const i64 n = x.shape[axis];
    const i64 row = n * inner * static_cast<i64>(eb);
    if (row > 0 && outer > 0) copy_rows_2d(out + at * inner * eb, total * inner * static_cast<i64>(eb), x.block->ptr, row, row, outer);
    at += n;
  }
  return y;
}

// writeNarrow(dst, src, axis, start): dst[..., start:start+n, ...] = src in place (n = src's
// size along axis; every other dim equal). The one kernel that writes into an existing
// storage: KV caches append a position without copying the ones before it.
Napi::Value write_narrow_js(const Napi::CallbackInfo& info) {
  Args a(info, "writeNarrow", 4);
  TensorArg dst = a.tensor(0, "dst", {DType::f32, DType::bf16, DType::i32, DType::u8});
  TensorArg src = a.tensor(1, "src", {DType::f32, DType::bf16, DType::i32, DType::u8});
  if (dst.rank() == 0) a.range_error("dst", "at least 1-D", describe_shape(dst.shape));
  const i64 axis = a.integer(2, "axis", 0, dst.rank() - 1);
  if (src.dtype != dst.dtype) a.type_error("src", std::string(dtype_name(dst.dtype)) + " like dst", dtype_name(src.dtype));
  if (src.block == dst.block) a.range_error("src", "a storage other than dst's", "dst's own storage");
  bool same = src.rank() == dst.rank();
  for (int k = 0; same && k < dst.rank(); k++) same = k == axis || src.shape[k] == dst.shape[k];
  if (!same) a.range_error("src", "the shape of dst " + describe_shape(dst.shape) + " except along axis " + std::to_string(axis), describe_shape(src.shape));
  const i64 n = src.shape[axis], total = dst.shape[axis];
  const i64 start = a.integer(3, "start", 0, std::max<i64>(0, total - n));
  if (n > total) a.range_error("src", "at most " + std::to_string(total) + " along axis " + std::to_string(axis), describe_shape(src.shape));
  i64 outer = 1, inner = 1;
  for (int k = 0; k < axis; k++) outer = mul_sat(outer, dst.shape[k]);
  for (int k = static_cast<int>(axis) + 1; k < dst.rank(); k++) inner = mul_sat(inner, dst.shape[k]);
  const i64 eb = static_cast<i64>(dtype_bytes(dst.dtype));
  // both sizes are bounded by their storages (checked by a.tensor), so these products fit
  const i64 row = n * inner * eb;
  if (row > 0 && outer > 0) copy_rows_2d(static_cast<char*>(dst.block->ptr) + start * inner * eb, total * inner * eb, src.block->ptr, row, row, outer);
  return info.Env().Undefined();
}

}  // namespace toroid::binding
