// BLEU (Papineni et al., 2002) reproducing sacrebleu 2.x: metrics/bleu.py's
// BLEU.corpus_score / sentence_score / compute_bleu, with the same tokenizers,
// n-gram clipping over multiple references, closest-reference length, smoothing
// methods, signature and printed format.
import { describeValue, rangeError, typeError } from '../errors.js';
import {
  normalizeCorpus, pyFixed, sentenceAsCorpus, SIGNATURE_VERSION, type References,
} from './common.js';
import { checkBoolean, checkInteger } from '../validate/checks.js';
import { BLEU_TOKENIZERS, pyRstrip, pySplit, type BleuTokenizerName } from './tokenizer-13a.js';

export type BleuSmoothMethod = 'exp' | 'none' | 'floor' | 'add-k';

/** sacrebleu's BLEU.SMOOTH_DEFAULTS. */
export const SMOOTH_DEFAULTS: Readonly<Record<BleuSmoothMethod, number | null>> = Object.freeze({
  none: null,
  floor: 0.1,
  'add-k': 1,
  exp: null,
});

export interface BleuOptions {
  /** '13a' (default, mteval-v13a), 'intl' (mteval-v14 international), 'char' or 'none'. */
  tokenize?: BleuTokenizerName;
  /** 'exp' (default; NIST/mteval smoothing), 'none', 'floor' or 'add-k'. */
  smooth?: BleuSmoothMethod;
  /** Value for 'floor' (default 0.1) and 'add-k' (default 1); ignored otherwise. */
  smoothValue?: number;
  /** Lowercase hypotheses and references first (signature case:lc). Default false. */
  lowercase?: boolean;
  /**
   * sacrebleu's effective_order: average only over the n-gram orders the hypotheses
   * have (n <= shortest length). Default false for corpusBleu, true for sentenceBleu.
   */
  effectiveOrder?: boolean;
  /** Highest n-gram order. Default 4. */
  maxNgramOrder?: number;
}

/** A BLEU result, with the fields of sacrebleu's BLEUScore. */
export class BleuScore {
  readonly name = 'BLEU';
  /** Percentage points, 0..100. */
  readonly score: number;
  /** Matched n-gram counts per order (after add-k smoothing, as sacrebleu reports them). */
  readonly counts: number[];
  /** Hypothesis n-gram counts per order (after add-k smoothing, as sacrebleu reports them). */
  readonly totals: number[];
  /** Per-order precisions in percent (smoothed). */
  readonly precisions: number[];
  /** Brevity penalty. */
  readonly bp: number;
  /** sysLen / refLen (0 when refLen is 0). */
  readonly ratio: number;
  /** Total hypothesis length in tokens. */
  readonly sysLen: number;
  /** Total closest-reference length in tokens. */
  readonly refLen: number;
  /** sacrebleu-style signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 (toroid)`. */
  readonly signature: string;

  constructor(fields: {
    score: number; counts: number[]; totals: number[]; precisions: number[];
    bp: number; sysLen: number; refLen: number; signature: string;
  }) {
    this.score = fields.score;
    this.counts = fields.counts;
    this.totals = fields.totals;
    this.precisions = fields.precisions;
    this.bp = fields.bp;
    this.sysLen = fields.sysLen;
    this.refLen = fields.refLen;
    this.ratio = fields.refLen ? fields.sysLen / fields.refLen : 0;
    this.signature = fields.signature;
  }

  /**
   * sacrebleu's printed line, e.g.
   * `BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)`.
   * `width` is the score's decimals (default 2); `scoreOnly` prints just the score;
   * `withSignature` prints `BLEU|<signature> = ...` as sacrebleu's CLI does.
   */
  format(options: { width?: number; scoreOnly?: boolean; withSignature?: boolean } = {}): string {
    const width = options.width ?? 2;
    const sc = pyFixed(this.score, width);
    if (options.scoreOnly) return sc;
    const precStr = this.precisions.map((p) => pyFixed(p, 1)).join('/');
    const verbose = `${precStr} (BP = ${pyFixed(this.bp, 3)} ratio = ${pyFixed(this.ratio, 3)} `
      + `hyp_len = ${fmtInt(this.sysLen)} ref_len = ${fmtInt(this.refLen)})`;
    const head = options.withSignature ? `${this.name}|${this.signature}` : this.name;
    return `${head} = ${sc} ${verbose}`;
  }

  toString(): string {
    return this.format();
  }
}

function fmtInt(x: number): string {
  return Number.isInteger(x) ? String(x) : pyFixed(x, 0);
}

/** sacrebleu's utils.my_log: log floored at -9999999999 for 0. */
function myLog(x: number): number {
  return x === 0 ? -9999999999 : Math.log(x);
}

/**
 * BLEU from sufficient statistics, exactly as sacrebleu's BLEU.compute_bleu (the
 * arrays are copied, then add-k smoothing adds k to counts and totals of orders > 1).
 */
export function computeBleu(
  correct: readonly number[],
  total: readonly number[],
  sysLen: number,
  refLen: number,
  options: { smooth?: BleuSmoothMethod; smoothValue?: number; effectiveOrder?: boolean; maxNgramOrder?: number; signature?: string } = {},
): BleuScore {
  const smooth = options.smooth ?? 'none';
  const maxOrder = options.maxNgramOrder ?? correct.length;
  const smoothValue = options.smoothValue ?? SMOOTH_DEFAULTS[smooth] ?? 0;
  const effectiveOrder = options.effectiveOrder ?? false;
  const signature = options.signature ?? '';
  const counts = correct.slice(0, maxOrder);
  const totals = total.slice(0, maxOrder);

  let bp = 1.0;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0.0;

  const precisions = new Array<number>(maxOrder).fill(0);
  // early stop when nothing matches (sacrebleu #141)
  if (!counts.some((c) => c !== 0)) {
    return new BleuScore({ score: 0, counts, totals, precisions, bp, sysLen, refLen, signature });
  }

  let smoothMteval = 1.0;
  let effOrder = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    if (smooth === 'add-k' && n > 1) {
      counts[n - 1]! += smoothValue;
      totals[n - 1]! += smoothValue;
    }
    if (totals[n - 1] === 0) break;
    if (effectiveOrder) effOrder = n;
    if (counts[n - 1] === 0) {
      if (smooth === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * totals[n - 1]!);
      } else if (smooth === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / totals[n - 1]!;
      }
    } else {
      precisions[n - 1] = (100 * counts[n - 1]!) / totals[n - 1]!;
    }
  }
  let sumLog = 0;
  for (let i = 0; i < effOrder; i++) sumLog += myLog(precisions[i]!);
  const score = bp * Math.exp(sumLog / effOrder);
  return new BleuScore({ score, counts, totals, precisions, bp, sysLen, refLen, signature });
}

/** Per-order n-gram counts of a whitespace-split token sequence, keys joined by ' '. */
function ngramCounts(tokens: readonly string[], maxOrder: number): Map<string, number>[] {
  const out: Map<string, number>[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const m = new Map<string, number>();
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = n === 1 ? tokens[i]! : tokens.slice(i, i + n).join(' ');
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    out.push(m);
  }
  return out;
}

/** sacrebleu's _get_closest_ref_len: closest length, ties go to the shorter reference. */
function closestRefLen(hypLen: number, refLens: readonly number[]): number {
  let closestDiff = -1;
  let closestLen = -1;
  for (const r of refLens) {
    const diff = Math.abs(hypLen - r);
    if (closestDiff === -1 || diff < closestDiff) {
      closestDiff = diff;
      closestLen = r;
    } else if (diff === closestDiff && r < closestLen) {
      closestLen = r;
    }
  }
  return closestLen;
}

interface ResolvedBleuOptions {
  tokenize: BleuTokenizerName;
  smooth: BleuSmoothMethod;
  smoothValue: number | undefined;
  lowercase: boolean;
  effectiveOrder: boolean;
  maxNgramOrder: number;
}

function resolveOptions(fn: string, options: unknown, effectiveDefault: boolean): ResolvedBleuOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(fn, 'options', 'an object', describeValue(options));
  }
  const o = options as BleuOptions;
  const tokenize = o.tokenize ?? '13a';
  if (typeof tokenize !== 'string' || !Object.prototype.hasOwnProperty.call(BLEU_TOKENIZERS, tokenize)) {
    const msg = `one of ${Object.keys(BLEU_TOKENIZERS).map((k) => `'${k}'`).join(', ')}`;
    if (typeof tokenize !== 'string') throw typeError(fn, 'options.tokenize', msg, describeValue(tokenize));
    throw rangeError(fn, 'options.tokenize', msg, describeValue(tokenize));
  }
  const smooth = o.smooth ?? 'exp';
  if (typeof smooth !== 'string' || !Object.prototype.hasOwnProperty.call(SMOOTH_DEFAULTS, smooth)) {
    const msg = "one of 'exp', 'none', 'floor', 'add-k'";
    if (typeof smooth !== 'string') throw typeError(fn, 'options.smooth', msg, describeValue(smooth));
    throw rangeError(fn, 'options.smooth', msg, describeValue(smooth));
  }
  let smoothValue: number | undefined;
  if (o.smoothValue !== undefined && o.smoothValue !== null) {
    if (typeof o.smoothValue !== 'number') throw typeError(fn, 'options.smoothValue', 'a number', describeValue(o.smoothValue));
    if (!Number.isFinite(o.smoothValue) || o.smoothValue < 0) {
      throw rangeError(fn, 'options.smoothValue', 'a finite number >= 0', String(o.smoothValue));
    }
    smoothValue = o.smoothValue;
  }
  const lowercase = o.lowercase === undefined ? false : checkBoolean(fn, 'options.lowercase', o.lowercase);
  const effectiveOrder = o.effectiveOrder === undefined
    ? effectiveDefault : checkBoolean(fn, 'options.effectiveOrder', o.effectiveOrder);
  const maxNgramOrder = o.maxNgramOrder === undefined ? 4 : checkInteger(fn, 'options.maxNgramOrder', o.maxNgramOrder, 1);
  return { tokenize, smooth, smoothValue, lowercase, effectiveOrder, maxNgramOrder };
}

function bleuSignature(numRefs: number | 'var', o: ResolvedBleuOptions): string {
  let smoothStr: string = o.smooth;
  const def = SMOOTH_DEFAULTS[o.smooth];
  if (def !== null) smoothStr += `[${pyFixed(o.smoothValue ?? def, 2)}]`;
  return `nrefs:${numRefs}|case:${o.lowercase ? 'lc' : 'mixed'}|eff:${o.effectiveOrder ? 'yes' : 'no'}`
    + `|tok:${o.tokenize}|smooth:${smoothStr}|version:${SIGNATURE_VERSION}`;
}

/** sacrebleu's BLEU._preprocess_segment: optional lowercasing, rstrip, tokenize. */
function preprocess(sent: string, o: ResolvedBleuOptions): string {
  if (o.lowercase) sent = sent.toLowerCase();
  return BLEU_TOKENIZERS[o.tokenize](pyRstrip(sent));
}

function corpusBleuImpl(fn: string, hypotheses: unknown, references: unknown, o: ResolvedBleuOptions): BleuScore {
  const { hypotheses: hyps, segmentRefs, numRefs } = normalizeCorpus(fn, hypotheses, references);
  const N = o.maxNgramOrder;
  const correct = new Array<number>(N).fill(0);
  const total = new Array<number>(N).fill(0);
  let sysLen = 0;
  let refLen = 0;
  for (let i = 0; i < hyps.length; i++) {
    // reference n-grams: max count of each n-gram over the references
    const refMax: Map<string, number>[] = [];
    for (let n = 0; n < N; n++) refMax.push(new Map());
    const refLens: number[] = [];
    for (const ref of segmentRefs[i]!) {
      const toks = pySplit(preprocess(ref, o));
      refLens.push(toks.length);
      const counts = ngramCounts(toks, N);
      for (let n = 0; n < N; n++) {
        const into = refMax[n]!;
        for (const [k, c] of counts[n]!) {
          const prev = into.get(k);
          if (prev === undefined || c > prev) into.set(k, c);
        }
      }
    }
    const hypToks = pySplit(preprocess(hyps[i]!, o));
    sysLen += hypToks.length;
    refLen += closestRefLen(hypToks.length, refLens);
    const hypCounts = ngramCounts(hypToks, N);
    for (let n = 0; n < N; n++) {
      const ref = refMax[n]!;
      for (const [k, c] of hypCounts[n]!) {
        total[n]! += c;
        const r = ref.get(k);
        if (r !== undefined) correct[n]! += Math.min(c, r);
      }
    }
  }
  return computeBleu(correct, total, sysLen, refLen, {
    smooth: o.smooth,
    ...(o.smoothValue !== undefined ? { smoothValue: o.smoothValue } : {}),
    effectiveOrder: o.effectiveOrder,
    maxNgramOrder: N,
    signature: bleuSignature(numRefs, o),
  });
}

/**
 * Corpus BLEU as `sacrebleu.corpus_bleu(hypotheses, references)` (sacrebleu 2.x):
 * 13a tokenization, n-grams up to 4 clipped by the max count over the references,
 * closest reference length for the brevity penalty (ties to the shorter), 'exp'
 * smoothing, effective order off.
 *
 * `references` is one stream (`string[]`, a reference per hypothesis) or several
 * streams (`string[][]`, `references[k][i]` = k-th reference of hypothesis i), as in
 * sacrebleu; `null` entries allow a variable number of references.
 */
export function corpusBleu(hypotheses: readonly string[], references: References, options: BleuOptions = {}): BleuScore {
  const fn = 'metrics.corpusBleu';
  return corpusBleuImpl(fn, hypotheses, references, resolveOptions(fn, options, false));
}

/**
 * Sentence BLEU as `sacrebleu.sentence_bleu(hypothesis, references)`: effective order
 * on and 'exp' smoothing by default. `references` are this sentence's references.
 */
export function sentenceBleu(hypothesis: string, references: readonly string[] | string, options: BleuOptions = {}): BleuScore {
  const fn = 'metrics.sentenceBleu';
  const one = sentenceAsCorpus(fn, hypothesis, references);
  return corpusBleuImpl(fn, one.hypotheses, one.references, resolveOptions(fn, options, true));
}
