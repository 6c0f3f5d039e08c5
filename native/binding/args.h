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
  std::uint8_t* u8() const { return present ? static_cast<std::uint8_t*>(block->ptr) : nullptr; }
  int rank() const { return static_cast<int>(shape.size()); }
  i64 dim(int i) const { return shape[i < 0 ? shape.size() + i : i]; }
  std::string describe() const;
};

std::string describe_shape(const std::vector<i64>& shape);

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, std::size_t count);

  TensorArg tensor(std::size_t i, const char* name, std::initializer_list<DType> dtypes = {DType::f32});
  // null or undefined -> an absent TensorArg (present == false)
  TensorArg optional_tensor(std::size_t i, const char* name, std::initializer_list<DType> dtypes = {DType::f32});
  std::vector<TensorArg> tensor_list(std::size_t i, const char* name, std::initializer_list<DType> dtypes = {DType::f32});
  double number(std::size_t i, const char* name, double min, double max);
  i64 integer(std::size_t i, const char* name, i64 min, i64 max);
  bool boolean(std::size_t i, const char* name);
  std::string string(std::size_t i, const char* name);
  std::vector<i64> int_array(std::size_t i, const char* name, i64 min, i64 max);

  [[noreturn]] void type_error(const std::string& arg, const std::string& expected, const std::string& actual) const;
  [[noreturn]] void range_error(const std::string& arg, const std::string& expected, const std::string& actual) const;

  Napi::Env env() const { return info_.Env(); }

 private:
  TensorArg unpack(Napi::Value v, const char* name, std::initializer_list<DType> dtypes);
  const Napi::CallbackInfo& info_;
  const char* fn_;
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
