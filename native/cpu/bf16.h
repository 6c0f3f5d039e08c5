// bfloat16 <-> float32 on the cpu: the bits of a bf16 are the upper half of a
// float32. Rounding is to nearest even in integer arithmetic, NaN stays NaN (made
// quiet), subnormals are kept: the same bits as src/util/half.ts and PyTorch's
// c10::BFloat16. (AVX512-BF16's vcvtneps2bf16 flushes subnormals, so it is not used.)
#pragma once
#include <cstdint>
#include <cstring>

namespace toroid {

inline float bf16_to_f32(std::uint16_t b) {
  const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline std::uint16_t f32_to_bf16(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7f800000u) == 0x7f800000u && (x & 0x7fffffu) != 0) return static_cast<std::uint16_t>((x >> 16) | 0x40);
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// Bulk conversions over n elements, on the calling thread; loops the compiler vectorizes.
void bf16_widen(const std::uint16_t* x, float* y, std::int64_t n);
void bf16_round(const float* x, std::uint16_t* y, std::int64_t n);

}  // namespace toroid
