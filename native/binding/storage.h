// Native tensor storage: 64-byte aligned blocks behind type-tagged N-API externals.
// dispose() frees a block at once (free()); a finalizer is only the backstop.
// Every byte is reported to V8 with AdjustExternalMemory.
#pragma once
#include <napi.h>
#include <cstddef>
#include <cstdint>
#include <string>

namespace toroid::binding {

// The codes are the kernels' dtype codes (backend.h cast_forward): 0 float32, 1 int32, 2 bool, 3 bfloat16.
enum class DType { f32, i32, u8, bf16 };

const char* dtype_name(DType t);           // 'float32' | 'int32' | 'bool' | 'bfloat16'
// False for a name that is not a dtype of this addon (the cuda kernels have no bfloat16 yet).
bool parse_dtype(const std::string& s, DType* out);
// "float32, int32 or bool" (and bfloat16 where this addon has it), for the errors
const char* dtype_names();
std::size_t dtype_bytes(DType t);

struct Block {
  void* ptr = nullptr;
  std::size_t bytes = 0;
  DType dtype = DType::f32;
  bool live = false;
  // Calls in progress that unpacked this block (Args pins it). A free() while
  // pinned (a getter of a later argument can run JS) only marks it dead: the
  // memory stays valid until the last pin goes, so no kernel sees a freed pointer.
  int pins = 0;
  bool deferred = false;
};

// A new block of `count` elements as a JS external. Kernels that write every
// element take it uninitialised; those that accumulate (+=) ask for zeros.
Napi::External<Block> new_storage(Napi::Env env, DType dtype, std::int64_t count, bool zero = false);
// The block behind a JS value, or null when it is not one of ours.
Block* block_of(Napi::Value value);
// Release now (idempotent); deferred to unpin() while a call holds the block.
void release(Napi::Env env, Block* block);
void pin(Block* block);
void unpin(napi_env env, Block* block);
std::int64_t live_bytes();
std::int64_t live_blocks();
// Freed blocks kept for reuse (up to the larger of memory_cache_limit() and twice the peak live bytes).
std::int64_t cached_bytes();
// Hands every cached block back to the system (cudaFree / free).
void release_cached();
// True in the sanitizer build or under TOROID_EXACT_BLOCKS=1: blocks at their exact size, no cache.
bool exact_block_mode();

#if defined(TOROID_SANITIZE_BUILD)
// For test/hardening/sanitizers.test.ts only: frees a block's memory twice, as a
// release without its `live` check would (the sanitizer build must report it).
void probe_free_twice(Block* b);
#endif

}  // namespace toroid::binding
