#include "binding/storage.h"

#include "backend.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <cstdlib>
#include <cstring>
#include <new>

namespace toroid::binding {

namespace {
// Distinguishes our externals from any other addon's, and cpu storage from cuda
// storage (the two addons share this file): a cuda handle passed to a cpu kernel
// is refused at the boundary instead of being dereferenced on the host.
#if defined(TOROID_CUDA)
const napi_type_tag kStorageTag = {0x746f726f69645354ULL, 0x6f72616765637564ULL};
#else
const napi_type_tag kStorageTag = {0x746f726f69645354ULL, 0x6f72616765763031ULL};
#endif
std::atomic<std::int64_t> g_live_bytes{0}, g_live_blocks{0};
// the most bytes ever live at once: the cache may hold as much (see give())
std::atomic<std::int64_t> g_peak_live_bytes{0};

// A small cache of freed blocks by size class. A training step frees and
// re-allocates the same sizes every time; handing them back to malloc made
// every large block a fresh mmap, and its page faults cost ~10% of attention.
// Classes are 4 per power of two (<= 25% slack); at most kCacheCap bytes wait.
class BlockCache {
 public:
  // The addon's statics are destroyed when it is unloaded: at process exit, and
  // when the last worker thread that loaded it ends (node dlcloses addons of a
  // finished worker), after that worker's finalizers have given their blocks back
  // here. Without this, every cached block (up to memory_cache_limit()) leaked
  // on each such unload. Blocks given back later (a finalizer racing the exit)
  // go straight to memory_release; closed_ is trivially destructible, so reading it
  // then is as safe as it gets.
  ~BlockCache() {
    flush();
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  static std::size_t class_bytes(std::size_t bytes) {
    std::size_t c = 4096;
    while (c < bytes) c += c / 4 < 4096 ? 4096 : (std::size_t{1} << (63 - __builtin_clzll(c))) / 4;
    return c;
  }
  void* take(std::size_t cls) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(cls);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_ -= cls;
    return p;
  }
  void give(void* p, std::size_t cls) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Up to the larger of the backend's floor and twice the peak live bytes. With
      // a fixed 256 MiB, a training step whose frees passed it (a 46 MB Seq2Seq at
      // 64 sentences) handed blocks back to the system and met them again as page
      // faults: the gradient all-reduce ran at half speed on fresh output pages. With
      // the peak itself, the GPT benchmark's bf16 step filled the cache with its
      // activations' sizes and released its weight gradients' (other size classes)
      // every step: 7,700 page faults a step, 3 ms in each gradient's cast. A step
      // that repeats needs at most each size class's own peak count, which twice
      // the peak covers.
      const auto peak = static_cast<std::size_t>(std::max<std::int64_t>(0, g_peak_live_bytes.load(std::memory_order_relaxed)));
      if (!closed_ && cached_ + cls <= std::max(memory_cache_limit(), 2 * peak)) {
        free_[cls].push_back(p);
        cached_ += cls;
        return;
      }
    }
    memory_release(p, cls);
  }
  // Hands every cached block back (before retrying an allocation that failed).
  void flush() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [cls, blocks] : free_) {
      for (void* p : blocks) memory_release(p, cls);
      blocks.clear();
    }
    cached_ = 0;
  }
  std::size_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return cached_;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  std::size_t cached_ = 0;
  bool closed_ = false;
};
BlockCache g_cache;

// Exact blocks (the sanitizer build, or TOROID_EXACT_BLOCKS=1 for valgrind): every
// block is allocated at its own size and freed at once, with no cache. Size classes
// and the cache hide bugs from ASan and memcheck: an overrun into a class's slack and
// a block freed twice into the cache (two tensors then share memory) are both silent.
bool exact_blocks() {
#if defined(TOROID_SANITIZE_BUILD)
  static const bool exact = true;
#else
  static const bool exact = [] {
    const char* v = std::getenv("TOROID_EXACT_BLOCKS");
    return v != nullptr && v[0] == '1';
  }();
#endif
  return exact;
}

// In exact mode, every Block owned by a JS External. LeakSanitizer does not scan
// V8's heap, so a tensor still alive at exit (its External is there) would look
// lost; this set is a root it does scan. A block memory that no Block points to
// any more is still reported: no suppression covers new_storage.
class ExactRegistry {
 public:
  void add(Block* b) {
    std::lock_guard<std::mutex> lock(mutex_);
    blocks_.insert(b);
  }
  void remove(Block* b) {
    std::lock_guard<std::mutex> lock(mutex_);
    blocks_.erase(b);
  }

 private:
  std::mutex mutex_;
  std::unordered_set<Block*> blocks_;
};
// leaked on purpose (never destroyed): finalizers may run after static destructors
ExactRegistry& exact_registry() {
  static auto* registry = new ExactRegistry();
  return *registry;
}

// the bytes a block of `bytes` really takes: its size class, or itself (at least 1) when exact
std::size_t block_bytes(std::size_t bytes) {
  return exact_blocks() ? std::max<std::size_t>(bytes, 1) : BlockCache::class_bytes(bytes + 64);
}

// The raw C call: Napi::MemoryManagement throws when the environment is being torn
// down (a worker thread exiting runs our finalizers then), and a throw from a
// finalizer would terminate the process. Its status is ignored on purpose.
//
// Device memory is not reported: V8 counts external memory against its heap
// limits and answers every ~64 MB of growth with garbage-collection work, which
// stalled the GPU's feed between kernels (a GPT-2 step allocates GBs of
// activations). Device tensors are freed by dispose()/tidy(); the finalizer stays
// the backstop, and toroid.cuda.info() reports the bytes.
void adjust_external_memory(napi_env env, std::int64_t delta) {
#if defined(TOROID_CUDA)
  (void)env;
  (void)delta;
#else
  std::int64_t ignored = 0;
  (void)napi_adjust_external_memory(env, delta, &ignored);
#endif
}

void free_block_memory(Block* b) {
  if (exact_blocks()) memory_release(b->ptr, block_bytes(b->bytes));
  else g_cache.give(b->ptr, block_bytes(b->bytes));
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
    case DType::bf16: return "bfloat16";
  }
  return "?";
}

#ifdef TOROID_CUDA
constexpr bool kHasBf16 = false;  // the cuda kernels take bfloat16 with the GPU bf16 work (issue 19)
#else
constexpr bool kHasBf16 = true;
#endif

const char* dtype_names() { return kHasBf16 ? "float32, bfloat16, int32 or bool" : "float32, int32 or bool"; }

bool parse_dtype(const std::string& s, DType* out) {
  if (s == "float32") *out = DType::f32;
  else if (s == "int32") *out = DType::i32;
  else if (s == "bool") *out = DType::u8;
  else if (s == "bfloat16" && kHasBf16) *out = DType::bf16;
  else return false;
  return true;
}

std::size_t dtype_bytes(DType t) { return t == DType::u8 ? 1 : t == DType::bf16 ? 2 : 4; }

Napi::External<Block> new_storage(Napi::Env env, DType dtype, std::int64_t count, bool zero) {
  if (count < 0 || static_cast<std::uint64_t>(count) > (std::uint64_t{1} << 40) / dtype_bytes(dtype)) {
    throw Napi::RangeError::New(env, "toroid: storage size must be between 0 and 2^40 bytes, got " + std::to_string(count) + " elements");
  }
  const std::size_t bytes = static_cast<std::size_t>(count) * dtype_bytes(dtype);
  // a size class (a multiple of 4 KiB) or the exact size, never zero bytes, so ptr is always valid
  const std::size_t cls = block_bytes(bytes);
  void* ptr = exact_blocks() ? nullptr : g_cache.take(cls);
  if (ptr == nullptr) ptr = memory_alloc(cls);
  if (ptr == nullptr) {
    // the cache may hold the memory in other size classes
    g_cache.flush();
    ptr = memory_alloc(cls);
  }
  if (ptr == nullptr) {
    throw Napi::RangeError::New(env, std::string("toroid: out of ") + device_name() + " memory allocating " + std::to_string(bytes) +
                                         " bytes (" + std::to_string(g_live_bytes.load()) + " bytes live in toroid tensors)");
  }
  if (zero && bytes > 0) memory_zero(ptr, bytes);
  auto* block = new Block{ptr, bytes, dtype, true};
  const std::int64_t live = g_live_bytes += static_cast<std::int64_t>(bytes);
  for (std::int64_t peak = g_peak_live_bytes.load(std::memory_order_relaxed); live > peak && !g_peak_live_bytes.compare_exchange_weak(peak, live);) {
  }
  g_live_blocks += 1;
  adjust_external_memory(env, static_cast<std::int64_t>(bytes));
  Napi::External<Block> external;
  try {
    external = Napi::External<Block>::New(env, block, [](Napi::Env env, Block* b) {
      if (b->live || b->deferred) {
        free_block_memory(b);
        adjust_external_memory(env, -static_cast<std::int64_t>(b->bytes));
      }
      if (exact_blocks()) exact_registry().remove(b);
      delete b;
    });
  } catch (...) {
    // no External, so no finalizer will ever free the block: a worker being terminated
    // refuses new JS values (found by LeakSanitizer in test/backends/worker-terminate.test.ts)
    free_block_memory(block);
    adjust_external_memory(env, -static_cast<std::int64_t>(bytes));
    delete block;
    throw;
  }
  // from here the External's finalizer owns the block, even if tagging throws
  if (exact_blocks()) exact_registry().add(block);
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
  if (block->pins > 0) {
    block->live = false;
    block->deferred = true;
    return;
  }
  free_block_memory(block);
  adjust_external_memory(env, -static_cast<std::int64_t>(block->bytes));
}

void pin(Block* block) { block->pins++; }

void unpin(napi_env env, Block* block) {
  if (--block->pins > 0 || !block->deferred) return;
  block->deferred = false;
  free_block_memory(block);
  adjust_external_memory(env, -static_cast<std::int64_t>(block->bytes));
}

std::int64_t live_bytes() { return g_live_bytes.load(); }
std::int64_t live_blocks() { return g_live_blocks.load(); }
void release_cached() { g_cache.flush(); }
bool exact_block_mode() { return exact_blocks(); }

#if defined(TOROID_SANITIZE_BUILD)
void probe_free_twice(Block* b) {
  void* ptr = b->ptr;
  free_block_memory(b);
  b->ptr = ptr;  // the bug a missing `live` check would be
  free_block_memory(b);
}
#endif
std::int64_t cached_bytes() { return static_cast<std::int64_t>(g_cache.cached()); }

}  // namespace toroid::binding
