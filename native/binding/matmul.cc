// matmul(a, b, transA, transB, bias): a [...,M,K] (or [...,K,M] when transA),
// b [...,K,N] (or [...,N,K]), batch dims broadcast numpy-style, bias [N] or null.
#include <algorithm>

#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

Napi::Value matmul_js(const Napi::CallbackInfo& info) {
  Args a(info, "matmul", 5);
  TensorArg A = a.tensor(0, "a", {DType::f32, DType::bf16}), B = a.tensor(1, "b", {DType::f32, DType::bf16});
  const bool ta = a.boolean(2, "transA"), tb = a.boolean(3, "transB");
  TensorArg bias = a.optional_tensor(4, "bias", {DType::f32, DType::bf16});
  // one dtype for all three: bf16 products take bf16 inputs and give a bf16 result
  if (B.dtype != A.dtype) a.type_error("b", std::string(dtype_name(A.dtype)) + " like a", dtype_name(B.dtype));
  if (bias.present && bias.dtype != A.dtype) a.type_error("bias", std::string(dtype_name(A.dtype)) + " like a", dtype_name(bias.dtype));
  if (A.rank() < 2) a.range_error("a", "at least 2-D", describe_shape(A.shape));
  if (B.rank() < 2) a.range_error("b", "at least 2-D", describe_shape(B.shape));
  const i64 M = ta ? A.dim(-1) : A.dim(-2), K = ta ? A.dim(-2) : A.dim(-1);
  const i64 Kb = tb ? B.dim(-1) : B.dim(-2), N = tb ? B.dim(-2) : B.dim(-1);
  if (K != Kb) a.range_error("b", "inner dimension K=" + std::to_string(K), describe_shape(B.shape));
  if (bias.present && (bias.rank() != 1 || bias.dim(0) != N)) a.range_error("bias", "[N] = [" + std::to_string(N) + "]", describe_shape(bias.shape));
  // broadcast batch dims (right-aligned)
  const int ra = A.rank() - 2, rb = B.rank() - 2, rank = std::max(ra, rb);
  std::vector<i64> shape(rank), sa(rank, 0), sb(rank, 0);
  i64 stride_a = mul_sat(M, K), stride_b = mul_sat(K, N);
  for (int k = rank - 1; k >= 0; k--) {
    const int ka = k - (rank - ra), kb = k - (rank - rb);
    const i64 da = ka >= 0 ? A.shape[ka] : 1, db = kb >= 0 ? B.shape[kb] : 1;
    if (da != db && da != 1 && db != 1) a.range_error("b", "batch dimensions that broadcast with a " + describe_shape(A.shape), describe_shape(B.shape));
    shape[k] = std::max(da, db);
    if (da != 1) sa[k] = stride_a;
    if (db != 1) sb[k] = stride_b;
    stride_a = mul_sat(stride_a, da);
    stride_b = mul_sat(stride_b, db);
  }
  // dims of empty tensors are not bounded by their storage: count with saturation
  const i64 batch = product_sat(shape);
  std::vector<i64> out_dims = shape;
  out_dims.push_back(M);
  out_dims.push_back(N);
  const i64 out_size = a.output_size("a and b", product_sat(out_dims), out_dims);
  if (out_size == 0) return new_storage(info.Env(), A.dtype, 0);
  std::vector<i64> offa(batch), offb(batch);
  for (i64 n = 0; n < batch; n++) {
    i64 rest = n, oa = 0, ob = 0;
    for (int k = rank - 1; k >= 0; k--) {
      const i64 idx = rest % shape[k];
      rest /= shape[k];
      oa += idx * sa[k];
      ob += idx * sb[k];
    }
    offa[n] = oa;
    offb[n] = ob;
  }
  auto y = new_storage(info.Env(), A.dtype, out_size);
#if defined(TOROID_CUDA)
  // a profile tells products apart by shape: "matmul 8192x2304x768 NT +bias"
  if (cuda::profiling()) {
    cuda::profile_label("matmul " + std::to_string(batch > 1 ? batch : 1) + "x" + std::to_string(M) + "x" + std::to_string(N) + "x" +
                        std::to_string(K) + " " + (ta ? "T" : "N") + (tb ? "T" : "N") + (bias.present ? " +bias" : ""));
  }
#endif
#if !defined(TOROID_CUDA)
  if (A.dtype == DType::bf16) {
    matmul_forward_bf16(A.bf16(), B.bf16(), bias.bf16(), static_cast<std::uint16_t*>(y.Data()->ptr), batch, offa.data(), offb.data(), M, N, K, ta, tb);
    return y;
  }
#endif
  matmul_forward(A.f32(), B.f32(), bias.f32(), f32(y), batch, offa.data(), offb.data(), M, N, K, ta, tb);
  return y;
}

}  // namespace toroid::binding
