// Host memory for cpu storage: 64-byte aligned blocks (AVX-512 loads never split a
// line). The binding's size-class cache sits on top of these.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "backend.h"

namespace toroid {

// posix_memalign, not aligned_alloc: C11 wants aligned_alloc's size to be a multiple of
// the alignment (ASan enforces it), and exact blocks (storage.cc) are any size
void* memory_alloc(std::size_t bytes) {
  void* ptr = nullptr;
#if defined(__linux__) && !defined(TOROID_SANITIZE_BUILD)
  // Big blocks on 2 MiB boundaries, asked for transparent huge pages: the first touch of
  // a fresh block costs one fault per 2 MiB instead of per 4 KiB. On a VM whose faults are
  // slow (measured: 0.37 GB/s to zero fresh 4 KiB pages, 20+ GB/s for reused ones) that
  // was most of the time a serving step spent growing its KV cache.
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (bytes >= 2 * kHuge) {
    if (posix_memalign(&ptr, kHuge, bytes) != 0) return nullptr;
    madvise(ptr, bytes, MADV_HUGEPAGE);  // advice only: a kernel without THP ignores it
    return ptr;
  }
#endif
  return posix_memalign(&ptr, 64, bytes) == 0 ? ptr : nullptr;
}

void memory_release(void* ptr, std::size_t) { std::free(ptr); }

void memory_zero(void* ptr, std::size_t bytes) {
  // big blocks are zeroed by both threads: a single-threaded memset of an
  // output was a third of a GELU's time
  const std::int64_t chunks = static_cast<std::int64_t>((bytes + (1 << 20) - 1) >> 20);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (std::int64_t c = 0; c < chunks; c++) {
    const std::size_t begin = static_cast<std::size_t>(c) << 20;
    std::memset(static_cast<char*>(ptr) + begin, 0, std::min<std::size_t>(bytes - begin, std::size_t{1} << 20));
  }
}

void memory_upload(void* dst, const void* host, std::size_t bytes) { std::memcpy(dst, host, bytes); }

void memory_download(void* host, const void* src, std::size_t bytes) { std::memcpy(host, src, bytes); }

// the floor; the binding keeps up to the peak live bytes when that is more
std::size_t memory_cache_limit() { return std::size_t{256} << 20; }

const char* device_name() { return "cpu"; }

}  // namespace toroid
