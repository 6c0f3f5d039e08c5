# PyTorch side of bench/seq2seq.bench.ts: the same Seq2Seq Transformer (the
# paper's model at 3+3 layers, d_model 256) with the weights toroid wrote to a
# safetensors file, one training step (forward, backward, AdamW) on the same batch.
# Prints JSON: the first-batch loss (equal work is checked, not assumed) and
# the median step time. Run by the bench with the OpenMP OpenBLAS, 2 threads.
import json, os, sys, time
import torch
import torch.nn as nn

# the model and the file reader are the `npm run bench` PyTorch worker's: one definition of
# toroid's Seq2SeqTransformer in PyTorch (its sinusoidal table included)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
from torch_worker import Seq2Seq, causal_bool, read_safetensors  # noqa: E402

def main():
    req = json.loads(sys.stdin.read())
    torch.set_num_threads(req.get("threads", 2))
    tensors, meta = read_safetensors(req["file"])
    c = json.loads(meta["config"])
    model = Seq2Seq(c)
    state = {k: v for k, v in tensors.items() if not k.startswith("batch/")}
    model.load_state_dict(state, strict=True)
    src, tgt_in, tgt_out = (tensors["batch/" + k].long() for k in ("src", "tgt_in", "tgt_out"))
    src_pad, tgt_pad = src == c["pad"], tgt_in == c["pad"]
    causal = causal_bool(tgt_in.shape[1], src.device)
    loss_fn = nn.CrossEntropyLoss(ignore_index=c["pad"], label_smoothing=c.get("labelSmoothing", 0.0))

    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(src, tgt_in, src_pad, tgt_pad, causal)
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    first = step()
    times = []
    t_end = time.perf_counter() + req.get("seconds", 5)
    while len(times) < req.get("minRuns", 5) or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
        if len(times) >= req.get("maxRuns", 30):
            break
    times.sort()
    print(json.dumps({"loss": first, "median_ms": 1000 * times[len(times) // 2], "min_ms": 1000 * times[0], "runs": len(times),
                      "torch": torch.__version__}))

main()
