// toroid.metrics.corpusChrf / sentenceChrf: hand-computed cases, sacrebleu's README
// example, chrF++, options, bad arguments.
import { describe, expect, it } from 'vitest';
import { chrfFScore, corpusChrf, sentenceChrf } from '../../src/metrics/index.js';

const README_REFS = [
  ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.'],
  ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.'],
];
const README_SYS = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];

describe('corpusChrf', () => {
  it('sacrebleu README: chrF2 = 59.73', () => {
    const c = corpusChrf(README_SYS, README_REFS);
    expect(c.score).toBeCloseTo(59.72751782684763, 10);
    expect(c.format()).toBe('chrF2 = 59.73');
    expect(c.name).toBe('chrF2');
    expect(c.signature).toBe('nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 (toroid)');
  });

  it('sacrebleu README: chrF2++ = 59.15', () => {
    const c = corpusChrf(README_SYS, README_REFS, { wordOrder: 2 });
    expect(c.format()).toBe('chrF2++ = 59.15');
    expect(c.signature).toContain('nw:2');
  });

  it('hand-computed: "abc" vs "abcd", charOrder 2', () => {
    // 1-grams: hyp a,b,c; ref a,b,c,d: 3 matches -> P = 3/3, R = 3/4
    // 2-grams: hyp ab,bc; ref ab,bc,cd: 2 matches -> P = 2/2, R = 2/3
    // avg P = 1, avg R = (3/4 + 2/3)/2 = 17/24
    // F2 = (1 + 4) P R / (4 P + R) = (85/24) / (113/24) = 85/113 = 75.22%
    const c = corpusChrf(['abc'], ['abcd'], { charOrder: 2 });
    expect(c.stats).toEqual([3, 4, 3, 2, 3, 2]);
    expect(c.score).toBeCloseTo((100 * 85) / 113, 10);
  });

  it('statistics are summed over the corpus before the F-score', () => {
    // seg 1: "ab" vs "ab": 1-grams 2/2/2, 2-grams 1/1/1; seg 2: "x" vs "yz": 1-grams hyp 1, ref 2, match 0;
    //   2-grams: hyp has none, ref 1 -> [0, 1, 0]. Totals: [3, 4, 2, 1, 2, 1]
    // order 1: P = 2/3, R = 2/4; order 2: P = 1/1, R = 1/2 -> avg P = 5/6, avg R = 1/2
    // F2 = 5 * (5/6)(1/2) / (4 * 5/6 + 1/2) = (25/12) / (23/6) = 25/46
    const c = corpusChrf(['ab', 'x'], ['ab', 'yz'], { charOrder: 2 });
    expect(c.stats).toEqual([3, 4, 2, 1, 2, 1]);
    expect(c.score).toBeCloseTo((100 * 25) / 46, 10);
  });

  it('whitespace is removed by default', () => {
    expect(corpusChrf(['a bc'], ['ab c']).score).toBe(100);
    // with whitespace: "a bc" vs "ab c" share 1-grams a,b,c,' ' (4/4) and no longer n-gram;
    // orders 2..4 have hyp and ref n-grams with 0 matches, 5..6 have none -> effective order 4
    // avg P = avg R = (1 + 0 + 0 + 0)/4 = 0.25 -> 25
    expect(corpusChrf(['a bc'], ['ab c'], { whitespace: true }).score).toBeCloseTo(25, 10);
  });

  it('identical -> 100, empty hypotheses -> 0', () => {
    const s = ['The quick brown fox.', 'Hello, world!'];
    expect(corpusChrf(s, [s]).score).toBeCloseTo(100, 10);
    expect(corpusChrf(['', ''], [['a b', 'c d']]).score).toBe(0);
  });

  it('picks the reference with the best F-score per segment', () => {
    const c = corpusChrf(['the cat'], [['a dog'], ['the cat']]);
    expect(c.score).toBeCloseTo(100, 10);
  });

  it('lowercase, beta, eps smoothing', () => {
    expect(corpusChrf(['ABC'], ['abc']).score).toBe(0);
    expect(corpusChrf(['ABC'], ['abc'], { lowercase: true }).score).toBeCloseTo(100, 10);
    const c1 = corpusChrf(['abc'], ['abcd'], { charOrder: 2, beta: 1 });
    // F1 with P = 1, R = 17/24: 2 P R / (P + R) = (34/24) / (41/24) = 34/41
    expect(c1.score).toBeCloseTo((100 * 34) / 41, 10);
    expect(c1.name).toBe('chrF1');
    // eps smoothing: mean of per-order F2: order 1: 5*(1)(3/4)/(4 + 3/4) = 15/19; order 2: 5*(2/3)/(4 + 2/3) = 5/7
    const ce = corpusChrf(['abc'], ['abcd'], { charOrder: 2, epsSmoothing: true });
    expect(ce.score).toBeCloseTo((100 * (15 / 19 + 5 / 7)) / 2, 10);
    expect(ce.signature).toContain('eff:no');
  });

  it('chrfFScore on raw statistics', () => {
    expect(chrfFScore([3, 4, 3, 2, 3, 2], 2)).toBeCloseTo((100 * 85) / 113, 10);
    expect(chrfFScore([0, 0, 0], 2)).toBe(0);
  });

  it('counts code points, not UTF-16 units', () => {
    // '😀' is one character: hyp "a😀" vs ref "a😀": 1-grams 2, 2-grams 1 -> 100
    const c = corpusChrf(['a😀'], ['a😀'], { charOrder: 2 });
    expect(c.stats).toEqual([2, 2, 2, 1, 1, 1]);
  });
});

describe('sentenceChrf', () => {
  it('README sentences: 100.00, 35.35, 51.88', () => {
    expect(sentenceChrf(README_SYS[0]!, [README_REFS[0]![0]!, README_REFS[1]![0]!]).format()).toBe('chrF2 = 100.00');
    expect(sentenceChrf(README_SYS[1]!, [README_REFS[0]![1]!, README_REFS[1]![1]!]).format()).toBe('chrF2 = 35.35');
    expect(sentenceChrf(README_SYS[2]!, [README_REFS[0]![2]!, README_REFS[1]![2]!]).format()).toBe('chrF2 = 51.88');
  });
});

describe('bad arguments', () => {
  it('errors', () => {
    expect(() => corpusChrf(['a'], ['a'], { charOrder: 1.5 })).toThrow(RangeError);
    expect(() => corpusChrf(['a'], ['a'], { charOrder: 0, wordOrder: 0 })).toThrow(RangeError);
    expect(() => corpusChrf(['a'], ['a'], { beta: 0 })).toThrow(RangeError);
    expect(() => corpusChrf(['a'], ['a'], { beta: '2' as unknown as number })).toThrow(TypeError);
    expect(() => corpusChrf(['a'], ['a', 'b'])).toThrow(RangeError);
    expect(() => corpusChrf([1 as unknown as string], ['a'])).toThrow(
      'toroid.metrics.corpusChrf: hypotheses[0] must be a string, got number 1',
    );
    expect(() => sentenceChrf('a', [3 as unknown as string])).toThrow(TypeError);
  });
});
