#!/usr/bin/env bash
# The bf16 attention (native/cpu/attention_bf16.cc) outside the addon:
#   bench/attention_bf16/run.sh check   every ISA path, forward and backward, against a double-precision reference
#   bench/attention_bf16/run.sh         ms per call at B=32 h=8 T=256 d=64 per path and for the float32 kernel, then PyTorch 1.13
set -euo pipefail
cd "$(dirname "$0")/../.."
flags=(-std=c++17 -O3 -mavx2 -mfma -mf16c -fopenmp -I native -Wall -Wextra -Wno-unused-parameter)
srcs=(native/cpu/attention_bf16.cc native/cpu/attention.cc native/cpu/bf16_isa.cc native/cpu/layout.cc)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
if [ "${1:-}" = check ]; then
  g++ "${flags[@]}" bench/attention_bf16/check.cc "${srcs[@]}" -o "$out/check"
  status=0
  for isa in amx-bf16 avx512-bf16 avx2; do TOROID_BF16_ISA=$isa "$out/check" || status=1; done
  TOROID_NO_AVX512=1 "$out/check" || status=1
  exit $status
fi
g++ "${flags[@]}" bench/attention_bf16/bench.cc "${srcs[@]}" -o "$out/bench"
for isa in amx-bf16 avx512-bf16 avx2; do TOROID_BF16_ISA=$isa nice -n 10 "$out/bench"; done
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp nice -n 10 /usr/bin/python3 bench/attention_bf16/torch_attention.py
