#!/usr/bin/env bash
# On a GPU machine, from the project root: the tensor-core attention (bf16 and fp16)
# against the float32 kernels on the same GPU, over masks, causal modes, GQA,
# dropout, odd head sizes and misaligned buffers; then timings at B=16, h=16, T=1024.
#   bash bench/gpu/attention-check/build-and-run.sh
set -euo pipefail
out=${OUT:-/tmp}/attention-check
nvcc -std=c++17 -O3 -Inative -gencode arch=compute_90,code=sm_90 \
  bench/gpu/attention-check/check.cu bench/gpu/attention-check/stub_runtime.cu \
  native/cuda/attention.cu native/cuda/attention_mma.cu -o "$out"
"$out"
