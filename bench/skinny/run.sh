#!/usr/bin/env bash
# Builds and runs bench/skinny/skinny.bench.cc against the same BLIS the addon links.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${TMPDIR:-/tmp}/toroid-skinny-bench"
g++ -O3 -mavx2 -mfma -fopenmp -std=c++17 -DTOROID_BLAS_BLIS -Inative -I/usr/include/x86_64-linux-gnu/blis-openmp \
  bench/skinny/skinny.bench.cc native/cpu/skinny_gemm.cc native/cpu/blas.cc \
  /usr/lib/x86_64-linux-gnu/blis-openmp/libblis.a -lm -o "$out"
OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" "$out"
