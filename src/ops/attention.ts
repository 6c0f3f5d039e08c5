// F.scaledDotProductAttention: softmax(q k^T * scale + mask) v, fused on the backend.
// Boolean masks use nn.MultiheadAttention's convention: true (1) means MASKED.
import type { AttentionMasks, CausalMode, KTensor } from '../backends/backend.js';
import { needsGrad, record } from '../autograd/tape.js';
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { nextRng } from '../random/generator.js';
import { Tensor } from '../tensor/tensor.js';
import { checkCompatible, checkNumber, checkOptions, checkRank, checkTensor } from '../validate/checks.js';

export interface AttentionOptions {
  /** [Tq,Tk] or [1|B, 1|h, Tq, Tk]: bool (true = masked) or float added to the scores. */
  attnMask?: Tensor | null;
  /** [B,Tk] bool, true = padded key (masked). */
  keyPaddingMask?: Tensor | null;
  /** true or 'top-left': query i sees keys j <= i (torch.tril). 'bottom-right': j <= i + Tk - Tq (KV cache). */
  isCausal?: boolean | 'top-left' | 'bottom-right';
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

const FN = 'scaledDotProductAttention';
const OPTIONS = ['attnMask', 'keyPaddingMask', 'isCausal', 'scale', 'dropoutP', 'kvLength'];

/**
 * q [B,h,Tq,d], k and v [B,hkv,Tk,d] with hkv dividing h (MQA/GQA: query head i uses kv head
 * floor(i / (h/hkv))) -> [B,h,Tq,d]. A query row whose keys are all masked outputs zeros.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options?: AttentionOptions): Tensor {
  const opts = checkOptions(FN, options, OPTIONS) as AttentionOptions;
  checkRank(FN, 'q', q, 4, '[B,h,Tq,d]');
  const [B, h, Tq, d] = q.shape as [number, number, number, number];
  const kvExpected = `[B,hkv,Tk,d] with B=${B}, d=${d} and hkv dividing h=${h}`;
  checkRank(FN, 'k', k, 4, kvExpected);
  const [kB, hkv, kT, kd] = k.shape as [number, number, number, number];
  if (kB !== B || kd !== d || hkv === 0 || h % hkv !== 0) throw rangeError(FN, 'k', kvExpected, describeShape(k.shape));
  checkRank(FN, 'v', v, 4, `[B,hkv,Tk,d] like k ${describeShape(k.shape)}`);
  if (v.shape.some((s, i) => s !== k.shape[i])) throw rangeError(FN, 'v', `[B,hkv,Tk,d] like k ${describeShape(k.shape)}`, describeShape(v.shape));
  const backend = checkCompatible(FN, ['q', q], ['k', k], ['v', v]);
  let Tk = kT;
  if (opts.kvLength !== undefined) {
    if (!Number.isInteger(opts.kvLength) || opts.kvLength < 0 || opts.kvLength > kT) {
      throw rangeError(FN, 'kvLength', `an integer in [0, ${kT}] (k holds ${kT} positions)`, describeValue(opts.kvLength));
    }
    if (needsGrad(q, k, v)) throw rangeError(FN, 'kvLength', 'unset while q, k or v requires a gradient (it is for inference with KV caches)', String(opts.kvLength));
    Tk = opts.kvLength;
  }

  const causal = parseCausal(opts.isCausal);
  const scale = opts.scale === undefined ? 1 / Math.sqrt(d) : checkNumber(FN, 'scale', opts.scale, Number.MIN_VALUE, Infinity, 'a positive number');
  const dropoutP = opts.dropoutP === undefined ? 0 : checkNumber(FN, 'dropoutP', opts.dropoutP, 0, 1, 'a number in [0, 1)');
  if (dropoutP >= 1) throw rangeError(FN, 'dropoutP', 'a number in [0, 1)', String(dropoutP));
  const masks = checkMasks(q, opts, B, h, Tq, Tk);

  const attrs = { scale, causal, dropoutP, rng: nextRng(dropoutP > 0 ? B * h * Tq * Tk : 0), ...(Tk !== kT ? { kvLength: Tk } : {}) };
  const kern = backend.kernels;
  const { out: outR, lse: lseR } = kern.attentionForward(q, k, v, masks, attrs);
  const out = Tensor.fromKernel(backend, outR);
  const lse = Tensor.fromKernel(backend, lseR);
  if (!needsGrad(q, k, v)) {
    lse.dispose();
    disposeMasks(masks);
    return out;
  }
  const saved = [q, k, v, out, lse, ...[masks.attnMask, masks.keyPadding].filter((m): m is Tensor => m !== null)];
  record(FN, out, [q, k, v], saved, (dout, s) => {
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
  return out;
}

function parseCausal(isCausal: unknown): CausalMode {
  if (isCausal === undefined || isCausal === false) return 'none';
  if (isCausal === true || isCausal === 'top-left') return 'top-left';
  if (isCausal === 'bottom-right') return 'bottom-right';
  throw typeError(FN, 'isCausal', "a boolean, 'top-left' or 'bottom-right'", describeValue(isCausal));
}

/** Validate masks and view them in the kernel layout; the returned views are owned by the caller. */
function checkMasks(q: Tensor, opts: AttentionOptions, B: number, h: number, Tq: number, Tk: number): AttentionMasks & { attnMask: Tensor | null; keyPadding: Tensor | null } {
  let attnMask: Tensor | null = null;
  let keyPadding: Tensor | null = null;
  if (opts.attnMask != null) {
    const m = checkTensor(FN, 'attnMask', opts.attnMask, ['bool', q.dtype]);
    checkCompatible(FN, ['q', q], ['attnMask', m]);
    const expected = `bool or ${q.dtype} [Tq,Tk] or [1|B,1|h,Tq,Tk] with B=${B}, h=${h}, Tq=${Tq}, Tk=${Tk}`;
    const ok = m.rank === 2
      ? m.shape[0] === Tq && m.shape[1] === Tk
      : m.rank === 4 && (m.shape[0] === 1 || m.shape[0] === B) && (m.shape[1] === 1 || m.shape[1] === h) && m.shape[2] === Tq && m.shape[3] === Tk;
    if (!ok) throw rangeError(FN, 'attnMask', expected, `${m.dtype} ${describeShape(m.shape)}`);
    attnMask = m.alias(m.rank === 2 ? [1, 1, Tq, Tk] : m.shape, false);
  }
  if (opts.keyPaddingMask != null) {
    const m = checkTensor(FN, 'keyPaddingMask', opts.keyPaddingMask, ['bool']);
    checkCompatible(FN, ['q', q], ['keyPaddingMask', m]);
    if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== Tk) {
      throw rangeError(FN, 'keyPaddingMask', `bool [B,Tk] with B=${B}, Tk=${Tk}`, `bool ${describeShape(m.shape)}`);
    }
    keyPadding = m.alias(m.shape, false);
  }
  return { attnMask, keyPadding };
}

function disposeMasks(masks: { attnMask: KTensor | null; keyPadding: KTensor | null }): void {
  (masks.attnMask as Tensor | null)?.dispose();
  (masks.keyPadding as Tensor | null)?.dispose();
}
