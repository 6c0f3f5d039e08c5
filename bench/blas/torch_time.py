# The timing both PyTorch GEMM scripts use (sgemm_torch.py, bf16/torch_gemm.py): `samples`
# samples, each repeating fn until `window` seconds have passed; the median seconds per call.
import time


def median_per_call(fn, samples, window):
    per_call = []
    for _ in range(samples):
        t0, reps = time.perf_counter(), 0
        while True:
            fn()
            reps += 1
            el = time.perf_counter() - t0
            if el >= window:
                break
        per_call.append(el / reps)
    per_call.sort()
    return per_call[len(per_call) // 2]
