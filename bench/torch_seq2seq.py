# PyTorch side of bench/seq2seq.bench.ts: the same Seq2Seq Transformer (the
# paper's model at 3+3 layers, d_model 256) with the weights toroid wrote to a
# safetensors file, one training step (forward, backward, AdamW) on the same batch.
# Prints JSON: the first-batch loss (equal work is checked, not assumed) and
# the median step time. Run by the bench with the OpenMP OpenBLAS, 2 threads.
import json, math, struct, sys, time
import torch
import torch.nn as nn

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    dtypes = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64}
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + b:base + e]), dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = t
    return out, meta

class Seq2Seq(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dModel"]
        self.src_tok_emb = nn.Embedding(c["srcVocab"], d, padding_idx=c["pad"])
        self.tgt_tok_emb = nn.Embedding(c["tgtVocab"], d, padding_idx=c["pad"])
        self.transformer = nn.Transformer(d_model=d, nhead=c["nhead"], num_encoder_layers=c["numEncoderLayers"],
                                          num_decoder_layers=c["numDecoderLayers"], dim_feedforward=c["dimFeedforward"],
                                          dropout=0.0, batch_first=True, norm_first=c.get("normFirst", False))
        self.generator = nn.Linear(d, c["tgtVocab"])
        pos = torch.arange(c["maxLen"]).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe = torch.zeros(c["maxLen"], d)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe, persistent=False)
        self.scale = math.sqrt(d)

    def forward(self, src, tgt_in, src_pad, tgt_pad):
        s = self.src_tok_emb(src) * self.scale + self.pe[: src.shape[1]]
        t = self.tgt_tok_emb(tgt_in) * self.scale + self.pe[: tgt_in.shape[1]]
        T = tgt_in.shape[1]
        causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        h = self.transformer(s, t, tgt_mask=causal, src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                             memory_key_padding_mask=src_pad)
        return self.generator(h)

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
    loss_fn = nn.CrossEntropyLoss(ignore_index=c["pad"], label_smoothing=c.get("labelSmoothing", 0.0))

    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(src, tgt_in, src_pad, tgt_pad)
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
