// A request for more memory than a backend or the machine can give fails before anything
// is allocated or drawn: a toroid RangeError naming the function and its shape, the
// generator where it was, toroid.memory() unchanged. Before, zeros([1e6, 1e6]) on ts was
// V8's "Invalid typed array length", and rand/randn advanced the generator, then failed.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';

const HUGE = [1e6, 1e6];

describeEachBackend('huge creation requests', (backend) => {
  for (const [name, make] of [
    ['zeros', () => toroid.zeros(HUGE, { backend })],
    ['ones', () => toroid.ones(HUGE, { backend })],
    ['full', () => toroid.full(HUGE, 2, { backend })],
    ['rand', () => toroid.rand(HUGE, { backend })],
    ['randn', () => toroid.randn(HUGE, { backend })],
    ['randn', () => toroid.randn([2 ** 41], { backend, dtype: 'bfloat16' })],
  ] as const) {
    it(`${name}: a RangeError naming shape, nothing allocated, the generator untouched`, () => {
      toroid.manualSeed(7);
      const before = toroid.memory();
      const rng = toroid.getRngState();
      expect(make).toThrow(RangeError);
      expect(make).toThrow(new RegExp(`^toroid\\.${name}: shape must be .*got \\[`));
      expect(toroid.getRngState()).toEqual(rng);
      expect(toroid.memory()).toEqual(before);
    });
  }

  it('a draw after a failed one equals the draw without it', () => {
    toroid.manualSeed(11);
    const expected = toroid.randn([5], { backend });
    toroid.manualSeed(11);
    expect(() => toroid.randn(HUGE, { backend })).toThrow(RangeError);
    const after = toroid.randn([5], { backend });
    expect(after.toFloat32Array()).toEqual(expected.toFloat32Array());
    expected.dispose();
    after.dispose();
  });
});

describe('huge creation requests: the ts backend states its limit', () => {
  it('2^32 elements (V8\'s longest typed array)', () => {
    expect(() => toroid.zeros([2 ** 32 + 1], { backend: 'ts' })).toThrow(/at most 2\^32 float32 elements on backend 'ts'/);
  });
});
