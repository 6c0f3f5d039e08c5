#!/usr/bin/env bash
# The bf16 GEMM (native/cpu/bf16_matmul.cc) outside the addon:
#   bench/blas/bf16/run.sh check   every ISA path against a double-precision product (tile edges, transposes)
#   bench/blas/bf16/run.sh         GFLOP/s per path at 1024^3 and the models' shapes, then PyTorch 1.13's bf16 and float32 matmul
set -euo pipefail
cd "$(dirname "$0")/../../.."
flags=(-std=c++17 -O3 -mavx2 -mfma -mf16c -fopenmp -I native -I /usr/include/x86_64-linux-gnu/blis-openmp -DTOROID_BLAS_BLIS)
libs=(native/cpu/bf16_matmul.cc native/cpu/layout.cc native/cpu/blas.cc /usr/lib/x86_64-linux-gnu/blis-openmp/libblis.a)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
if [ "${1:-}" = check ]; then
  g++ "${flags[@]}" bench/blas/bf16/check.cc "${libs[@]}" -o "$out/check"
  for isa in amx-bf16 avx512-bf16 avx2; do TOROID_BF16_ISA=$isa "$out/check"; done
  exit 0
fi
g++ "${flags[@]}" bench/blas/bf16/bench.cc "${libs[@]}" -o "$out/bench"
for isa in amx-bf16 avx512-bf16; do TOROID_BF16_ISA=$isa "$out/bench"; done
LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp /usr/bin/python3 bench/blas/bf16/torch_matmul.py
