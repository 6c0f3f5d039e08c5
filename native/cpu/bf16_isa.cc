// The bf16 matrix path (bf16_isa.h): CPU features, the TOROID_BF16_ISA / TOROID_NO_AVX512
// switches, and Linux's AMX permission.
#include "cpu/bf16_isa.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace toroid {

namespace {

// Linux hands out the AMX tile state only on request, once per process.
bool amx_granted() {
  constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
}

Bf16Isa pick() {
  const char* force = std::getenv("TOROID_BF16_ISA");
  const int want = force == nullptr ? 0 : std::strcmp(force, "avx512-bf16") == 0 ? 1 : std::strcmp(force, "avx2") == 0 ? 2 : 0;
  const bool avx512 = std::getenv("TOROID_NO_AVX512") == nullptr && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  const bool dpbf16 = avx512 && __builtin_cpu_supports("avx512bf16");
  const bool amx = dpbf16 && __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16");
  if (want <= 0 && amx && amx_granted()) return Bf16Isa::amx;
  if (want <= 1 && dpbf16) return Bf16Isa::avx512bf16;
  return Bf16Isa::avx2;
}

}  // namespace

Bf16Isa bf16_path() {
  static const Bf16Isa chosen = pick();
  return chosen;
}

const char* bf16_isa() {
  switch (bf16_path()) {
    case Bf16Isa::amx: return "amx-bf16";
    case Bf16Isa::avx512bf16: return "avx512-bf16";
    default: return "avx2";
  }
}

}  // namespace toroid
