// The C++ kernel table: one function per name in src/backends/backend.ts
// (snake_case here). Kernels take plain pointers and sizes, never napi.h;
// native/binding/ validates every argument before calling them.
//
// Shape alphabet: B batch, T time (Tq, Tk), C width, h heads, hkv key/value heads,
// d head size, N rows, V vocab. All float data is float32, ids int32, masks uint8.
//
// The same table is implemented twice: native/cpu/ (host pointers) builds
// toroid.node and native/cuda/ (device pointers) builds toroid_cuda.node; the
// binding is compiled once for each and never touches element data itself.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>

namespace toroid {

using i64 = std::int64_t;

enum class Causal { none = 0, top_left = 1, bottom_right = 2 };
enum class Act { relu = 0, gelu = 1, gelu_tanh = 2, silu = 3, tanh = 4 };
enum class BinOp { add = 0, sub = 1, mul = 2, div = 3 };
enum class Reduction { mean = 0, sum = 1, none = 2 };

// Counter-based dropout stream (see src/random/philox.ts for the layout).
struct Rng { std::uint64_t seed; std::uint64_t offset; };

struct AttentionParams {
  const float* q; const float* k; const float* v;  // q [B,h,Tq,d], k/v [B,hkv,Tk,d]
  i64 B, h, hkv, Tq, Tk, d;
  // elements between consecutive kv heads: Tk * d, or more where k/v are the first Tk
  // positions of a KV-cache buffer (forward only; the backward takes Tk * d)
  i64 kv_stride;
  const std::uint8_t* key_padding;  // [B,Tk], 1 = masked, or null
  const void* attn_mask;            // [mB,mh,Tq,Tk] (mB in {1,B}, mh in {1,h}) or null
  bool mask_is_bool;                // uint8 1 = masked, else float additive
  i64 mask_B, mask_h;
  float scale;
  Causal causal;
  double dropout_p;
  Rng rng;
};

// ---- matmul.cc: y [batch,M,N] = op(a) op(b) (+ bias [N]); batch offsets precomputed
void matmul_forward(const float* a, const float* b, const float* bias, float* y, i64 batch,
                    const i64* a_offsets, const i64* b_offsets, i64 M, i64 N, i64 K, bool trans_a, bool trans_b);
// the same over bf16 bits (a, b, bias, y), float32 accumulation (cpu only: cpu/bf16_matmul.cc)
void matmul_forward_bf16(const std::uint16_t* a, const std::uint16_t* b, const std::uint16_t* bias, std::uint16_t* y, i64 batch,
                         const i64* a_offsets, const i64* b_offsets, i64 M, i64 N, i64 K, bool trans_a, bool trans_b);
// "amx-bf16" | "avx512-bf16" | "avx2": the bf16 matrix path chosen at run time, for the GEMM and
// attention alike (cpu only: cpu/bf16_isa.cc)
const char* bf16_isa();

// ---- attention.cc: out [B,h,Tq,d], lse [B,h,Tq] (-inf where every key is masked)
void attention_forward(const AttentionParams& p, float* out, float* lse);
void attention_backward(const AttentionParams& p, const float* dout, const float* out, const float* lse,
                        float* dq, float* dk, float* dv);
// the same over bf16 bits (cpu only: cpu/attention_bf16.cc): q, k, v, dout, out, dq, dk, dv bf16,
// lse float32; p.q, p.k, p.v are not read. Products on bf16 tiles with float32 accumulation,
// softmax statistics in float32, each output rounded once.
void attention_forward_bf16(const AttentionParams& p, const std::uint16_t* q, const std::uint16_t* k, const std::uint16_t* v,
                            std::uint16_t* out, float* lse);
void attention_backward_bf16(const AttentionParams& p, const std::uint16_t* q, const std::uint16_t* k, const std::uint16_t* v,
                             const std::uint16_t* dout, const std::uint16_t* out, const float* lse, std::uint16_t* dq,
                             std::uint16_t* dk, std::uint16_t* dv);

// ---- norm.cc: x [N,C]
void layernorm_forward(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                       i64 N, i64 C, float eps);
void layernorm_backward(const float* dy, const float* x, const float* weight, const float* mean, const float* rstd,
                        float* dx, float* dweight, float* dbias, i64 N, i64 C);
void rmsnorm_forward(const float* x, const float* weight, float* y, float* rstd, i64 N, i64 C, float eps);
void rmsnorm_backward(const float* dy, const float* x, const float* weight, const float* rstd,
                      float* dx, float* dweight, i64 N, i64 C);

// ---- activation.cc: elementwise over n; swiglu x [N,2F] -> y [N,F]
void activation_forward(const float* x, float* y, i64 n, Act kind);
void activation_backward(const float* dy, const float* x, float* dx, i64 n, Act kind);
void swiglu_forward(const float* x, float* y, i64 N, i64 F);
void swiglu_backward(const float* dy, const float* x, float* dx, i64 N, i64 F);

// ---- softmax.cc: x viewed as [outer, n, inner], softmax along n
void softmax_forward(const float* x, float* y, i64 outer, i64 n, i64 inner, bool log);
void softmax_backward(const float* dy, const float* y, float* dx, i64 outer, i64 n, i64 inner, bool log);

// ---- topk.cc: x [R,n] -> the k largest of each row, best first: values [R,k], indices [R,k].
// Order: larger first, NaN above every number, ties (and NaNs) by lower index (torch.topk's
// values; its tie order is unspecified, toroid's is this one on every backend).
void topk_forward(const float* x, float* values, std::int32_t* indices, i64 R, i64 n, i64 k);

// ---- cross_entropy.cc: logits [N,C], target [N] -> loss (1 or N values), lse [N].
// Returns the first out-of-range target row, or -1.
i64 cross_entropy_forward(const float* logits, const std::int32_t* target, float* loss, float* lse,
                          i64 N, i64 C, i64 ignore_index, float smoothing, Reduction reduction);
void cross_entropy_backward(const float* dloss, const float* logits, const std::int32_t* target, const float* lse,
                            float* dlogits, i64 N, i64 C, i64 ignore_index, float smoothing, Reduction reduction);

// ---- embedding.cc: weight [V,C], ids [n] -> y [n,C]; backward scatter-adds, skipping padding_idx (< 0: none)
void embedding_forward(const float* weight, const std::int32_t* ids, float* y, i64 n, i64 C);
void embedding_backward(const float* dy, const std::int32_t* ids, float* dweight, i64 n, i64 V, i64 C, i64 padding_idx);

// ---- dropout.cc: y = x * keep / (1 - p); the backward applies the same mask to dy
void dropout_forward(const float* x, float* y, i64 n, double p, Rng rng);
inline void dropout_backward(const float* dy, float* dx, i64 n, double p, Rng rng) { dropout_forward(dy, dx, n, p, rng); }
float philox_uniform(Rng rng, std::uint64_t index);

// ---- elementwise.cc: a and b broadcast to y's shape through per-dim strides (0 = broadcast)
void binary_forward(const float* a, const float* b, float* y, int rank, const i64* shape,
                    const i64* a_strides, const i64* b_strides, BinOp op);
void scale_forward(const float* x, float* y, i64 n, float factor);

// ---- layout.cc: generic strided copy/reduce on any 4-byte or 1-byte element type
// y[i] = x[offset(i)] for y of `shape`, x addressed through `x_strides` (elements):
// the one copy behind broadcastTo, permute and narrow
void strided_copy(const void* x, void* y, int elem_bytes, int rank, const i64* shape, const i64* x_strides);
// y (shape `kept`, strides) += x; x of `shape`, y addressed through `y_strides` (0 on summed axes)
void sum_forward(const float* x, float* y, int rank, const i64* shape, const i64* y_strides, i64 y_size);

// ---- adamw.cc: in place over n parameter tensors
void adamw_step(float* const* params, const float* const* grads, float* const* m, float* const* v, const i64* sizes, i64 n,
                float lr, float beta1, float beta2, float eps, float weight_decay, i64 step);

// ---- bf16_elementwise.cc (cpu only): bf16 in and out, float32 compute in cache-sized chunks
void activation_forward_bf16(const std::uint16_t* x, std::uint16_t* y, i64 n, Act kind);
void activation_backward_bf16(const std::uint16_t* dy, const std::uint16_t* x, std::uint16_t* dx, i64 n, Act kind);
void dropout_forward_bf16(const std::uint16_t* x, std::uint16_t* y, i64 n, double p, Rng rng);
void scale_forward_bf16(const std::uint16_t* x, std::uint16_t* y, i64 n, float factor);
// y [cols] = the sum of x's rows (the bias gradient of a bf16 product)
void sum_rows_bf16(const std::uint16_t* x, std::uint16_t* y, i64 rows, i64 cols);
// rows of a bf16 table gathered by id (model.to('bfloat16')'s embeddings): a copy, no compute
void embedding_forward_bf16(const std::uint16_t* weight, const std::int32_t* ids, std::uint16_t* y, i64 n, i64 C);

// ---- threads.cc
int num_threads();
void set_num_threads(int n);

// ---- memory (cpu: memory.cc, cuda: runtime.cu). The binding's block cache sits on top.
void* memory_alloc(std::size_t bytes);            // null when out of memory
void memory_release(void* ptr, std::size_t bytes);
void memory_zero(void* ptr, std::size_t bytes);
void memory_upload(void* dst, const void* host, std::size_t bytes);
void memory_download(void* host, const void* src, std::size_t bytes);
std::size_t memory_cache_limit();                  // bytes of freed blocks kept for reuse (at least; see storage.cc)
const char* device_name();                         // "cpu" | "cuda"
const char* blas_name();
int blas_num_threads();                          // the threads a GEMM called from this thread uses

// ---- layout.cc: helpers that keep element data out of the binding
// dtype codes as binding::DType: 0 float32, 1 int32, 2 bool (uint8), 3 bfloat16 (uint16 bits; the cpu only, so far)
void cast_forward(const void* x, int from, void* y, int to, i64 n);
void fill_forward(void* y, int dtype, i64 n, double value);
// `rows` rows of `row_bytes` each: dst + r * dst_pitch <- src + r * src_pitch
void copy_rows_2d(void* dst, i64 dst_pitch, const void* src, i64 src_pitch, i64 row_bytes, i64 rows);
// The first index with ids[i] outside [0, limit) and != except, or -1; *value gets ids[i].
i64 find_out_of_range(const std::int32_t* ids, i64 n, i64 limit, i64 except, std::int32_t* value);

// Errors a kernel may throw; the binding turns them into JS errors (args.h guarded<>).
struct DeviceError : std::runtime_error { using std::runtime_error::runtime_error; };        // Error
struct DeviceOutOfMemory : std::runtime_error { using std::runtime_error::runtime_error; };  // RangeError
struct Refused : std::runtime_error { using std::runtime_error::runtime_error; };            // Error (e.g. deterministic mode)

}  // namespace toroid
