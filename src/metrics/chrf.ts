// chrF (Popović 2015) and chrF++ (Popović 2017) reproducing sacrebleu 2.x's
// metrics/chrf.py: character n-grams (whitespace removed by default) and optional
// word n-grams, the best reference per segment by F-score, statistics summed over
// the corpus per order, then precision and recall averaged over the orders that
// occur (effective order) unless eps smoothing is asked for.
import { describeValue, rangeError, typeError } from '../errors.js';
import { normalizeCorpus, pyFixed, sentenceAsCorpus, SIGNATURE_VERSION, type References } from './common.js';
import { checkBoolean, checkInteger } from '../validate/checks.js';
import { pySplit } from './tokenizer-13a.js';

export interface ChrfOptions {
  /** Character n-gram order. Default 6. */
  charOrder?: number;
  /** Word n-gram order; 2 gives chrF++. Default 0. */
  wordOrder?: number;
  /** Recall weight. Default 2 (chrF2). */
  beta?: number;
  /** Case-insensitive. Default false. */
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams. Default false (sacrebleu removes it). */
  whitespace?: boolean;
  /**
   * chrF++.py/NLTK/Moses-style eps smoothing (average of per-order F-scores) instead
   * of sacrebleu 2.x's default effective-order averaging. Default false.
   */
  epsSmoothing?: boolean;
}

/** A chrF result, like sacrebleu's CHRFScore. */
export class ChrfScore {
  /** 'chrF2', 'chrF2++', ... */
  readonly name: string;
  /** Percentage points, 0..100. */
  readonly score: number;
  readonly charOrder: number;
  readonly wordOrder: number;
  readonly beta: number;
  /** Corpus statistics: [hypCount, refCount, matchCount] per order (char orders, then word orders), flattened. */
  readonly stats: number[];
  /** e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 (toroid)`. */
  readonly signature: string;

  constructor(fields: { score: number; charOrder: number; wordOrder: number; beta: number; stats: number[]; signature: string }) {
    this.score = fields.score;
    this.charOrder = fields.charOrder;
    this.wordOrder = fields.wordOrder;
    this.beta = fields.beta;
    this.stats = fields.stats;
    this.signature = fields.signature;
    this.name = `chrF${fields.beta}${'+'.repeat(fields.wordOrder)}`;
  }

  /** sacrebleu's printed line, e.g. `chrF2 = 59.73`. */
  format(options: { width?: number; scoreOnly?: boolean; withSignature?: boolean } = {}): string {
    const sc = pyFixed(this.score, options.width ?? 2);
    if (options.scoreOnly) return sc;
    const head = options.withSignature ? `${this.name}|${this.signature}` : this.name;
    return `${head} = ${sc}`;
  }

  toString(): string {
    return this.format();
  }
}

const PUNCTS = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** sacrebleu's CHRF._remove_punctuation: split one leading or trailing punctuation mark off each word. */
export function chrfWords(sent: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(sent)) {
    const cps = Array.from(w);
    if (cps.length === 1) {
      out.push(w);
    } else if (PUNCTS.has(cps[cps.length - 1]!)) {
      out.push(cps.slice(0, -1).join(''), cps[cps.length - 1]!);
    } else if (PUNCTS.has(cps[0]!)) {
      out.push(cps[0]!, cps.slice(1).join(''));
    } else {
      out.push(w);
    }
  }
  return out;
}

function count(items: Iterable<string>): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of items) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

function charNgrams(line: string, maxOrder: number, whitespace: boolean): Map<string, number>[] {
  if (!whitespace) line = pySplit(line).join('');
  const cps = Array.from(line);
  const out: Map<string, number>[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const grams: string[] = [];
    for (let i = 0; i + n <= cps.length; i++) grams.push(cps.slice(i, i + n).join(''));
    out.push(count(grams));
  }
  return out;
}

function wordNgrams(tokens: readonly string[], n: number): Map<string, number> {
  const grams: string[] = [];
  for (let i = 0; i + n <= tokens.length; i++) grams.push(tokens.slice(i, i + n).join(' '));
  return count(grams);
}

/** sacrebleu's CHRF._get_match_statistics: [hyp count (0 if no ref n-grams), ref count, matches]. */
function matchStats(hyp: Map<string, number>, ref: Map<string, number>): [number, number, number] {
  let match = 0;
  let hypCount = 0;
  for (const [k, c] of hyp) {
    hypCount += c;
    const r = ref.get(k);
    if (r !== undefined) match += Math.min(c, r);
  }
  let refCount = 0;
  for (const c of ref.values()) refCount += c;
  return [ref.size > 0 ? hypCount : 0, refCount, match];
}

/** sacrebleu's CHRF._compute_f_score over flattened [hyp, ref, match] statistics. */
export function chrfFScore(stats: readonly number[], beta: number, epsSmoothing = false): number {
  const order = Math.floor(stats.length / 3);
  const eps = 1e-16;
  let score = 0;
  let effectiveOrder = 0;
  const factor = beta ** 2;
  let avgPrec = 0;
  let avgRec = 0;
  for (let i = 0; i < order; i++) {
    const nHyp = stats[3 * i]!;
    const nRef = stats[3 * i + 1]!;
    const nMatch = stats[3 * i + 2]!;
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) {
      avgPrec += prec;
      avgRec += rec;
      effectiveOrder += 1;
    }
  }
  if (epsSmoothing) return (100 * score) / order;
  if (effectiveOrder === 0) {
    avgPrec = 0;
    avgRec = 0;
  } else {
    avgPrec /= effectiveOrder;
    avgRec /= effectiveOrder;
  }
  if (avgPrec + avgRec) {
    let s = (1 + factor) * avgPrec * avgRec;
    s /= factor * avgPrec + avgRec;
    return 100 * s;
  }
  return 0;
}

interface ResolvedChrfOptions {
  charOrder: number; wordOrder: number; beta: number; lowercase: boolean; whitespace: boolean; epsSmoothing: boolean;
}

function resolveOptions(fn: string, options: unknown): ResolvedChrfOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(fn, 'options', 'an object', describeValue(options));
  }
  const o = options as ChrfOptions;
  const charOrder = o.charOrder === undefined ? 6 : checkInteger(fn, 'options.charOrder', o.charOrder, 0);
  const wordOrder = o.wordOrder === undefined ? 0 : checkInteger(fn, 'options.wordOrder', o.wordOrder, 0);
  if (charOrder + wordOrder === 0) {
    throw rangeError(fn, 'options.charOrder + options.wordOrder', 'at least 1', '0');
  }
  let beta = 2;
  if (o.beta !== undefined) {
    if (typeof o.beta !== 'number') throw typeError(fn, 'options.beta', 'a number', describeValue(o.beta));
    if (!Number.isFinite(o.beta) || o.beta <= 0) throw rangeError(fn, 'options.beta', 'a finite number > 0', String(o.beta));
    beta = o.beta;
  }
  return {
    charOrder, wordOrder, beta,
    lowercase: o.lowercase === undefined ? false : checkBoolean(fn, 'options.lowercase', o.lowercase),
    whitespace: o.whitespace === undefined ? false : checkBoolean(fn, 'options.whitespace', o.whitespace),
    epsSmoothing: o.epsSmoothing === undefined ? false : checkBoolean(fn, 'options.epsSmoothing', o.epsSmoothing),
  };
}

function segmentNgrams(sent: string, o: ResolvedChrfOptions): Map<string, number>[] {
  const grams = charNgrams(sent, o.charOrder, o.whitespace);
  if (o.wordOrder > 0) {
    const words = chrfWords(sent);
    for (let n = 1; n <= o.wordOrder; n++) grams.push(wordNgrams(words, n));
  }
  return grams;
}

function corpusChrfImpl(fn: string, hypotheses: unknown, references: unknown, o: ResolvedChrfOptions): ChrfScore {
  const { hypotheses: hyps, segmentRefs, numRefs } = normalizeCorpus(fn, hypotheses, references);
  const order = o.charOrder + o.wordOrder;
  const totals = new Array<number>(3 * order).fill(0);
  const prep = (s: string): string => (o.lowercase ? s.toLowerCase() : s);
  for (let i = 0; i < hyps.length; i++) {
    const hypGrams = segmentNgrams(prep(hyps[i]!), o);
    let best: number[] = [];
    let bestF = -1;
    for (const ref of segmentRefs[i]!) {
      const refGrams = segmentNgrams(prep(ref), o);
      const stats: number[] = [];
      for (let k = 0; k < order; k++) stats.push(...matchStats(hypGrams[k]!, refGrams[k]!));
      const f = chrfFScore(stats, o.beta, o.epsSmoothing);
      if (f > bestF) {
        bestF = f;
        best = stats;
      }
    }
    for (let k = 0; k < totals.length; k++) totals[k]! += best[k]!;
  }
  const signature = `nrefs:${numRefs}|case:${o.lowercase ? 'lc' : 'mixed'}|eff:${o.epsSmoothing ? 'no' : 'yes'}`
    + `|nc:${o.charOrder}|nw:${o.wordOrder}|space:${o.whitespace ? 'yes' : 'no'}|version:${SIGNATURE_VERSION}`;
  return new ChrfScore({
    score: chrfFScore(totals, o.beta, o.epsSmoothing),
    charOrder: o.charOrder, wordOrder: o.wordOrder, beta: o.beta, stats: totals, signature,
  });
}

/**
 * Corpus chrF as `sacrebleu.corpus_chrf(hypotheses, references)` (chrF2: character
 * 6-grams, beta 2, whitespace removed); `wordOrder: 2` gives chrF++. References use
 * sacrebleu's stream layout (see corpusBleu).
 */
export function corpusChrf(hypotheses: readonly string[], references: References, options: ChrfOptions = {}): ChrfScore {
  const fn = 'metrics.corpusChrf';
  return corpusChrfImpl(fn, hypotheses, references, resolveOptions(fn, options));
}

/** Sentence chrF as `sacrebleu.sentence_chrf(hypothesis, references)`. */
export function sentenceChrf(hypothesis: string, references: readonly string[] | string, options: ChrfOptions = {}): ChrfScore {
  const fn = 'metrics.sentenceChrf';
  const one = sentenceAsCorpus(fn, hypothesis, references);
  return corpusChrfImpl(fn, one.hypotheses, one.references, resolveOptions(fn, options));
}
