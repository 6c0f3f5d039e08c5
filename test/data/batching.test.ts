// toroid.data.TokenBudgetSampler and paddingStats: budget, coverage, determinism,
// exact resume, padding efficiency, bad arguments.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';

const { TokenBudgetSampler, paddingStats } = toroid.data;

/** A deterministic spread of lengths (an LCG, independent of the code under test). */
function fakeLengths(n: number, seed = 7): { src: number; tgt: number }[] {
  let x = seed;
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
  return Array.from({ length: n }, () => {
    const src = 1 + Math.floor(next() * next() * 60);
    return { src, tgt: Math.max(1, Math.round(src * (0.7 + 0.6 * next()))) };
  });
}

function checkEpoch(batches: number[][], lengths: { src: number; tgt: number }[], maxTokens: number): void {
  const seen = new Uint8Array(lengths.length);
  for (const batch of batches) {
    expect(batch.length).toBeGreaterThan(0);
    const maxS = Math.max(...batch.map((i) => lengths[i]!.src));
    const maxT = Math.max(...batch.map((i) => lengths[i]!.tgt));
    expect(batch.length * maxS).toBeLessThanOrEqual(maxTokens);
    expect(batch.length * maxT).toBeLessThanOrEqual(maxTokens);
    for (const i of batch) seen[i]!++;
  }
  expect(seen.every((c) => c === 1)).toBe(true);
}

describe('data.TokenBudgetSampler', () => {
  const lengths = fakeLengths(3000);

  it('never exceeds the budget and yields every example exactly once per epoch', () => {
    const s = new TokenBudgetSampler(lengths, { maxTokens: 600, seed: 3 });
    for (let epoch = 0; epoch < 3; epoch++) {
      expect(s.state()).toEqual({ epoch, index: 0, seed: 3 });
      const batches = [...s];
      checkEpoch(batches, lengths, 600);
    }
    // also with a cap on examples, pools and single lengths
    const capped = new TokenBudgetSampler(lengths, { maxTokens: 600, seed: 3, maxBatchSize: 8, poolSize: 100 });
    const batches = [...capped];
    checkEpoch(batches, lengths, 600);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(8);
    const single = new TokenBudgetSampler(new Int32Array([5, 1, 3, 9, 2, 2, 8]), { maxTokens: 10, seed: 0 });
    checkEpoch([...single], [5, 1, 3, 9, 2, 2, 8].map((v) => ({ src: v, tgt: v })), 10);
  });

  it('is deterministic given the seed; epochs and seeds differ', () => {
    const a = new TokenBudgetSampler(lengths, { maxTokens: 600, seed: 11 });
    const b = new TokenBudgetSampler(lengths, { maxTokens: 600, seed: 11 });
    const c = new TokenBudgetSampler(lengths, { maxTokens: 600, seed: 12 });
    const a0 = [...a], a1 = [...a];
    expect([...b]).toEqual(a0);
    expect([...b]).toEqual(a1);
    expect(a1).not.toEqual(a0);
    expect([...c]).not.toEqual(a0);
    expect(a.epochBatches(0)).toEqual(a0);
    // the global generator does not move the data order, nor the data order the generator
    toroid.manualSeed(5);
    const rng = toroid.getRngState();
    const d = new TokenBudgetSampler(lengths, { maxTokens: 600, seed: 11 });
    expect([...d]).toEqual(a0);
    expect(toroid.getRngState()).toEqual(rng);
  });

  it('resumes exactly: k calls, save state, restore in a new sampler, the rest is identical (epoch ends included)', () => {
    const ref = new TokenBudgetSampler(lengths, { maxTokens: 500, seed: 99 });
    const perEpoch = ref.numBatches;
    const calls = 2 * (perEpoch + 1) + 3; // two epochs with their closing nulls, and into the third
    const full = Array.from({ length: calls }, () => ref.next());
    expect(full[perEpoch]).toBeNull();
    for (const k of [0, 1, 17, perEpoch - 1, perEpoch, perEpoch + 1, perEpoch + 6, calls - 1]) {
      const s = new TokenBudgetSampler(lengths, { maxTokens: 500, seed: 99 });
      const got = Array.from({ length: k }, () => s.next());
      const saved = JSON.parse(JSON.stringify(s.state())) as toroid.data.SamplerState;
      const t = new TokenBudgetSampler(lengths, { maxTokens: 500, seed: 1 }); // the seed comes from the state
      t.restore(saved);
      expect(t.state()).toEqual(saved);
      const rest = Array.from({ length: calls - k }, () => t.next());
      expect([...got, ...rest]).toEqual(full);
    }
    // for..of runs the rest of an epoch, then the next loop runs the next epoch
    const u = new TokenBudgetSampler(lengths, { maxTokens: 500, seed: 99 });
    u.restore({ epoch: 0, index: 17, seed: 99 });
    expect([...u]).toEqual(full.slice(17, perEpoch));
    expect(u.state()).toEqual({ epoch: 1, index: 0, seed: 99 });
    expect([...u]).toEqual(full.slice(perEpoch + 1, 2 * perEpoch + 1));
  });

  it('reports padding efficiency: length bucketing pads far less than random batches', () => {
    const s = new TokenBudgetSampler(lengths, { maxTokens: 1000, seed: 1 });
    const stats = s.stats();
    expect(stats.examples).toBe(3000);
    expect(stats.srcTokens).toBe(lengths.reduce((a, l) => a + l.src, 0));
    // random batches of the same count, for contrast
    const perm = [...lengths.keys()].sort((a, b) => ((a * 7919) % 3001) - ((b * 7919) % 3001));
    const size = Math.ceil(3000 / stats.batches);
    const random = [];
    for (let i = 0; i < perm.length; i += size) random.push(perm.slice(i, i + size).map((j) => lengths[j]!));
    const rnd = paddingStats(random);
    console.log(`padding efficiency: bucketed ${(100 * stats.efficiency).toFixed(1)}% over ${stats.batches} batches, random batches ${(100 * rnd.efficiency).toFixed(1)}%`);
    expect(stats.efficiency).toBeGreaterThan(0.85);
    expect(stats.efficiency).toBeGreaterThan(rnd.efficiency + 0.2);
  });

  it('oversize examples throw by default or are skipped on request', () => {
    expect(() => new TokenBudgetSampler([{ src: 3, tgt: 3 }, { src: 20, tgt: 4 }], { maxTokens: 10, seed: 0 }))
      .toThrow(/toroid\.TokenBudgetSampler: options\.maxTokens must be at least the length of every example \(or oversize: 'skip'\), got 10 while lengths\[1\] has length src 20, tgt 4/);
    const s = new TokenBudgetSampler([3, 20, 4], { maxTokens: 10, seed: 0, oversize: 'skip' });
    expect(s.skipped).toEqual([1]);
    expect([...s].flat().sort()).toEqual([0, 2]);
  });

  it('shuffle: false gives the sorted order, still deterministic', () => {
    const s = new TokenBudgetSampler([4, 1, 3, 2], { maxTokens: 4, seed: 0, shuffle: false });
    expect([...s]).toEqual([[1, 3], [2], [0]]);
  });
});

describe('data.TokenBudgetSampler bad arguments', () => {
  it('rejects bad lengths', () => {
    expect(() => new TokenBudgetSampler('abc' as never, { maxTokens: 10, seed: 0 })).toThrow(TypeError);
    expect(() => new TokenBudgetSampler([1, -2], { maxTokens: 10, seed: 0 })).toThrow(/lengths\[1\] must be a non-negative integer length, got -2/);
    expect(() => new TokenBudgetSampler([{ src: 1 } as never], { maxTokens: 10, seed: 0 })).toThrow(TypeError);
    expect(() => new TokenBudgetSampler([{ src: 1, tgt: 1.5 }], { maxTokens: 10, seed: 0 })).toThrow(RangeError);
  });
  it('requires options with maxTokens and an explicit seed', () => {
    expect(() => new TokenBudgetSampler([1], undefined as never)).toThrow(TypeError);
    expect(() => new TokenBudgetSampler([1], { maxTokens: 10 } as never)).toThrow(/options\.seed must be a number \(the shuffle seed must be given explicitly\), got undefined/);
    expect(() => new TokenBudgetSampler([1], { seed: 1 } as never)).toThrow(/options\.maxTokens must be a number/);
  });
  it('rejects bad maxTokens and seed values', () => {
    expect(() => new TokenBudgetSampler([1], { maxTokens: 0, seed: 0 })).toThrow(RangeError);
    expect(() => new TokenBudgetSampler([1], { maxTokens: 10, seed: -1 })).toThrow(RangeError);
    expect(() => new TokenBudgetSampler([1], { maxTokens: 10, seed: 0.5 })).toThrow(RangeError);
  });
  it('rejects bad maxBatchSize, poolSize, shuffle and oversize', () => {
    expect(() => new TokenBudgetSampler([1], { maxTokens: 10, seed: 0, maxBatchSize: 0 })).toThrow(RangeError);
    expect(() => new TokenBudgetSampler([1], { maxTokens: 10, seed: 0, poolSize: 0 })).toThrow(RangeError);
    expect(() => new TokenBudgetSampler([1], { maxTokens: 10, seed: 0, shuffle: 'yes' as never })).toThrow(TypeError);
    expect(() => new TokenBudgetSampler([1], { maxTokens: 10, seed: 0, oversize: 'drop' as never })).toThrow(/options\.oversize must be 'error' or 'skip', got "drop"/);
  });
  it('restore rejects bad states', () => {
    const s = new TokenBudgetSampler([1, 2, 3], { maxTokens: 3, seed: 0 });
    expect(() => s.restore(null as never)).toThrow(TypeError);
    expect(() => s.restore({ epoch: -1, index: 0, seed: 0 })).toThrow(RangeError);
    expect(() => s.restore({ epoch: 0, index: 99, seed: 0 })).toThrow(/toroid\.TokenBudgetSampler\.restore: state\.index must be at most the 3 batches of epoch 0, got 99/);
    expect(() => s.restore({ epoch: 0, index: 0 } as never)).toThrow(TypeError);
    expect(() => s.restore({ epoch: 0, index: 0.5, seed: 0 })).toThrow(RangeError);
    expect(() => s.epochBatches(-1)).toThrow(RangeError);
  });
});

describe('data.paddingStats', () => {
  it('counts real and padded tokens', () => {
    expect(paddingStats([[{ src: 2, tgt: 3 }, { src: 4, tgt: 1 }], [5]])).toEqual({
      batches: 2, examples: 3, srcTokens: 11, srcPadded: 13, tgtTokens: 9, tgtPadded: 11, efficiency: 20 / 24,
    });
    expect(paddingStats([]).efficiency).toBe(1);
  });
  it('bad arguments', () => {
    expect(() => paddingStats(5 as never)).toThrow(TypeError);
    expect(() => paddingStats([5] as never)).toThrow(/batches\[0\] must be an array of lengths, got number 5/);
    expect(() => paddingStats([[]])).toThrow(RangeError);
    expect(() => paddingStats([[-1]])).toThrow(RangeError);
    expect(() => paddingStats([['a' as never]])).toThrow(TypeError);
  });
});
