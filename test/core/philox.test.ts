// Philox4x32-10 known answers (Random123's kat_vectors) and the global generator.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { blocksFor, philox4x32, PhiloxStream } from '../../src/random/philox.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';

function block(c: number[], k: number[]): number[] {
  const out = new Uint32Array(4);
  philox4x32(c[0]!, c[1]!, c[2]!, c[3]!, k[0]!, k[1]!, out);
  return Array.from(out);
}

describe('philox4x32-10 known-answer vectors', () => {
  it('counter 0, key 0', () => {
    expect(block([0, 0, 0, 0], [0, 0])).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  });

  it('counter and key all ones', () => {
    expect(block([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))
      .toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
  });

  it('counter and key from the digits of pi', () => {
    expect(block([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))
      .toEqual([0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });

  it('is a pure function of its inputs', () => {
    const a = block([1, 2, 3, 4], [5, 6]);
    expect(block([1, 2, 3, 4], [5, 6])).toEqual(a);
    expect(block([1, 2, 3, 5], [5, 6])).not.toEqual(a);
    expect(block([1, 2, 3, 4], [5, 7])).not.toEqual(a);
  });
});

describe('PhiloxStream', () => {
  it('element i reads word i % 4 of block offset + floor(i / 4), keyed by the seed halves', () => {
    const seed = (0x299f31d0n << 32n) | 0xa4093822n;
    const stream = new PhiloxStream(seed, 7);
    for (const i of [0, 1, 2, 3, 4, 9, 15]) {
      const n = 7 + Math.floor(i / 4);
      expect(stream.word(i)).toBe(block([n, 0, 0, 0], [0xa4093822, 0x299f31d0])[i % 4]);
    }
  });

  it('the block number splits into low and high counter words', () => {
    const big = 2 ** 32 + 5;
    const stream = new PhiloxStream(0n, big);
    expect(stream.word(2)).toBe(block([5, 1, 0, 0], [0, 0])[2]);
  });

  it('uniform takes the top 24 bits', () => {
    const stream = new PhiloxStream(0n, 0);
    for (let i = 0; i < 8; i++) expect(stream.uniform(i)).toBe((stream.word(i) >>> 8) / 16777216);
    // counter 0 key 0 word 0 is 0x6627e8d5
    expect(stream.uniform(0)).toBe(0x6627e8 / 16777216);
  });

  it('blocksFor rounds up to whole blocks', () => {
    expect(blocksFor(0)).toBe(0);
    expect(blocksFor(1)).toBe(1);
    expect(blocksFor(4)).toBe(1);
    expect(blocksFor(5)).toBe(2);
  });
});

describe('global generator state', () => {
  it('manualSeed sets the seed and resets the offset', () => {
    toroid.manualSeed(1234);
    expect(toroid.initialSeed()).toBe(1234n);
    expect(toroid.getRngState()).toEqual({ seed: 1234n, offset: 0 });
    toroid.manualSeed(2n ** 64n - 1n);
    expect(toroid.initialSeed()).toBe(2n ** 64n - 1n);
  });

  it('each random op advances the offset by its blocks', () => {
    toroid.manualSeed(5);
    toroid.tidy(() => {
      toroid.rand([10]);
      expect(toroid.getRngState().offset).toBe(3);
      toroid.randn([3]); // 2 words per element
      expect(toroid.getRngState().offset).toBe(3 + 2);
      toroid.F.dropout(toroid.ones([8]), 0.5);
      expect(toroid.getRngState().offset).toBe(5 + 2);
    });
  });

  it('rand draws the uniform stream at the current state (float64, ts)', () => {
    toroid.manualSeed(77);
    const stream = new PhiloxStream(77n, 0);
    toroid.tidy(() => {
      // float64 needs the ts backend (the default cpu backend has no float64)
      const r = toroid.rand([9], { dtype: 'float64', backend: 'ts' }).toTypedArray();
      for (let i = 0; i < 9; i++) expect(r[i]).toBe(stream.uniform(i));
    });
  });

  it('rand draws the uniform stream at the current state (float32, default backend)', () => {
    toroid.manualSeed(77);
    const stream = new PhiloxStream(77n, 0);
    toroid.tidy(() => {
      const r = toroid.rand([9]).toFloat32Array();
      for (let i = 0; i < 9; i++) expect(r[i]).toBe(Math.fround(stream.uniform(i)));
    });
  });
});

describeEachBackend('reproducibility', (backend) => {
  it('the same seed gives the same rand and randn', () => {
    toroid.tidy(() => {
      toroid.manualSeed(42);
      const a = toroid.rand([100], { backend }).toFloat32Array();
      const b = toroid.randn([100], { backend }).toFloat32Array();
      toroid.manualSeed(42);
      expect(toroid.rand([100], { backend }).toFloat32Array()).toEqual(a);
      expect(toroid.randn([100], { backend }).toFloat32Array()).toEqual(b);
    });
  });

  it('successive draws differ, and a different seed differs', () => {
    toroid.tidy(() => {
      toroid.manualSeed(42);
      const a = toroid.rand([100], { backend }).toFloat32Array();
      const b = toroid.rand([100], { backend }).toFloat32Array();
      expect(b).not.toEqual(a);
      toroid.manualSeed(43);
      expect(toroid.rand([100], { backend }).toFloat32Array()).not.toEqual(a);
    });
  });

  it('a bigint seed equals the same number seed', () => {
    toroid.tidy(() => {
      toroid.manualSeed(9);
      const a = toroid.randn([16], { backend }).toFloat32Array();
      toroid.manualSeed(9n);
      expect(toroid.randn([16], { backend }).toFloat32Array()).toEqual(a);
    });
  });

  it('getRngState / setRngState round-trip replays the next draws', () => {
    toroid.tidy(() => {
      toroid.manualSeed(3);
      toroid.rand([13], { backend });
      const state = toroid.getRngState();
      const a = toroid.randn([20], { backend }).toFloat32Array();
      const u = toroid.rand([7], { backend }).toFloat32Array();
      const after = toroid.getRngState();
      toroid.setRngState(state);
      expect(toroid.getRngState()).toEqual(state);
      expect(toroid.randn([20], { backend }).toFloat32Array()).toEqual(a);
      expect(toroid.rand([7], { backend }).toFloat32Array()).toEqual(u);
      expect(toroid.getRngState()).toEqual(after);
    });
  });

  it('getRngState returns a snapshot, not a live view', () => {
    toroid.manualSeed(3);
    const state = toroid.getRngState();
    toroid.tidy(() => toroid.rand([8], { backend }).dispose());
    expect(state).toEqual({ seed: 3n, offset: 0 });
    expect(toroid.getRngState().offset).toBe(2);
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('float32 and float64 rand share the stream', () => {
    toroid.tidy(() => {
      toroid.manualSeed(8);
      const a = toroid.rand([50], { backend }).toFloat32Array();
      toroid.manualSeed(8);
      const b = toroid.rand([50], { dtype: 'float64', backend }).toTypedArray();
      expect(a).toEqual(Float32Array.from(b));
    });
  });

  for (const dtype of ['float32', 'float64'] as const) {
    // backends without float64 (cpu) skip the float64 cases
    it.skipIf(!supportsDType(backend, dtype))(`rand is uniform in [0, 1) (${dtype})`, () => {
      toroid.tidy(() => {
        toroid.manualSeed(2024);
        const n = 100_000;
        const u = toroid.rand([n], { dtype, backend }).toTypedArray();
        let min = Infinity, max = -Infinity, sum = 0;
        const bins = new Array<number>(10).fill(0);
        for (const x of u) {
          min = Math.min(min, x);
          max = Math.max(max, x);
          sum += x;
          bins[Math.floor(x * 10)]!++;
        }
        expect(min).toBeGreaterThanOrEqual(0);
        expect(max).toBeLessThan(1);
        expect(min).toBeLessThan(0.001);
        expect(max).toBeGreaterThan(0.999);
        expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
        for (const b of bins) expect(Math.abs(b / n - 0.1)).toBeLessThan(0.01);
      });
    });

    it.skipIf(!supportsDType(backend, dtype))(`randn has mean about 0 and std about 1 over 100k samples (${dtype})`, () => {
      toroid.tidy(() => {
        toroid.manualSeed(2025);
        const n = 100_000;
        const z = toroid.randn([n], { dtype, backend }).toTypedArray();
        let sum = 0, sq = 0, within1 = 0, nonFinite = 0;
        for (const x of z) {
          if (!Number.isFinite(x)) nonFinite++;
          sum += x;
          sq += x * x;
          if (Math.abs(x) < 1) within1++;
        }
        expect(nonFinite).toBe(0);
        const mean = sum / n;
        const std = Math.sqrt(sq / n - mean * mean);
        expect(Math.abs(mean)).toBeLessThan(0.02);
        expect(Math.abs(std - 1)).toBeLessThan(0.02);
        // about 68.27% within one standard deviation
        expect(Math.abs(within1 / n - 0.6827)).toBeLessThan(0.01);
      });
    });
  }
});
