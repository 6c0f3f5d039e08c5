import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectError } from '../helpers/expect-error.js';

const { F } = toroid;

const ops: Array<[string, (x: toroid.Tensor, dim?: number) => toroid.Tensor]> = [
  ['softmax', (x, dim) => F.softmax(x, dim)],
  ['logSoftmax', (x, dim) => F.logSoftmax(x, dim)],
];

for (const [fn, op] of ops) {
  describeEachBackend(`${fn} rejects bad input`, (backend) => {
    const x = toroid.randn([2, 3], { backend });

    it('x that is not a Tensor', () => {
      expectError(() => op(new Float64Array(3) as never), TypeError, fn, 'x', /must be a Tensor, got Float64Array\(3\)/);
      expectError(() => op(undefined as never), TypeError, fn, 'x', /got undefined/);
    });

    it('x of an integer or bool dtype', () => {
      expectError(() => op(toroid.zeros([2, 3], { dtype: 'int32', backend })), TypeError, fn, 'x', /must be float32 or float64, got int32 \[2,3\]/);
      expectError(() => op(toroid.zeros([2, 3], { dtype: 'bool', backend })), TypeError, fn, 'x', /got bool \[2,3\]/);
    });

    it('a disposed x', () => {
      const gone = toroid.randn([2, 3], { backend });
      gone.dispose();
      expectError(() => op(gone, 0), TypeError, fn, 'x', /must be a live Tensor, got a disposed float32 \[2,3\]/);
    });

    it('a scalar x', () => {
      expectError(() => op(toroid.tensor(1, { backend })), RangeError, fn, 'x', /must be at least 1-D, got a scalar/);
    });

    it('a dim out of range', () => {
      expectError(() => op(x, 2), RangeError, fn, 'dim', /must be an integer in \[-2, 1\], got 2/);
      expectError(() => op(x, -3), RangeError, fn, 'dim', /got -3/);
    });

    it('a dim that is not an integer', () => {
      expectError(() => op(x, 0.5), RangeError, fn, 'dim', /must be an integer in \[-2, 1\], got 0\.5/);
      expectError(() => op(x, NaN), RangeError, fn, 'dim', /got NaN/);
    });
  });
}
