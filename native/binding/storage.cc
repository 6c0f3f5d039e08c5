#include "binding/storage.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

namespace toroid::binding {

namespace {
// Distinguishes our externals from any other addon's.
const napi_type_tag kStorageTag = {0x746f726f69645354ULL, 0x6f72616765763031ULL};
std::atomic<std::int64_t> g_live_bytes{0}, g_live_blocks{0};

void free_block_memory(Block* b) {
  std::free(b->ptr);
  b->ptr = nullptr;
  b->live = false;
  g_live_bytes -= static_cast<std::int64_t>(b->bytes);
  g_live_blocks -= 1;
}
}  // namespace

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::i32: return "int32";
    case DType::u8: return "bool";
  }
  return "?";
}

bool parse_dtype(const std::string& s, DType* out) {
  if (s == "float32") *out = DType::f32;
  else if (s == "int32") *out = DType::i32;
  else if (s == "bool") *out = DType::u8;
  else return false;
  return true;
}

std::size_t dtype_bytes(DType t) { return t == DType::u8 ? 1 : 4; }

Napi::External<Block> new_storage(Napi::Env env, DType dtype, std::int64_t count) {
  if (count < 0 || static_cast<std::uint64_t>(count) > (std::uint64_t{1} << 40) / dtype_bytes(dtype)) {
    throw Napi::RangeError::New(env, "toroid: storage size must be between 0 and 2^40 bytes, got " + std::to_string(count) + " elements");
  }
  const std::size_t bytes = static_cast<std::size_t>(count) * dtype_bytes(dtype);
  // round up to the alignment; never zero bytes so ptr is always valid
  const std::size_t padded = (bytes + 63) / 64 * 64 + 64;
  void* ptr = std::aligned_alloc(64, padded);
  if (ptr == nullptr) throw Napi::RangeError::New(env, "toroid: out of memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(ptr, 0, bytes);
  auto* block = new Block{ptr, bytes, dtype, true};
  g_live_bytes += static_cast<std::int64_t>(bytes);
  g_live_blocks += 1;
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<std::int64_t>(bytes));
  auto external = Napi::External<Block>::New(env, block, [](Napi::Env env, Block* b) {
    if (b->live) {
      free_block_memory(b);
      Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<std::int64_t>(b->bytes));
    }
    delete b;
  });
  external.TypeTag(&kStorageTag);
  return external;
}

Block* block_of(Napi::Value value) {
  if (!value.IsExternal()) return nullptr;
  auto external = value.As<Napi::External<Block>>();
  if (!external.CheckTypeTag(&kStorageTag)) return nullptr;
  return external.Data();
}

void release(Napi::Env env, Block* block) {
  if (!block->live) return;
  free_block_memory(block);
  Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<std::int64_t>(block->bytes));
}

std::int64_t live_bytes() { return g_live_bytes.load(); }
std::int64_t live_blocks() { return g_live_blocks.load(); }

}  // namespace toroid::binding
