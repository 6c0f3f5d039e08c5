// sanitizerProbe(kind): deliberate memory bugs, built only into the sanitizer build
// (TOROID_SANITIZE_BUILD, build-asan/), never shipped. test/hardening/sanitizers.test.ts
// runs each in a child process and requires ASan/LSan to report it, so a setting that
// blinds the sanitizers (the size-class cache, a broad suppression) fails the suite.
#if defined(TOROID_SANITIZE_BUILD)
#include <napi.h>

#include "binding/kernels.h"
#include "binding/storage.h"

namespace toroid::binding {

Napi::Value sanitizer_probe_js(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const std::string kind = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  constexpr std::int64_t kCount = 16;
  auto storage = new_storage(env, DType::f32, kCount);
  Block* b = storage.Data();
  if (kind == "overrun") {
    // one element past the end: inside a size class's slack, outside an exact block
    static_cast<volatile float*>(b->ptr)[kCount] = 1.0f;
  } else if (kind == "double-free") {
    probe_free_twice(b);
    b->ptr = nullptr;
    b->live = false;
  } else if (kind == "lost-block") {
    // the block's memory loses its only pointer (the leak a broad suppression hid)
    b->ptr = nullptr;
    b->live = false;
  } else if (kind != "alive") {
    throw Napi::TypeError::New(env, "toroid.sanitizerProbe: kind must be 'overrun', 'double-free', 'lost-block' or 'alive', got '" + kind + "'");
  }
  // 'alive': the storage is returned and stays alive until the process exits (no report)
  return storage;
}

}  // namespace toroid::binding
#endif
