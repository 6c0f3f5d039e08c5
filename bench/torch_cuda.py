#!/usr/bin/env python3
"""PyTorch counterpart of bench/cuda.bench.ts, on the GPU (PyTorch 2.x with CUDA).

  a. attention forward, and forward + backward, with torch.nn.functional.scaled_dot_product_attention
     at B=16 h=16, T 1024/2048, d 64/128, causal off and on, in
       - float32 with the default backend choice (reported per case where torch says which), and
       - bfloat16 with only the flash kernels (torch.nn.attention.sdpa_kernel(SDPBackend.FLASH_ATTENTION));
     ms and TFLOP/s with FlashAttention's count: 4*B*h*T*T*d forward, 2.5x that backward,
     halved when causal (the same count as the toroid script);
  b. a GPT training step (forward, backward, AdamW fused=True) at nanoGPT's gpt2-small shape
     (12 layers, d 768, 12 heads, T 1024, vocab 50304, batch 8; a nanoGPT-style model written
     here: nn.Linear / LayerNorm / GELU / SDPA is_causal, tied head), in float32 and with
     bfloat16 autocast: tokens/s and MFU = (6*N + 12*L*T*d) * tokens/s / peak (nanoGPT's
     estimate_mfu, N without wpe), against --peak-tflops (default 67, H100 SXM FP32 without
     tensor cores) and against 989 (H100 SXM BF16 dense).

Timing: warm-up, then timed calls, each followed by torch.cuda.synchronize(), until >= --min-runs
(5) and >= 1 s (GPT: 2 s); the median is reported (min in brackets). Every case catches its
own errors (out of memory, a kernel that does not support a shape) and the run goes on.
TF32 is off (PyTorch's default for matmul) unless --tf32.

  python3 bench/torch_cuda.py [--quick] [--json FILE] [--peak-tflops 67] [--tf32] [--only attention,gpt]
  Smoke test without a GPU: python3 bench/torch_cuda.py --tiny --device cpu (the bf16 / flash
  parts are skipped; torch without F.scaled_dot_product_attention gets the math formula).
"""
import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BF16_PEAK_TFLOPS = 989.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="attention at T=1024 d=64 only; GPT with 4 layers, batch 4")
    p.add_argument("--tiny", action="store_true", help="tiny shapes (smoke test)")
    p.add_argument("--json", metavar="FILE", default=None, help="also write every figure as JSON (directories are created)")
    p.add_argument("--device", default="cuda", help="cuda (default) or cpu (smoke test: bf16/flash parts skipped)")
    p.add_argument("--peak-tflops", type=float, default=67.0, help="peak for MFU (default 67: H100 SXM FP32 non-tensor)")
    p.add_argument("--tf32", action="store_true", help="allow TF32 tensor cores for float32 matmuls (off by default)")
    p.add_argument("--only", default="attention,gpt", help="parts among attention, gpt (comma list)")
    p.add_argument("--min-runs", type=int, default=5, help="timed repeats at least (default 5)")
    a = p.parse_args()
    a.only = [s.strip() for s in a.only.split(",") if s.strip()]
    for s in a.only:
        if s not in ("attention", "gpt"):
            p.error(f"--only: unknown part {s} (parts: attention, gpt)")
    if a.min_runs < 1:
        p.error("--min-runs must be >= 1")
    if a.peak_tflops <= 0:
        p.error("--peak-tflops must be positive")
    return a


ARGS = parse_args()
DEVICE = torch.device(ARGS.device)
IS_CUDA = DEVICE.type == "cuda"
if IS_CUDA and not torch.cuda.is_available():
    sys.exit(f"bench/torch_cuda.py: --device cuda but torch.cuda.is_available() is False (torch {torch.__version__}, built for CUDA {torch.version.cuda})")
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")

if IS_CUDA:
    torch.backends.cuda.matmul.allow_tf32 = ARGS.tf32
    torch.backends.cudnn.allow_tf32 = ARGS.tf32


def sync():
    if IS_CUDA:
        torch.cuda.synchronize()


def err_text(e):
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]


def free_cache():
    if IS_CUDA:
        torch.cuda.empty_cache()


# ---------------------------------------------------------------- timing

def measure(fn, min_seconds=1.0, max_runs=50, warmup=1):
    for _ in range(warmup):
        fn()
        sync()
    sync()
    min_runs = ARGS.min_runs
    max_runs = max(max_runs, min_runs)
    if ARGS.tiny:
        min_seconds = 0.0
    samples = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append((time.perf_counter() - t0) * 1e3)
        n = len(samples)
        if n >= max_runs or (n >= min_runs and time.perf_counter() - start >= min_seconds):
            break
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "runs": len(samples)}


def fmt_ms(ms):
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}" if ms >= 1 else f"{ms:.3f}"


def fmt_t(t):
    return f"{fmt_ms(t['median'])} ({fmt_ms(t['min'])})"


# ---------------------------------------------------------------- results

RESULTS = {
    "date": datetime.date.today().isoformat(),
    "isoTime": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    "command": "python3 bench/torch_cuda.py " + " ".join(sys.argv[1:]),
    "host": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    "torch": torch.__version__,
    "cudaRuntime": torch.version.cuda,
    "device": ARGS.device,
    "options": {"quick": ARGS.quick, "tiny": ARGS.tiny, "tf32": ARGS.tf32, "peakTflops": ARGS.peak_tflops,
                "bf16PeakTflops": BF16_PEAK_TFLOPS, "minRuns": ARGS.min_runs, "only": ARGS.only},
    "sdpa": HAS_SDPA,
}
if IS_CUDA:
    props = torch.cuda.get_device_properties(DEVICE)
    RESULTS["gpu"] = {"name": props.name, "capability": f"{props.major}.{props.minor}", "multiprocessors": props.multi_processor_count,
                      "totalBytes": props.total_memory, "cudnn": torch.backends.cudnn.version()}


def write_json():
    if ARGS.json is None:
        return
    try:
        d = os.path.dirname(os.path.abspath(ARGS.json))
        os.makedirs(d, exist_ok=True)
        with open(ARGS.json, "w") as f:
            json.dump(RESULTS, f, indent=2)
            f.write("\n")
    except OSError as e:
        print(f"could not write {ARGS.json}: {err_text(e)}", file=sys.stderr)


# ---------------------------------------------------------------- attention

_masks = {}


def sdpa(q, k, v, causal):
    if HAS_SDPA:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    # torch < 2.0 (the smoke test here): the math formula
    s = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    if causal:
        T = q.shape[-2]
        key = (T, q.device)
        if key not in _masks:
            _masks[key] = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
        s = s.masked_fill(_masks[key], float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), v)


def flash_only():
    """A context that allows only the flash SDPA kernels, and its description."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel  # torch >= 2.3
        return sdpa_kernel(SDPBackend.FLASH_ATTENTION), "sdpa_kernel(SDPBackend.FLASH_ATTENTION)"
    except ImportError:
        return (torch.backends.cuda.sdp_kernel(enable_flash=True, enable_math=False, enable_mem_efficient=False),
                "torch.backends.cuda.sdp_kernel(flash only)")


def sdpa_choice(q, k, v, causal):
    """The kernel the default dispatch picks, where this torch says (private API; None when it cannot)."""
    if not (HAS_SDPA and IS_CUDA):
        return None if HAS_SDPA else "math formula (no F.scaled_dot_product_attention)"
    try:
        choice = torch._fused_sdp_choice(q, k, v, None, 0.0, causal)
    except Exception:  # private and version-dependent
        return None
    try:
        from torch.nn.attention import SDPBackend
        return SDPBackend(choice).name
    except Exception:
        names = {0: "MATH", 1: "FLASH_ATTENTION", 2: "EFFICIENT_ATTENTION", 3: "CUDNN_ATTENTION"}
        return names.get(int(choice), str(choice))


def attention_part():
    B, h = (2, 2) if ARGS.tiny else (16, 16)
    Ts = [64, 128] if ARGS.tiny else [1024] if ARGS.quick else [1024, 2048]
    ds = [32, 64] if ARGS.tiny else [64] if ARGS.quick else [64, 128]
    variants = [("float32", torch.float32, "default")]
    if IS_CUDA:
        variants.append(("bfloat16", torch.bfloat16, "flash"))
    rows = []
    RESULTS["attention"] = {"B": B, "h": h, "Ts": Ts, "ds": ds, "flops": "forward 4*B*h*T*T*d, backward 2.5x forward, halved when causal",
                            "variants": [f"{n} {k}" for n, _, k in variants], "rows": rows}
    print(f"\n== a. attention: scaled_dot_product_attention, B={B} h={h}, T {'/'.join(map(str, Ts))}, d {'/'.join(map(str, ds))}, "
          f"causal off/on; {', '.join(f'{n} {k}' for n, _, k in variants)}")
    if not IS_CUDA:
        print("note: --device cpu: the bfloat16 flash variant is skipped")
    gen = torch.Generator(device=DEVICE).manual_seed(0)
    for name, dtype, kernels in variants:
        for T in Ts:
            for d in ds:
                shape = (B, h, T, d)
                q = k = v = g = None
                setup_error = None
                try:
                    q, k, v = (torch.randn(shape, generator=gen, device=DEVICE, dtype=dtype).requires_grad_(True) for _ in range(3))
                    g = torch.randn(shape, generator=gen, device=DEVICE, dtype=dtype)
                except Exception as e:
                    setup_error = err_text(e)
                for causal in (False, True):
                    fwd_flops = 4 * B * h * T * T * d * (0.5 if causal else 1.0)
                    row = {"dtype": name, "kernels": kernels, "B": B, "h": h, "T": T, "d": d, "causal": causal,
                           "fwdFlops": fwd_flops, "bwdFlops": 2.5 * fwd_flops}
                    rows.append(row)
                    label = f"{name} {kernels} T={T} d={d}{' causal' if causal else ''}"
                    if setup_error is not None:
                        row["error"] = setup_error
                        print(f"{label}: ERROR {setup_error}")
                        continue
                    try:
                        if kernels == "flash":
                            ctx, row["backend"] = flash_only()
                        else:
                            ctx = contextlib.nullcontext()
                            row["backend"] = sdpa_choice(q, k, v, causal)

                        def fwd():
                            with torch.no_grad():
                                sdpa(q, k, v, causal)

                        def fwd_bwd():
                            q.grad = k.grad = v.grad = None
                            sdpa(q, k, v, causal).backward(g)

                        with ctx:
                            row["fwd"] = measure(fwd)
                            row["fwdBwd"] = measure(fwd_bwd)
                        q.grad = k.grad = v.grad = None
                        row["fwdTflops"] = fwd_flops / (row["fwd"]["median"] * 1e9)
                        row["fwdBwdTflops"] = 3.5 * fwd_flops / (row["fwdBwd"]["median"] * 1e9)
                        row["bwdMs"] = row["fwdBwd"]["median"] - row["fwd"]["median"]
                        row["bwdTflops"] = 2.5 * fwd_flops / (row["bwdMs"] * 1e9) if row["bwdMs"] > 0 else None
                        bwd = f" {row['bwdTflops']:.2f} TFLOP/s" if row["bwdTflops"] is not None else ""
                        print(f"{label} [{row['backend'] or 'default'}]: fwd {fmt_t(row['fwd'])} ms {row['fwdTflops']:.2f} TFLOP/s; "
                              f"fwd+bwd {fmt_t(row['fwdBwd'])} ms {row['fwdBwdTflops']:.2f} TFLOP/s; bwd ~{fmt_ms(row['bwdMs'])} ms{bwd}")
                    except Exception as e:
                        row["error"] = err_text(e)
                        print(f"{label}: ERROR {row['error']}")
                        if q is not None:
                            q.grad = k.grad = v.grad = None
                    write_json()
                del q, k, v, g
                free_cache()

    lines = ["| dtype, kernels | T | d | causal | fwd ms | fwd TFLOP/s | fwd+bwd ms | fwd+bwd TFLOP/s | bwd ms (derived) | bwd TFLOP/s | kernel |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        head = f"| {r['dtype']} {r['kernels']} | {r['T']} | {r['d']} | {'yes' if r['causal'] else 'no'} |"
        if "error" in r:
            lines.append(f"{head} error: {r['error']} | | | | | | |")
        else:
            bt = f"{r['bwdTflops']:.2f}" if r["bwdTflops"] is not None else "-"
            lines.append(f"{head} {fmt_t(r['fwd'])} | {r['fwdTflops']:.2f} | {fmt_t(r['fwdBwd'])} | {r['fwdBwdTflops']:.2f} | "
                         f"{fmt_ms(r['bwdMs'])} | {bt} | {r.get('backend') or '-'} |")
    print(f"\nPyTorch {torch.__version__} attention, B={B} h={h}; ms: median (min) of >= {ARGS.min_runs} runs; "
          "FLOPs 4BhT^2d forward, 2.5x backward, halved when causal:\n" + "\n".join(lines))


# ---------------------------------------------------------------- GPT (nanoGPT-style)

class Block(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.attn_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.gelu = nn.GELU()
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = sdpa(q, k, v, True).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.attn_proj(y)
        return x + self.mlp_proj(self.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, vocab, block, n_layer, n_head, d):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(block, d)
        self.h = nn.ModuleList([Block(d, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as nanoGPT
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, 0.0, 0.02)
        for b in self.h:
            for proj in (b.attn_proj, b.mlp_proj):
                nn.init.normal_(proj.weight, 0.0, 0.02 / math.sqrt(2 * n_layer))

    def num_params(self):
        """nanoGPT's get_num_params(): every parameter once, without the position table."""
        return sum(p.numel() for p in self.parameters()) - self.wpe.weight.numel()

    def forward(self, idx, targets):
        T = idx.shape[1]
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for b in self.h:
            x = b(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def make_adamw(params):
    kw = dict(lr=6e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    if IS_CUDA:
        try:
            return torch.optim.AdamW(params, fused=True, **kw), "AdamW fused=True"
        except (TypeError, RuntimeError) as e:
            print(f"note: AdamW(fused=True) unavailable ({err_text(e)}); using the default")
    return torch.optim.AdamW(params, **kw), "AdamW (default implementation)"


def gpt_part():
    if ARGS.tiny:
        V, T, L, H, D, B = 256, 32, 2, 4, 64, 2
    else:
        V, T, L, H, D, B = 50304, 1024, 4 if ARGS.quick else 12, 12, 768, 4 if ARGS.quick else 8
    modes = [("float32", None)]
    if IS_CUDA:
        modes.append(("bf16 autocast", torch.bfloat16))
    rows = []
    RESULTS["gpt"] = {"config": {"vocabSize": V, "blockSize": T, "nLayer": L, "nHead": H, "nEmbd": D, "bias": True, "tied": True,
                                 "gelu": "exact"}, "batch": B, "tokensPerStep": B * T, "rows": rows}
    print(f"\n== b. GPT training step (forward + backward + AdamW): {L} layers, d {D}, {H} heads, T {T}, vocab {V}, batch {B}; "
          f"{', '.join(m for m, _ in modes)}")
    if not IS_CUDA:
        print("note: --device cpu: the bf16 autocast step is skipped")
    for mode, amp in modes:
        row = {"mode": mode}
        rows.append(row)
        model = opt = None
        try:
            torch.manual_seed(0)
            model = GPT(V, T, L, H, D).to(DEVICE)
            model.train()
            n = model.num_params()
            row["params"] = n
            opt, row["optimizer"] = make_adamw(model.parameters())
            gen = torch.Generator(device="cpu").manual_seed(11)
            x = torch.randint(0, V, (B, T), generator=gen).to(DEVICE)
            y = torch.randint(0, V, (B, T), generator=gen).to(DEVICE)
            ctx = (lambda: torch.autocast(device_type=DEVICE.type, dtype=amp)) if amp is not None else contextlib.nullcontext

            def step():
                with ctx():
                    loss = model(x, y)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                return loss

            if IS_CUDA:
                torch.cuda.reset_peak_memory_stats(DEVICE)
            t0 = time.perf_counter()
            row["firstLoss"] = step().item()
            row["firstStepMs"] = (time.perf_counter() - t0) * 1e3
            t = measure(step, min_seconds=2.0, max_runs=20)
            row["lastLoss"] = step().item()
            tokens_per_sec = B * T / (t["median"] / 1e3)
            flops_per_token = 6 * n + 12 * L * T * D
            achieved = flops_per_token * tokens_per_sec / 1e12
            row.update({"step": t, "tokensPerSec": tokens_per_sec, "flopsPerToken": flops_per_token, "achievedTflops": achieved,
                        "mfu": achieved / ARGS.peak_tflops, "mfuVsBf16Peak": achieved / BF16_PEAK_TFLOPS})
            if IS_CUDA:
                row["maxMemoryAllocated"] = torch.cuda.max_memory_allocated(DEVICE)
            mem = f", max memory {row['maxMemoryAllocated'] / 2**30:.2f} GiB" if IS_CUDA else ""
            print(f"{mode}: {n / 1e6:.2f}M params, first loss {row['firstLoss']:.4f} (ln V = {math.log(V):.4f}), step {fmt_t(t)} ms over "
                  f"{t['runs']} runs, {tokens_per_sec:.0f} tokens/s, {achieved:.2f} TFLOP/s{mem}")
        except Exception as e:
            row["error"] = err_text(e)
            print(f"{mode}: ERROR {row['error']}")
        finally:
            del model, opt
            free_cache()
        write_json()

    lines = ["| mode | batch x T | ms / step | tokens / s | model TFLOP/s | MFU vs peak | MFU vs 989 BF16 dense |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['mode']} | {B} x {T} | error: {r['error']} | | | | |")
        else:
            lines.append(f"| {r['mode']} | {B} x {T} | {fmt_t(r['step'])} | {r['tokensPerSec']:.0f} | {r['achievedTflops']:.2f} | "
                         f"{100 * r['mfu']:.1f}% of {ARGS.peak_tflops:g} | {100 * r['mfuVsBf16Peak']:.2f}% |")
    n = next((r["params"] for r in rows if "params" in r), None)
    fpt = f"{(6 * n + 12 * L * T * D) / 1e9:.3f} GFLOP (N = {n})" if n is not None else "-"
    print(f"\nPyTorch {torch.__version__} GPT training step, {L}L d{D} {H}h V{V}, TF32 {'on' if ARGS.tf32 else 'off'}; "
          f"FLOPs per token 6N + 12*L*T*d = {fpt}:\n" + "\n".join(lines))


# ---------------------------------------------------------------- main

def main():
    started = time.perf_counter()
    print("bench/torch_cuda.py " + " ".join(sys.argv[1:]))
    print(f"host: {RESULTS['host']}; torch {torch.__version__}, CUDA {torch.version.cuda}; SDPA {'yes' if HAS_SDPA else 'no (math formula)'}")
    if IS_CUDA:
        gpu = RESULTS["gpu"]
        print(f"device: {gpu['name']} (sm {gpu['capability']}, {gpu['multiprocessors']} SMs, {gpu['totalBytes'] / 2**30:.1f} GiB), "
              f"cuDNN {gpu['cudnn']}, TF32 {'on' if ARGS.tf32 else 'off'}")
    else:
        print(f"device: {ARGS.device} (smoke test)")
    print(f"date: {RESULTS['date']}; MFU peak {ARGS.peak_tflops:g} TFLOP/s (and {BF16_PEAK_TFLOPS:g} BF16 dense)"
          f"{'; --tiny shapes' if ARGS.tiny else '; --quick' if ARGS.quick else ''}")
    write_json()
    for name, fn in (("attention", attention_part), ("gpt", gpt_part)):
        if name not in ARGS.only:
            continue
        try:
            fn()
        except Exception as e:  # each part catches its own errors; this is the last resort
            RESULTS[f"{name}Error"] = err_text(e)
            print(f"{name}: ERROR {err_text(e)}")
        write_json()
    RESULTS["totalSeconds"] = time.perf_counter() - started
    write_json()
    print(f"\ntotal {time.perf_counter() - started:.0f} s" + (f"; JSON written to {ARGS.json}" if ARGS.json else ""))


if __name__ == "__main__":
    main()
