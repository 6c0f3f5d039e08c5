// Argument unpacking at the N-API boundary. Every value from JS is checked
// before any kernel touches memory; failures throw the one error format:
//   toroid.<fn>: <arg> must be <expected>, got <actual>
// (TypeError for types and dtypes, RangeError for shapes and values).
#pragma once
#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "backend.h"
#include "binding/storage.h"

namespace toroid::binding {

// A validated KTensor {data, shape, dtype}: data holds at least size elements.
struct TensorArg {
  Block* block = nullptr;
  std::vector<i64> shape;
  DType dtype = DType::f32;
  i64 size = 0;
  bool present = false;

  float* f32() const { return present ? static_cast<float*>(block->ptr) : nullptr; }
  std::int32_t* i32() const { return present ? static_cast<std::int32_t*>(block->ptr) : nullptr; }
  std::uint16_t* bf16() const { return present ? static_cast<std::uint16_t*>(block->ptr) : nullptr; }
  std::uint8_t* u8() const { return present ? static_cast<std::uint8_t*>(block->ptr) : nullptr; }
  int rank() const { return static_cast<int>(shape.size()); }
  i64 dim(int i) const { return shape[i < 0 ? shape.size() + i : i]; }
  std::string describe() const;
};

std::string describe_shape(const std::vector<i64>& shape);

// Element counts from dims that JS chose: a zero factor gives 0 even next to a
// huge one, and a product past 2^62 saturates there instead of overflowing.
constexpr i64 kSaturated = i64{1} << 62;
inline i64 mul_sat(i64 a, i64 b) {
  if (a == 0 || b == 0) return 0;
  i64 r = 0;
  if (__builtin_mul_overflow(a, b, &r) || r > kSaturated) return kSaturated;
  return r;
}
inline i64 product_sat(std::initializer_list<i64> dims) {
  i64 r = 1;
  for (i64 d : dims) r = mul_sat(r, d);
  return r;
}
inline i64 product_sat(const std::vector<i64>& dims) {
  i64 r = 1;
  for (i64 d : dims) r = mul_sat(r, d);
  return r;
}
// The most elements one output may hold (storage blocks stop at 2^40 bytes).
constexpr i64 kMaxElements = i64{1} << 38;

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, std::size_t count);
  ~Args();
  Args(const Args&) = delete;
  Args& operator=(const Args&) = delete;

  TensorArg tensor(std::size_t i, const char* name, std::initializer_list<DType> dtypes = {DType::f32});
  // null or undefined -> an absent TensorArg (present == false)
  TensorArg optional_tensor(std::size_t i, const char* name, std::initializer_list<DType> dtypes = {DType::f32});
  std::vector<TensorArg> tensor_list(std::size_t i, const char* name, std::initializer_list<DType> dtypes = {DType::f32});
  double number(std::size_t i, const char* name, double min, double max);
  i64 integer(std::size_t i, const char* name, i64 min, i64 max);
  bool boolean(std::size_t i, const char* name);
  std::string string(std::size_t i, const char* name);
  std::vector<i64> int_array(std::size_t i, const char* name, i64 min, i64 max);

  // An output of `count` elements (a product_sat): a RangeError naming `arg`
  // when it passes kMaxElements; returns count.
  i64 output_size(const std::string& arg, i64 count, const std::vector<i64>& dims) const;

  [[noreturn]] void type_error(const std::string& arg, const std::string& expected, const std::string& actual) const;
  [[noreturn]] void range_error(const std::string& arg, const std::string& expected, const std::string& actual) const;

  Napi::Env env() const { return info_.Env(); }

 private:
  TensorArg unpack(Napi::Value v, const char* name, std::initializer_list<DType> dtypes);
  const Napi::CallbackInfo& info_;
  const char* fn_;
  // blocks unpacked by this call, unpinned when it returns or throws
  std::vector<Block*> pinned_;
};

// Wrap a binding so that no C++ exception escapes into V8: Napi errors pass
// through, bad_alloc becomes a RangeError, anything else an Error.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(info.Env(), "toroid: out of memory");
  } catch (const DeviceOutOfMemory& e) {
    throw Napi::RangeError::New(info.Env(), e.what());
  } catch (const DeviceError& e) {
    throw Napi::Error::New(info.Env(), e.what());
  } catch (const Refused& e) {
    throw Napi::Error::New(info.Env(), e.what());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("toroid: internal error: ") + e.what());
  }
}

// Results: wrap outputs as a JS array (or return the single one).
Napi::Value results(Napi::Env env, std::initializer_list<Napi::Value> values);

}  // namespace toroid::binding
