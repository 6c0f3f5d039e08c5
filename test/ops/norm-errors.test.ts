import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectError } from '../helpers/expect-error.js';

const { F } = toroid;

describeEachBackend('layerNorm rejects bad input', (backend) => {
  const x = toroid.randn([2, 4], { backend });
  const w = toroid.ones([4], { backend });
  const b = toroid.zeros([4], { backend });

  it('x that is not a Tensor', () => {
    expectError(() => F.layerNorm(new Float32Array(8) as never, 4), TypeError, 'layerNorm', 'x', /must be a Tensor, got Float32Array\(8\)/);
    expectError(() => F.layerNorm(null as never, 4), TypeError, 'layerNorm', 'x', /got null/);
  });

  it('x of an integer dtype', () => {
    expectError(() => F.layerNorm(toroid.zeros([2, 4], { dtype: 'int32', backend }), 4), TypeError, 'layerNorm', 'x',
      /must be float32 or float64, got int32 \[2,4\]/);
  });

  it('a disposed x or weight', () => {
    const gone = toroid.randn([2, 4], { backend });
    gone.dispose();
    expectError(() => F.layerNorm(gone, 4), TypeError, 'layerNorm', 'x', /must be a live Tensor, got a disposed float32 \[2,4\]/);
    const goneW = toroid.ones([4], { backend });
    goneW.dispose();
    expectError(() => F.layerNorm(x, 4, goneW), TypeError, 'layerNorm', 'weight', /a live Tensor/);
  });

  it('x whose trailing dims are not normalizedShape', () => {
    expectError(() => F.layerNorm(x, 5), RangeError, 'layerNorm', 'x', /must be \[\.\.\., 5\] ending in normalizedShape, got float32 \[2,4\]/);
    expectError(() => F.layerNorm(x, [2, 4, 1]), RangeError, 'layerNorm', 'x', /ending in normalizedShape/);
    expectError(() => F.layerNorm(x, [3, 4]), RangeError, 'layerNorm', 'x', /\[\.\.\., 3,4\]/);
  });

  it('a normalizedShape that is not positive integers', () => {
    expectError(() => F.layerNorm(x, []), RangeError, 'layerNorm', 'normalizedShape', /got \[\]$/);
    expectError(() => F.layerNorm(x, 0), RangeError, 'layerNorm', 'normalizedShape', /a positive integer or a non-empty array of them, got 0$/);
    expectError(() => F.layerNorm(x, [2.5]), RangeError, 'layerNorm', 'normalizedShape');
    expectError(() => F.layerNorm(x, '4' as never), TypeError, 'layerNorm', 'normalizedShape', /got "4"/);
  });

  it('weight or bias of the wrong shape', () => {
    expectError(() => F.layerNorm(x, 4, toroid.ones([5], { backend })), RangeError, 'layerNorm', 'weight',
      /must be \[4\] like normalizedShape, got float32 \[5\]/);
    expectError(() => F.layerNorm(x, 4, w, toroid.zeros([1, 4], { backend })), RangeError, 'layerNorm', 'bias',
      /must be \[4\] like normalizedShape, got float32 \[1,4\]/);
  });

  it('weight or bias that is not a float Tensor', () => {
    expectError(() => F.layerNorm(x, 4, [1, 1, 1, 1] as never), TypeError, 'layerNorm', 'weight', /must be a Tensor, got array\(4\)/);
    expectError(() => F.layerNorm(x, 4, w, toroid.zeros([4], { dtype: 'int32', backend })), TypeError, 'layerNorm', 'bias', /got int32 \[4\]/);
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('weight of another float dtype than x', () => {
    expectError(() => F.layerNorm(x, 4, toroid.ones([4], { dtype: 'float64', backend }), b), TypeError, 'layerNorm', 'weight',
      /must be float32 like x, got float64/);
  });

  it('an eps that is negative, NaN or not a number', () => {
    expectError(() => F.layerNorm(x, 4, w, b, -1e-5), RangeError, 'layerNorm', 'eps', /must be a non-negative number, got -0\.00001/);
    expectError(() => F.layerNorm(x, 4, w, b, NaN), RangeError, 'layerNorm', 'eps', /got NaN/);
    expectError(() => F.layerNorm(x, 4, w, b, '1e-5' as never), TypeError, 'layerNorm', 'eps', /must be a number, got "1e-5"/);
  });
});

describeEachBackend('rmsNorm rejects bad input', (backend) => {
  const x = toroid.randn([3, 6], { backend });
  const w = toroid.ones([6], { backend });

  it('x that is not a Tensor', () => {
    expectError(() => F.rmsNorm([[1, 2]] as never, 2), TypeError, 'rmsNorm', 'x', /must be a Tensor, got array\(1\)/);
    expectError(() => F.rmsNorm(undefined as never, 2), TypeError, 'rmsNorm', 'x', /got undefined/);
  });

  it('x of an integer or bool dtype', () => {
    expectError(() => F.rmsNorm(toroid.zeros([3, 6], { dtype: 'int32', backend }), 6), TypeError, 'rmsNorm', 'x', /float32 or float64, got int32 \[3,6\]/);
    expectError(() => F.rmsNorm(toroid.zeros([3, 6], { dtype: 'bool', backend }), 6), TypeError, 'rmsNorm', 'x', /got bool \[3,6\]/);
  });

  it('a disposed x', () => {
    const gone = toroid.randn([3, 6], { backend });
    gone.dispose();
    expectError(() => F.rmsNorm(gone, 6), TypeError, 'rmsNorm', 'x', /a live Tensor, got a disposed float32 \[3,6\]/);
  });

  it('x whose trailing dims are not normalizedShape', () => {
    expectError(() => F.rmsNorm(x, 3), RangeError, 'rmsNorm', 'x', /\[\.\.\., 3\] ending in normalizedShape, got float32 \[3,6\]/);
    expectError(() => F.rmsNorm(toroid.randn([6], { backend }), [1, 6]), RangeError, 'rmsNorm', 'x', /got float32 \[6\]/);
  });

  it('a normalizedShape that is not positive integers', () => {
    expectError(() => F.rmsNorm(x, -6), RangeError, 'rmsNorm', 'normalizedShape', /got -6$/);
    expectError(() => F.rmsNorm(x, null as never), TypeError, 'rmsNorm', 'normalizedShape', /got null/);
  });

  it('weight of the wrong shape or type', () => {
    expectError(() => F.rmsNorm(x, 6, toroid.ones([3], { backend })), RangeError, 'rmsNorm', 'weight', /must be \[6\] like normalizedShape, got float32 \[3\]/);
    expectError(() => F.rmsNorm(x, 6, 1 as never), TypeError, 'rmsNorm', 'weight', /must be a Tensor, got number 1/);
    expectError(() => F.rmsNorm(x, 6, toroid.ones([6], { dtype: 'int32', backend })), TypeError, 'rmsNorm', 'weight', /got int32 \[6\]/);
  });

  it('an eps that is negative, NaN or not a number', () => {
    expectError(() => F.rmsNorm(x, 6, w, -1), RangeError, 'rmsNorm', 'eps', /must be a non-negative number, got -1/);
    expectError(() => F.rmsNorm(x, 6, w, NaN), RangeError, 'rmsNorm', 'eps', /got NaN/);
    expectError(() => F.rmsNorm(x, 6, w, null as never), TypeError, 'rmsNorm', 'eps', /must be a number, got null/);
  });
});
