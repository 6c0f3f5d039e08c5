/* A ten-line N-API module for memory.test.ts: V8's external-memory counter, the sum of
 * every napi_adjust_external_memory / AdjustAmountOfExternalAllocatedMemory call in this
 * isolate. Node 20's process.memoryUsage().external does not include it (it reports
 * ArrayBuffer and external-string bytes), so it is read by adjusting by 0. Built by the
 * test into a temporary folder with the C compiler and Node's own headers. */
#include <node_api.h>

static napi_value adjusted(napi_env env, napi_callback_info info) {
  (void)info;
  int64_t value = 0;
  napi_value out;
  napi_adjust_external_memory(env, 0, &value);
  napi_create_double(env, (double)value, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "adjusted", NAPI_AUTO_LENGTH, adjusted, NULL, &fn);
  napi_set_named_property(env, exports, "adjusted", fn);
  return exports;
}
