#!/usr/bin/env python3
"""PyTorch side of bench/kernels.bench.ts: the same kernels, timed on the CPU.

Reads one JSON object on stdin: {"threads": 2, "cases": [case, ...]} and prints one JSON
object on stdout: {"torch": version, "threads": n, "blas": path, "results": [result, ...]}.

A case is {"op", "mode": "fwd+bwd"|"fwd"|"step", "purpose": "check"|"time", "attrs": {...},
"inputs": [{"name", "shape", "kind": "randn"|"ids"|"zeros", "grad": bool, "high": int, "scale": float}],
"upstream": shape or null, "data": {name: base64 little-endian float32/int32} (check only),
"timing": {"warmup", "minRuns", "minSeconds", "maxRuns"}}.

Check results carry the outputs (forward output, then input gradients in input order, or
for AdamW the parameter deltas, m and v) as base64 float32; time results carry the median
and min milliseconds per iteration. Run with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/
openblas-openmp and OMP_NUM_THREADS=2: Debian's torch then uses the OpenMP OpenBLAS.
"""
import base64
import json
import math
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def decode(b64, shape, kind):
    dtype = np.int32 if kind == "ids" else np.float32
    arr = np.frombuffer(base64.b64decode(b64), dtype=dtype).reshape(shape)
    t = torch.from_numpy(arr.copy())
    return t.long() if kind == "ids" else t


def encode(t):
    return base64.b64encode(t.detach().contiguous().float().numpy().astype("<f4").tobytes()).decode("ascii")


def make_inputs(case):
    data = case.get("data") or {}
    gen = torch.Generator().manual_seed(1234)
    tensors = {}
    for spec in case["inputs"]:
        name, shape, kind = spec["name"], spec["shape"], spec["kind"]
        if name in data:
            t = decode(data[name], shape, kind)
        elif kind == "ids":
            t = torch.randint(0, spec["high"], shape, generator=gen, dtype=torch.long)
        elif kind == "zeros":
            t = torch.zeros(shape)
        else:
            t = torch.randn(shape, generator=gen) * spec.get("scale", 1.0)
        if kind != "ids" and case.get("dtype") == "bfloat16":
            t = t.to(torch.bfloat16)  # bench:kernels --dtype bfloat16: PyTorch on bf16 tensors
        if spec.get("grad") and case["mode"] == "fwd+bwd":
            t.requires_grad_(True)
        tensors[name] = t
    upstream = None
    if case.get("upstream") is not None:
        if "g" in data:
            upstream = decode(data["g"], case["upstream"], "randn")
        else:
            upstream = torch.randn(case["upstream"], generator=gen)
        if case.get("dtype") == "bfloat16":
            upstream = upstream.to(torch.bfloat16)
    return tensors, upstream


_mask_cache = {}


def causal_mask(T):
    if T not in _mask_cache:
        _mask_cache[T] = torch.ones(T, T, dtype=torch.bool).triu(1)
    return _mask_cache[T]


def attention(q, k, v, causal):
    # PyTorch 1.13 has no F.scaled_dot_product_attention: the math path with autograd.
    scale = 1.0 / math.sqrt(q.shape[-1])
    s = torch.matmul(q, k.transpose(-2, -1)) * scale
    if causal:
        s = s.masked_fill(causal_mask(q.shape[-2]), float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), v)


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def forward_fn(case, t):
    op, a = case["op"], case.get("attrs", {})
    if op == "attention":
        return lambda: attention(t["q"], t["k"], t["v"], a["causal"])
    if op == "linear":
        return lambda: F.linear(t["x"], t["w"], t["b"])
    if op == "matmul":
        return lambda: torch.matmul(t["a"], t["b"])
    if op == "layernorm":
        return lambda: F.layer_norm(t["x"], (t["x"].shape[-1],), t["w"], t["b"], a["eps"])
    if op == "rmsnorm":
        return lambda: rms_norm(t["x"], t["w"], a["eps"])
    if op == "gelu":
        return lambda: F.gelu(t["x"])
    if op == "softmax":
        return lambda: torch.softmax(t["x"], dim=-1)
    if op == "crossentropy":
        return lambda: F.cross_entropy(t["logits"], t["target"], label_smoothing=a["labelSmoothing"])
    if op == "embedding":
        return lambda: F.embedding(t["ids"], t["weight"])
    raise ValueError(f"unknown op {op}")


def timed(fn, timing):
    for _ in range(timing["warmup"]):
        fn()
    samples = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e3)
        elapsed = time.perf_counter() - start
        n = len(samples)
        if n >= timing["maxRuns"]:
            break
        if n >= timing["minRuns"] and elapsed >= timing["minSeconds"]:
            break
        if n >= 3 and elapsed >= 2 * timing["minSeconds"] + 1:
            break
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "runs": len(samples)}


def run_adamw(case):
    t, _ = make_inputs(case)
    n = case["attrs"]["tensors"]
    a = case["attrs"]
    params = [t[f"p{i}"].clone().requires_grad_(True) for i in range(n)]
    for i, p in enumerate(params):
        p.grad = t[f"g{i}"].clone()
    kw = dict(lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"], weight_decay=a["weightDecay"])
    if case["purpose"] == "check":
        opt = torch.optim.AdamW(params, foreach=False, **kw)
        with torch.no_grad():
            for _ in range(a["steps"]):
                opt.step()
        outs = [params[i].detach() - t[f"p{i}"] for i in range(n)]
        outs += [opt.state[p]["exp_avg"] for p in params] + [opt.state[p]["exp_avg_sq"] for p in params]
        return {"outputs": [encode(o) for o in outs]}
    best = None
    for foreach in (False, True):
        opt = torch.optim.AdamW(params, foreach=foreach, **kw)
        r = timed(opt.step, case["timing"])
        r["variant"] = f"foreach={foreach}"
        if best is None or r["median_ms"] < best["median_ms"]:
            best = r
    return best


def run_case(case):
    if case["op"] == "adamw":
        return run_adamw(case)
    t, g = make_inputs(case)
    fwd = forward_fn(case, t)
    leaves = [t[s["name"]] for s in case["inputs"] if s.get("grad")]
    if case["purpose"] == "check":
        y = fwd()
        outs = [y]
        if case["mode"] == "fwd+bwd":
            y.backward(g)
            outs += [x.grad for x in leaves]
        return {"outputs": [encode(o) for o in outs]}
    if case["mode"] == "fwd":
        def step():
            with torch.no_grad():
                fwd()
    else:
        def step():
            for x in leaves:
                x.grad = None
            fwd().backward(g)
    return timed(step, case["timing"])


def blas_library():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        main = sorted(lib for lib in libs if "libopenblas" in lib.rsplit("/", 1)[-1]) or sorted(libs)
        return ", ".join(main) or "none loaded"
    except OSError:
        return "unknown"


def main():
    req = json.load(sys.stdin)
    threads = int(req.get("threads", 2))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    results = []
    for case in req["cases"]:
        try:
            results.append(run_case(case))
        except Exception as e:  # report, keep going: one bad case must not hide the others
            results.append({"error": f"{type(e).__name__}: {e}"})
    json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_library(), "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
