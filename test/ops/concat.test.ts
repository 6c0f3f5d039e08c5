import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { gradcheck, randLeaf } from '../helpers/gradcheck.js';

const { F } = toroid;

describeEachBackend('narrow, split and cat', (backend) => {
  it('narrow copies a slice along any dim', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]], { backend });
      expect(F.narrow(x, 1, 1, 2).toArray()).toEqual([[1, 2], [5, 6], [9, 10]]);
      expect(F.narrow(x, 0, 2, 1).toArray()).toEqual([[8, 9, 10, 11]]);
      expect(F.narrow(x, -1, 4, 0).shape).toEqual([3, 0]);
      const ids = toroid.tensor([[1, 2, 3]], { dtype: 'int32', backend });
      expect(F.narrow(ids, 1, 1, 2).toArray()).toEqual([[2, 3]]);
    });
  });

  it('split by chunk size and by sizes, and cat undoes it', () => {
    toroid.tidy(() => {
      const x = toroid.randn([2, 7, 3], { backend });
      const parts = F.split(x, 3, 1);
      expect(parts.map((p) => p.shape[1])).toEqual([3, 3, 1]);
      expect(Array.from(F.cat(parts, 1).toFloat32Array())).toEqual(Array.from(x.toFloat32Array()));
      const [a, b] = F.split(x, [5, 2], -2);
      expect(a!.shape).toEqual([2, 5, 3]);
      expect(Array.from(F.cat([a!, b!], 1).toFloat32Array())).toEqual(Array.from(x.toFloat32Array()));
    });
  });

  it('gradients route each piece back to its place', () => {
    toroid.tidy(() => {
      const x = toroid.randn([3, 6], { backend, requiresGrad: true });
      const [q, k, v] = F.split(x, 2, 1);
      const y = F.cat([v!, q!.mul(2)], 0);
      y.backward(toroid.ones(y.shape, { backend }));
      expect(x.grad!.toArray()).toEqual([[2, 2, 0, 0, 1, 1], [2, 2, 0, 0, 1, 1], [2, 2, 0, 0, 1, 1]]);
    });
  });
});

describe('narrow and cat gradients vs finite differences (float64, ts)', () => {
  it('narrow', () => gradcheck((x) => F.narrow(x!, 1, 1, 3), [randLeaf([2, 5, 2])]));
  it('cat', () => gradcheck((a, b) => F.cat([a!, b!], 2), [randLeaf([2, 3, 2]), randLeaf([2, 3, 4])]));
  it('split', () => gradcheck((x) => { const [a, b] = F.split(x!, [1, 3], 0); return F.cat([b!, a!.mul(3)], 0); }, [randLeaf([4, 3])]));
});

describe('narrow, split and cat bad inputs', () => {
  const x = toroid.zeros([2, 4]);
  const cases: Array<[string, () => unknown, ErrorConstructor, RegExp]> = [
    ['narrow non-tensor', () => F.narrow([1, 2] as unknown as toroid.Tensor, 0, 0, 1), TypeError, /toroid\.narrow: x must be/],
    ['narrow dim out of range', () => F.narrow(x, 2, 0, 1), RangeError, /toroid\.narrow: dim must be/],
    ['narrow start past the end', () => F.narrow(x, 1, 5, 0), RangeError, /toroid\.narrow: start must be an integer in \[0, 4\], got number 5/],
    ['narrow length too long', () => F.narrow(x, 1, 2, 3), RangeError, /toroid\.narrow: length must be an integer in \[0, 2\]/],
    ['narrow fractional start', () => F.narrow(x, 1, 0.5, 1), RangeError, /toroid\.narrow: start must be/],
    ['narrow scalar', () => F.narrow(toroid.tensor(1), 0, 0, 1), RangeError, /toroid\.narrow: x must be at least 1-D/],
    ['split sizes not summing', () => F.split(x, [1, 2], 1), RangeError, /toroid\.split: sizes must be sizes summing to 4/],
    ['split zero chunk', () => F.split(x, 0, 1), RangeError, /toroid\.split: sizes must be a positive integer/],
    ['split bad sizes type', () => F.split(x, 'a' as unknown as number, 1), TypeError, /toroid\.split: sizes must be/],
    ['split dim out of range', () => F.split(x, 1, -3), RangeError, /toroid\.split: dim must be/],
    ['split non-tensor', () => F.split(null as unknown as toroid.Tensor, 1), TypeError, /toroid\.split: x must be/],
    ['cat empty', () => F.cat([]), TypeError, /toroid\.cat: tensors must be a non-empty array/],
    ['cat shape mismatch', () => F.cat([x, toroid.zeros([3, 3])], 1), RangeError, /toroid\.cat: tensors\[1\] must be the shape of tensors\[0\] \[2,4\] except along dim 1, got \[3,3\]/],
    ['cat dtype mismatch', () => F.cat([x, toroid.zeros([2, 4], { dtype: 'int32' })], 0), TypeError, /toroid\.cat: tensors\[1\] must be float32 like tensors\[0\], got int32/],
    ['cat rank mismatch', () => F.cat([x, toroid.zeros([2, 4, 1])], 0), RangeError, /toroid\.cat: tensors\[1\] must be/],
    ['cat dim out of range', () => F.cat([x, x], 2), RangeError, /toroid\.cat: dim must be/],
    ['cat non-tensor element', () => F.cat([x, 3 as unknown as toroid.Tensor]), TypeError, /toroid\.cat: tensors\[1\] must be/],
  ];
  for (const [title, run, type, message] of cases) {
    it(title, () => {
      let error: unknown;
      try { run(); } catch (err) { error = err; }
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
    });
  }
});
