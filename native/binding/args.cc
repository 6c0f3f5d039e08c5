#include "binding/args.h"

#include <cmath>
#include <sstream>

namespace toroid::binding {

std::string describe_shape(const std::vector<i64>& shape) {
  std::ostringstream s;
  s << '[';
  for (std::size_t i = 0; i < shape.size(); i++) s << (i ? "," : "") << shape[i];
  s << ']';
  return s.str();
}

std::string TensorArg::describe() const { return std::string(dtype_name(dtype)) + " " + describe_shape(shape); }

static std::string describe_value(Napi::Value v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return std::string("boolean ") + (v.As<Napi::Boolean>().Value() ? "true" : "false");
    case napi_number: {
      std::ostringstream s;
      s << "number " << v.As<Napi::Number>().DoubleValue();
      return s.str();
    }
    case napi_string: return "string \"" + v.As<Napi::String>().Utf8Value() + "\"";
    case napi_external: return "an external";
    case napi_function: return "a function";
    default: break;
  }
  if (v.IsArray()) return "array(" + std::to_string(v.As<Napi::Array>().Length()) + ")";
  if (v.IsTypedArray()) return "typed array(" + std::to_string(v.As<Napi::TypedArray>().ElementLength()) + ")";
  return "object";
}

static std::string dtype_list(std::initializer_list<DType> dtypes) {
  std::string s;
  std::size_t i = 0;
  for (DType t : dtypes) s += (i++ == 0 ? "" : i == dtypes.size() ? " or " : ", ") + std::string(dtype_name(t));
  return s;
}

Args::Args(const Napi::CallbackInfo& info, const char* fn, std::size_t count) : info_(info), fn_(fn) {
  if (info.Length() < count) {
    range_error("arguments", std::to_string(count) + " arguments", std::to_string(info.Length()));
  }
}

Args::~Args() {
  for (Block* b : pinned_) unpin(info_.Env(), b);
}

i64 Args::output_size(const std::string& arg, i64 count, const std::vector<i64>& dims) const {
  if (count > kMaxElements) {
    range_error(arg, "small enough for an output of at most 2^38 elements", describe_shape(dims) + (count >= kSaturated ? " (more than 2^62 elements)" : " (" + std::to_string(count) + " elements)"));
  }
  return count;
}

void Args::type_error(const std::string& arg, const std::string& expected, const std::string& actual) const {
  throw Napi::TypeError::New(info_.Env(), std::string("toroid.") + fn_ + ": " + arg + " must be " + expected + ", got " + actual);
}

void Args::range_error(const std::string& arg, const std::string& expected, const std::string& actual) const {
  throw Napi::RangeError::New(info_.Env(), std::string("toroid.") + fn_ + ": " + arg + " must be " + expected + ", got " + actual);
}

TensorArg Args::unpack(Napi::Value v, const char* name, std::initializer_list<DType> dtypes) {
  if (!v.IsObject()) type_error(name, "a tensor", describe_value(v));
  Napi::Object obj = v.As<Napi::Object>();
  TensorArg t;
  Napi::Value data = obj.Get("data");
  t.block = block_of(data);
  if (t.block == nullptr) {
    type_error(name, std::string("a tensor on the ") + device_name() + " backend",
               data.IsExternal() ? std::string("storage of another backend") : "data " + describe_value(data));
  }
  if (!t.block->live) type_error(name, "a live tensor", "a disposed one");
  // Reading dtype/shape below can run getters (JS) that free this or an earlier block.
  pin(t.block);
  pinned_.push_back(t.block);
  Napi::Value dt = obj.Get("dtype");
  if (!dt.IsString() || !parse_dtype(dt.As<Napi::String>().Utf8Value(), &t.dtype)) {
    type_error(std::string(name) + ".dtype", dtype_names(), describe_value(dt));
  }
  bool allowed = false;
  for (DType d : dtypes) allowed = allowed || d == t.dtype;
  if (!allowed) type_error(name, dtype_list(dtypes), dtype_name(t.dtype));
  if (t.dtype != t.block->dtype) type_error(std::string(name) + ".dtype", std::string("the dtype of its storage (") + dtype_name(t.block->dtype) + ")", dtype_name(t.dtype));
  Napi::Value sh = obj.Get("shape");
  if (!sh.IsArray()) type_error(std::string(name) + ".shape", "an array of non-negative integers", describe_value(sh));
  Napi::Array arr = sh.As<Napi::Array>();
  // the length once: a getter on an element could grow the array while it is read
  const std::uint32_t rank = arr.Length();
  if (rank > 16) range_error(std::string(name) + ".shape", "at most 16 dimensions", std::to_string(rank));
  double size = 1;
  for (std::uint32_t i = 0; i < rank; i++) {
    Napi::Value e = arr.Get(i);
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0) {
      range_error(std::string(name) + ".shape", "an array of non-negative integers", describe_value(e) + " at dimension " + std::to_string(i));
    }
    t.shape.push_back(static_cast<i64>(d));
    size *= d;
  }
  const double capacity = static_cast<double>(t.block->bytes / dtype_bytes(t.dtype));
  if (size > capacity) {
    range_error(name, "a shape that fits its storage of " + std::to_string(static_cast<i64>(capacity)) + " elements", describe_shape(t.shape));
  }
  t.size = static_cast<i64>(size);
  t.present = true;
  return t;
}

TensorArg Args::tensor(std::size_t i, const char* name, std::initializer_list<DType> dtypes) {
  return unpack(info_[i], name, dtypes);
}

TensorArg Args::optional_tensor(std::size_t i, const char* name, std::initializer_list<DType> dtypes) {
  Napi::Value v = info_[i];
  if (v.IsNull() || v.IsUndefined()) return TensorArg{};
  return unpack(v, name, dtypes);
}

std::vector<TensorArg> Args::tensor_list(std::size_t i, const char* name, std::initializer_list<DType> dtypes) {
  Napi::Value v = info_[i];
  if (!v.IsArray()) type_error(name, "an array of tensors", describe_value(v));
  Napi::Array arr = v.As<Napi::Array>();
  const std::uint32_t n = arr.Length();
  std::vector<TensorArg> out;
  for (std::uint32_t k = 0; k < n; k++) {
    const std::string item = std::string(name) + "[" + std::to_string(k) + "]";
    out.push_back(unpack(arr.Get(k), item.c_str(), dtypes));
  }
  return out;
}

double Args::number(std::size_t i, const char* name, double min, double max) {
  Napi::Value v = info_[i];
  if (!v.IsNumber()) type_error(name, "a number", describe_value(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max)) {
    std::ostringstream s;
    s << "a number in [" << min << ", " << max << "]";
    range_error(name, s.str(), describe_value(v));
  }
  return d;
}

i64 Args::integer(std::size_t i, const char* name, i64 min, i64 max) {
  Napi::Value v = info_[i];
  if (!v.IsNumber()) type_error(name, "an integer", describe_value(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != std::floor(d)) {
    range_error(name, "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]", describe_value(v));
  }
  return static_cast<i64>(d);
}

bool Args::boolean(std::size_t i, const char* name) {
  Napi::Value v = info_[i];
  if (!v.IsBoolean()) type_error(name, "a boolean", describe_value(v));
  return v.As<Napi::Boolean>().Value();
}

std::string Args::string(std::size_t i, const char* name) {
  Napi::Value v = info_[i];
  if (!v.IsString()) type_error(name, "a string", describe_value(v));
  return v.As<Napi::String>().Utf8Value();
}

std::vector<i64> Args::int_array(std::size_t i, const char* name, i64 min, i64 max) {
  Napi::Value v = info_[i];
  if (!v.IsArray()) type_error(name, "an array of integers", describe_value(v));
  Napi::Array arr = v.As<Napi::Array>();
  const std::uint32_t n = arr.Length();
  if (n > 16) range_error(name, "at most 16 entries", std::to_string(n));
  std::vector<i64> out;
  for (std::uint32_t k = 0; k < n; k++) {
    Napi::Value e = arr.Get(k);
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : std::nan("");
    if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != std::floor(d)) {
      range_error(name, "integers in [" + std::to_string(min) + ", " + std::to_string(max) + "]", describe_value(e) + " at index " + std::to_string(k));
    }
    out.push_back(static_cast<i64>(d));
  }
  return out;
}

Napi::Value results(Napi::Env env, std::initializer_list<Napi::Value> values) {
  Napi::Array arr = Napi::Array::New(env, values.size());
  std::uint32_t i = 0;
  for (const Napi::Value& v : values) arr.Set(i++, v);
  return arr;
}

}  // namespace toroid::binding
