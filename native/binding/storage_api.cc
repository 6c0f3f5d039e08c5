// Storage and runtime exports: upload, download, free, memory, threads, info.
#include <cstring>

#include "binding/args.h"
#include "binding/kernels.h"
#include "backend.h"

namespace toroid::binding {

Rng read_rng(Args& a, const Napi::CallbackInfo& info, std::size_t i) {
  Napi::Value seed = info[i];
  if (!seed.IsBigInt()) a.type_error("rng.seed", "a bigint", seed.IsNumber() ? "a number" : "another type");
  bool lossless = false;
  const std::uint64_t s = seed.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) a.range_error("rng.seed", "a bigint in [0, 2^64)", "a value outside it");
  const i64 offset = a.integer(i + 1, "rng.offset", 0, 9007199254740991LL);
  return Rng{s, static_cast<std::uint64_t>(offset)};
}

// upload(typedArray, dtype) -> storage (a copy)
Napi::Value upload_js(const Napi::CallbackInfo& info) {
  Args a(info, "upload", 2);
  if (!info[0].IsTypedArray()) a.type_error("array", "a Float32Array, Uint16Array (bfloat16), Int32Array or Uint8Array", "another value");
  Napi::TypedArray arr = info[0].As<Napi::TypedArray>();
  DType dtype;
  if (!parse_dtype(a.string(1, "dtype"), &dtype)) a.type_error("dtype", dtype_names(), a.string(1, "dtype"));
  const napi_typedarray_type expected = dtype == DType::f32 ? napi_float32_array : dtype == DType::i32 ? napi_int32_array
                                        : dtype == DType::bf16 ? napi_uint16_array : napi_uint8_array;
  if (arr.TypedArrayType() != expected) a.type_error("array", std::string("the typed array of ") + dtype_name(dtype), "another typed array type");
  if (arr.ArrayBuffer().ByteLength() == 0 && arr.ElementLength() > 0) a.type_error("array", "attached to its buffer", "a detached one");
  const i64 n = static_cast<i64>(arr.ElementLength());
  auto storage = new_storage(info.Env(), dtype, n);
  if (n > 0) {
    const auto* src = static_cast<const std::uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    memory_upload(storage.Data()->ptr, src, static_cast<std::size_t>(n) * dtype_bytes(dtype));
  }
  return storage;
}

// download(storage, dtype, size) -> new typed array holding a copy
Napi::Value download_js(const Napi::CallbackInfo& info) {
  Args a(info, "download", 3);
  Block* block = block_of(info[0]);
  if (block == nullptr) a.type_error("data", std::string(device_name()) + " storage", "another value (a tensor of another backend?)");
  if (!block->live) a.type_error("data", "live storage", "a disposed one");
  DType dtype;
  if (!parse_dtype(a.string(1, "dtype"), &dtype) || dtype != block->dtype) a.type_error("dtype", dtype_name(block->dtype), a.string(1, "dtype"));
  const i64 size = a.integer(2, "size", 0, static_cast<i64>(block->bytes / dtype_bytes(dtype)));
  const std::size_t bytes = static_cast<std::size_t>(size) * dtype_bytes(dtype);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(info.Env(), bytes);
  if (bytes > 0) memory_download(buffer.Data(), block->ptr, bytes);
  switch (dtype) {
    case DType::f32: return Napi::Float32Array::New(info.Env(), size, buffer, 0);
    case DType::i32: return Napi::Int32Array::New(info.Env(), size, buffer, 0);
    case DType::bf16: return Napi::Uint16Array::New(info.Env(), size, buffer, 0);
    default: return Napi::Uint8Array::New(info.Env(), size, buffer, 0);
  }
}

Napi::Value free_js(const Napi::CallbackInfo& info) {
  Args a(info, "free", 1);
  Block* block = block_of(info[0]);
  if (block == nullptr) a.type_error("data", std::string(device_name()) + " storage", "another value (a tensor of another backend?)");
  release(info.Env(), block);
  return info.Env().Undefined();
}

Napi::Value memory_js(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("liveBytes", Napi::Number::New(info.Env(), static_cast<double>(live_bytes())));
  o.Set("liveBlocks", Napi::Number::New(info.Env(), static_cast<double>(live_blocks())));
  o.Set("cachedBytes", Napi::Number::New(info.Env(), static_cast<double>(cached_bytes())));
  o.Set("exactBlocks", Napi::Boolean::New(info.Env(), exact_block_mode()));
  return o;
}

Napi::Value empty_cache_js(const Napi::CallbackInfo& info) {
  release_cached();
  return info.Env().Undefined();
}

Napi::Value setNumThreads_js(const Napi::CallbackInfo& info) {
  Args a(info, "setNumThreads", 1);
  set_num_threads(static_cast<int>(a.integer(0, "n", 1, 1024)));
  return info.Env().Undefined();
}

Napi::Value getNumThreads_js(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }

Napi::Value info_js(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("blas", Napi::String::New(info.Env(), blas_name()));
  o.Set("threads", Napi::Number::New(info.Env(), num_threads()));
  o.Set("blasThreads", Napi::Number::New(info.Env(), blas_num_threads()));
  o.Set("avx512", Napi::Boolean::New(info.Env(), __builtin_cpu_supports("avx512f")));
  o.Set("device", Napi::String::New(info.Env(), device_name()));
#if !defined(TOROID_CUDA)
  o.Set("bf16", Napi::String::New(info.Env(), bf16_isa()));
#endif
  return o;
}

}  // namespace toroid::binding
