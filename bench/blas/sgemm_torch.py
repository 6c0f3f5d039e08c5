# PyTorch's SGEMM at the same shapes (run with the OpenMP OpenBLAS, 2 threads).
import time, torch
torch.set_num_threads(2)
for M, N, K in [(1024, 1024, 1024), (2048, 2048, 512), (2048, 512, 2048), (512, 2048, 2048), (2048, 512, 512), (256, 256, 256)]:
    a, b = torch.full((M, K), 0.5), torch.full((K, N), 0.25)
    a @ b
    times = []
    for _ in range(9):
        t0, reps = time.perf_counter(), 0
        while True:
            a @ b
            reps += 1
            el = time.perf_counter() - t0
            if el >= 0.1:
                break
        times.append(el / reps)
    times.sort()
    print(f"{M}x{N}x{K} {2 * M * N * K / times[len(times) // 2] / 1e9:.1f}")
