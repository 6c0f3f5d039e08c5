import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectError } from '../helpers/expect-error.js';

const { F } = toroid;

describeEachBackend('linear rejects bad input', (backend) => {
  const x = toroid.randn([2, 4], { backend });
  const w = toroid.randn([3, 4], { backend });
  const b = toroid.randn([3], { backend });

  it('x, weight or bias that are not Tensors', () => {
    expectError(() => F.linear(new Float32Array(8) as never, w), TypeError, 'linear', 'x', /must be a Tensor, got Float32Array\(8\)/);
    expectError(() => F.linear(x, [[1]] as never), TypeError, 'linear', 'weight', /must be a Tensor, got array\(1\)/);
    expectError(() => F.linear(x, w, 0.5 as never), TypeError, 'linear', 'bias', /must be a Tensor, got number 0\.5/);
  });

  it('integer dtypes', () => {
    expectError(() => F.linear(toroid.zeros([2, 4], { dtype: 'int32', backend }), w), TypeError, 'linear', 'x', /must be float32 or float64, got int32 \[2,4\]/);
    expectError(() => F.linear(x, toroid.zeros([3, 4], { dtype: 'int32', backend })), TypeError, 'linear', 'weight', /got int32 \[3,4\]/);
    expectError(() => F.linear(x, w, toroid.zeros([3], { dtype: 'bool', backend })), TypeError, 'linear', 'bias', /got bool \[3\]/);
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('mixed float dtypes', () => {
    expectError(() => F.linear(x, toroid.randn([3, 4], { dtype: 'float64', backend })), TypeError, 'linear', 'weight', /must be float32 like x, got float64/);
    expectError(() => F.linear(x, w, toroid.randn([3], { dtype: 'float64', backend })), TypeError, 'linear', 'bias', /must be float32 like x, got float64/);
  });

  it('disposed inputs', () => {
    const gone = toroid.randn([3, 4], { backend });
    gone.dispose();
    expectError(() => F.linear(x, gone), TypeError, 'linear', 'weight', /a live Tensor, got a disposed float32 \[3,4\]/);
    const goneX = toroid.randn([2, 4], { backend });
    goneX.dispose();
    expectError(() => F.linear(goneX, w), TypeError, 'linear', 'x', /a live Tensor, got a disposed float32 \[2,4\]/);
  });

  it('weight whose in-features differ from x, or that is not 2-D', () => {
    expectError(() => F.linear(x, toroid.randn([3, 5], { backend })), RangeError, 'linear', 'weight', /must be \[out, in\] with in=4 like x's last dim, got \[3,5\]/);
    expectError(() => F.linear(x, toroid.randn([4], { backend })), RangeError, 'linear', 'weight', /got \[4\]/);
    expectError(() => F.linear(x, toroid.randn([1, 3, 4], { backend })), RangeError, 'linear', 'weight', /got \[1,3,4\]/);
  });

  it('bias that is not [out]', () => {
    expectError(() => F.linear(x, w, toroid.randn([4], { backend })), RangeError, 'linear', 'bias', /must be \[out\] with out=3 like weight, got \[4\]/);
    expectError(() => F.linear(x, w, toroid.randn([1, 3], { backend })), RangeError, 'linear', 'bias', /got \[1,3\]/);
  });

  it('a scalar x', () => {
    expectError(() => F.linear(toroid.tensor(1, { backend }), w, b), RangeError, 'linear', 'x', /must be float32 \[\.\.\., in\], got float32 \[\]/);
  });
});

describeEachBackend('matmul rejects bad input', (backend) => {
  const a = toroid.randn([2, 3, 4], { backend });
  const b = toroid.randn([2, 4, 5], { backend });

  it('a or b that are not Tensors', () => {
    expectError(() => F.matmul([[1]] as never, b), TypeError, 'matmul', 'a', /must be a Tensor, got array\(1\)/);
    expectError(() => F.matmul(a, null as never), TypeError, 'matmul', 'b', /must be a Tensor, got null/);
  });

  it('integer dtypes', () => {
    expectError(() => F.matmul(toroid.zeros([3, 4], { dtype: 'int32', backend }), b), TypeError, 'matmul', 'a', /must be float32 or float64, got int32 \[3,4\]/);
    expectError(() => F.matmul(a, toroid.zeros([4, 5], { dtype: 'bool', backend })), TypeError, 'matmul', 'b', /got bool \[4,5\]/);
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('mixed float dtypes', () => {
    expectError(() => F.matmul(a, toroid.randn([4, 5], { dtype: 'float64', backend })), TypeError, 'matmul', 'b', /must be float32 like a, got float64/);
  });

  it('disposed inputs', () => {
    const gone = toroid.randn([4, 5], { backend });
    gone.dispose();
    expectError(() => F.matmul(a, gone), TypeError, 'matmul', 'b', /a live Tensor, got a disposed float32 \[4,5\]/);
    const goneA = toroid.randn([3, 4], { backend });
    goneA.dispose();
    expectError(() => F.matmul(goneA, b), TypeError, 'matmul', 'a', /a live Tensor/);
  });

  it('1-D operands', () => {
    expectError(() => F.matmul(toroid.randn([4], { backend }), b), RangeError, 'matmul', 'a', /must be at least 2-D \[\.\.\., M, K\], got float32 \[4\]/);
    expectError(() => F.matmul(a, toroid.randn([4], { backend })), RangeError, 'matmul', 'b', /must be at least 2-D \[\.\.\., K, N\], got float32 \[4\]/);
  });

  it('inner dims that differ', () => {
    expectError(() => F.matmul(a, toroid.randn([2, 3, 5], { backend })), RangeError, 'matmul', 'b', /must be \[\.\.\., K, N\] with K=4 like a's last dim, got \[2,3,5\]/);
  });

  it('batch dims that do not broadcast', () => {
    expectError(() => F.matmul(a, toroid.randn([3, 4, 5], { backend })), RangeError, 'matmul', 'b',
      /must be batch dims broadcastable with a \[2,3,4\], got \[3,4,5\]/);
    expectError(() => F.matmul(toroid.randn([2, 2, 3, 4], { backend }), toroid.randn([3, 4, 5], { backend })), RangeError, 'matmul', 'b', /got \[3,4,5\]/);
  });
});
