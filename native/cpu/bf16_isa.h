// Which bf16 matrix unit the cpu's bf16 kernels (bf16_matmul.cc, attention_bf16.cc) use,
// chosen once per process: AMX-BF16 tiles (Sapphire Rapids and later), AVX512-BF16 dot
// products (Zen 4, Cooper Lake), or widening to float32 elsewhere. TOROID_BF16_ISA=
// amx-bf16|avx512-bf16|avx2 forces one (an unavailable choice falls back downward),
// TOROID_NO_AVX512=1 forces avx2. Also the AMX tile setup both kernels use.
#pragma once
#include "cpu/intrinsics.h"

#include <cstdint>

namespace toroid {

enum class Bf16Isa { amx, avx512bf16, avx2 };

// The path, chosen on first use (with AMX, after the kernel has granted the tile state).
Bf16Isa bf16_path();

// "amx-bf16" | "avx512-bf16" | "avx2": bf16_path() by name
const char* bf16_isa();

// AMX: tmm0-7 each 16 rows x 64 bytes (float32 C tiles 16x16, bf16 A tiles 16x32, B tiles
// 16 K pairs x 16 columns), for the calling thread until amx_end().
struct alignas(64) AmxTileConfig {
  std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};

__attribute__((target("amx-tile,amx-bf16"))) inline void amx_begin() {
  AmxTileConfig cfg;
  for (int t = 0; t < 8; t++) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  // GCC 12's _tile_loadconfig tells the compiler it reads 8 bytes; without this barrier the
  // stores to the rest of cfg can be dropped and the first tile instruction faults
  __asm__ volatile("" : : "r"(&cfg) : "memory");
  _tile_loadconfig(&cfg);
}

__attribute__((target("amx-tile,amx-bf16"))) inline void amx_end() { _tile_release(); }

}  // namespace toroid
