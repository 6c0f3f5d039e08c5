# PyTorch's SGEMM at the same shapes (run with the OpenMP OpenBLAS, 2 threads).
import torch

from torch_time import median_per_call

torch.set_num_threads(2)
for M, N, K in [(1024, 1024, 1024), (2048, 2048, 512), (2048, 512, 2048), (512, 2048, 2048), (2048, 512, 512), (256, 256, 256)]:
    a, b = torch.full((M, K), 0.5), torch.full((K, N), 0.25)
    a @ b
    print(f"{M}x{N}x{K} {2 * M * N * K / median_per_call(lambda: a @ b, 9, 0.1) / 1e9:.1f}")
