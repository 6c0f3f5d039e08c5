# PyTorch's matmul at bench/blas/bf16/bench.cc's shapes, bf16 and float32 (2 threads), median of 15 after 3 warm-ups.
import time
import torch

torch.set_num_threads(2)
SHAPES = [(1024, 1024, 1024, 0, 0), (2048, 2048, 512, 0, 1), (2048, 512, 2048, 0, 1), (2048, 512, 512, 0, 1), (2048, 8000, 512, 0, 1),
          (1536, 1024, 256, 0, 1), (1536, 256, 1024, 0, 1), (1536, 8000, 256, 0, 1), (512, 2048, 2048, 1, 0), (2048, 512, 2048, 0, 0)]


def gflops(M, N, K, ta, tb, dtype):
    a = (torch.randn(K, M) if ta else torch.randn(M, K)).to(dtype)
    b = (torch.randn(N, K) if tb else torch.randn(K, N)).to(dtype)
    opa, opb = (a.t() if ta else a), (b.t() if tb else b)
    ts = []
    for r in range(18):
        t = time.perf_counter()
        opa @ opb
        if r >= 3:
            ts.append(time.perf_counter() - t)
    ts.sort()
    return 2 * M * N * K / ts[len(ts) // 2] / 1e9


for M, N, K, ta, tb in SHAPES:
    tag = ('T' if ta else 'N') + ('T' if tb else 'N')
    print(f'torch  {M:5d} x {N:5d} x {K:5d} {tag}  bf16 {gflops(M, N, K, ta, tb, torch.bfloat16):6.0f} GFLOP/s  float32 {gflops(M, N, K, ta, tb, torch.float32):6.0f} GFLOP/s')
