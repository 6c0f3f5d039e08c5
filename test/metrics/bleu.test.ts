// toroid.metrics.corpusBleu / sentenceBleu: hand-computed cases, sacrebleu's README
// example, smoothing methods, multiple references, format/signature, bad arguments.
import { describe, expect, it } from 'vitest';
import { computeBleu, corpusBleu, sentenceBleu } from '../../src/metrics/index.js';

// sacrebleu README example (two reference streams)
const README_REFS = [
  ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
  ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
];
const README_SYS = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];

describe('corpusBleu: sacrebleu README example', () => {
  it('BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)', () => {
    const b = corpusBleu(README_SYS, README_REFS);
    expect(b.score).toBeCloseTo(48.530827009929865, 10);
    expect(b.format()).toBe('BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)');
    expect(b.counts).toEqual([14, 7, 5, 3]);
    expect(b.totals).toEqual([17, 14, 11, 8]);
    expect(b.sysLen).toBe(17);
    expect(b.refLen).toBe(18);
    expect(b.signature).toBe('nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 (toroid)');
    expect(b.format({ withSignature: true })).toMatch(/^BLEU\|nrefs:2\|case:mixed\|.*\(toroid\) = 48\.53 82\.4/);
    expect(b.format({ scoreOnly: true })).toBe('48.53');
    expect(String(b)).toBe(b.format());
  });
});

// hyp "the cat sat on the mat" vs ref "the cat is on the mat" (tokenize 'none'):
//   1-grams: hyp the x2, cat, sat, on, mat (6); matched the x2, cat, on, mat = 5 -> 5/6
//   2-grams: the cat, cat sat, sat on, on the, the mat (5); matched the cat, on the, the mat = 3 -> 3/5
//   3-grams: the cat sat, cat sat on, sat on the, on the mat (4); matched on the mat = 1 -> 1/4
//   4-grams: the cat sat on, cat sat on the, sat on the mat (3); matched 0 -> 0/3
//   lengths 6 and 6 -> BP = 1
const HYP = ['the cat sat on the mat'];
const REF = ['the cat is on the mat'];
const geo = (ps: number[]): number => Math.exp(ps.reduce((s, p) => s + Math.log(p), 0) / ps.length);

describe('corpusBleu: smoothing on a zero 4-gram match (hand-computed)', () => {
  it("'exp': the zero order gets 100 / (2^1 * 3)", () => {
    const b = corpusBleu(HYP, REF, { tokenize: 'none' });
    expect(b.counts).toEqual([5, 3, 1, 0]);
    expect(b.totals).toEqual([6, 5, 4, 3]);
    // (83.33 * 60 * 25 * 16.67)^(1/4) = 2083333.3^(1/4) = 37.99
    expect(b.precisions[3]).toBeCloseTo(100 / 6, 12);
    expect(b.score).toBeCloseTo(geo([500 / 6, 60, 25, 100 / 6]), 10);
    expect(b.score).toBeCloseTo(37.99178428257963, 10);
    expect(b.bp).toBe(1);
  });
  it("'none': log(0) is floored at -9999999999, so the score is 0", () => {
    const b = corpusBleu(HYP, REF, { tokenize: 'none', smooth: 'none' });
    expect(b.score).toBe(0);
    expect(b.precisions).toEqual([500 / 6, 60, 25, 0]);
    expect(b.format()).toBe('BLEU = 0.00 83.3/60.0/25.0/0.0 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)');
  });
  it("'floor' 0.1: the zero order gets 100 * 0.1 / 3", () => {
    const b = corpusBleu(HYP, REF, { tokenize: 'none', smooth: 'floor' });
    // (83.33 * 60 * 25 * 3.333)^(1/4) = 416666.7^(1/4) = 25.41
    expect(b.score).toBeCloseTo(geo([500 / 6, 60, 25, 10 / 3]), 10);
    expect(b.score).toBeCloseTo(25.40663740773073, 10);
    expect(b.signature).toContain('smooth:floor[0.10]');
    const b2 = corpusBleu(HYP, REF, { tokenize: 'none', smooth: 'floor', smoothValue: 0.3 });
    expect(b2.score).toBeCloseTo(geo([500 / 6, 60, 25, 10]), 10);
    expect(b2.signature).toContain('smooth:floor[0.30]');
  });
  it("'add-k' 1: k is added to counts and totals of orders 2..4", () => {
    const b = corpusBleu(HYP, REF, { tokenize: 'none', smooth: 'add-k' });
    // 5/6, (3+1)/(5+1), (1+1)/(4+1), (0+1)/(3+1) -> (83.33 * 66.67 * 40 * 25)^(1/4) = 48.55
    expect(b.counts).toEqual([5, 4, 2, 1]);
    expect(b.totals).toEqual([6, 6, 5, 4]);
    expect(b.score).toBeCloseTo(geo([500 / 6, 200 / 3, 40, 25]), 10);
    expect(b.score).toBeCloseTo(48.54917717073236, 10);
    expect(b.signature).toContain('smooth:add-k[1.00]');
  });
  it('13a gives the same here (no punctuation)', () => {
    expect(corpusBleu(HYP, REF).score).toBeCloseTo(37.99178428257963, 10);
  });
});

describe('corpusBleu: multiple references', () => {
  it('clips each n-gram by its max count over the references (not the sum)', () => {
    // hyp "the the the the"; refs "the cat" (the x1), "the the dog" (the x2): clip 'the' at 2
    //   p1 = 2/4; p2: "the the" x3 vs max 1 -> 1/3; p3: 0/2 -> exp 100/(2*2); p4: 0/1 -> 100/(4*1)
    //   closest ref length to 4 among {2, 3} is 3 -> BP = 1
    const b = corpusBleu(['the the the the'], [['the cat'], ['the the dog']], { tokenize: 'none' });
    expect(b.counts).toEqual([2, 1, 0, 0]);
    expect(b.refLen).toBe(3);
    expect(b.score).toBeCloseTo(geo([50, 100 / 3, 25, 25]), 10);
    expect(b.score).toBeCloseTo(31.947155212313625, 10);
  });
  it('closest reference length: ties go to the shorter reference', () => {
    // hyp "x y" (2); refs "x y z" (3) and "x" (1) are both 1 away -> r = 1, c = 2 > r -> BP = 1.
    // Effective order stops at n = 2 (no 3-grams): score = (100 * 100)^(1/2) = 100.
    const b = corpusBleu(['x y'], [['x y z'], ['x']], { tokenize: 'none', effectiveOrder: true });
    expect(b.refLen).toBe(1);
    expect(b.bp).toBe(1);
    expect(b.score).toBeCloseTo(100, 10);
    // with the longer reference alone: BP = exp(1 - 3/2) = 0.6065
    const b2 = corpusBleu(['x y'], [['x y z']], { tokenize: 'none', effectiveOrder: true });
    expect(b2.bp).toBeCloseTo(Math.exp(-0.5), 14);
    expect(b2.score).toBeCloseTo(100 * Math.exp(-0.5), 10);
  });
  it('a single stream may be passed as string[]; null entries give nrefs:var', () => {
    const a = corpusBleu(['a b c d'], ['a b c d']);
    const b = corpusBleu(['a b c d'], [['a b c d']]);
    expect(a.score).toBe(b.score);
    expect(a.signature.startsWith('nrefs:1|')).toBe(true);
    const v = corpusBleu(['a b c d', 'e f g h'], [['a b c d', 'e f g h'], [null, 'e f']]);
    expect(v.signature.startsWith('nrefs:var|')).toBe(true);
    expect(v.score).toBeCloseTo(100, 10);
  });
});

describe('corpusBleu: edge cases', () => {
  it('identical hypotheses and references give 100', () => {
    const s = ['The quick brown fox jumps over the lazy dog.', 'Hello, world!'];
    const b = corpusBleu(s, [s]);
    expect(b.score).toBeCloseTo(100, 10);
    expect(b.format()).toBe('BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 14 ref_len = 14)');
  });
  it('empty hypotheses give 0 with BP 0', () => {
    const b = corpusBleu(['', ''], [['a b', 'c d']]);
    expect(b.score).toBe(0);
    expect(b.bp).toBe(0);
    expect(b.format()).toBe('BLEU = 0.00 0.0/0.0/0.0/0.0 (BP = 0.000 ratio = 0.000 hyp_len = 0 ref_len = 4)');
  });
  it('no match at all gives 0 (early stop)', () => {
    expect(corpusBleu(['x y z w'], [['a b c d']]).score).toBe(0);
  });
  it('hypothesis trailing whitespace is stripped (Python rstrip) before tokenizing', () => {
    expect(corpusBleu(['a b c d \n'], [['a b c d']]).score).toBeCloseTo(100, 10);
  });
  it('lowercase', () => {
    expect(corpusBleu(['A B C D'], [['a b c d']]).score).toBe(0);
    const b = corpusBleu(['A B C D'], [['a b c d']], { lowercase: true });
    expect(b.score).toBeCloseTo(100, 10);
    expect(b.signature).toContain('case:lc');
  });
  it('maxNgramOrder', () => {
    // (5/6 * 3/5)^(1/2) = 0.7071 -> 70.71
    const b = corpusBleu(HYP, REF, { maxNgramOrder: 2 });
    expect(b.precisions).toHaveLength(2);
    expect(b.score).toBeCloseTo(100 * Math.sqrt(0.5), 10);
  });
});

describe('sentenceBleu (effective order, exp smoothing)', () => {
  it('matches sacrebleu.sentence_bleu on the README sentences', () => {
    // sacrebleu 2.6.0: 100.00, 14.79, 29.07
    expect(sentenceBleu(README_SYS[0]!, [README_REFS[0]![0]!, README_REFS[1]![0]!]).format({ scoreOnly: true })).toBe('100.00');
    const s1 = sentenceBleu(README_SYS[1]!, [README_REFS[0]![1]!, README_REFS[1]![1]!]);
    expect(s1.format()).toBe('BLEU = 14.79 50.0/16.7/12.5/12.5 (BP = 0.779 ratio = 0.800 hyp_len = 4 ref_len = 5)');
    expect(s1.signature).toContain('eff:yes');
    expect(sentenceBleu(README_SYS[2]!, [README_REFS[0]![2]!, README_REFS[1]![2]!]).score).toBeCloseTo(29.07, 2);
  });
  it('short sentences: effective order averages over the orders present', () => {
    // "No way" vs "No way .": p1 = 2/2, p2 = 1/1, no 3-/4-grams -> eff order 2 -> 100,
    // BP = exp(1 - 3/2) = 0.6065 -> 60.65
    const b = sentenceBleu('No way', 'No way.');
    expect(b.score).toBeCloseTo(100 * Math.exp(-0.5), 10);
  });
});

describe('computeBleu', () => {
  it('computes from sufficient statistics and does not mutate its inputs', () => {
    const correct = [5, 3, 1, 0];
    const total = [6, 5, 4, 3];
    const b = computeBleu(correct, total, 6, 6, { smooth: 'add-k' });
    expect(b.score).toBeCloseTo(48.54917717073236, 10);
    expect(correct).toEqual([5, 3, 1, 0]);
    expect(total).toEqual([6, 5, 4, 3]);
  });
});

describe('bad arguments', () => {
  it('type errors', () => {
    expect(() => corpusBleu('a' as unknown as string[], ['a'])).toThrow(TypeError);
    expect(() => corpusBleu(['a', 3 as unknown as string], ['a', 'b'])).toThrow(
      'toroid.metrics.corpusBleu: hypotheses[1] must be a string, got number 3',
    );
    expect(() => corpusBleu(['a'], 'a' as unknown as string[])).toThrow(TypeError);
    expect(() => corpusBleu(['a'], [['a'], 'b'] as unknown as string[][])).toThrow(TypeError);
    expect(() => corpusBleu(['a'], ['a'], { smooth: 3 as unknown as 'exp' })).toThrow(TypeError);
    expect(() => corpusBleu(['a'], ['a'], { lowercase: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => sentenceBleu(1 as unknown as string, ['a'])).toThrow(TypeError);
  });
  it('range errors', () => {
    expect(() => corpusBleu([], [])).toThrow(RangeError);
    expect(() => corpusBleu(['a', 'b'], ['a'])).toThrow(
      'toroid.metrics.corpusBleu: references must be a stream of 2 references (one per hypothesis), got array(1)',
    );
    expect(() => corpusBleu(['a', 'b'], [['a', 'b'], ['a']])).toThrow(RangeError);
    expect(() => corpusBleu(['a'], [[null]])).toThrow(RangeError);
    expect(() => corpusBleu(['a'], ['a'], { smooth: 'laplace' as unknown as 'exp' })).toThrow(RangeError);
    expect(() => corpusBleu(['a'], ['a'], { tokenize: 'zh' as unknown as '13a' })).toThrow(RangeError);
    expect(() => corpusBleu(['a'], ['a'], { smoothValue: -1 })).toThrow(RangeError);
    expect(() => corpusBleu(['a'], ['a'], { maxNgramOrder: 0 })).toThrow(RangeError);
    expect(() => sentenceBleu('a', [])).toThrow(RangeError);
  });
});

describe('Python-style fixed formatting', () => {
  it('rounds exact ties to even like f"{x:.2f}", otherwise like toFixed', async () => {
    const { pyFixed } = await import('../../src/metrics/common.js');
    expect(pyFixed(0.125, 2)).toBe('0.12'); // exact binary tie: Python '0.12', toFixed '0.13'
    expect(pyFixed(0.375, 2)).toBe('0.38');
    expect(pyFixed(2.5, 0)).toBe('2');
    expect(pyFixed(1.005, 2)).toBe('1.00'); // 1.005 is below the tie in binary
    expect(pyFixed(48.530827009929865, 2)).toBe('48.53');
    expect(pyFixed(100, 1)).toBe('100.0');
    expect(pyFixed(-0.001, 2)).toBe('-0.00');
  });
});
