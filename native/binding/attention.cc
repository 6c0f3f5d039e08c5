// attentionForward / attentionBackward: q [B,h,Tq,d], k/v [B,hkv,Tk,d],
// attnMask [1|B,1|h,Tq,Tk] bool or float, keyPadding [B,Tk] bool.
// q, k, v (and dout, out) are all float32 or (cpu) all bfloat16; out/dq/dk/dv come back
// in q's dtype, lse is always float32, and a float attnMask stays float32.
#include "binding/args.h"
#include "binding/kernels.h"

namespace toroid::binding {

namespace {
#if defined(TOROID_CUDA)
constexpr std::initializer_list<DType> kValueDTypes = {DType::f32};
#else
constexpr std::initializer_list<DType> kValueDTypes = {DType::f32, DType::bf16};
#endif

// a tensor whose dtype must be q's: "k must be bfloat16 like q, got float32"
TensorArg like_q(Args& a, std::size_t i, const char* name, const TensorArg& q) {
  TensorArg t = a.tensor(i, name, kValueDTypes);
  if (t.dtype != q.dtype) a.type_error(name, std::string(dtype_name(q.dtype)) + " like q", dtype_name(t.dtype));
  return t;
}

struct Unpacked {
  AttentionParams p;
  TensorArg q;
  const void* k;  // k's and v's data, for the bf16 kernels
  const void* v;
};

// q, k, v from index `qkv`; attnMask, keyPadding, scale, causal, dropoutP, seed, offset from
// index `first` (and for the forward, optionally kvLength)
Unpacked unpack_attention(Args& a, std::size_t qkv, std::size_t first, const Napi::CallbackInfo& info) {
  Unpacked u{};
  u.q = a.tensor(qkv, "q", kValueDTypes);
  TensorArg k = like_q(a, qkv + 1, "k", u.q), v = like_q(a, qkv + 2, "v", u.q);
  TensorArg mask = a.optional_tensor(first, "attnMask", {DType::u8, DType::f32});
  TensorArg pad = a.optional_tensor(first + 1, "keyPadding", {DType::u8});
  const TensorArg& q = u.q;
  if (q.rank() != 4) a.range_error("q", "[B,h,Tq,d]", describe_shape(q.shape));
  const i64 B = q.dim(0), h = q.dim(1), Tq = q.dim(2), d = q.dim(3);
  if (k.rank() != 4 || k.dim(0) != B || k.dim(3) != d || k.dim(1) < 1 || h % k.dim(1) != 0) {
    a.range_error("k", "[B,hkv,Tk,d] with B=" + std::to_string(B) + ", d=" + std::to_string(d) + " and hkv dividing h=" + std::to_string(h), describe_shape(k.shape));
  }
  if (v.shape != k.shape) a.range_error("v", "the shape of k " + describe_shape(k.shape), describe_shape(v.shape));
  const i64 hkv = k.dim(1), Tk_buffer = k.dim(2);
  // forward only: keys/values are the first kvLength positions of k and v (a KV-cache buffer)
  const bool forward = qkv == 0;
  const i64 Tk = forward && info.Length() > 10 && !info[10].IsUndefined() ? a.integer(10, "kvLength", 0, Tk_buffer) : Tk_buffer;
  // Empty q or k (d = 0, a zero dim) leaves the other dims unbounded by storage.
  a.output_size("q", product_sat({B, h, Tq, d}), q.shape);
  a.output_size("q", product_sat({B, h, Tq}), q.shape);
  a.output_size("k", product_sat({B, hkv, Tk, d}), k.shape);
  // With d = 0 nothing bounds the B*h*Tq*Tk scores the kernels visit.
  if (d == 0 && product_sat({B, h, Tq, Tk}) > (i64{1} << 31)) {
    a.range_error("k", "at most 2^31 query-key pairs with d = 0", describe_shape(q.shape) + " x " + describe_shape(k.shape));
  }
  AttentionParams& p = u.p;
  // bf16 data goes to the kernel beside p (attention_forward_bf16); p.q/k/v are float32 only
  const bool f32 = q.dtype == DType::f32;
  p.q = f32 ? q.f32() : nullptr; p.k = f32 ? k.f32() : nullptr; p.v = f32 ? v.f32() : nullptr;
  u.k = k.block->ptr; u.v = v.block->ptr;
  p.B = B; p.h = h; p.hkv = hkv; p.Tq = Tq; p.Tk = Tk; p.d = d;
  p.kv_stride = Tk_buffer * d;
  p.key_padding = nullptr;
  p.attn_mask = nullptr;
  if (pad.present) {
    if (pad.rank() != 2 || pad.dim(0) != B || pad.dim(1) != Tk) a.range_error("keyPadding", "[B,Tk] = [" + std::to_string(B) + "," + std::to_string(Tk) + "]", describe_shape(pad.shape));
    p.key_padding = pad.u8();
  }
  if (mask.present) {
    if (mask.rank() != 4 || (mask.dim(0) != 1 && mask.dim(0) != B) || (mask.dim(1) != 1 && mask.dim(1) != h) || mask.dim(2) != Tq || mask.dim(3) != Tk) {
      a.range_error("attnMask", "[1|B,1|h,Tq,Tk] with B=" + std::to_string(B) + ", h=" + std::to_string(h) + ", Tq=" + std::to_string(Tq) + ", Tk=" + std::to_string(Tk), describe_shape(mask.shape));
    }
    p.attn_mask = mask.block->ptr;
    p.mask_is_bool = mask.dtype == DType::u8;
    p.mask_B = mask.dim(0);
    p.mask_h = mask.dim(1);
  }
  p.scale = static_cast<float>(a.number(first + 2, "scale", -3.4e38, 3.4e38));
  p.causal = static_cast<Causal>(a.integer(first + 3, "causal", 0, 2));
  p.dropout_p = a.number(first + 4, "dropoutP", 0, 1);
  p.rng = read_rng(a, info, first + 5);
  return u;
}
}  // namespace

Napi::Value attention_forward_js(const Napi::CallbackInfo& info) {
  Args a(info, "attentionForward", 10);
  Unpacked u = unpack_attention(a, 0, 3, info);
  const AttentionParams& p = u.p;
  auto out = new_storage(info.Env(), u.q.dtype, p.B * p.h * p.Tq * p.d);
  auto lse = new_storage(info.Env(), DType::f32, p.B * p.h * p.Tq);
#if !defined(TOROID_CUDA)
  if (u.q.dtype == DType::bf16) {
    attention_forward_bf16(p, u.q.bf16(), static_cast<const std::uint16_t*>(u.k), static_cast<const std::uint16_t*>(u.v),
                           static_cast<std::uint16_t*>(out.Data()->ptr), static_cast<float*>(lse.Data()->ptr));
    return results(info.Env(), {out, lse});
  }
#endif
  attention_forward(p, static_cast<float*>(out.Data()->ptr), static_cast<float*>(lse.Data()->ptr));
  return results(info.Env(), {out, lse});
}

Napi::Value attention_backward_js(const Napi::CallbackInfo& info) {
  Args a(info, "attentionBackward", 13);
  // the order of Kernels.attentionBackward: dout, q, k, v, out, lse, then the forward's options
  Unpacked u = unpack_attention(a, 1, 6, info);
  TensorArg dout = like_q(a, 0, "dout", u.q);
  TensorArg out = like_q(a, 4, "out", u.q);
  TensorArg lse = a.tensor(5, "lse");
  const AttentionParams& p = u.p;
  if (dout.shape != u.q.shape) a.range_error("dout", "the shape of q " + describe_shape(u.q.shape), describe_shape(dout.shape));
  if (out.shape != u.q.shape) a.range_error("out", "the shape of q " + describe_shape(u.q.shape), describe_shape(out.shape));
  if (lse.shape != std::vector<i64>{p.B, p.h, p.Tq}) a.range_error("lse", "[B,h,Tq] = " + describe_shape({p.B, p.h, p.Tq}), describe_shape(lse.shape));
  auto dq = new_storage(info.Env(), u.q.dtype, p.B * p.h * p.Tq * p.d, true);
  auto dk = new_storage(info.Env(), u.q.dtype, p.B * p.hkv * p.Tk * p.d, true);
  auto dv = new_storage(info.Env(), u.q.dtype, p.B * p.hkv * p.Tk * p.d, true);
#if !defined(TOROID_CUDA)
  if (u.q.dtype == DType::bf16) {
    attention_backward_bf16(p, u.q.bf16(), static_cast<const std::uint16_t*>(u.k), static_cast<const std::uint16_t*>(u.v), dout.bf16(),
                            out.bf16(), lse.f32(), static_cast<std::uint16_t*>(dq.Data()->ptr),
                            static_cast<std::uint16_t*>(dk.Data()->ptr), static_cast<std::uint16_t*>(dv.Data()->ptr));
    return results(info.Env(), {dq, dk, dv});
  }
#endif
  attention_backward(p, dout.f32(), out.f32(), lse.f32(), static_cast<float*>(dq.Data()->ptr),
                     static_cast<float*>(dk.Data()->ptr), static_cast<float*>(dv.Data()->ptr));
  return results(info.Env(), {dq, dk, dv});
}

}  // namespace toroid::binding
