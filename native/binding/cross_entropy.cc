// crossEntropyForward(logits [N,C], target [N] int32, ignoreIndex, smoothing, reduction 0 mean|1 sum|2 none)
//   -> [loss, lse]; crossEntropyBackward(dloss, logits, target, lse, ...) -> dlogits
#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

namespace {
struct CE { i64 N, C, ignore; float smoothing; Reduction reduction; };
CE unpack_ce(Args& a, const TensorArg& logits, const TensorArg& target, std::size_t first) {
  if (logits.rank() != 2) a.range_error("logits", "[N,C]", describe_shape(logits.shape));
  const i64 N = logits.dim(0), C = logits.dim(1);
  if (target.rank() != 1 || target.dim(0) != N) a.range_error("target", "[N] = [" + std::to_string(N) + "]", describe_shape(target.shape));
  CE ce{N, C, 0, 0, Reduction::mean};
  ce.ignore = a.integer(first, "ignoreIndex", -2147483648LL, 2147483647LL);
  ce.smoothing = static_cast<float>(a.number(first + 1, "labelSmoothing", 0, 1));
  ce.reduction = static_cast<Reduction>(a.integer(first + 2, "reduction", 0, 2));
  return ce;
}
}  // namespace

Napi::Value cross_entropy_forward_js(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyForward", 5);
  TensorArg logits = a.tensor(0, "logits"), target = a.tensor(1, "target", {DType::i32});
  const CE ce = unpack_ce(a, logits, target, 2);
  auto loss = new_storage(info.Env(), DType::f32, ce.reduction == Reduction::none ? ce.N : 1);
  auto lse = new_storage(info.Env(), DType::f32, ce.N);
  std::int32_t value = 0;
  const i64 bad = find_out_of_range(target.i32(), ce.N, ce.C, ce.ignore, &value);
  if (bad >= 0) {
    throw Napi::RangeError::New(info.Env(), "toroid.crossEntropy: target values must be in [0, " + std::to_string(ce.C) +
                                                ") or ignoreIndex=" + std::to_string(ce.ignore) + ", got " +
                                                std::to_string(value) + " at index " + std::to_string(bad));
  }
  cross_entropy_forward(logits.f32(), target.i32(), f32(loss), f32(lse), ce.N, ce.C, ce.ignore, ce.smoothing, ce.reduction);
  return results(info.Env(), {loss, lse});
}

Napi::Value cross_entropy_backward_js(const Napi::CallbackInfo& info) {
  Args a(info, "crossEntropyBackward", 7);
  TensorArg dloss = a.tensor(0, "dloss"), logits = a.tensor(1, "logits"), target = a.tensor(2, "target", {DType::i32});
  TensorArg lse = a.tensor(3, "lse");
  const CE ce = unpack_ce(a, logits, target, 4);
  if (dloss.size != (ce.reduction == Reduction::none ? ce.N : 1)) a.range_error("dloss", "the loss shape", describe_shape(dloss.shape));
  if (lse.size != ce.N) a.range_error("lse", "[N] = [" + std::to_string(ce.N) + "]", describe_shape(lse.shape));
  std::int32_t value = 0;
  const i64 bad = find_out_of_range(target.i32(), ce.N, ce.C, ce.ignore, &value);
  if (bad >= 0) a.range_error("target values", "in [0, " + std::to_string(ce.C) + ")", std::to_string(value) + " at index " + std::to_string(bad));
  auto dx = new_storage(info.Env(), DType::f32, logits.size);
  cross_entropy_backward(dloss.f32(), logits.f32(), target.i32(), lse.f32(), f32(dx), ce.N, ce.C, ce.ignore, ce.smoothing, ce.reduction);
  return dx;
}

}  // namespace toroid::binding
