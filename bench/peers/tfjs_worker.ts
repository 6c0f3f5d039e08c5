// The TensorFlow.js peer of `npm run bench` (bench/peers/PROTOCOL.md): the same Seq2Seq
// Transformer and nanoGPT as toroid, written with tfjs-core ops, trained with tfjs's Adam.
//
//   node_modules/.bin/tsx bench/peers/tfjs_worker.ts --workload seq2seq-train|gpt-train \
//       --dir <folder> [--backend wasm|cpu] [--threads N] [--matmul xnn|plain] [--micro N]
//
// stdout carries only the protocol's JSON lines; logs (losses, tensor counts) go to stderr.
//
// Backends (TensorFlow.js 4.22, no native tfjs-node):
//   wasm  @tensorflow/tfjs-backend-wasm; its .wasm files resolve from the package folder in
//         Node (no setWasmPaths needed); SIMD is used where the runtime has it; wasm threads do
//         not work in Node, so it runs on one thread whatever --threads says.
//   cpu   @tensorflow/tfjs-backend-cpu: plain single-threaded JavaScript (very slow).
//
// Notes on the tfjs side:
// - tfjs-core's Node bundle registers no gradients (the @tensorflow/tfjs union package does);
//   they are registered here from tfjs-core's own dist/register_all_gradients.js, which is
//   ESM and loads through tsx's require hook: run this file with tsx.
// - Embedding lookups are tf.gather with a custom gradient: PyTorch's padding_idx (the PAD row
//   gets no gradient), and a tf.scatterND (it sums duplicate ids: the same math) instead of
//   tfjs's gather gradient, UnsortedSegmentSum, which wasm lacks and which the cpu backend runs
//   as one masked pass over the whole gradient per vocabulary row (O(V*N*d), minutes here).
// - --matmul xnn (default): every Linear is a 2-D tf.matMul without transpose flags, forward
//   and backward (the backward transposes explicitly with tf.transpose), because the wasm
//   backend sends only non-transposed 2-D products to XNNPACK (about 15x faster there than a
//   transposed product). --matmul plain: tf.matMul with its own gradient (the tfjs-layers
//   Dense pattern: fast forward, transposed products in the backward).
//   Attention's batched products are tf.matMul on [B,h,T,d] in both modes.
// - tfjs's backprop keeps every intermediate gradient until the step ends and the wasm heap
//   is at most 4 GiB: --micro N runs the batch as N row chunks whose losses (weighted by their
//   share of the target tokens) and gradients are summed before the one update (gradient
//   accumulation: the same loss and gradient up to float rounding). Default 4 for gpt-train
//   on wasm (one piece runs out of wasm memory; 2 peaks at 3.6 GiB, 4 at 2 GiB, same speed),
//   else 1 (seq2seq-train on wasm peaks at 2.3 GiB).
// - Each layer's forward runs in a tf.tidy (as tfjs-layers' layers do), which frees what the
//   backward does not keep.
// - Optimizer: tf.train.adam(lr, beta1, beta2, eps); its update lr * mhat / (sqrt(vhat) + eps)
//   with mhat = m / (1 - beta1^t), vhat = v / (1 - beta2^t) is PyTorch's Adam (= AdamW with
//   weight decay 0), eps outside the square root.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as readline from 'node:readline';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { readSafetensorsFileSync, type RawTensor } from '../../src/io/safetensors.js';

// tfjs's Node banner and any stray console.log must not reach the protocol's stdout
console.log = (...args: unknown[]): void => console.error(...args);

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function log(msg: string): void {
  process.stderr.write(`[tfjs] ${msg}\n`);
}

// ---------------------------------------------------------------- arguments

interface Args { workload: string; dir: string; threads: number; backend: 'wasm' | 'cpu'; matmul: 'xnn' | 'plain'; micro: number | null }

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const workload = get('workload'), dir = get('dir');
  if (workload === undefined || dir === undefined) throw new Error('usage: tfjs_worker.ts --workload <name> --dir <folder> [--backend wasm|cpu] [--threads N] [--matmul xnn|plain] [--micro N]');
  const backend = get('backend') ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`--backend must be wasm or cpu, got ${backend}`);
  const matmul = get('matmul') ?? 'xnn';
  if (matmul !== 'xnn' && matmul !== 'plain') throw new Error(`--matmul must be xnn or plain, got ${matmul}`);
  const threads = Number(get('threads') ?? 2);
  const microArg = get('micro');
  const micro = microArg === undefined ? null : Number(microArg);
  if (micro !== null && !(Number.isInteger(micro) && micro >= 1)) throw new Error(`--micro must be a positive integer, got ${microArg}`);
  return { workload, dir, threads, backend, matmul, micro };
}

// ---------------------------------------------------------------- building blocks

const NEG = -1e9; // additive mask: exp(NEG - max) is exactly 0 in float32, like -inf

type T = tf.Tensor;
type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

interface Ops {
  /** a [M,K] @ b [K,N]. */
  mm(a: T, b: T): T;
  /** W[ids] for int32 ids [N] -> [N, d]; the padIdx row gets no gradient. */
  embed(w: tf.Variable, ids: T, padIdx: number | null): T;
}

function makeOps(backend: string, matmul: 'xnn' | 'plain'): Ops {
  const mmNN = tf.customGrad(((a: T, b: T, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
      gradFunc: (dy: T, saved: T[]) => {
        const [sa, sb] = saved as [T, T];
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb) as tf.Tensor2D), tf.matMul(tf.transpose(sa) as tf.Tensor2D, dy as tf.Tensor2D)];
      },
    };
  }) as unknown as CustomGradientFunc);
  log(tf.getKernel('UnsortedSegmentSum', backend) === undefined
    ? `backend ${backend} has no UnsortedSegmentSum (tf.gather's gradient): embedding gradients use tf.scatterND (sums duplicate ids, same math)`
    : `embedding gradients use tf.scatterND (sums duplicate ids, same math), not tf.gather's UnsortedSegmentSum, which on ${backend} loops over every vocabulary row`);
  return {
    mm: matmul === 'xnn' ? (a, b) => mmNN(a, b) : (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    embed(w, ids, padIdx) {
      const f = tf.customGrad(((weight: T, save: tf.GradSaveFunc) => {
        save([ids]); // kept for the backward (the forward's other tensors are disposed)
        return {
          value: tf.gather(weight, ids),
          gradFunc: (dy: T, saved: T[]) => {
            const i = saved[0]!;
            let g = dy;
            if (padIdx !== null) g = tf.mul(g, tf.reshape(tf.cast(tf.notEqual(i, padIdx), 'float32'), [-1, 1]));
            return tf.scatterND(tf.reshape(i, [-1, 1]), g, weight.shape);
          },
        };
      }) as unknown as CustomGradientFunc);
      return f(w);
    },
  };
}

/** x [N, in] @ w [in, out] + b. */
function linear(ops: Ops, x: T, w: T, b: T | null): T {
  const y = ops.mm(x, w);
  return b === null ? y : tf.add(y, b);
}

/** LayerNorm over the last axis (biased variance, as PyTorch). */
function layerNorm(x: T, g: tf.Variable, b: tf.Variable, eps = 1e-5): T {
  const mu = tf.mean(x, -1, true);
  const xc = tf.sub(x, mu);
  const v = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(v, eps))), g), b);
}

/** GELU with erf: 0.5 x (1 + erf(x / sqrt 2)). */
function gelu(x: T): T {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/**
 * Multi-head attention of projected q [B*Tq, E], k and v [B*Tk, E] -> [B*Tq, E] (before the
 * output projection); bias broadcastable to [B, h, Tq, Tk] (0 / NEG) or null.
 */
function attend(q: T, k: T, v: T, B: number, Tq: number, Tk: number, h: number, bias: T | null): T {
  const E = q.shape[1]!, d = E / h;
  const heads = (x: T, Tn: number): T => tf.transpose(tf.reshape(x, [B, Tn, h, d]), [0, 2, 1, 3]);
  const qh = tf.mul(heads(q, Tq), 1 / Math.sqrt(d));
  let scores = tf.matMul(qh as tf.Tensor4D, heads(k, Tk) as tf.Tensor4D, false, true);
  if (bias !== null) scores = tf.add(scores, bias);
  const y = tf.matMul(tf.softmax(scores) as tf.Tensor4D, heads(v, Tk) as tf.Tensor4D);
  return tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B * Tq, E]);
}

/** [1, 1, T, T]: NEG above the diagonal (key j > query i), 0 elsewhere. */
function causalBias(T: number): T {
  const values = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) values[i * T + j] = NEG;
  return tf.tensor4d(values, [1, 1, T, T]);
}

/** [B, 1, 1, T]: NEG where ids == pad. */
function paddingBias(ids: T, pad: number): T {
  const [B, Tn] = ids.shape as [number, number];
  return tf.reshape(tf.mul(tf.cast(tf.equal(ids, pad), 'float32'), NEG), [B, 1, 1, Tn]);
}

/**
 * Mean cross-entropy of logits [N, C] against int32 targets [N]: rows whose target is ignore
 * count in neither the sum nor the divisor; PyTorch's label smoothing eps:
 * loss_n = -(1 - eps) log p[n, t_n] - eps/C sum_c log p[n, c].
 */
function crossEntropy(logits: T, targets: T, ignore: number | null, eps: number): T {
  const [N, C] = logits.shape as [number, number];
  const logp = tf.logSoftmax(logits);
  const onehot = tf.cast(tf.oneHot(targets as tf.Tensor1D, C), 'float32');
  let coef = eps > 0 ? tf.add(tf.mul(onehot, 1 - eps), eps / C) : onehot;
  let count: T | number = N;
  if (ignore !== null) {
    const valid = tf.cast(tf.notEqual(targets, ignore), 'float32');
    coef = tf.mul(coef, tf.reshape(valid, [N, 1]));
    count = tf.sum(valid);
  }
  // per row first, then over the rows: float32 sums stay short
  const perRow = tf.sum(tf.mul(coef, logp), -1);
  return tf.div(tf.neg(tf.sum(perRow)), count);
}

// ---------------------------------------------------------------- weights

interface Loaded { tensors: Map<string, RawTensor>; config: Record<string, unknown> }

function loadFile(file: string): Loaded {
  const { tensors, metadata } = readSafetensorsFileSync(file, 'tfjs_worker');
  if (metadata.config === undefined) throw new Error(`${file}: no 'config' in the safetensors metadata`);
  return { tensors, config: JSON.parse(metadata.config) as Record<string, unknown> };
}

class Params {
  readonly list: tf.Variable[] = [];
  constructor(private readonly file: Loaded) {}

  raw(name: string, dtype: 'F32' | 'I32'): RawTensor {
    const t = this.file.tensors.get(name);
    if (t === undefined) throw new Error(`missing tensor '${name}'`);
    if (t.dtype !== dtype) throw new Error(`tensor '${name}' is ${t.dtype}, expected ${dtype}`);
    return t;
  }

  /** A parameter as stored (PyTorch layout). */
  plain(name: string): tf.Variable {
    const r = this.raw(name, 'F32');
    const v = tf.variable(tf.tensor(r.data as Float32Array, r.shape, 'float32'), true, name);
    this.list.push(v);
    return v;
  }

  /** A Linear weight [out, in] stored transposed as [in, out] (the layout x @ W takes). */
  linearT(name: string): tf.Variable {
    const r = this.raw(name, 'F32');
    const v = tf.tidy(() => tf.variable(tf.transpose(tf.tensor2d(r.data as Float32Array, r.shape as [number, number])), true, name));
    this.list.push(v);
    return v;
  }

  /** An int32 batch tensor split into `chunks` equal parts along its rows. */
  ints(name: string, chunks: number): T[] {
    const r = this.raw(name, 'I32');
    if (r.shape[0]! % chunks !== 0) throw new Error(`--micro ${chunks} must divide the batch size ${r.shape[0]} of '${name}'`);
    return tf.tidy(() => tf.split(tf.tensor(r.data as Int32Array, r.shape, 'int32'), chunks, 0));
  }
}

interface Model {
  /**
   * The scalar loss of batch chunk `chunk` (of `chunks`, split along the batch rows) times its
   * share of the batch, so that the chunks' values and gradients sum to the whole batch's
   * (call under tf.tidy / tf.variableGrads).
   */
  loss(chunk: number): T;
  chunks: number;
  params: tf.Variable[];
  tokens: number;
  lr: number;
  betas: [number, number];
  eps: number;
}

function num(config: Record<string, unknown>, key: string): number {
  const v = config[key];
  if (typeof v !== 'number') throw new Error(`config.${key} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function optimizerConfig(config: Record<string, unknown>): { lr: number; betas: [number, number]; eps: number } {
  if (num(config, 'weightDecay') !== 0) throw new Error('only weightDecay 0 is supported (Adam = AdamW)');
  const betas = config.betas as [number, number];
  return { lr: num(config, 'lr'), betas: [betas[0], betas[1]], eps: num(config, 'eps') };
}

// ---------------------------------------------------------------- Seq2Seq

interface Mha { w: tf.Variable; b: tf.Variable; ow: tf.Variable; ob: tf.Variable }
interface Norm { g: tf.Variable; b: tf.Variable }

function buildSeq2Seq(file: Loaded, ops: Ops, chunks: number): Model {
  const c = file.config;
  const d = num(c, 'dModel'), h = num(c, 'nhead'), pad = num(c, 'pad'), maxLen = num(c, 'maxLen');
  const nEnc = num(c, 'numEncoderLayers'), nDec = num(c, 'numDecoderLayers'), smoothing = num(c, 'labelSmoothing');
  if (c.normFirst !== false) throw new Error('only post-LN (normFirst false) is implemented');
  const p = new Params(file);
  const mha = (prefix: string): Mha => ({
    w: p.linearT(`${prefix}.in_proj_weight`), b: p.plain(`${prefix}.in_proj_bias`),
    ow: p.linearT(`${prefix}.out_proj.weight`), ob: p.plain(`${prefix}.out_proj.bias`),
  });
  const norm = (prefix: string): Norm => ({ g: p.plain(`${prefix}.weight`), b: p.plain(`${prefix}.bias`) });
  const ffn = (prefix: string) => ({
    w1: p.linearT(`${prefix}.linear1.weight`), b1: p.plain(`${prefix}.linear1.bias`),
    w2: p.linearT(`${prefix}.linear2.weight`), b2: p.plain(`${prefix}.linear2.bias`),
  });
  const srcEmb = p.plain('src_tok_emb.weight'), tgtEmb = p.plain('tgt_tok_emb.weight');
  const enc = Array.from({ length: nEnc }, (_, i) => {
    const pre = `transformer.encoder.layers.${i}`;
    return { sa: mha(`${pre}.self_attn`), ff: ffn(pre), n1: norm(`${pre}.norm1`), n2: norm(`${pre}.norm2`) };
  });
  const encNorm = norm('transformer.encoder.norm');
  const dec = Array.from({ length: nDec }, (_, i) => {
    const pre = `transformer.decoder.layers.${i}`;
    return {
      sa: mha(`${pre}.self_attn`), ca: mha(`${pre}.multihead_attn`), ff: ffn(pre),
      n1: norm(`${pre}.norm1`), n2: norm(`${pre}.norm2`), n3: norm(`${pre}.norm3`),
    };
  });
  const decNorm = norm('transformer.decoder.norm');
  const genW = p.linearT('generator.weight'), genB = p.plain('generator.bias');
  const src = p.ints('batch/src', chunks), tgtIn = p.ints('batch/tgt_in', chunks), tgtOut = p.ints('batch/tgt_out', chunks);
  const rawSrc = p.raw('batch/src', 'I32'), rawTgtIn = p.raw('batch/tgt_in', 'I32');
  const [B, S] = rawSrc.shape as [number, number];
  const Tt = rawTgtIn.shape[1]!;

  // toroid zeroes a query row whose keys are all masked; this batch must have none
  const srcIds = rawSrc.data as Int32Array, tinIds = rawTgtIn.data as Int32Array;
  for (let b = 0; b < B; b++) {
    if (srcIds.subarray(b * S, (b + 1) * S).every((x) => x === pad)) throw new Error(`batch/src row ${b} is all PAD (fully masked attention rows are not supported)`);
    if (tinIds[b * Tt] === pad) throw new Error(`batch/tgt_in row ${b} starts with PAD (fully masked attention rows are not supported)`);
  }
  // each chunk's loss is its mean over its non-PAD targets, weighted by its share of them
  const tgtOutIds = p.raw('batch/tgt_out', 'I32').data as Int32Array;
  const chunkTokens = new Array<number>(chunks).fill(0);
  tgtOutIds.forEach((t, i) => {
    if (t !== pad) chunkTokens[Math.floor(i / ((B / chunks) * Tt))]! += 1;
  });
  const tokens = chunkTokens.reduce((a, b) => a + b, 0);
  if (chunkTokens.some((n) => n === 0)) throw new Error(`--micro ${chunks}: a chunk of the batch has no target tokens`);

  // sinusoidal table (computed in float64, stored float32, as toroid's buffer)
  const pe = new Float32Array(maxLen * d);
  for (let pos = 0; pos < maxLen; pos++) {
    for (let i = 0; i < d; i += 2) {
      const angle = pos / Math.pow(10000, i / d);
      pe[pos * d + i] = Math.sin(angle);
      if (i + 1 < d) pe[pos * d + i + 1] = Math.cos(angle);
    }
  }
  const peT = tf.tensor2d(pe, [maxLen, d]);
  const causal = causalBias(Tt);
  const scale = Math.sqrt(d);

  const Bc = B / chunks;
  const embed = (w: tf.Variable, ids: T, Tn: number): T => {
    const e = tf.reshape(ops.embed(w, tf.reshape(ids, [-1]), pad), [Bc, Tn, d]);
    return tf.reshape(tf.add(tf.mul(e, scale), tf.slice(peT, [0, 0], [Tn, d])), [Bc * Tn, d]);
  };
  const selfAttn = (m: Mha, x: T, Tn: number, bias: T): T => {
    const [q, k, v] = tf.split(linear(ops, x, m.w, m.b), 3, 1) as [T, T, T];
    return linear(ops, attend(q, k, v, Bc, Tn, Tn, h, bias), m.ow, m.ob);
  };
  const crossAttn = (m: Mha, x: T, mem: T, bias: T): T => {
    const q = linear(ops, x, tf.slice(m.w, [0, 0], [d, d]), tf.slice(m.b, [0], [d]));
    const [k, v] = tf.split(linear(ops, mem, tf.slice(m.w, [0, d], [d, 2 * d]), tf.slice(m.b, [d], [2 * d])), 2, 1) as [T, T];
    return linear(ops, attend(q, k, v, Bc, Tt, S, h, bias), m.ow, m.ob);
  };
  const feedForward = (f: ReturnType<typeof ffn>, x: T): T => linear(ops, tf.relu(linear(ops, x, f.w1, f.b1)), f.w2, f.b2);

  const loss = (chunk: number): T => {
    const srcC = src[chunk]!, tgtInC = tgtIn[chunk]!, tgtOutC = tgtOut[chunk]!;
    const srcBias = paddingBias(srcC, pad);
    const tgtBias = tf.add(paddingBias(tgtInC, pad), causal);
    let x = embed(srcEmb, srcC, S);
    // a tidy per layer frees what the backward does not need (as tfjs-layers' layers do)
    for (const l of enc) {
      x = tf.tidy(() => {
        const a = layerNorm(tf.add(x, selfAttn(l.sa, x, S, srcBias)), l.n1.g, l.n1.b);
        return layerNorm(tf.add(a, feedForward(l.ff, a)), l.n2.g, l.n2.b);
      });
    }
    const mem = layerNorm(x, encNorm.g, encNorm.b);
    let y = embed(tgtEmb, tgtInC, Tt);
    for (const l of dec) {
      y = tf.tidy(() => {
        const a = layerNorm(tf.add(y, selfAttn(l.sa, y, Tt, tgtBias)), l.n1.g, l.n1.b);
        const b = layerNorm(tf.add(a, crossAttn(l.ca, a, mem, srcBias)), l.n2.g, l.n2.b);
        return layerNorm(tf.add(b, feedForward(l.ff, b)), l.n3.g, l.n3.b);
      });
    }
    const l = tf.tidy(() => {
      const logits = linear(ops, layerNorm(y, decNorm.g, decNorm.b), genW, genB);
      return crossEntropy(logits, tf.reshape(tgtOutC, [-1]), pad, smoothing);
    });
    return chunks === 1 ? l : tf.mul(l, chunkTokens[chunk]! / tokens);
  };
  return { loss, chunks, params: p.list, tokens, ...optimizerConfig(c) };
}

// ---------------------------------------------------------------- GPT

function buildGPT(file: Loaded, ops: Ops, chunks: number): Model {
  const c = file.config;
  const C = num(c, 'nEmbd'), h = num(c, 'nHead'), nLayer = num(c, 'nLayer');
  if (c.bias !== true) throw new Error('only bias: true is implemented');
  const p = new Params(file);
  const wte = p.plain('transformer.wte.weight'); // lm_head.weight is the same tensor (tied): used once
  const wpe = p.plain('transformer.wpe.weight');
  const blocks = Array.from({ length: nLayer }, (_, i) => {
    const pre = `transformer.h.${i}`;
    return {
      ln1g: p.plain(`${pre}.ln_1.weight`), ln1b: p.plain(`${pre}.ln_1.bias`),
      attnW: p.linearT(`${pre}.attn.c_attn.weight`), attnB: p.plain(`${pre}.attn.c_attn.bias`),
      projW: p.linearT(`${pre}.attn.c_proj.weight`), projB: p.plain(`${pre}.attn.c_proj.bias`),
      ln2g: p.plain(`${pre}.ln_2.weight`), ln2b: p.plain(`${pre}.ln_2.bias`),
      fcW: p.linearT(`${pre}.mlp.c_fc.weight`), fcB: p.plain(`${pre}.mlp.c_fc.bias`),
      mprojW: p.linearT(`${pre}.mlp.c_proj.weight`), mprojB: p.plain(`${pre}.mlp.c_proj.bias`),
    };
  });
  const lnfg = p.plain('transformer.ln_f.weight'), lnfb = p.plain('transformer.ln_f.bias');
  const idx = p.ints('batch/idx', chunks), targets = p.ints('batch/targets', chunks);
  const [B, Tn] = p.raw('batch/idx', 'I32').shape as [number, number];
  const Bc = B / chunks;
  const causal = causalBias(Tn);

  const loss = (chunk: number): T => {
    const tok = tf.reshape(ops.embed(wte, tf.reshape(idx[chunk]!, [-1]), null), [Bc, Tn, C]);
    let x = tf.reshape(tf.add(tok, tf.slice(wpe, [0, 0], [Tn, C])), [Bc * Tn, C]);
    // a tidy per block frees what the backward does not need (as tfjs-layers' layers do)
    for (const k of blocks) {
      x = tf.tidy(() => {
        const [q, kk, v] = tf.split(linear(ops, layerNorm(x, k.ln1g, k.ln1b), k.attnW, k.attnB), 3, 1) as [T, T, T];
        const a = tf.add(x, linear(ops, attend(q, kk, v, Bc, Tn, Tn, h, causal), k.projW, k.projB));
        const m = linear(ops, gelu(linear(ops, layerNorm(a, k.ln2g, k.ln2b), k.fcW, k.fcB)), k.mprojW, k.mprojB);
        return tf.add(a, m);
      });
    }
    const l = tf.tidy(() => {
      const logits = ops.mm(layerNorm(x, lnfg, lnfb), tf.transpose(wte));
      return crossEntropy(logits, tf.reshape(targets[chunk]!, [-1]), null, 0);
    });
    return chunks === 1 ? l : tf.mul(l, 1 / chunks);
  };
  return { loss, chunks, params: p.list, tokens: B * Tn, ...optimizerConfig(c) };
}

// ---------------------------------------------------------------- main

/** Default --micro of gpt-train on wasm (see the header: the batch in one piece runs out of wasm memory). */
const WASM_GPT_MICRO = 4;

/** ", wasm heap N MiB" (the heap only grows: its peak) on wasm, else "". */
function heapInfo(): string {
  const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  return wasm?.HEAPU8 === undefined ? '' : `, wasm heap ${(wasm.HEAPU8.byteLength / 2 ** 20).toFixed(0)} MiB`;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    emit({ ready: false, error: (err as Error).message });
    return 2;
  }
  if (args.workload === 'seq2seq-greedy' || args.workload === 'gpt-greedy' || args.workload.endsWith('-nocache')) {
    emit({ ready: false, error: 'not implemented for tfjs' });
    return 0;
  }
  if (args.workload !== 'seq2seq-train' && args.workload !== 'gpt-train') {
    emit({ ready: false, error: `unknown workload '${args.workload}'` });
    return 0;
  }

  let model: Model;
  let optimizer: tf.AdamOptimizer;
  try {
    createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    if (!(await tf.setBackend(args.backend))) throw new Error(`tfjs backend '${args.backend}' failed to initialize`);
    await tf.ready();
    if (args.backend === 'wasm') {
      log(`wasm backend: SIMD ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'on' : 'off'}; wasm threads do not work in Node, so it runs on 1 thread (--threads ${args.threads} ignored)`);
    } else {
      log(`cpu backend: plain single-threaded JavaScript (--threads ${args.threads} ignored)`);
    }
    log(`matmul mode: ${args.matmul}`);
    const ops = makeOps(args.backend, args.matmul);
    const micro = args.micro ?? (args.backend === 'wasm' && args.workload === 'gpt-train' ? WASM_GPT_MICRO : 1);
    if (micro > 1) log(`the batch runs as ${micro} chunks whose gradients are summed before the update (gradient accumulation: the same loss and gradient)`);
    const model0 = args.workload === 'seq2seq-train'
      ? buildSeq2Seq(loadFile(path.join(args.dir, 'seq2seq.safetensors')), ops, micro)
      : buildGPT(loadFile(path.join(args.dir, 'gpt.safetensors')), ops, micro);
    model = model0;
    const t0 = performance.now();
    const first = tf.tidy(() => tf.addN(Array.from({ length: model0.chunks }, (_, c) => tf.tidy(() => model0.loss(c)))));
    const firstLoss = (await first.data())[0]!;
    first.dispose();
    log(`first loss ${firstLoss} (forward ${(performance.now() - t0).toFixed(0)} ms), ${model0.params.length} parameter tensors, ${tf.memory().numTensors} live tensors${heapInfo()}`);
    optimizer = tf.train.adam(model0.lr, model0.betas[0], model0.betas[1], model0.eps);
    emit({ ready: true, firstLoss, tokens: model0.tokens });
  } catch (err) {
    const e = err as Error;
    log(e.stack ?? String(e));
    emit({ ready: false, error: e.message });
    return 1;
  }

  const step = async (): Promise<number> => {
    const loss = tf.tidy(() => {
      let total: T | null = null;
      let sum: tf.NamedTensorMap = {};
      for (let c = 0; c < model.chunks; c++) {
        const { value, grads } = tf.variableGrads(() => model.loss(c) as tf.Scalar, model.params);
        if (total === null) {
          total = value;
          sum = grads;
          continue;
        }
        const nextTotal: T = tf.add(total, value);
        total.dispose();
        value.dispose();
        total = nextTotal;
        for (const name of Object.keys(grads)) {
          const acc = tf.add(sum[name]!, grads[name]!);
          sum[name]!.dispose();
          grads[name]!.dispose();
          sum[name] = acc;
        }
      }
      optimizer.applyGradients(sum as unknown as Parameters<typeof optimizer.applyGradients>[0]);
      return total!;
    });
    const v = (await loss.data())[0]!;
    loss.dispose();
    return v;
  };

  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  let rep = 0;
  for await (const line of rl) {
    const cmd = line.trim();
    if (cmd === '') continue;
    if (cmd === 'quit') break;
    if (cmd !== 'rep') {
      log(`ignoring unknown command '${cmd}'`);
      continue;
    }
    try {
      const t0 = performance.now();
      const loss = await step();
      const ms = performance.now() - t0;
      emit({ ms });
      log(`rep ${rep++}: loss before update ${loss}, ${ms.toFixed(0)} ms, ${tf.memory().numTensors} live tensors${heapInfo()}`);
    } catch (err) {
      const e = err as Error;
      log(e.stack ?? String(e));
      return 1;
    }
  }
  rl.close();
  return 0;
}

// errors are caught here: the wasm module's own uncaughtException hook would print its whole source
main().then(
  (code) => process.exit(code),
  (err) => {
    log((err as Error).stack ?? String(err));
    process.exit(1);
  },
);
