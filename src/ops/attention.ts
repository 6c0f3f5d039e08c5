// F.scaledDotProductAttention: softmax(q k^T * scale + mask) v, fused on the backend.
// F.attentionWithWeights: the same from matmul + softmax, returning the weights too.
// Boolean masks use nn.MultiheadAttention's convention: true (1) means MASKED.
import type { AttentionMasks, CausalMode, KTensor } from '../backends/backend.js';
import { needsGrad, record } from '../autograd/tape.js';
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { nextRng } from '../random/generator.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { checkCompatible, checkNumber, checkOptions, checkRank, checkTensor, isTensor } from '../validate/checks.js';
import { underProductCast } from './autocast.js';
import { dropout } from './dropout.js';
import { add, div, scale as scaleOp, sub } from './elementwise.js';
import { cast, cat, narrow, reshape, transpose } from './layout.js';
import { matmul } from './matmul.js';
import { softmax } from './softmax.js';

/** true or 'top-left': query i sees keys j <= i (torch.tril). 'bottom-right': j <= i + Tk - Tq (KV cache). */
export type CausalOption = boolean | 'top-left' | 'bottom-right';

export interface AttentionOptions {
  /** [Tq,Tk] or [1|B, 1|h, Tq, Tk]: bool (true = masked) or float added to the scores. */
  attnMask?: Tensor | null;
  /** [B,Tk] bool, true = padded key (masked). */
  keyPaddingMask?: Tensor | null;
  /** Causal mask, combined with the others (see CausalOption). */
  isCausal?: CausalOption;
  /** Defaults to 1/sqrt(d). */
  scale?: number;
  /** Dropout on the attention weights, drawn from the global counter-based generator. */
  dropoutP?: number;
  /**
   * Use only the first kvLength positions of k and v (dim 2): k and v are a KV-cache buffer with
   * room for more. Tk in the masks' shapes is kvLength. Inference only (no gradient). Default: all.
   */
  kvLength?: number;
}

export interface AttentionWithWeights {
  /** [B,h,Tq,d] */
  output: Tensor;
  /** [B,h,Tq,Tk]: softmax(q k^T * scale + masks), after dropout (as torch.nn.MultiheadAttention returns them). */
  weights: Tensor;
}

/**
 * Whom errors name: a module that delegates here (nn.MultiheadAttention) passes its own
 * function name and the prefix of its option names ('options.').
 */
export interface AttentionCaller {
  fn: string;
  prefix: string;
}

const OPTIONS = ['attnMask', 'keyPaddingMask', 'isCausal', 'scale', 'dropoutP', 'kvLength'];

/**
 * q [B,h,Tq,d], k and v [B,hkv,Tk,d] with hkv dividing h (MQA/GQA: query head i uses kv head
 * floor(i / (h/hkv))) -> [B,h,Tq,d]. A query row whose keys are all masked outputs zeros.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): Tensor {
  return attend({ fn: 'scaledDotProductAttention', prefix: '' }, q, k, v, options, false).output;
}

/**
 * scaledDotProductAttention that also returns the weights [B,h,Tq,Tk] (zero on a row whose keys
 * are all masked). Computed with matmul + softmax instead of the fused kernel: O(Tq*Tk) memory.
 */
export function attentionWithWeights(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): AttentionWithWeights {
  return attend({ fn: 'attentionWithWeights', prefix: '' }, q, k, v, options, true) as AttentionWithWeights;
}

/** Both ops, with errors in the caller's names; weights is null unless needWeights. */
export function attend(caller: AttentionCaller, q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions | undefined,
  needWeights: boolean): { output: Tensor; weights: Tensor | null } {
  // autocast: q, k, v (and a float mask) in the autocast dtype
  const mask = options?.attnMask;
  const floatMask = isTensor(mask) && mask.dtype === 'float32' ? mask : null;
  const cast = underProductCast([q, k, v, floatMask], (cq, ck, cv, cm) =>
    attend(caller, cq!, ck!, cv!, cm === floatMask ? options : { ...options, attnMask: cm }, needWeights));
  if (cast !== null) return cast;
  const a = checkAttention(caller, q, k, v, options);
  if (needWeights) {
    const r = tidy(() => explicitAttention(q, k, v, a));
    disposeMasks(a.masks);
    return r;
  }
  const { backend, masks, B, h, Tq, Tk } = a;
  const attrs = { scale: a.scale, causal: a.causal, dropoutP: a.dropoutP, rng: nextRng(a.dropoutP > 0 ? B * h * Tq * Tk : 0), ...(Tk !== k.shape[2] ? { kvLength: Tk } : {}) };
  const kern = backend.kernels;
  const { out: outR, lse: lseR } = kern.attentionForward(q, k, v, masks, attrs);
  const out = Tensor.fromKernel(backend, outR);
  const lse = Tensor.fromKernel(backend, lseR);
  if (!needsGrad(q, k, v)) {
    lse.dispose();
    disposeMasks(masks);
    return { output: out, weights: null };
  }
  const saved = [q, k, v, out, lse, ...[masks.attnMask, masks.keyPadding].filter((m): m is Tensor => m !== null)];
  record('scaledDotProductAttention', out, [q, k, v], saved, (dout, s) => {
    const [sq, sk, sv, sout, slse] = s as Tensor[];
    let next = 5;
    const savedMasks: AttentionMasks = {
      attnMask: masks.attnMask === null ? null : s[next++]!,
      keyPadding: masks.keyPadding === null ? null : s[next++]!,
    };
    const g = kern.attentionBackward(dout, sq!, sk!, sv!, sout!, slse!, savedMasks, attrs);
    return [Tensor.fromKernel(backend, g.dq), Tensor.fromKernel(backend, g.dk), Tensor.fromKernel(backend, g.dv)];
  });
  lse.dispose();
  disposeMasks(masks);
  return { output: out, weights: null };
}

interface Masks {
  attnMask: Tensor | null;
  keyPadding: Tensor | null;
}

/** The checked arguments of an attention call; masks are views the caller disposes. */
interface CheckedAttention {
  backend: Tensor['backend'];
  B: number;
  h: number;
  Tq: number;
  Tk: number;
  causal: CausalMode;
  scale: number;
  dropoutP: number;
  masks: Masks;
}

function checkAttention(caller: AttentionCaller, q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions | undefined): CheckedAttention {
  const { fn, prefix } = caller;
  const opts = checkOptions(fn, options, OPTIONS) as AttentionOptions;
  checkRank(fn, 'q', q, 4, '[B,h,Tq,d]');
  const [B, h, Tq, d] = q.shape as [number, number, number, number];
  const kvExpected = `[B,hkv,Tk,d] with B=${B}, d=${d} and hkv dividing h=${h}`;
  checkRank(fn, 'k', k, 4, kvExpected);
  const [kB, hkv, kT, kd] = k.shape as [number, number, number, number];
  if (kB !== B || kd !== d || hkv === 0 || h % hkv !== 0) throw rangeError(fn, 'k', kvExpected, describeShape(k.shape));
  checkRank(fn, 'v', v, 4, `[B,hkv,Tk,d] like k ${describeShape(k.shape)}`);
  if (v.shape.some((s, i) => s !== k.shape[i])) throw rangeError(fn, 'v', `[B,hkv,Tk,d] like k ${describeShape(k.shape)}`, describeShape(v.shape));
  const backend = checkCompatible(fn, ['q', q], ['k', k], ['v', v]);
  let Tk = kT;
  if (opts.kvLength !== undefined) {
    if (!Number.isInteger(opts.kvLength) || opts.kvLength < 0 || opts.kvLength > kT) {
      throw rangeError(fn, `${prefix}kvLength`, `an integer in [0, ${kT}] (k holds ${kT} positions)`, describeValue(opts.kvLength));
    }
    if (needsGrad(q, k, v)) throw rangeError(fn, `${prefix}kvLength`, 'unset while q, k or v requires a gradient (it is for inference with KV caches)', String(opts.kvLength));
    Tk = opts.kvLength;
  }

  const causal = parseCausal(caller, opts.isCausal);
  const scale = opts.scale === undefined ? 1 / Math.sqrt(d) : checkNumber(fn, `${prefix}scale`, opts.scale, Number.MIN_VALUE, Infinity, 'a positive number');
  const dropoutP = opts.dropoutP === undefined ? 0 : checkNumber(fn, `${prefix}dropoutP`, opts.dropoutP, 0, 1, 'a number in [0, 1)');
  if (dropoutP >= 1) throw rangeError(fn, `${prefix}dropoutP`, 'a number in [0, 1)', String(dropoutP));
  const masks = checkMasks(caller, q, opts, B, h, Tq, Tk);
  return { backend, B, h, Tq, Tk, causal, scale, dropoutP, masks };
}

/** The one check of a CausalOption. */
function parseCausal({ fn, prefix }: AttentionCaller, isCausal: unknown): CausalMode {
  if (isCausal === undefined || isCausal === false) return 'none';
  if (isCausal === true || isCausal === 'top-left') return 'top-left';
  if (isCausal === 'bottom-right') return 'bottom-right';
  throw typeError(fn, `${prefix}isCausal`, "a boolean, 'top-left' or 'bottom-right'", describeValue(isCausal));
}

/** Validate masks and view them in the kernel layout; the returned views are owned by the caller. */
function checkMasks({ fn, prefix }: AttentionCaller, q: Tensor, opts: AttentionOptions, B: number, h: number, Tq: number, Tk: number): Masks {
  let attnMask: Tensor | null = null;
  let keyPadding: Tensor | null = null;
  if (opts.attnMask != null) {
    const arg = `${prefix}attnMask`;
    const m = checkTensor(fn, arg, opts.attnMask, ['bool', q.dtype]);
    checkCompatible(fn, ['q', q], [arg, m]);
    const expected = `bool or ${q.dtype} [Tq,Tk] or [1|B,1|h,Tq,Tk] with B=${B}, h=${h}, Tq=${Tq}, Tk=${Tk}`;
    const ok = m.rank === 2
      ? m.shape[0] === Tq && m.shape[1] === Tk
      : m.rank === 4 && (m.shape[0] === 1 || m.shape[0] === B) && (m.shape[1] === 1 || m.shape[1] === h) && m.shape[2] === Tq && m.shape[3] === Tk;
    if (!ok) throw rangeError(fn, arg, expected, `${m.dtype} ${describeShape(m.shape)}`);
    attnMask = m.alias(m.rank === 2 ? [1, 1, Tq, Tk] : m.shape, false);
  }
  if (opts.keyPaddingMask != null) {
    const arg = `${prefix}keyPaddingMask`;
    const m = checkTensor(fn, arg, opts.keyPaddingMask, ['bool']);
    checkCompatible(fn, ['q', q], [arg, m]);
    if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== Tk) {
      throw rangeError(fn, arg, `bool [B,Tk] with B=${B}, Tk=${Tk}`, `bool ${describeShape(m.shape)}`);
    }
    keyPadding = m.alias(m.shape, false);
  }
  return { attnMask, keyPadding };
}

function disposeMasks(masks: { attnMask: KTensor | null; keyPadding: KTensor | null }): void {
  (masks.attnMask as Tensor | null)?.dispose();
  (masks.keyPadding as Tensor | null)?.dispose();
}

/** The most negative finite value: a score below every real one that exp() still turns into exactly 0 beside them. */
const LOWEST: Record<string, number> = { float32: -3.4028234663852886e38, float64: -Number.MAX_VALUE, bfloat16: -3.3895313892515355e38 };

/**
 * softmax(q k^T * scale + masks) v from matmul + softmax, every step on q's backend (the masks
 * are never read back). Call inside tidy().
 */
function explicitAttention(q: Tensor, k: Tensor, v: Tensor, a: CheckedAttention): AttentionWithWeights {
  const { B, h, Tq, Tk, masks } = a;
  const d = q.shape[3]!, hkv = k.shape[1]!, rep = h / hkv;
  const kk = Tk === k.shape[2] ? k : narrow(k, 2, 0, Tk);
  const vv = Tk === v.shape[2] ? v : narrow(v, 2, 0, Tk);
  // GQA: view q as [B,hkv,rep,Tq,d] against k [B,hkv,1,Tk,d] (matmul broadcasts and sums the grads back)
  const qg = rep === 1 ? q : reshape(q, [B, hkv, rep, Tq, d]);
  const kg = rep === 1 ? kk : reshape(kk, [B, hkv, 1, Tk, d]);
  const vg = rep === 1 ? vv : reshape(vv, [B, hkv, 1, Tk, d]);
  let scores = matmul(scaleOp(qg, a.scale), transpose(kg, -1, -2));
  if (rep !== 1) scores = reshape(scores, [B, h, Tq, Tk]);
  const biases = [
    masks.attnMask === null ? null : masks.attnMask.dtype === 'bool' ? maskedBias(masks.attnMask, q.dtype) : masks.attnMask,
    masks.keyPadding === null ? null : maskedBias(reshape(masks.keyPadding, [B, 1, 1, Tk]), q.dtype),
    a.causal === 'none' ? null : causalBias(q, Tq, Tk, a.causal === 'top-left' ? 0 : Tk - Tq),
  ].filter((t): t is Tensor => t !== null);
  for (const bias of biases) scores = add(scores, bias);
  let weights: Tensor;
  if (biases.length === 0) {
    weights = softmax(scores, -1);
  } else {
    // A last key at the lowest finite score: a row whose keys are all masked (-inf) gives it all
    // the weight, so the real keys get 0 instead of the NaN of an all -inf softmax; any other row
    // gives it exactly 0, so its weights are unchanged.
    const sink = tensor(new Float64Array(B * h * Tq).fill(LOWEST[q.dtype]!), { shape: [B, h, Tq, 1], dtype: q.dtype, backend: q.device });
    weights = narrow(softmax(cat([scores, sink], -1), -1), -1, 0, Tk);
  }
  if (a.dropoutP > 0) weights = dropout(weights, a.dropoutP, true);
  let output = matmul(rep === 1 ? weights : reshape(weights, [B, hkv, rep, Tq, Tk]), vg);
  if (rep !== 1) output = reshape(output, [B, h, Tq, d]);
  return { output, weights };
}

/** A bool mask (true = masked) -> 0 where kept, -inf where masked, on its backend: -m / (m - 1). */
function maskedBias(mask: Tensor, dtype: Tensor['dtype']): Tensor {
  const m = cast(mask, dtype);
  return div(scaleOp(m, -1), sub(m, 1));
}

/** [Tq,Tk]: 0 where key j <= i + shift, else -inf. Built from the shape alone. */
function causalBias(q: Tensor, Tq: number, Tk: number, shift: number): Tensor {
  const bias = new Float64Array(Tq * Tk);
  for (let i = 0; i < Tq; i++) bias.fill(-Infinity, i * Tk + Math.min(Tk, Math.max(0, i + shift + 1)), (i + 1) * Tk);
  return tensor(bias, { shape: [Tq, Tk], dtype: q.dtype, backend: q.device });
}
