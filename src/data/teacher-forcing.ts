// Teacher forcing for sequence-to-sequence training: pad a batch of source and
// target token ids into int32 tensors, the decoder's input shifted right by BOS
// and its labels closed by EOS:
//   src    [B,S]  source ids, padded with pad (optionally BOS ... EOS around them)
//   tgtIn  [B,T]  BOS, y1 ... yn, pad ...      (what the decoder reads)
//   tgtOut [B,T]  y1 ... yn, EOS, pad ...      (what the loss predicts; pad = ignoreIndex)
// with T = max(n) + 1 over the batch. Pass `pad` as F.crossEntropy's ignoreIndex.
import { describeValue, rangeError, typeError } from '../errors.js';
import { tensor } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkBoolean, checkInteger, checkOptions, checkTokenIds, MAX_TOKEN_ID, type TokenIds } from '../validate/checks.js';

export interface SpecialIds {
  /** Padding id; what the loss ignores. Default 0. */
  pad?: number;
  /** Begin-of-sequence id, the decoder's first input. Default 1. */
  bos?: number;
  /** End-of-sequence id, the decoder's last label. Default 2. */
  eos?: number;
}

export const DEFAULT_SPECIAL_IDS: Readonly<Required<SpecialIds>> = Object.freeze({ pad: 0, bos: 1, eos: 2 });

export interface TeacherForcingOptions extends SpecialIds {
  /** Backend to create the tensors on; defaults to the current one. */
  backend?: string;
  /**
   * Cap on both S and T (the tensors' lengths, specials included). Targets are
   * cut to maxLen - 1 tokens so EOS is always kept; sources likewise keep their
   * BOS/EOS when srcBos/srcEos ask for them.
   */
  maxLen?: number;
  /** Cap on S alone (overrides maxLen for the source). */
  maxSrcLen?: number;
  /** Cap on T alone (overrides maxLen for the target). */
  maxTgtLen?: number;
  /** Put BOS before each source sequence. Default false. */
  srcBos?: boolean;
  /** Put EOS after each source sequence. Default false. */
  srcEos?: boolean;
  /** Also return bool key-padding masks (true = padding, nn.MultiheadAttention's convention). Default false. */
  masks?: boolean;
}

export interface Seq2SeqBatch {
  /** int32 [B,S] */
  src: Tensor;
  /** int32 [B,T]: BOS + target, padded */
  tgtIn: Tensor;
  /** int32 [B,T]: target + EOS, padded (pad = the loss's ignoreIndex) */
  tgtOut: Tensor;
  /** bool [B,S], true at padding; only with { masks: true } */
  srcPaddingMask?: Tensor;
  /** bool [B,T], true at padding; only with { masks: true } */
  tgtPaddingMask?: Tensor;
  /** Real (non-pad) positions per row of src, after truncation. */
  srcLengths: Int32Array;
  /** Real positions per row of tgtOut (target tokens + EOS), after truncation. */
  tgtLengths: Int32Array;
  /** Sum of srcLengths: the real source tokens. */
  srcTokens: number;
  /** Sum of tgtLengths: the labels the loss counts. */
  tgtTokens: number;
  /** B */
  size: number;
  /** Dispose every tensor of the batch. */
  dispose(): void;
}

function checkSpecial(fn: string, arg: string, value: unknown, fallback: number): number {
  return checkInteger(fn, `options.${arg}`, value, 0, MAX_TOKEN_ID, fallback);
}

/** Build one teacher-forcing batch from B source and B target sequences. */
export function teacherForcingBatch(src: readonly TokenIds[], tgt: readonly TokenIds[], options?: TeacherForcingOptions): Seq2SeqBatch {
  const fn = 'teacherForcingBatch';
  if (!Array.isArray(src)) throw typeError(fn, 'src', 'an array of token-id sequences', describeValue(src));
  if (!Array.isArray(tgt)) throw typeError(fn, 'tgt', 'an array of token-id sequences', describeValue(tgt));
  if (src.length === 0) throw rangeError(fn, 'src', 'a non-empty array of sequences', 'array(0)');
  if (tgt.length !== src.length) throw rangeError(fn, 'tgt', `an array of ${src.length} sequences like src`, `array(${tgt.length})`);
  const o = checkOptions(fn, options);
  const pad = checkSpecial(fn, 'pad', o.pad, DEFAULT_SPECIAL_IDS.pad);
  const bos = checkSpecial(fn, 'bos', o.bos, DEFAULT_SPECIAL_IDS.bos);
  const eos = checkSpecial(fn, 'eos', o.eos, DEFAULT_SPECIAL_IDS.eos);
  if (bos === pad) throw rangeError(fn, 'options.bos', `an id other than pad (${pad})`, String(bos));
  if (eos === pad) throw rangeError(fn, 'options.eos', `an id other than pad (${pad}), or the loss would ignore EOS`, String(eos));
  const srcBos = checkBoolean(fn, 'options.srcBos', o.srcBos, false);
  const srcEos = checkBoolean(fn, 'options.srcEos', o.srcEos, false);
  const masks = checkBoolean(fn, 'options.masks', o.masks, false);
  if (o.backend !== undefined && typeof o.backend !== 'string') throw typeError(fn, 'options.backend', 'a backend name', describeValue(o.backend));
  const srcSpecials = (srcBos ? 1 : 0) + (srcEos ? 1 : 0);
  const maxLen = o.maxLen === undefined ? undefined : checkInteger(fn, 'options.maxLen', o.maxLen, Math.max(1, srcSpecials));
  const maxSrcLen = o.maxSrcLen === undefined ? maxLen : checkInteger(fn, 'options.maxSrcLen', o.maxSrcLen, Math.max(1, srcSpecials));
  const maxTgtLen = o.maxTgtLen === undefined ? maxLen : checkInteger(fn, 'options.maxTgtLen', o.maxTgtLen, 1);

  const B = src.length;
  const srcLengths = new Int32Array(B);
  const tgtLengths = new Int32Array(B);
  const srcKept = new Int32Array(B);
  const tgtKept = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const s = checkTokenIds(fn, `src[${b}]`, src[b]);
    const t = checkTokenIds(fn, `tgt[${b}]`, tgt[b]);
    for (let i = 0; i < s.length; i++) if (s[i] === pad) throw rangeError(fn, `src[${b}][${i}]`, `a token id other than pad (${pad})`, String(pad));
    for (let i = 0; i < t.length; i++) if (t[i] === pad) throw rangeError(fn, `tgt[${b}][${i}]`, `a token id other than pad (${pad})`, String(pad));
    srcKept[b] = maxSrcLen === undefined ? s.length : Math.min(s.length, maxSrcLen - srcSpecials);
    tgtKept[b] = maxTgtLen === undefined ? t.length : Math.min(t.length, maxTgtLen - 1);
    srcLengths[b] = srcKept[b]! + srcSpecials;
    tgtLengths[b] = tgtKept[b]! + 1;
  }
  // S >= 1 so a batch of empty sources still has a (fully masked) key position.
  let S = 1, T = 1;
  for (let b = 0; b < B; b++) {
    S = Math.max(S, srcLengths[b]!);
    T = Math.max(T, tgtLengths[b]!);
  }

  const srcIds = new Int32Array(B * S).fill(pad);
  const tgtInIds = new Int32Array(B * T).fill(pad);
  const tgtOutIds = new Int32Array(B * T).fill(pad);
  let srcTokens = 0, tgtTokens = 0;
  for (let b = 0; b < B; b++) {
    const s = src[b]!, t = tgt[b]!;
    let p = b * S;
    if (srcBos) srcIds[p++] = bos;
    for (let i = 0; i < srcKept[b]!; i++) srcIds[p++] = s[i]!;
    if (srcEos) srcIds[p++] = eos;
    const q = b * T;
    tgtInIds[q] = bos;
    for (let i = 0; i < tgtKept[b]!; i++) {
      tgtInIds[q + 1 + i] = t[i]!;
      tgtOutIds[q + i] = t[i]!;
    }
    tgtOutIds[q + tgtKept[b]!] = eos;
    srcTokens += srcLengths[b]!;
    tgtTokens += tgtLengths[b]!;
  }

  const backend = o.backend as string | undefined;
  const created: Tensor[] = [];
  const make = (data: Int32Array | Uint8Array, shape: number[], dtype: 'int32' | 'bool'): Tensor => {
    const t = tensor(data, { shape, dtype, copy: false, ...(backend === undefined ? {} : { backend }) });
    created.push(t);
    return t;
  };
  try {
    const batch: Seq2SeqBatch = {
      src: make(srcIds, [B, S], 'int32'),
      tgtIn: make(tgtInIds, [B, T], 'int32'),
      tgtOut: make(tgtOutIds, [B, T], 'int32'),
      srcLengths,
      tgtLengths,
      srcTokens,
      tgtTokens,
      size: B,
      dispose() {
        for (const x of created) x.dispose();
      },
    };
    if (masks) {
      batch.srcPaddingMask = make(paddingMask(srcLengths, S), [B, S], 'bool');
      batch.tgtPaddingMask = make(paddingMask(tgtLengths, T), [B, T], 'bool');
    }
    return batch;
  } catch (err) {
    for (const x of created) x.dispose();
    throw err;
  }
}

function paddingMask(lengths: Int32Array, L: number): Uint8Array {
  const mask = new Uint8Array(lengths.length * L);
  for (let b = 0; b < lengths.length; b++) mask.fill(1, b * L + lengths[b]!, (b + 1) * L);
  return mask;
}
