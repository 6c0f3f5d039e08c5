# PyTorch 1.13 (Debian python3-torch: oneDNN 2.6.3 for bf16, OpenBLAS for float32) at harness.h's
# cases, printed as the C++ programs print them: "torch <mode> <M>x<N>x<K> <tag> <GFLOP/s>",
# the median of 11 samples (each repeats the product for 30 ms) after 3 warm-ups, 2 threads.
# Transposes are views of contiguous tensors, as autograd hands them to matmul.
#   usage: torch_gemm.py bf16|f32 [MxNxK]
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from torch_time import median_per_call  # noqa: E402

torch.set_num_threads(2)
mode = sys.argv[1] if len(sys.argv) > 1 else 'bf16'
only = sys.argv[2] if len(sys.argv) > 2 else ''
SHAPES = [(1024, 1024, 1024), (2048, 2048, 2048), (2048, 2048, 512), (2048, 512, 2048), (2048, 512, 512), (2048, 8000, 512), (512, 2048, 2048)]
dtype = torch.bfloat16 if mode == 'bf16' else torch.float32
for M, N, K in SHAPES:
    if only and only != f'{M}x{N}x{K}':
        continue
    for ta, tb in ((0, 0), (1, 0), (0, 1)):
        a = (torch.rand(K, M) - 0.5 if ta else torch.rand(M, K) - 0.5).to(dtype)
        b = (torch.rand(N, K) - 0.5 if tb else torch.rand(K, N) - 0.5).to(dtype)
        opa, opb = (a.t() if ta else a), (b.t() if tb else b)
        for _ in range(3):
            opa @ opb
        tag = ('T' if ta else 'N') + ('T' if tb else 'N')
        print(f'torch {mode} {M}x{N}x{K} {tag} {2 * M * N * K / median_per_call(lambda: opa @ opb, 11, 0.03) / 1e9:.0f}', flush=True)
