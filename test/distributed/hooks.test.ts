// The pieces of data-parallel training that need no second process: the
// post-accumulate-grad hooks the gradient buckets start from, and shard().
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { registerPostAccumulateGradHook } from '../../src/autograd/tape.js';
import { DistributedContext } from '../../src/distributed/context.js';
import type { Collective } from '../../src/distributed/collective.js';

describe('registerPostAccumulateGradHook', () => {
  it('fires once per leaf with its final gradient, early leaves before the backward ends', () => {
    toroid.tidy(() => {
      // y = ((x * w1) * w2) summed: w2's gradient is final before w1's and x's are computed
      const x = toroid.tensor([1, 2, 3], { requiresGrad: true });
      const w1 = toroid.tensor([0.5, -1, 2], { requiresGrad: true });
      const w2 = toroid.tensor([3, 4, 5], { requiresGrad: true });
      const events: Array<{ name: string; grad: number[]; w1Done: boolean }> = [];
      const removers = [['x', x], ['w1', w1], ['w2', w2]].map(([name, t]) =>
        registerPostAccumulateGradHook(t as toroid.Tensor, (leaf) => {
          events.push({ name: name as string, grad: Array.from(leaf.grad!.toFloat32Array()), w1Done: w1.grad !== null });
        }));
      const h = x.mul(w1);
      h.mul(w2).sum().backward();
      expect(events.map((e) => e.name)).toEqual(['w2', 'x', 'w1']);
      expect(events[0]!.w1Done).toBe(false);  // w2 was final while w1's gradient was still to come
      // each hook saw the gradient that backward() left
      expect(events.find((e) => e.name === 'w2')!.grad).toEqual(Array.from(w2.grad!.toFloat32Array()));
      expect(events.find((e) => e.name === 'w1')!.grad).toEqual([3, 8, 15]);
      expect(events.find((e) => e.name === 'x')!.grad).toEqual([1.5, -4, 10]);
      // a leaf used twice fires once, after both uses
      events.length = 0;
      x.grad = null;
      x.mul(w1).add(x.mul(w2)).sum().backward();
      expect(events.filter((e) => e.name === 'x')).toHaveLength(1);
      expect(events.find((e) => e.name === 'x')!.grad).toEqual([3.5, 3, 7]);
      for (const remove of removers) remove();
      events.length = 0;
      x.mul(w1).sum().backward();
      expect(events).toHaveLength(0);
    });
  });
});

describe('DistributedContext.shard', () => {
  const context = (rank: number, worldSize: number) => new DistributedContext({ rank, worldSize, localRank: rank } as Collective);

  it('splits a batch into contiguous slices whose sizes differ by at most one, covering it once', () => {
    for (const world of [1, 2, 3, 4, 7]) {
      for (const n of [0, 1, 2, 5, 6, 64, 65]) {
        const items = Array.from({ length: n }, (_, i) => i);
        const slices = Array.from({ length: world }, (_, r) => context(r, world).shard(items));
        expect(slices.flat()).toEqual(items);
        const sizes = slices.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('names its argument when it is not an array', () => {
    expect(() => context(0, 2).shard('abc' as unknown as string[])).toThrow(/toroid\.DistributedContext\.shard: items must be an array/);
  });
});
