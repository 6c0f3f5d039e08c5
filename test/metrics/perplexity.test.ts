// toroid.metrics.perplexity, nllFromLogits, perplexityFromLogits.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { nllFromLogits, perplexity, perplexityFromLogits } from '../../src/metrics/index.js';

describe('perplexity', () => {
  it('is exp(mean NLL)', () => {
    expect(perplexity(0)).toBe(1);
    expect(perplexity(Math.log(2))).toBeCloseTo(2, 14);
    expect(perplexity(Math.log(50257))).toBeCloseTo(50257, 8);
    expect(() => perplexity(NaN)).toThrow(RangeError);
    expect(() => perplexity('1' as unknown as number)).toThrow(TypeError);
  });

  it('uniform logits over V classes give perplexity V', () => {
    // log-softmax of equal logits is -log V for every class
    const rows = [[3, 3, 3, 3], [0, 0, 0, 0]];
    expect(perplexityFromLogits(rows, [1, 2])).toBeCloseTo(4, 12);
  });

  it('hand-computed NLL and ignoreIndex', () => {
    // row 0: logits [0, ln 3] -> p(1) = 3/4 -> NLL = ln(4/3); row 1 ignored (-100)
    // row 2: logits [ln 3, 0] target 1 -> p = 1/4 -> NLL = ln 4
    const r = nllFromLogits([[0, Math.log(3)], [5, 5], [Math.log(3), 0]], [1, -100, 1]);
    expect(r.numTokens).toBe(2);
    expect(r.totalNll).toBeCloseTo(Math.log(4 / 3) + Math.log(4), 12);
    expect(r.meanNll).toBeCloseTo((Math.log(4 / 3) + Math.log(4)) / 2, 12);
    // exp(mean) = sqrt(4/3 * 4) = 2.3094
    expect(r.perplexity).toBeCloseTo(Math.sqrt(16 / 3), 12);
  });

  it('stable for large logits', () => {
    expect(perplexityFromLogits([[1000, 1000]], [0])).toBeCloseTo(2, 12);
  });

  it('accepts tensors [B, T, V] and targets [B, T]', () => {
    const logits = toroid.tensor([[[0, Math.log(3)], [Math.log(3), 0]]]);
    const targets = toroid.tensor([[1, 1]]);
    expect(perplexityFromLogits(logits, targets)).toBeCloseTo(Math.sqrt(16 / 3), 5);
    logits.dispose();
    targets.dispose();
  });

  it('bad arguments', () => {
    expect(() => nllFromLogits([[0, 0]], [2])).toThrow(RangeError);
    expect(() => nllFromLogits([[0, 0]], [0, 1])).toThrow(RangeError);
    expect(() => nllFromLogits([[0, 0], [0]], [0, 0])).toThrow(RangeError);
    expect(() => nllFromLogits(5 as unknown as number[][], [0])).toThrow(TypeError);
    expect(Number.isNaN(nllFromLogits([[0, 0]], [-100]).meanNll)).toBe(true);
  });
});
