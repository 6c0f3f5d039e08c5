# PyTorch worker of `npm run bench` (protocol: bench/peers/PROTOCOL.md).
#
#   python3 bench/peers/torch_worker.py --workload <name> --dir <folder> [--threads N] [--device cpu|cuda] [--precision fp32|bf16]
#
# --precision bf16: `with torch.autocast('cpu', dtype=torch.bfloat16):` around the forward pass and the loss
# (backward and optimizer outside; firstLoss from such a forward) and around each decode (inference under
# autocast); the cached-vs-uncached startup check is then skipped (the two round differently in bf16).
#
# workloads: seq2seq-train, gpt-train, seq2seq-greedy, seq2seq-greedy-nocache, gpt-greedy, gpt-greedy-nocache, seq2seq-beam.
# Loads <dir>/<model>.safetensors (prepare.ts: toroid's initial weights under PyTorch state-dict names,
# the batch as batch/* int32 tensors, the config JSON in the metadata), prints one JSON line
# {"ready": ...}, then one {"ms": ...} line per `rep` read from stdin, and exits on `quit` / end of input.
# Only those JSON lines go to stdout; logs go to stderr.
#
# Seq2Seq is nn.Transformer (post-LN, ReLU), bench/torch_seq2seq.py's model too; GPT is written here in
# nanoGPT's module layout (so that load_state_dict(strict=True) takes the file's names as they are).
# Greedy decoding: the cached decoders keep per-layer self-attention keys/values in preallocated
# buffers (and for Seq2Seq the cross-attention keys/values of the encoder output, computed once per
# decode); the -nocache variants re-run the whole decoder on the growing prefix (Seq2Seq through
# nn.TransformerDecoder itself). At startup both decoders run once on the batch and must agree.
import argparse
import contextlib
import json
import math
import os
import struct
import sys
import time
import warnings

WORKLOADS = ("seq2seq-train", "gpt-train", "seq2seq-greedy", "seq2seq-greedy-nocache", "gpt-greedy", "gpt-greedy-nocache", "seq2seq-beam")


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def log(*args):
    print("[torch_worker]", *args, file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--workload", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    # bf16: torch.autocast around forward passes and losses (backward and optimizer outside) and decodes
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    return p.parse_args(argv)


try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    TORCH_ERROR = None
except Exception as err:  # noqa: BLE001 - any failure to import is reported, not raised
    torch = None
    TORCH_ERROR = f"import torch failed: {type(err).__name__}: {err}"


# ----------------------------------------------------------------------------------------------
# safetensors


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
        if info["dtype"] not in dtypes:
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']} (expected F32/I32/I64)")
        b, e = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[base + b:base + e]), dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out, meta


def load_file(folder, model):
    path = os.path.join(folder, f"{model}.safetensors")
    tensors, meta = read_safetensors(path)
    config = json.loads(meta["config"])
    state = {k: v for k, v in tensors.items() if not k.startswith("batch/")}
    batch = {k[len("batch/"):]: v.long() for k, v in tensors.items() if k.startswith("batch/")}
    return config, state, batch


def load_model(folder, name, cls, dev, train):
    """<folder>/<name>.safetensors as a cls model with the file's weights (strict names), on dev,
    in train or eval mode; with its config and batch. Every workload starts here."""
    c, state, batch = load_file(folder, name)
    model = cls(c)
    model.load_state_dict(state, strict=True)
    model.to(dev).train(train)
    return c, model, batch


# ----------------------------------------------------------------------------------------------
# Seq2Seq: toroid's Seq2SeqTransformer = nn.Transformer with scaled embeddings and sinusoidal positions


if torch is not None:

    class Seq2Seq(nn.Module):
        def __init__(self, c):
            super().__init__()
            d = c["dModel"]
            self.d = d
            self.nhead = c["nhead"]
            self.src_tok_emb = nn.Embedding(c["srcVocab"], d, padding_idx=c["pad"])
            self.tgt_tok_emb = nn.Embedding(c["tgtVocab"], d, padding_idx=c["pad"])
            self.transformer = nn.Transformer(d_model=d, nhead=c["nhead"], num_encoder_layers=c["numEncoderLayers"],
                                              num_decoder_layers=c["numDecoderLayers"], dim_feedforward=c["dimFeedforward"],
                                              dropout=0.0, batch_first=True, norm_first=c.get("normFirst", False))
            self.generator = nn.Linear(d, c["tgtVocab"])
            # toroid's table: PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...), in float64, then float32
            pe = torch.zeros(c["maxLen"], d, dtype=torch.float64)
            pos = torch.arange(c["maxLen"], dtype=torch.float64).unsqueeze(1)
            i = torch.arange(0, d, 2, dtype=torch.float64)
            angle = pos / torch.pow(torch.tensor(10000.0, dtype=torch.float64), i / d)
            pe[:, 0::2] = torch.sin(angle)
            pe[:, 1::2] = torch.cos(angle)[:, : d // 2]
            self.register_buffer("pe", pe.float(), persistent=False)
            self.scale = math.sqrt(d)

        def embed_src(self, src):
            return self.src_tok_emb(src) * self.scale + self.pe[: src.shape[1]]

        def embed_tgt(self, tgt, offset=0):
            return self.tgt_tok_emb(tgt) * self.scale + self.pe[offset: offset + tgt.shape[1]]

        def forward(self, src, tgt_in, src_pad, tgt_pad, causal):
            h = self.transformer(self.embed_src(src), self.embed_tgt(tgt_in), tgt_mask=causal,
                                 src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                                 memory_key_padding_mask=src_pad)
            return self.generator(h)

        def encode(self, src, src_pad):
            enc = self.transformer.encoder
            if self.training or not (src.device.type == "cpu" and torch.is_autocast_cpu_enabled()):
                return enc(self.embed_src(src), src_key_padding_mask=src_pad)
            # torch 1.13's eval fast paths (the nested-tensor encoder, torch._transformer_encoder_layer_fwd,
            # torch._native_multi_head_attention) test torch.is_autocast_enabled(), CUDA's autocast only,
            # and under CPU autocast fail with "expected scalar type BFloat16 but found Float"
            # (pytorch/pytorch#132613, #107663): under CPU autocast the encoder runs its training-mode
            # path, the same math here (dropout 0)
            enc.train()
            try:
                return enc(self.embed_src(src), src_key_padding_mask=src_pad)
            finally:
                enc.eval()

    def causal_bool(T, device):
        return torch.triu(torch.ones(T, T, dtype=torch.bool, device=device), diagonal=1)

    def seq2seq_pick(logits, pad, bos):
        """logits [B,V] -> ids [B]: argmax with PAD and BOS banned (argmax returns the first maximum)."""
        logits[:, pad] = float("-inf")
        logits[:, bos] = float("-inf")
        return torch.argmax(logits, dim=-1)

    class Seq2SeqCachedDecoder:
        """Incremental greedy decoding with nn.Transformer's weights; the math of a post-LN (or pre-LN)
        nn.TransformerDecoderLayer in eval mode (dropout 0), one target position per step."""

        def __init__(self, model, c):
            self.m = model
            self.c = c
            self.d = model.d
            self.h = model.nhead
            self.hd = self.d // self.h
            self.norm_first = c.get("normFirst", False)
            self.layers = list(model.transformer.decoder.layers)
            self.final_norm = model.transformer.decoder.norm

        def _heads(self, x, B, T):
            # [B,T,d] -> [B*h,T,hd]
            return x.reshape(B, T, self.h, self.hd).transpose(1, 2).reshape(B * self.h, T, self.hd)

        def step(self, x, t, R, kc, vc, cross, mem_mask):
            """One target position t of R rows through every layer (and the final norm): x [R,1,d];
            per layer the caches kc [R*h,hd,L] (keys transposed) and vc [R*h,L,hd], written at t;
            cross (keys [R*h,hd,S], values [R*h,S,hd]); mem_mask additive [R*h,1,S]."""
            h, hd, d = self.h, self.hd, self.d
            scaling = 1.0 / math.sqrt(hd)
            for layer, k_cache, v_cache, (ck, cv) in zip(self.layers, kc, vc, cross):
                def sa(z):  # self-attention of the new position over positions 0..t (cached)
                    a = layer.self_attn
                    q, k, v = F.linear(z, a.in_proj_weight, a.in_proj_bias).split(d, dim=-1)
                    k_cache[:, :, t] = k.reshape(R * h, hd)
                    v_cache[:, t] = v.reshape(R * h, hd)
                    q = q.reshape(R * h, 1, hd) * scaling
                    w = torch.softmax(torch.bmm(q, k_cache[:, :, : t + 1]), dim=-1)
                    return a.out_proj(torch.bmm(w, v_cache[:, : t + 1]).reshape(R, 1, d))

                def ca(z):  # cross-attention over the memory's keys/values (computed once)
                    a = layer.multihead_attn
                    q = F.linear(z, a.in_proj_weight[:d], a.in_proj_bias[:d]).reshape(R * h, 1, hd) * scaling
                    w = torch.softmax(torch.baddbmm(mem_mask, q, ck), dim=-1)
                    return a.out_proj(torch.bmm(w, cv).reshape(R, 1, d))

                def ff(z):
                    return layer.linear2(torch.relu(layer.linear1(z)))

                if self.norm_first:
                    x = x + sa(layer.norm1(x))
                    x = x + ca(layer.norm2(x))
                    x = x + ff(layer.norm3(x))
                else:  # nn.TransformerDecoderLayer's post-LN order
                    x = layer.norm1(x + sa(x))
                    x = layer.norm2(x + ca(x))
                    x = layer.norm3(x + ff(x))
            return x if self.final_norm is None else self.final_norm(x)

        def decode(self, src, steps):
            m, c = self.m, self.c
            B, S = src.shape
            h, hd, d = self.h, self.hd, self.d
            dev = src.device
            src_pad = src == c["pad"]
            memory = m.encode(src, src_pad)
            # additive key mask of the memory, [B*h,1,S] (-inf at padded source positions)
            mem_mask = torch.zeros(B, S, device=dev).masked_fill_(src_pad, float("-inf"))
            mem_mask = mem_mask.unsqueeze(1).repeat_interleave(h, dim=0)
            cross = []
            for layer in self.layers:
                a = layer.multihead_attn
                kv = F.linear(memory, a.in_proj_weight[d:], a.in_proj_bias[d:])
                k, v = kv.split(d, dim=-1)
                cross.append((self._heads(k, B, S).transpose(1, 2).contiguous(), self._heads(v, B, S).contiguous()))
            kc = [torch.empty(B * h, hd, steps, device=dev) for _ in self.layers]  # keys stored transposed
            vc = [torch.empty(B * h, steps, hd, device=dev) for _ in self.layers]
            ids = torch.empty(B, steps, dtype=torch.long, device=dev)
            tok = torch.full((B, 1), c["bos"], dtype=torch.long, device=dev)
            for t in range(steps):
                x = m.embed_tgt(tok, offset=t)  # [B,1,d]
                x = self.step(x, t, B, kc, vc, cross, mem_mask)
                nxt = seq2seq_pick(m.generator(x[:, 0]), c["pad"], c["bos"])
                ids[:, t] = nxt
                tok = nxt.unsqueeze(1)
            return ids

    def gnmt_lp(length, alpha):
        return ((5.0 + length) / 6.0) ** alpha

    def seq2seq_beam(dec, src, beam, max_len, alpha):
        """Beam search with the cached decoder, the rules of toroid's BeamRun (src/decode/beam.ts):
        the top 2*beam (hypothesis, word) candidates per sentence; EOS among the first `beam` ends a
        hypothesis (score logProb / lp(len)); a sentence stops when no live hypothesis could beat its
        beam-th finished one, at max_len, or when nothing is live. Returns per sentence the best
        hypothesis's tokens (no BOS/EOS)."""
        m, c = dec.m, dec.c
        B, S = src.shape
        h, hd, d = dec.h, dec.hd, dec.d
        dev = src.device
        pad, bos, eos = c["pad"], c["bos"], c["eos"]
        src_pad = src == pad
        memory = m.encode(src, src_pad)
        mem_mask = torch.zeros(B, S, device=dev).masked_fill_(src_pad, float("-inf"))
        cross = []
        for layer in dec.layers:
            a = layer.multihead_attn
            k, v = F.linear(memory, a.in_proj_weight[d:], a.in_proj_bias[d:]).split(d, dim=-1)
            cross.append((dec._heads(k, B, S).transpose(1, 2).reshape(B, h, hd, S), dec._heads(v, B, S).reshape(B, h, S, hd)))
        kc = [torch.empty(B, h, hd, max_len, device=dev) for _ in dec.layers]  # per row, keys transposed
        vc = [torch.empty(B, h, max_len, hd, device=dev) for _ in dec.layers]
        live = [[([], 0.0, b)] for b in range(B)]  # per sentence: (tokens, logProb, row)
        finished = [[] for _ in range(B)]
        done = [False] * B
        for t in range(max_len):
            active = [s for s in range(B) if not done[s]]
            if not active:
                break
            hyps = [(s, hyp) for s in active for hyp in live[s]]
            parents = torch.tensor([hyp[2] for _, hyp in hyps], device=dev)
            sent = torch.tensor([s for s, _ in hyps], device=dev)
            R = len(hyps)
            if t > 0:
                kc = [k.index_select(0, parents) for k in kc]
                vc = [v.index_select(0, parents) for v in vc]
            tok = torch.tensor([[hyp[0][-1] if hyp[0] else bos] for _, hyp in hyps], device=dev)
            mm = mem_mask.index_select(0, sent).unsqueeze(1).repeat_interleave(h, dim=0)
            x = m.embed_tgt(tok, offset=t)
            flat_k = [k.view(R * h, hd, max_len) for k in kc]
            flat_v = [v.view(R * h, max_len, hd) for v in vc]
            rows_cross = [(ck.index_select(0, sent).reshape(R * h, hd, S), cv.index_select(0, sent).reshape(R * h, S, hd)) for ck, cv in cross]
            x = dec.step(x, t, R, flat_k, flat_v, rows_cross, mm)
            logits = m.generator(x[:, 0]).double()
            logits[:, pad] = float("-inf")
            logits[:, bos] = float("-inf")
            lp = torch.log_softmax(logits, dim=-1)
            V = lp.shape[1]
            # candidates per sentence: [sentences, beam * V] (missing hypotheses at -inf), top 2*beam
            n_active = len(active)
            scores = torch.full((n_active, beam * V), float("-inf"), dtype=torch.float64, device=dev)
            at = 0
            for i, s in enumerate(active):
                n = len(live[s])
                base = torch.tensor([hyp[1] for hyp in live[s]], dtype=torch.float64, device=dev)
                scores[i, : n * V] = (base[:, None] + lp[at : at + n]).reshape(-1)
                at += n
            top_s, top_i = torch.topk(scores, 2 * beam, dim=1)
            top_s, top_i = top_s.tolist(), top_i.tolist()
            new_len = t + 1
            at = 0
            for i, s in enumerate(active):
                hy = live[s]
                nxt = []
                for rank in range(2 * beam):
                    if len(nxt) >= beam:
                        break
                    score = top_s[i][rank]
                    if score == float("-inf"):
                        break
                    hi, w = divmod(top_i[i][rank], V)
                    parent = hy[hi]
                    if w == eos:
                        if rank >= beam:
                            continue
                        finished[s].append((parent[0], score / gnmt_lp(new_len, alpha)))
                    else:
                        nxt.append((parent[0] + [w], score, at + hi))
                at += len(hy)
                live[s] = nxt
                if not nxt:
                    done[s] = True
                elif new_len >= max_len:
                    done[s] = True
                    finished[s].extend((hyp[0], hyp[1] / gnmt_lp(new_len, alpha)) for hyp in nxt)
                    live[s] = []
                elif len(finished[s]) >= beam:
                    bar = sorted((f[1] for f in finished[s]), reverse=True)[beam - 1]
                    max_lp = max(gnmt_lp(new_len + 1, alpha), gnmt_lp(max_len, alpha))
                    if max(hyp[1] for hyp in nxt) / max_lp <= bar:
                        done[s] = True
                        live[s] = []
        # best finished hypothesis per sentence (stable: the earlier one wins ties)
        return [max(f, key=lambda e: e[1])[0] if f else [] for f in finished]

    def seq2seq_decode_nocache(m, c, src, steps):
        """Greedy decoding that re-runs nn.TransformerDecoder on the whole prefix each step."""
        B = src.shape[0]
        dev = src.device
        src_pad = src == c["pad"]
        memory = m.encode(src, src_pad)
        seq = torch.full((B, 1), c["bos"], dtype=torch.long, device=dev)
        for _ in range(steps):
            T = seq.shape[1]
            hdec = m.transformer.decoder(m.embed_tgt(seq), memory, tgt_mask=causal_bool(T, dev),
                                         memory_key_padding_mask=src_pad)
            nxt = seq2seq_pick(m.generator(hdec[:, -1]), c["pad"], c["bos"])
            seq = torch.cat([seq, nxt.unsqueeze(1)], dim=1)
        return seq[:, 1:]

    # ------------------------------------------------------------------------------------------
    # GPT: nanoGPT's model.py (names: transformer.wte/wpe/h.N.{ln_1,attn.c_attn,attn.c_proj,ln_2,
    # mlp.c_fc,mlp.c_proj}/ln_f, lm_head tied to wte), GELU exact, causal attention as an explicit
    # masked softmax (torch 1.13 has no F.scaled_dot_product_attention).

    class CausalSelfAttention(nn.Module):
        def __init__(self, c):
            super().__init__()
            C = c["nEmbd"]
            self.n_head = c["nHead"]
            self.hd = C // self.n_head
            self.c_attn = nn.Linear(C, 3 * C, bias=c["bias"])
            self.c_proj = nn.Linear(C, C, bias=c["bias"])
            L = c["blockSize"]
            mask = torch.triu(torch.full((L, L), float("-inf")), diagonal=1)
            self.register_buffer("mask", mask, persistent=False)  # additive causal mask

        def _split(self, x):
            B, T, C = x.shape
            q, k, v = self.c_attn(x).split(C, dim=2)
            h, hd = self.n_head, self.hd
            # [B,T,C] -> [B*h,T,hd]
            q = q.reshape(B, T, h, hd).transpose(1, 2).reshape(B * h, T, hd)
            k = k.reshape(B, T, h, hd).transpose(1, 2).reshape(B * h, T, hd)
            v = v.reshape(B, T, h, hd).transpose(1, 2).reshape(B * h, T, hd)
            return q, k, v

        def _merge(self, y, B, T):
            return self.c_proj(y.reshape(B, self.n_head, T, self.hd).transpose(1, 2).reshape(B, T, self.n_head * self.hd))

        def forward(self, x):
            B, T, _ = x.shape
            q, k, v = self._split(x)
            # mask + scale * q @ k^T in one baddbmm, then softmax and @ v
            att = torch.softmax(torch.baddbmm(self.mask[:T, :T], q, k.transpose(1, 2), alpha=1.0 / math.sqrt(self.hd)), dim=-1)
            return self._merge(torch.bmm(att, v), B, T)

        def forward_cached(self, x, kc, vc, pos):
            """x [B,T,C] at positions pos..pos+T-1; kc [B*h,hd,L] (keys, transposed) and vc [B*h,L,hd]
            hold positions < pos and get the new ones written in."""
            B, T, _ = x.shape
            q, k, v = self._split(x)
            kc[:, :, pos: pos + T] = k.transpose(1, 2)
            vc[:, pos: pos + T] = v
            n = pos + T
            scale = 1.0 / math.sqrt(self.hd)
            if T == 1:
                att = torch.softmax(torch.bmm(q, kc[:, :, :n]) * scale, dim=-1)
            else:  # causal, bottom-right aligned: query i (position pos+i) sees keys 0..pos+i
                att = torch.softmax(torch.baddbmm(self.mask[pos:n, :n], q, kc[:, :, :n], alpha=scale), dim=-1)
            return self._merge(torch.bmm(att, vc[:, :n]), B, T)

    class MLP(nn.Module):
        def __init__(self, c):
            super().__init__()
            C = c["nEmbd"]
            self.c_fc = nn.Linear(C, 4 * C, bias=c["bias"])
            self.gelu = nn.GELU()  # exact (erf)
            self.c_proj = nn.Linear(4 * C, C, bias=c["bias"])

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            C = c["nEmbd"]
            self.ln_1 = nn.LayerNorm(C, elementwise_affine=True)
            self.attn = CausalSelfAttention(c)
            self.ln_2 = nn.LayerNorm(C, elementwise_affine=True)
            self.mlp = MLP(c)
            if not c["bias"]:
                self.ln_1.bias = None
                self.ln_2.bias = None

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

        def forward_cached(self, x, kc, vc, pos):
            x = x + self.attn.forward_cached(self.ln_1(x), kc, vc, pos)
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self, c):
            super().__init__()
            C = c["nEmbd"]
            self.c = c
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(c["vocabSize"], C),
                wpe=nn.Embedding(c["blockSize"], C),
                h=nn.ModuleList([Block(c) for _ in range(c["nLayer"])]),
                ln_f=nn.LayerNorm(C),
            ))
            if not c["bias"]:
                self.transformer.ln_f.bias = None
            self.lm_head = nn.Linear(C, c["vocabSize"], bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # tied, as nanoGPT

        def trunk(self, idx, pos=0):
            T = idx.shape[1]
            p = torch.arange(pos, pos + T, dtype=torch.long, device=idx.device)
            return self.transformer.wte(idx) + self.transformer.wpe(p)

        def forward(self, idx, targets=None):
            x = self.trunk(idx)
            for block in self.transformer.h:
                x = block(x)
            x = self.transformer.ln_f(x)
            if targets is None:  # inference: the last position only (nanoGPT)
                return self.lm_head(x[:, [-1], :]), None
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)
            return logits, loss

        def forward_cached(self, idx, caches, pos):
            x = self.trunk(idx, pos)
            for block, (kc, vc) in zip(self.transformer.h, caches):
                x = block.forward_cached(x, kc, vc, pos)
            return self.lm_head(self.transformer.ln_f(x[:, -1]))  # [B,V]

    def gpt_decode_cached(m, prompt, steps):
        c = m.c
        B, P = prompt.shape
        L = P + steps - 1  # positions fed to the model
        h = c["nHead"]
        hd = c["nEmbd"] // h
        dev = prompt.device
        caches = [(torch.empty(B * h, hd, L, device=dev), torch.empty(B * h, L, hd, device=dev)) for _ in range(c["nLayer"])]
        ids = torch.empty(B, steps, dtype=torch.long, device=dev)
        nxt = torch.argmax(m.forward_cached(prompt, caches, 0), dim=-1)
        ids[:, 0] = nxt
        for t in range(1, steps):
            nxt = torch.argmax(m.forward_cached(nxt.unsqueeze(1), caches, P + t - 1), dim=-1)
            ids[:, t] = nxt
        return ids

    def gpt_decode_nocache(m, prompt, steps):
        seq = prompt
        for _ in range(steps):
            logits, _ = m(seq)
            nxt = torch.argmax(logits[:, -1], dim=-1)
            seq = torch.cat([seq, nxt.unsqueeze(1)], dim=1)
        return seq[:, prompt.shape[1]:]


# ----------------------------------------------------------------------------------------------
# workloads: setup() -> (ready message, rep function)


def expect_same_decode(cached, uncached, model):
    """The cached decoder is only timed once it gives the uncached one's ids: [B, steps] each."""
    if not torch.equal(cached, uncached):
        rows = (cached != uncached).any(dim=1).nonzero().flatten().tolist()
        raise RuntimeError(f"cached and uncached {model} decoding differ in rows {rows}")


def make_optimizer(model, c):
    # every parameter once (model.parameters() lists a tied weight once); weight decay 0: Adam == AdamW
    b1, b2 = c["betas"]
    return torch.optim.AdamW(model.parameters(), lr=c["lr"], betas=(b1, b2), eps=c["eps"], weight_decay=c.get("weightDecay", 0))


AMP = {"bf16": False}


def amp():
    """torch.autocast in bf16 (--precision bf16), else nothing: PyTorch's one-line mixed precision."""
    if AMP["bf16"]:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def setup_seq2seq_train(folder, dev):
    c, model, batch = load_model(folder, "seq2seq", Seq2Seq, dev, train=True)
    src, tgt_in, tgt_out = (batch[k].to(dev) for k in ("src", "tgt_in", "tgt_out"))
    src_pad, tgt_pad = src == c["pad"], tgt_in == c["pad"]
    causal = causal_bool(tgt_in.shape[1], dev)
    loss_fn = nn.CrossEntropyLoss(ignore_index=c["pad"], label_smoothing=c.get("labelSmoothing", 0.0))
    opt = make_optimizer(model, c)

    def loss_of():
        with amp():
            logits = model(src, tgt_in, src_pad, tgt_pad, causal)
            return loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))

    with torch.no_grad():
        first = loss_of().item()

    def rep():
        opt.zero_grad(set_to_none=True)
        loss = loss_of()
        loss.backward()
        opt.step()

    tokens = int((tgt_out != c["pad"]).sum().item())
    return {"ready": True, "firstLoss": first, "tokens": tokens}, rep


def setup_gpt_train(folder, dev):
    c, model, batch = load_model(folder, "gpt", GPT, dev, train=True)
    assert model.lm_head.weight is model.transformer.wte.weight
    idx, targets = batch["idx"].to(dev), batch["targets"].to(dev)
    opt = make_optimizer(model, c)
    with torch.no_grad(), amp():
        first = model(idx, targets)[1].item()

    def rep():
        opt.zero_grad(set_to_none=True)
        with amp():
            _, loss = model(idx, targets)
        loss.backward()
        opt.step()

    return {"ready": True, "firstLoss": first, "tokens": int(idx.numel())}, rep


def setup_seq2seq_greedy(folder, dev, cached):
    c, model, batch = load_model(folder, "seq2seq", Seq2Seq, dev, train=False)
    src = batch["src"].to(dev)
    steps = c["decodeSteps"]
    dec = Seq2SeqCachedDecoder(model, c)
    with torch.no_grad(), amp():
        a = dec.decode(src, steps)
        # bf16 rounds differently with and without the cache: the check is a float32 one
        if not AMP["bf16"]:
            expect_same_decode(a, seq2seq_decode_nocache(model, c, src, steps), "Seq2Seq")
    run = (lambda: dec.decode(src, steps)) if cached else (lambda: seq2seq_decode_nocache(model, c, src, steps))

    def rep():
        with torch.no_grad(), amp():
            run()

    return {"ready": True, "firstIds": a[0, :8].tolist(), "tokens": int(src.shape[0] * steps)}, rep


def setup_seq2seq_beam(folder, dev):
    c, model, batch = load_model(folder, "seq2seq", Seq2Seq, dev, train=False)
    src = batch["src"].to(dev)
    dec = Seq2SeqCachedDecoder(model, c)
    args = (c["beamSize"], c["decodeSteps"], c["lengthPenalty"])
    with torch.no_grad(), amp():
        best = seq2seq_beam(dec, src, *args)

    def rep():
        with torch.no_grad(), amp():
            seq2seq_beam(dec, src, *args)

    # tokens: the best hypotheses' lengths (EOS not counted), the same count toroid reports
    return {"ready": True, "firstIds": best[0][:8], "tokens": sum(len(b) for b in best)}, rep


def setup_gpt_greedy(folder, dev, cached):
    c, model, batch = load_model(folder, "gpt", GPT, dev, train=False)
    prompt = batch["prompt"].to(dev)
    steps = c["decodeSteps"]
    if prompt.shape[1] + steps - 1 > c["blockSize"]:
        raise ValueError(f"prompt {prompt.shape[1]} + decodeSteps {steps} exceeds blockSize {c['blockSize']}")
    with torch.no_grad(), amp():
        a = gpt_decode_cached(model, prompt, steps)
        if not AMP["bf16"]:
            expect_same_decode(a, gpt_decode_nocache(model, prompt, steps), "GPT")
    fn = gpt_decode_cached if cached else gpt_decode_nocache

    def rep():
        with torch.no_grad(), amp():
            fn(model, prompt, steps)

    return {"ready": True, "firstIds": a[0, :8].tolist(), "tokens": int(prompt.shape[0] * steps)}, rep


def setup(workload, folder, dev):
    if workload == "seq2seq-train":
        return setup_seq2seq_train(folder, dev)
    if workload == "gpt-train":
        return setup_gpt_train(folder, dev)
    if workload in ("seq2seq-greedy", "seq2seq-greedy-nocache"):
        return setup_seq2seq_greedy(folder, dev, cached=workload == "seq2seq-greedy")
    if workload == "seq2seq-beam":
        return setup_seq2seq_beam(folder, dev)
    if workload in ("gpt-greedy", "gpt-greedy-nocache"):
        return setup_gpt_greedy(folder, dev, cached=workload == "gpt-greedy")
    raise ValueError(f"unknown workload '{workload}' (one of {', '.join(WORKLOADS)})")


def main():
    args = parse_args(sys.argv[1:])
    if torch is None:
        emit({"ready": False, "error": TORCH_ERROR})
        return
    # nn.TransformerEncoder's eval fast path warns that nested tensors are a prototype
    warnings.filterwarnings("ignore", message=".*nested tensors.*")
    try:
        torch.set_num_threads(max(1, args.threads))
        AMP["bf16"] = args.precision == "bf16"
        if args.device == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError("--device cuda: torch.cuda.is_available() is false")
            dev = torch.device("cuda")
            torch.backends.cuda.matmul.allow_tf32 = False  # fp32 products, as toroid-cuda by default
            sync = torch.cuda.synchronize
        else:
            dev = torch.device("cpu")
            sync = lambda: None  # noqa: E731
        ready, rep = setup(args.workload, args.dir, dev)
        sync()
        log(f"torch {torch.__version__}, {args.workload} on {dev}, {torch.get_num_threads()} threads")
    except Exception as err:  # noqa: BLE001 - reported to the orchestrator as not ready
        emit({"ready": False, "error": f"{type(err).__name__}: {err}"})
        return
    emit(ready)
    while True:
        line = sys.stdin.readline()
        if not line:  # end of input
            break
        cmd = line.strip()
        if cmd == "quit":
            break
        if cmd != "rep":
            if cmd:
                log(f"ignoring unknown command {cmd!r}")
            continue
        sync()
        t0 = time.perf_counter()
        rep()
        sync()
        emit({"ms": (time.perf_counter() - t0) * 1000.0})


if __name__ == "__main__":
    main()
