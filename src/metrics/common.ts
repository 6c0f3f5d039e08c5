// Shared pieces of toroid.metrics: argument checks for (hypotheses, references) in
// sacrebleu's layout, and Python-style fixed-point formatting for format().
import { describeValue, rangeError, typeError } from '../errors.js';

/** The sacrebleu version whose behaviour corpusBleu/corpusChrf reproduce. */
export const SACREBLEU_VERSION = '2.6.0';
/** The `version:` field of toroid's signatures. */
export const SIGNATURE_VERSION = `${SACREBLEU_VERSION} (toroid)`;

/**
 * References in sacrebleu's layout: either one reference stream (`string[]`, one
 * reference per hypothesis) or several streams (`string[][]`, `references[k][i]` is
 * the k-th reference of hypothesis i), exactly like `sacrebleu.corpus_bleu(hyps, [refs])`.
 * A `null` entry in a stream means "no k-th reference for this segment" (variable
 * number of references, signature `nrefs:var`).
 */
export type References = readonly string[] | readonly (readonly (string | null)[])[];

export interface NormalizedCorpus {
  hypotheses: string[];
  /** segmentRefs[i]: the non-null references of hypothesis i, in stream order. */
  segmentRefs: string[][];
  /** The signature's nrefs: the number of references per segment, or 'var'. */
  numRefs: number | 'var';
}

export function normalizeCorpus(fn: string, hypotheses: unknown, references: unknown): NormalizedCorpus {
  if (!Array.isArray(hypotheses)) throw typeError(fn, 'hypotheses', 'an array of strings', describeValue(hypotheses));
  for (let i = 0; i < hypotheses.length; i++) {
    if (typeof hypotheses[i] !== 'string') {
      throw typeError(fn, `hypotheses[${i}]`, 'a string', describeValue(hypotheses[i]));
    }
  }
  if (hypotheses.length === 0) throw rangeError(fn, 'hypotheses', 'a non-empty array', 'array(0)');
  if (!Array.isArray(references)) {
    throw typeError(fn, 'references', 'an array of reference strings or an array of reference streams (string[][])', describeValue(references));
  }
  if (references.length === 0) throw rangeError(fn, 'references', 'a non-empty array', 'array(0)');
  const n = hypotheses.length;
  let streams: unknown[][];
  if (references.every((r) => typeof r === 'string')) {
    streams = [references];
  } else {
    for (let k = 0; k < references.length; k++) {
      if (!Array.isArray(references[k])) {
        throw typeError(fn, `references[${k}]`, 'an array (a reference stream) like the other entries', describeValue(references[k]));
      }
    }
    streams = references as unknown[][];
  }
  for (let k = 0; k < streams.length; k++) {
    const stream = streams[k]!;
    if (stream.length !== n) {
      const where = streams.length === 1 && typeof references[0] === 'string' ? 'references' : `references[${k}]`;
      throw rangeError(fn, where, `a stream of ${n} references (one per hypothesis)`, `array(${stream.length})`);
    }
    for (let i = 0; i < n; i++) {
      const r = stream[i];
      if (typeof r !== 'string' && r !== null) {
        const where = streams.length === 1 && typeof references[0] === 'string' ? `references[${i}]` : `references[${k}][${i}]`;
        throw typeError(fn, where, 'a string or null', describeValue(r));
      }
    }
  }
  const segmentRefs: string[][] = [];
  const counts = new Set<number>();
  for (let i = 0; i < n; i++) {
    const refs: string[] = [];
    for (const stream of streams) {
      const r = stream[i];
      if (typeof r === 'string') refs.push(r);
    }
    if (refs.length === 0) {
      throw rangeError(fn, 'references', 'at least one non-null reference for every hypothesis', `none for hypothesis ${i}`);
    }
    counts.add(refs.length);
    segmentRefs.push(refs);
  }
  const numRefs = counts.size === 1 ? [...counts][0]! : 'var';
  return { hypotheses: hypotheses as string[], segmentRefs, numRefs };
}

/**
 * Python's f'{x:.{digits}f}': correctly rounded, exact ties to even (JS toFixed
 * sends exact ties up, e.g. (0.125).toFixed(2) is '0.13' where Python prints '0.12').
 */
/** A sentence metric's arguments as a one-sentence corpus: `references` is one string or this sentence's references. */
export function sentenceAsCorpus(fn: string, hypothesis: unknown, references: unknown): { hypotheses: string[]; references: string[][] } {
  if (typeof hypothesis !== 'string') throw typeError(fn, 'hypothesis', 'a string', describeValue(hypothesis));
  const refs = typeof references === 'string' ? [references] : references;
  if (!Array.isArray(refs)) throw typeError(fn, 'references', 'a string or an array of strings', describeValue(references));
  if (refs.length === 0) throw rangeError(fn, 'references', 'a non-empty array', 'array(0)');
  for (let k = 0; k < refs.length; k++) {
    if (typeof refs[k] !== 'string') throw typeError(fn, `references[${k}]`, 'a string', describeValue(refs[k]));
  }
  return { hypotheses: [hypothesis], references: (refs as string[]).map((r) => [r]) };
}

export function pyFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const ax = Math.abs(x);
  if (ax >= 1e21) return x.toFixed(digits); // not reached by scores
  const fixed = ax.toFixed(digits);
  // toFixed(100) is the exact decimal expansion for the magnitudes met here.
  const exact = ax.toFixed(100);
  const dot = exact.indexOf('.');
  const tail = exact.slice(dot + 1 + digits);
  let out = fixed;
  if (/^50*$/.test(tail)) {
    // exact tie: toFixed rounded up; round half to even instead
    const truncated = exact.slice(0, digits === 0 ? dot : dot + 1 + digits);
    const lastDigit = Number(truncated.replace('.', '').slice(-1));
    if (lastDigit % 2 === 0) out = truncated;
  }
  const negative = x < 0 || Object.is(x, -0);
  return negative ? `-${out}` : out;
}
