# PyTorch 1.13 on the shape of bench.cc (B=32 h=8 T=256 d=64), two threads:
# softmax(q @ k^T * scale + mask) @ v on bf16 tensors (and float32 for reference), forward
# and forward + backward, without and with a causal mask. The median of 5 timed calls.
import time
import torch

torch.set_num_threads(2)
torch.manual_seed(0)
B, h, T, d = 32, 8, 256, 64
scale = d ** -0.5


def attention(q, k, v, mask):
    s = q @ k.transpose(-1, -2) * scale
    if mask is not None:
        s = s + mask
    return torch.softmax(s, dim=-1) @ v


def median_ms(f):
    f()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1e3)
    return sorted(times)[2]


for dtype in (torch.bfloat16, torch.float32):
    q, k, v, g = (torch.randn(B, h, T, d).to(dtype) for _ in range(4))
    for name, mask in (("none", None), ("causal", torch.full((T, T), float("-inf")).triu(1).to(dtype))):
        fwd = median_ms(lambda: attention(q, k, v, mask))
        qq, kk, vv = (x.clone().requires_grad_() for x in (q, k, v))

        def step():
            out = attention(qq, kk, vv, mask)
            out.backward(g)

        both = median_ms(step)
        print(f"torch {str(dtype).split('.')[-1]:<8} {name:<6} fwd {fwd:7.1f} ms  fwd+bwd {both:7.1f} ms")
