// nn.GPT: a decoder-only language model in the shape of nanoGPT's GPT, with the
// modern variants as config switches (RMSNorm, SwiGLU, RoPE, GQA, untied head), and
// two parameter namings:
//
//   naming 'nanogpt' (default), karpathy/nanoGPT's model.py:
//     transformer.wte              token embedding [V, C]
//     transformer.wpe              learned positions [blockSize, C] (absent with RoPE)
//     transformer.drop             dropout after the embeddings (no parameters)
//     transformer.h.N.ln_1         pre-attention norm
//     transformer.h.N.attn.c_attn  fused [q|k|v] projection, [(nHead + 2*nKvHead)*headDim, C]
//                                  (nanoGPT's [3C, C] when nKvHead = nHead; with GQA the k and
//                                  v blocks are nKvHead*headDim rows each, after the q rows)
//     transformer.h.N.attn.c_proj  output projection
//     transformer.h.N.ln_2         pre-MLP norm
//     transformer.h.N.mlp.c_fc     [hidden, C] for GELU; [2*hidden, C] = [gate|up] for SwiGLU
//     transformer.h.N.mlp.c_proj   [C, hidden]
//     transformer.ln_f             final norm
//     lm_head                      [V, C], no bias; tied to transformer.wte by default
//
//   naming 'llama', Hugging Face LlamaForCausalLM's names:
//     model.embed_tokens, (model.embed_positions with learned positions),
//     model.layers.N.input_layernorm, model.layers.N.self_attn.{q_proj,k_proj,v_proj,o_proj},
//     model.layers.N.post_attention_layernorm,
//     model.layers.N.mlp.{gate_proj,up_proj,down_proj} (SwiGLU; GELU has up_proj, down_proj),
//     model.norm, lm_head.
//
// RoPE tables live in a shared RotaryEmbedding registered as `<trunk>.rotary_emb`; its
// buffers are non-persistent, so they never appear in stateDict().
//
// Tied weights: with tieWeights (default true) lm_head.weight IS the embedding tensor
// (registered under both names, as in PyTorch): stateDict() lists both keys, parameters()
// and numParameters() count it once, and its .grad is the sum of both uses.
//
// Init (nanoGPT's _init_weights): every Linear and Embedding weight ~ N(0, 0.02), Linear
// biases 0, norm weights 1 (and LayerNorm biases 0); the residual output projections
// (attn c_proj / o_proj and mlp c_proj / down_proj) ~ N(0, 0.02/sqrt(2*nLayer)). Values
// come from toroid's global generator (toroid.manualSeed), so the same seed gives
// bitwise-equal models on every backend.
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { gelu, silu, swiglu } from '../ops/activation.js';
import { scaledDotProductAttention, type CausalOption } from '../ops/attention.js';
import { add, mul } from '../ops/elementwise.js';
import { split, transpose } from '../ops/layout.js';
import { crossEntropy } from '../ops/loss.js';
import { checkBoolean, checkInteger, checkNonNegativeFinite, checkOptions, checkPositiveFinite, checkPositiveInt, checkProbability, checkTensor, isTensor } from '../validate/checks.js';
import { divides, oneOf, resolveConfig, sizes, type Rule, type Schema } from '../validate/schema.js';
import { noGrad } from '../autograd/tape.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { ModuleList } from './container.js';
import { loadModelFile, type ConfigSize } from './model-file.js';
import { Dropout } from './dropout.js';
import { Embedding } from './embedding.js';
import { normal_, zeros_ } from './init.js';
import { Linear } from './linear.js';
import { Module, type ModuleSaveOptions } from './module.js';
import { LayerNorm, RMSNorm } from './norm.js';
import { factoryOptions, type FactoryOptions, type ResolvedFactory } from './parameter.js';
import { RotaryEmbedding } from './rotary.js';
import type { AttentionKV } from './attention.js';
import { appendKeyValues, cachedLength, checkBatchRows, type BatchRows } from './kv-buffer.js';

export interface GPTConfig {
  /** Vocabulary size V. */
  vocabSize: number;
  /** Longest sequence (context length): rows of wpe, length of the RoPE tables. */
  blockSize: number;
  nLayer: number;
  /** Query heads; must divide nEmbd (headDim = nEmbd / nHead). */
  nHead: number;
  /** Model width C. */
  nEmbd: number;
  /** Dropout after the embeddings, on the attention weights and on each residual branch (default 0). */
  dropout?: number;
  /** Biases in the Linear layers and LayerNorms (default true, as nanoGPT; lm_head never has one). */
  bias?: boolean;
  /** 'layernorm' (default) or 'rmsnorm'. */
  norm?: 'layernorm' | 'rmsnorm';
  /** 'gelu' (default): c_proj(gelu(c_fc(x))); 'swiglu': down(silu(gate(x)) * up(x)). */
  mlp?: 'gelu' | 'swiglu';
  /** GELU form: 'none' (exact erf, nanoGPT's nn.GELU(), default) or 'tanh' (GPT-2's gelu_new). */
  geluApproximate?: 'none' | 'tanh';
  /**
   * MLP hidden width. Default 4*nEmbd for 'gelu'; for 'swiglu' LLaMA's rule,
   * 2/3 * 4*nEmbd rounded up to a multiple of 8 (about the GELU MLP's parameter count).
   */
  ffnHidden?: number;
  /** 'learned' (default, wpe) or 'rope' (rotary on q and k, no position table). */
  positions?: 'learned' | 'rope';
  /** Key/value heads for GQA/MQA (default nHead); must divide nHead. */
  nKvHead?: number;
  /** RoPE frequency base (default 10000). */
  ropeBase?: number;
  /** eps of every norm (default 1e-5). */
  normEps?: number;
  /** lm_head.weight is the token embedding (default true). */
  tieWeights?: boolean;
  /** Parameter names: 'nanogpt' (default) or 'llama' (Hugging Face LLaMA). */
  naming?: 'nanogpt' | 'llama';
}

/** GPTConfig with every default filled in (GPT.config). */
export type ResolvedGPTConfig = Required<GPTConfig>;

export interface GPTForwardOptions {
  /** Target value left out of the loss (default -1, nanoGPT's). */
  ignoreIndex?: number;
}

export interface GPTOutput {
  /** [B, T, vocabSize]. */
  logits: Tensor;
  /** Mean cross-entropy over the targets that are not ignoreIndex, [] ; null without targets. */
  loss: Tensor | null;
}

const FN = 'GPT';

const CONFIG: Schema<ResolvedGPTConfig> = {
  ...sizes('vocabSize', 'blockSize', 'nLayer', 'nHead', 'nEmbd'),
  dropout: { check: checkProbability, default: 0 },
  bias: { check: checkBoolean, default: true },
  norm: { check: oneOf(['layernorm', 'rmsnorm']), default: 'layernorm' },
  mlp: { check: oneOf(['gelu', 'swiglu']), default: 'gelu' },
  geluApproximate: { check: oneOf(['none', 'tanh']), default: 'none' },
  // LLaMA's SwiGLU width: 2/3 of 4*nEmbd, rounded up to a multiple of 8
  ffnHidden: { check: checkPositiveInt, default: (c) => (c.mlp === 'gelu' ? 4 * c.nEmbd : Math.ceil((8 * c.nEmbd) / 3 / 8) * 8) },
  positions: { check: oneOf(['learned', 'rope']), default: 'learned' },
  nKvHead: { check: checkPositiveInt, default: (c) => c.nHead },
  ropeBase: { check: checkPositiveFinite, default: 10000 },
  normEps: { check: checkNonNegativeFinite, default: 1e-5 },
  tieWeights: { check: checkBoolean, default: true },
  naming: { check: oneOf(['nanogpt', 'llama']), default: 'nanogpt' },
};

const RULES: ReadonlyArray<Rule<ResolvedGPTConfig>> = [
  divides('nHead', 'nEmbd'),
  divides('nKvHead', 'nHead'),
  {
    key: 'nEmbd',
    ok: (c) => c.positions !== 'rope' || (c.nEmbd / c.nHead) % 2 === 0,
    expected: (c) => `a multiple of 2*nHead=${2 * c.nHead} with positions 'rope' (headDim = nEmbd/nHead must be even)`,
  },
];

/** A lower bound of the parameters a config stores (wte, q and output projections, MLP, wpe) and the RoPE tables it builds. */
function gptSize(c: ResolvedGPTConfig): ConfigSize {
  const C = c.nEmbd;
  const perLayer = 2 * C * C + (c.mlp === 'swiglu' ? 3 : 2) * C * c.ffnHidden;
  const stored = c.vocabSize * C + c.nLayer * perLayer + (c.positions === 'learned' ? c.blockSize * C : 0);
  const built = c.positions === 'rope' ? { elements: c.blockSize * (C / c.nHead), field: 'blockSize' } : undefined;
  return { stored, storedFields: 'vocabSize, nEmbd, nLayer, ffnHidden, blockSize', built };
}

/** Validate a GPTConfig and fill in the defaults. Errors: `toroid.GPT: config.<key> must ..., got ...`. */
export function resolveGPTConfig(config: GPTConfig): ResolvedGPTConfig {
  return resolveConfig(FN, 'config', config, CONFIG, RULES);
}

function makeNorm(c: ResolvedGPTConfig, f: ResolvedFactory): LayerNorm | RMSNorm {
  return c.norm === 'layernorm'
    ? new LayerNorm(c.nEmbd, { eps: c.normEps, bias: c.bias, ...f })
    : new RMSNorm(c.nEmbd, { eps: c.normEps, ...f });
}

/** Causal self-attention (nanoGPT's CausalSelfAttention / HF's LlamaAttention), with GQA and optional RoPE. */
export class GPTAttention extends Module {
  readonly nHead: number;
  readonly nKvHead: number;
  readonly headDim: number;
  readonly dropoutP: number;
  /** Fused [q|k|v] projection (naming 'nanogpt'), else null. */
  readonly qkv: Linear | null;
  /** Separate projections (naming 'llama'), else null. */
  readonly q: Linear | null;
  readonly k: Linear | null;
  readonly v: Linear | null;
  /** Output projection (c_proj / o_proj): a residual projection. */
  readonly proj: Linear;
  readonly residDropout: Dropout;
  /** The shared RoPE tables (not registered here), or null with learned positions. */
  readonly rotary: RotaryEmbedding | null;

  constructor(c: ResolvedGPTConfig, f: ResolvedFactory, rotary: RotaryEmbedding | null) {
    super();
    this.nHead = c.nHead;
    this.nKvHead = c.nKvHead;
    this.headDim = c.nEmbd / c.nHead;
    this.dropoutP = c.dropout;
    this.rotary = rotary;
    const C = c.nEmbd, hd = this.headDim;
    const opts = { bias: c.bias, ...f };
    if (c.naming === 'nanogpt') {
      this.qkv = this.registerModule('c_attn', new Linear(C, (c.nHead + 2 * c.nKvHead) * hd, opts));
      this.q = this.k = this.v = null;
      this.proj = this.registerModule('c_proj', new Linear(c.nHead * hd, C, opts));
    } else {
      this.qkv = null;
      this.q = this.registerModule('q_proj', new Linear(C, c.nHead * hd, opts));
      this.k = this.registerModule('k_proj', new Linear(C, c.nKvHead * hd, opts));
      this.v = this.registerModule('v_proj', new Linear(C, c.nKvHead * hd, opts));
      this.proj = this.registerModule('o_proj', new Linear(c.nHead * hd, C, opts));
    }
    this.residDropout = this.registerModule('resid_dropout', new Dropout(c.dropout));
  }

  /** x [B,T,C] -> [B,T,C]; causal, positions 0..T-1. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const { q, k, v } = this.projectHeads(x, 0);
      return this.attendHeads(q, { k, v }, true);
    });
  }

  /**
   * Incremental decoding: x [B,T,C] at positions offset..offset+T-1 (offset = past's length),
   * past the keys/values of the earlier positions ([B,nKvHead,offset,headDim], RoPE already
   * applied to the keys) or null -> { output [B,T,C], kv: past + the new positions }
   * (nn/kv-buffer.ts appendKeyValues: without gradients written into past's buffers while
   * they have room, so kv may hold past's own k and v). Attention is causal 'bottom-right'.
   */
  forwardCached(x: Tensor, past: AttentionKV | null, offset: number, rows?: RowPositions): { output: Tensor; kv: AttentionKV } {
    return tidy(() => {
      const { q, k, v } = this.projectHeads(x, offset, rows?.positions);
      const kv = appendKeyValues(past, { k, v });
      return { output: this.attendHeads(q, kv, 'bottom-right', rows?.keyPaddingMask ?? null), kv };
    });
  }

  /**
   * x [B,T,C] at positions offset.. (or row b at rowPositions[b]..: ids [B,T]) -> q [B,h,T,hd],
   * k and v [B,hkv,T,hd], RoPE applied to q and k.
   */
  private projectHeads(x: Tensor, offset: number, rowPositions?: Tensor): { q: Tensor; k: Tensor; v: Tensor } {
    const [B, T] = x.shape as [number, number, number];
    const h = this.nHead, hkv = this.nKvHead, hd = this.headDim;
    const [q, k, v] = this.qkv !== null
      ? split(this.qkv.forward(x), [h * hd, hkv * hd, hkv * hd], -1) as [Tensor, Tensor, Tensor]
      : [this.q!.forward(x), this.k!.forward(x), this.v!.forward(x)];
    // [B,T,n*hd] -> [B,n,T,hd]
    const qh = transpose(q.reshape([B, T, h, hd]), 1, 2);
    const kh = transpose(k.reshape([B, T, hkv, hd]), 1, 2);
    const vh = transpose(v.reshape([B, T, hkv, hd]), 1, 2);
    if (this.rotary === null) return { q: qh, k: kh, v: vh };
    if (rowPositions !== undefined) return { q: this.rotary.applyAt(qh, rowPositions), k: this.rotary.applyAt(kh, rowPositions), v: vh };
    return { q: this.rotary.apply(qh, offset), k: this.rotary.apply(kh, offset), v: vh };
  }

  /** q [B,h,T,hd] over kv (its first cachedLength(kv) positions, minus masked keys) -> the projected output [B,T,C]. */
  private attendHeads(q: Tensor, kv: AttentionKV, isCausal: CausalOption, keyPaddingMask: Tensor | null = null): Tensor {
    const [B, , T] = q.shape as [number, number, number, number];
    const Tk = cachedLength(kv);
    const kvLength = Tk === kv.k.shape[2] ? {} : { kvLength: Tk };
    const y = scaledDotProductAttention(q, kv.k, kv.v, { isCausal, dropoutP: this.isTraining ? this.dropoutP : 0, keyPaddingMask, ...kvLength });
    const merged = transpose(y, 1, 2).reshape([B, T, this.nHead * this.headDim]); // [B,T,C]
    return this.residDropout.forward(this.proj.forward(merged));
  }

  override extraRepr(): string {
    return `nHead=${this.nHead}, nKvHead=${this.nKvHead}, headDim=${this.headDim}, rope=${this.rotary !== null}`;
  }
}

/** The MLP: GELU (c_fc, c_proj / up_proj, down_proj) or SwiGLU (fused c_fc [gate|up] / gate_proj, up_proj, down_proj). */
export class GPTMLP extends Module {
  readonly kind: 'gelu' | 'swiglu';
  readonly geluApproximate: 'none' | 'tanh';
  /** c_fc ([gate|up] for SwiGLU) or up_proj. */
  readonly fc: Linear;
  /** gate_proj (naming 'llama' with SwiGLU), else null. */
  readonly gate: Linear | null;
  /** c_proj / down_proj: a residual projection. */
  readonly proj: Linear;
  readonly dropout: Dropout;

  constructor(c: ResolvedGPTConfig, f: ResolvedFactory) {
    super();
    this.kind = c.mlp;
    this.geluApproximate = c.geluApproximate;
    const C = c.nEmbd, H = c.ffnHidden;
    const opts = { bias: c.bias, ...f };
    if (c.naming === 'nanogpt') {
      this.gate = null;
      this.fc = this.registerModule('c_fc', new Linear(C, c.mlp === 'swiglu' ? 2 * H : H, opts));
      this.proj = this.registerModule('c_proj', new Linear(H, C, opts));
    } else {
      this.gate = c.mlp === 'swiglu' ? this.registerModule('gate_proj', new Linear(C, H, opts)) : null;
      this.fc = this.registerModule('up_proj', new Linear(C, H, opts));
      this.proj = this.registerModule('down_proj', new Linear(H, C, opts));
    }
    this.dropout = this.registerModule('dropout', new Dropout(c.dropout));
  }

  /** x [..., C] -> [..., C]. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let hidden: Tensor;
      if (this.kind === 'gelu') hidden = gelu(this.fc.forward(x), { approximate: this.geluApproximate });
      else if (this.gate === null) hidden = swiglu(this.fc.forward(x));
      else hidden = mul(silu(this.gate.forward(x)), this.fc.forward(x));
      return this.dropout.forward(this.proj.forward(hidden));
    });
  }

  override extraRepr(): string {
    return `kind=${this.kind}`;
  }
}

/** Pre-norm residual block: x + attn(norm1(x)), then + mlp(norm2(x)). */
export class GPTBlock extends Module {
  readonly norm1: LayerNorm | RMSNorm;
  readonly attn: GPTAttention;
  readonly norm2: LayerNorm | RMSNorm;
  readonly mlp: GPTMLP;

  constructor(c: ResolvedGPTConfig, f: ResolvedFactory, rotary: RotaryEmbedding | null) {
    super();
    const llama = c.naming === 'llama';
    this.norm1 = this.registerModule(llama ? 'input_layernorm' : 'ln_1', makeNorm(c, f));
    this.attn = this.registerModule(llama ? 'self_attn' : 'attn', new GPTAttention(c, f, rotary));
    this.norm2 = this.registerModule(llama ? 'post_attention_layernorm' : 'ln_2', makeNorm(c, f));
    this.mlp = this.registerModule('mlp', new GPTMLP(c, f));
  }

  /** x [B,T,C] -> [B,T,C]. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = add(x, this.attn.forward(this.norm1.forward(x)));
      return add(h, this.mlp.forward(this.norm2.forward(h)));
    });
  }

  /** Incremental decoding (see GPTAttention.forwardCached): -> { output, kv: this block's extended cache }. */
  forwardCached(x: Tensor, past: AttentionKV | null, offset: number, rows?: RowPositions): { output: Tensor; kv: AttentionKV } {
    return tidy(() => {
      const a = this.attn.forwardCached(this.norm1.forward(x), past, offset, rows);
      const h = add(x, a.output);
      return { output: add(h, this.mlp.forward(this.norm2.forward(h))), kv: a.kv };
    });
  }
}

/** The body (`transformer` / `model`): embeddings, blocks, final norm. forward gives the normed hidden states. */
export class GPTTrunk extends Module {
  readonly wte: Embedding;
  /** Learned positions, or null with RoPE. */
  readonly wpe: Embedding | null;
  readonly drop: Dropout;
  readonly rotary: RotaryEmbedding | null;
  readonly blocks: ModuleList<GPTBlock>;
  readonly normF: LayerNorm | RMSNorm;

  constructor(c: ResolvedGPTConfig, f: ResolvedFactory) {
    super();
    const llama = c.naming === 'llama';
    this.wte = this.registerModule(llama ? 'embed_tokens' : 'wte', new Embedding(c.vocabSize, c.nEmbd, f));
    this.wpe = c.positions === 'learned'
      ? this.registerModule(llama ? 'embed_positions' : 'wpe', new Embedding(c.blockSize, c.nEmbd, f))
      : null;
    this.drop = this.registerModule('drop', new Dropout(c.dropout));
    this.rotary = c.positions === 'rope'
      ? this.registerModule('rotary_emb', new RotaryEmbedding(c.nEmbd / c.nHead, { base: c.ropeBase, maxLen: c.blockSize, ...f }))
      : null;
    const blocks: GPTBlock[] = [];
    for (let i = 0; i < c.nLayer; i++) blocks.push(new GPTBlock(c, f, this.rotary));
    this.blocks = this.registerModule(llama ? 'layers' : 'h', new ModuleList(blocks));
    this.normF = this.registerModule(llama ? 'norm' : 'ln_f', makeNorm(c, f));
  }

  /** idx int32 [B,T] (T <= blockSize; GPT.forward validates) -> [B,T,C] after the final norm. */
  forward(idx: Tensor): Tensor {
    return tidy(() => {
      const T = idx.shape[1]!;
      let x = this.wte.forward(idx);
      if (this.wpe !== null) {
        const pos = new Int32Array(T);
        for (let t = 0; t < T; t++) pos[t] = t;
        const posEmb = this.wpe.forward(tensor(pos, { shape: [T], dtype: 'int32', backend: this.wte.weight.device }));
        x = add(x, posEmb);
      }
      x = this.drop.forward(x);
      for (const block of this.blocks) x = block.forward(x);
      return this.normF.forward(x);
    });
  }

  /** Incremental decoding: idx [B,T] at positions offset.. -> { hidden [B,T,C] after the final norm, kv: one extended cache per block }. */
  forwardCached(idx: Tensor, past: readonly (AttentionKV | null)[], offset: number, rows?: BatchRows): { hidden: Tensor; kv: AttentionKV[] } {
    return tidy(() => {
      const [B, T] = idx.shape as [number, number];
      const device = this.wte.weight.device;
      let x = this.wte.forward(idx);
      // row b's tokens sit at its own positions (a continuous batch), else offset..
      const rowIds = rows === undefined ? undefined : tensor(rows.ids, { shape: [B, T], dtype: 'int32', backend: device });
      if (this.wpe !== null) {
        if (rowIds !== undefined) {
          x = add(x, this.wpe.forward(rowIds));
        } else {
          const pos = new Int32Array(T);
          for (let t = 0; t < T; t++) pos[t] = offset + t;
          x = add(x, this.wpe.forward(tensor(pos, { shape: [T], dtype: 'int32', backend: device })));
        }
      }
      x = this.drop.forward(x);
      const kv: AttentionKV[] = [];
      const blockRows = rowIds === undefined ? undefined : { positions: rowIds, keyPaddingMask: rows!.mask };
      let i = 0;
      for (const block of this.blocks) {
        const r = block.forwardCached(x, past[i] ?? null, offset, blockRows);
        x = r.output;
        kv.push(r.kv);
        i++;
      }
      return { hidden: this.normF.forward(x), kv };
    });
  }
}

export interface GPTCachedOptions {
  past?: readonly (AttentionKV | null)[] | null;
  /** Positions already cached (the caches' length). */
  offset: number;
  /** Per row: the position of its first new token (default: offset for every row). */
  positions?: ArrayLike<number>;
  /** bool [B, offset+T]: cache slots a row must not attend to (true = padding). */
  keyPaddingMask?: Tensor | null;
}

/** Per-row positions (ids [B,T] once expanded) and the cache's padding mask of a continuous batch. */
interface RowPositions { positions: Tensor; keyPaddingMask: Tensor | null }

export class GPT extends Module {
  /** The config with every default filled in. */
  readonly config: ResolvedGPTConfig;
  /** `transformer` (naming 'nanogpt') or `model` (naming 'llama'). */
  readonly trunk: GPTTrunk;
  /** lm_head: Linear(nEmbd, vocabSize, bias=false); its weight is trunk.wte.weight when tied. */
  readonly lmHead: Linear;

  /**
   * A freshly initialized model (nanoGPT's init, see the file header). options.backend
   * and options.dtype place the parameters (default: the current backend, float32).
   */
  constructor(config: GPTConfig, options?: FactoryOptions) {
    super();
    const c = resolveGPTConfig(config);
    const { factory } = factoryOptions(FN, options);
    this.config = Object.freeze(c);
    this.trunk = this.registerModule(c.naming === 'llama' ? 'model' : 'transformer', new GPTTrunk(c, factory));
    this.lmHead = this.registerModule('lm_head', new Linear(c.nEmbd, c.vocabSize, { bias: false, ...factory }));
    if (c.tieWeights) {
      const untied = this.lmHead.weight;
      this.lmHead.registerParameter('weight', this.trunk.wte.weight);
      untied.dispose();
    }
    this.initWeights();
  }

  /** nanoGPT's init, in module pre-order, each tensor once (a tied weight is drawn once, as the embedding). */
  private initWeights(): void {
    const residual = new Set<Linear>();
    for (const block of this.trunk.blocks) {
      residual.add(block.attn.proj);
      residual.add(block.mlp.proj);
    }
    const projStd = 0.02 / Math.sqrt(2 * this.config.nLayer);
    const done = new Set<Tensor>();
    const draw = (t: Tensor, std: number): void => {
      if (done.has(t)) return;
      done.add(t);
      normal_(t, 0, std);
    };
    noGrad(() => {
      for (const m of this.modules()) {
        if (m instanceof Linear) {
          draw(m.weight, residual.has(m) ? projStd : 0.02);
          if (m.bias !== null) zeros_(m.bias);
        } else if (m instanceof Embedding) {
          draw(m.weight, 0.02);
        }
      }
    });
  }

  /**
   * Every parameter element, tied weights once, wpe INCLUDED (unlike nanoGPT's
   * get_num_params(), which subtracts wpe by default). { nonEmbedding: true } gives
   * nanoGPT's figure: the position table is left out (the token embedding stays, as it
   * doubles as the tied output layer).
   */
  override numParameters(options?: { nonEmbedding?: boolean }): number {
    const opts = checkOptions('GPT.numParameters', options, ['nonEmbedding']);
    let n = super.numParameters();
    if (opts.nonEmbedding === true && this.trunk.wpe !== null) n -= this.trunk.wpe.weight.size;
    return n;
  }

  /**
   * idx int32 [B,T] (T <= blockSize) -> { logits [B,T,V], loss }. With targets int32
   * [B,T], loss is the mean cross-entropy over the targets that are not
   * options.ignoreIndex (default -1, nanoGPT's); otherwise loss is null.
   */
  forward(idx: Tensor, targets?: Tensor | null, options?: GPTForwardOptions): GPTOutput {
    const fn = 'GPT.forward';
    const opts = checkOptions(fn, options, ['ignoreIndex']);
    const ignoreIndex = opts.ignoreIndex === undefined ? -1 : checkInteger(fn, 'options.ignoreIndex', opts.ignoreIndex, -(2 ** 31), 2 ** 31 - 1);
    const c = this.config;
    checkTensor(fn, 'idx', idx, ['int32']);
    const device = this.lmHead.weight.device;
    if (idx.rank !== 2 || idx.shape[1]! < 1 || idx.shape[1]! > c.blockSize) {
      throw rangeError(fn, 'idx', `int32 [B,T] with 1 <= T <= blockSize=${c.blockSize}`, `int32 ${describeShape(idx.shape)}`);
    }
    if (idx.device !== device) throw typeError(fn, 'idx', `a tensor on backend '${device}' like the model`, `'${idx.device}'`);
    if (targets != null) {
      checkTensor(fn, 'targets', targets, ['int32']);
      if (targets.rank !== 2 || targets.shape[0] !== idx.shape[0] || targets.shape[1] !== idx.shape[1]) {
        throw rangeError(fn, 'targets', `int32 ${describeShape(idx.shape)} like idx`, `int32 ${describeShape(targets.shape)}`);
      }
      if (targets.device !== device) throw typeError(fn, 'targets', `a tensor on backend '${device}' like the model`, `'${targets.device}'`);
    }
    return tidy(() => {
      const logits = this.lmHead.forward(this.trunk.forward(idx));
      const loss = targets == null ? null : crossEntropy(logits, targets, { ignoreIndex });
      return { logits, loss };
    });
  }

  /**
   * Incremental decoding with a KV cache: idx int32 [B,T] are the tokens at positions
   * offset..offset+T-1 (offset + T <= blockSize); options.past holds, per block, the
   * keys/values of the offset earlier positions ([B,nKvHead,offset,headDim], RoPE applied;
   * null or an empty array before the first call). Returns { logits [B,T,V] of the new
   * positions, kv: the extended caches (new tensors; the old ones are the caller's) }.
   * The logits equal forward()'s rows offset.. over the whole prefix.
   *
   * A continuous batch (rows that started at different times, left-padded in the cache):
   * options.positions gives each row's position of its first new token (B integers, default
   * all offset), options.keyPaddingMask (bool [B, offset+T], true = a padding slot) the cache
   * slots each row must not attend to.
   */
  forwardCached(idx: Tensor, options: GPTCachedOptions): { logits: Tensor; kv: AttentionKV[] } {
    const fn = 'GPT.forwardCached';
    const c = this.config;
    checkTensor(fn, 'idx', idx, ['int32']);
    const opts = checkOptions(fn, options, ['past', 'offset', 'positions', 'keyPaddingMask']);
    const device = this.lmHead.weight.device;
    if (idx.rank !== 2 || idx.shape[1]! < 1) throw rangeError(fn, 'idx', 'int32 [B,T] with T >= 1', `int32 ${describeShape(idx.shape)}`);
    if (idx.device !== device) throw typeError(fn, 'idx', `a tensor on backend '${device}' like the model`, `'${idx.device}'`);
    const T = idx.shape[1]!;
    const offset = checkInteger(fn, 'options.offset', opts.offset, 0, c.blockSize - T);
    const past = (opts.past ?? []) as readonly (AttentionKV | null)[];
    if (!Array.isArray(past) || (past.length !== 0 && past.length !== c.nLayer)) {
      throw rangeError(fn, 'options.past', `an array of ${c.nLayer} caches (one per block) or empty`, describeValue(past));
    }
    for (let i = 0; i < past.length; i++) {
      const kv = past[i];
      const t = cachedLength(kv);
      if (t !== offset || (kv != null && kv.k.shape[0] !== idx.shape[0])) {
        throw rangeError(fn, `options.past[${i}]`, `a cache of [B=${idx.shape[0]},${c.nKvHead},offset=${offset},${c.nEmbd / c.nHead}]`, kv == null ? 'null' : describeShape(kv.k.shape));
      }
    }
    const rows = checkBatchRows(fn, opts.positions, 'options.keyPaddingMask', opts.keyPaddingMask, idx.shape[0]!, T, offset, device);
    return tidy(() => {
      const r = this.trunk.forwardCached(idx, past, offset, rows);
      return { logits: this.lmHead.forward(r.hidden), kv: r.kv };
    });
  }

  override extraRepr(): string {
    const c = this.config;
    return `vocabSize=${c.vocabSize}, blockSize=${c.blockSize}, nLayer=${c.nLayer}, nHead=${c.nHead}, nKvHead=${c.nKvHead}, nEmbd=${c.nEmbd}, ` +
      `norm=${c.norm}, mlp=${c.mlp}, positions=${c.positions}, tieWeights=${c.tieWeights}, naming=${c.naming}`;
  }

  /**
   * Write the parameters (Module.save: every stateDict() key, so a tied lm_head.weight is
   * stored under both names) with the resolved config in the safetensors metadata:
   * `model: 'GPT'` and `config: JSON.stringify(this.config)`. GPT.load rebuilds the model
   * from it. options.floatFormat as Module.save; options.metadata adds string entries
   * (the keys 'model' and 'config' are reserved).
   */
  override async save(path: string, options?: ModuleSaveOptions): Promise<void> {
    const fn = 'GPT.save';
    const opts = checkOptions(fn, options, ['metadata', 'floatFormat']);
    const extra = opts.metadata ?? {};
    if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) throw typeError(fn, 'options.metadata', 'an object of strings', describeValue(extra));
    for (const key of ['model', 'config']) {
      if (Object.hasOwn(extra, key)) throw rangeError(fn, 'options.metadata', "an object without the reserved keys 'model' and 'config'", `key '${key}'`);
    }
    const metadata = { ...(extra as Record<string, string>), model: 'GPT', config: JSON.stringify(this.config) };
    await super.save(path, opts.floatFormat === undefined ? { metadata } : { metadata, floatFormat: opts.floatFormat as ModuleSaveOptions['floatFormat'] });
  }

  /**
   * The model a GPT.save file describes: the config from its metadata, then its tensors
   * (loadStateDict, strict; tied weights stay one tensor). options place the parameters
   * (default: the current backend, float32), independently of how the file stores them.
   * Errors: RangeError `toroid.GPT.load: path must be a file written by GPT.save ...` when
   * the metadata is missing or not a GPT config; loadStateDict's error when the tensors
   * do not fit the config.
   */
  static async load(path: string, options?: FactoryOptions): Promise<GPT> {
    return loadModelFile('GPT', path, (config) => resolveGPTConfig(config as GPTConfig), gptSize, (config) => new GPT(config, options));
  }

  /**
   * A GPT holding the weights of a Hugging Face GPT-2 state dict (GPT2Model or
   * GPT2LMHeadModel keys, Conv1D weights [in, out]; see gpt2StateDictToNanoGPT).
   * vocabSize, blockSize, nEmbd and nLayer are read from the shapes; nHead cannot be
   * and must be given (12 for gpt2, 16 medium, 20 large, 25 xl). Defaults follow
   * GPT-2: bias, LayerNorm eps 1e-5, tanh GELU (gelu_new), learned positions, tied head;
   * `config` overrides any of them. options place the parameters.
   */
  static fromHuggingFaceGPT2(stateDict: Record<string, Tensor> | Map<string, Tensor>, config: Partial<GPTConfig> & { nHead: number }, options?: FactoryOptions): GPT {
    const fn = 'GPT.fromHuggingFaceGPT2';
    if (config === null || typeof config !== 'object') throw typeError(fn, 'config', 'an object with at least nHead', describeValue(config));
    const mapped = gpt2StateDictToNanoGPT(stateDict);
    const originals = new Set(stateDict instanceof Map ? stateDict.values() : Object.values(stateDict));
    try {
      const wte = mapped['transformer.wte.weight'];
      const wpe = mapped['transformer.wpe.weight'];
      if (wte === undefined || wte.rank !== 2) throw rangeError(fn, 'stateDict', "a GPT-2 state dict with 'wte.weight' [V,C]", wte === undefined ? 'none' : describeShape(wte.shape));
      if (wpe === undefined || wpe.rank !== 2) throw rangeError(fn, 'stateDict', "a GPT-2 state dict with 'wpe.weight' [blockSize,C]", wpe === undefined ? 'none' : describeShape(wpe.shape));
      let nLayer = 0;
      for (const key of Object.keys(mapped)) {
        const m = /^transformer\.h\.(\d+)\./.exec(key);
        if (m) nLayer = Math.max(nLayer, Number(m[1]) + 1);
      }
      const resolved = resolveGPTConfig({
        vocabSize: wte.shape[0]!, blockSize: wpe.shape[0]!, nEmbd: wte.shape[1]!, nLayer,
        bias: true, norm: 'layernorm', mlp: 'gelu', geluApproximate: 'tanh', positions: 'learned', normEps: 1e-5,
        tieWeights: true, naming: 'nanogpt',
        ...config,
      });
      // a layer index in a tensor name (h.99999.) or a config override must not build more than the tensors hold
      let held = 0;
      for (const t of Object.values(mapped)) held += t.size;
      const need = gptSize(resolved);
      if (!(need.stored <= held)) throw rangeError(fn, `stateDict and config (${need.storedFields})`, `sizes whose parameters fit the state dict's ${held} elements`, `${need.stored} elements (nLayer ${resolved.nLayer})`);
      const model = new GPT(resolved, options);
      try {
        model.loadStateDict(mapped);
      } catch (err) {
        model.dispose();
        throw err;
      }
      return model;
    } finally {
      for (const t of Object.values(mapped)) if (!originals.has(t)) t.dispose();
    }
  }
}

/** HF GPT-2 keys whose weight is a Conv1D [in, out] (transposed relative to nn.Linear). */
export const CONV1D_WEIGHT = /(^|\.)(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
/** HF GPT-2 buffers with no nanoGPT counterpart (the causal mask and its fill value). */
const GPT2_BUFFER = /(^|\.)attn\.(bias|masked_bias)$/;

export interface GPT2ConversionOptions {
  /**
   * When the dict has no 'lm_head.weight' (HF files drop the tied copy), add one that is
   * the wte tensor itself, as a tied GPT's stateDict() expects (default true).
   */
  tieWeights?: boolean;
}

/**
 * Map a Hugging Face GPT-2 state dict to toroid's nanoGPT names:
 *   - keys of GPT2Model ('h.0.attn.c_attn.weight', 'wte.weight') get the 'transformer.'
 *     prefix; GPT2LMHeadModel keys ('transformer.h.0...', 'lm_head.weight') keep theirs;
 *   - Conv1D weights (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj), stored [in, out],
 *     are transposed to nn.Linear's [out, in];
 *   - the buffers attn.bias and attn.masked_bias are dropped;
 *   - with tieWeights (default) a missing lm_head.weight is set to the wte tensor.
 * The transposed entries are NEW tensors (the caller disposes them); every other value is
 * the given tensor itself (not copied). Disposing both dicts is safe (dispose is idempotent).
 */
export function gpt2StateDictToNanoGPT(stateDict: Record<string, Tensor> | Map<string, Tensor>, options?: GPT2ConversionOptions): Record<string, Tensor> {
  const fn = 'gpt2StateDictToNanoGPT';
  const opts = checkOptions(fn, options, ['tieWeights']);
  const tie = checkBoolean(fn, 'options.tieWeights', opts.tieWeights, true);
  let entries: Array<[string, unknown]>;
  if (stateDict instanceof Map) entries = [...stateDict];
  else if (stateDict !== null && typeof stateDict === 'object' && !Array.isArray(stateDict) && !isTensor(stateDict)) entries = Object.entries(stateDict);
  else throw typeError(fn, 'stateDict', 'an object or Map of name -> Tensor', describeValue(stateDict));
  for (const [key, value] of entries) {
    if (!isTensor(value)) throw typeError(fn, `stateDict['${key}']`, 'a Tensor', describeValue(value));
    if (value.isDisposed) throw typeError(fn, `stateDict['${key}']`, 'a live Tensor', 'a disposed one');
  }
  // null prototype: a tensor named '__proto__' stays an entry
  const out: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
  try {
    noGrad(() => {
      for (const [rawKey, value] of entries as Array<[string, Tensor]>) {
        if (GPT2_BUFFER.test(rawKey)) continue;
        const key = rawKey.startsWith('transformer.') || rawKey === 'lm_head.weight' ? rawKey : `transformer.${rawKey}`;
        if (key in out) throw rangeError(fn, 'stateDict', 'keys that map to distinct nanoGPT names', `'${rawKey}' and another key both map to '${key}'`);
        if (CONV1D_WEIGHT.test(key)) {
          if (value.rank !== 2) throw rangeError(fn, `stateDict['${rawKey}']`, 'a 2-D Conv1D weight [in, out]', `${value.dtype} ${describeShape(value.shape)}`);
          out[key] = transpose(value, 0, 1);
        } else {
          out[key] = value;
        }
      }
    });
  } catch (err) {
    for (const [key, t] of Object.entries(out)) if (CONV1D_WEIGHT.test(key)) t.dispose();
    throw err;
  }
  const wte = out['transformer.wte.weight'];
  if (tie && out['lm_head.weight'] === undefined && wte !== undefined) out['lm_head.weight'] = wte;
  return out;
}
