import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectError } from '../helpers/expect-error.js';

const { F } = toroid;

describeEachBackend('crossEntropy rejects bad input', (backend) => {
  const logits = toroid.randn([4, 5], { backend });
  const target = toroid.tensor([0, 1, 4, 2], { dtype: 'int32', backend });

  it('logits or target that are not Tensors', () => {
    expectError(() => F.crossEntropy(new Float32Array(20) as never, target), TypeError, 'crossEntropy', 'logits', /must be a Tensor, got Float32Array\(20\)/);
    expectError(() => F.crossEntropy(logits, [0, 1, 4, 2] as never), TypeError, 'crossEntropy', 'target', /must be a Tensor, got array\(4\)/);
  });

  it('logits of an integer dtype', () => {
    expectError(() => F.crossEntropy(toroid.zeros([4, 5], { dtype: 'int32', backend }), target), TypeError, 'crossEntropy', 'logits',
      /must be float32 or float64, got int32 \[4,5\]/);
  });

  it('target that is not int32', () => {
    expectError(() => F.crossEntropy(logits, toroid.tensor([0, 1, 4, 2], { backend })), TypeError, 'crossEntropy', 'target', /must be int32, got float32 \[4\]/);
    expectError(() => F.crossEntropy(logits, toroid.zeros([4], { dtype: 'bool', backend })), TypeError, 'crossEntropy', 'target', /got bool \[4\]/);
  });

  it('disposed logits or target', () => {
    const goneLogits = toroid.randn([4, 5], { backend });
    goneLogits.dispose();
    expectError(() => F.crossEntropy(goneLogits, target), TypeError, 'crossEntropy', 'logits', /a live Tensor, got a disposed float32 \[4,5\]/);
    const goneTarget = toroid.tensor([0, 1, 4, 2], { dtype: 'int32', backend });
    goneTarget.dispose();
    expectError(() => F.crossEntropy(logits, goneTarget), TypeError, 'crossEntropy', 'target', /a live Tensor, got a disposed int32 \[4\]/);
  });

  it('target whose shape is not logits without its class dim', () => {
    expectError(() => F.crossEntropy(logits, toroid.tensor([0, 1, 2], { dtype: 'int32', backend })), RangeError, 'crossEntropy', 'target',
      /must be int32 \[4\] like logits without its class dim, got int32 \[3\]/);
    expectError(() => F.crossEntropy(logits, toroid.zeros([4, 1], { dtype: 'int32', backend })), RangeError, 'crossEntropy', 'target', /got int32 \[4,1\]/);
  });

  it('scalar logits', () => {
    expectError(() => F.crossEntropy(toroid.tensor(1, { backend }), toroid.tensor(0, { dtype: 'int32', backend })), RangeError, 'crossEntropy', 'logits',
      /must be float32 \[N,C\], got a scalar/);
  });

  it('target values outside [0, C)', () => {
    expectError(() => F.crossEntropy(logits, toroid.tensor([0, 5, 1, 1], { dtype: 'int32', backend })), RangeError, 'crossEntropy', 'target values',
      /must be in \[0, 5\) or ignoreIndex=-100, got 5 at index 1/);
    expectError(() => F.crossEntropy(logits, toroid.tensor([0, 1, 1, -1], { dtype: 'int32', backend })), RangeError, 'crossEntropy', 'target values', /got -1/);
  });

  it('labelSmoothing outside [0, 1] or not a number', () => {
    expectError(() => F.crossEntropy(logits, target, { labelSmoothing: 1.5 }), RangeError, 'crossEntropy', 'labelSmoothing', /must be a number in \[0, 1\], got 1\.5/);
    expectError(() => F.crossEntropy(logits, target, { labelSmoothing: -0.1 }), RangeError, 'crossEntropy', 'labelSmoothing', /got -0\.1/);
    expectError(() => F.crossEntropy(logits, target, { labelSmoothing: NaN }), RangeError, 'crossEntropy', 'labelSmoothing', /got NaN/);
    expectError(() => F.crossEntropy(logits, target, { labelSmoothing: '0.1' as never }), TypeError, 'crossEntropy', 'labelSmoothing', /must be a number, got "0\.1"/);
  });

  it('a bad reduction', () => {
    expectError(() => F.crossEntropy(logits, target, { reduction: 'avg' as never }), RangeError, 'crossEntropy', 'reduction',
      /must be one of 'mean', 'sum', 'none', got "avg"/);
    expectError(() => F.crossEntropy(logits, target, { reduction: 0 as never }), TypeError, 'crossEntropy', 'reduction', /got number 0/);
  });

  it('an ignoreIndex that is not an int32 integer', () => {
    expectError(() => F.crossEntropy(logits, target, { ignoreIndex: 1.5 }), RangeError, 'crossEntropy', 'ignoreIndex', /must be an integer in .*, got 1\.5/);
    expectError(() => F.crossEntropy(logits, target, { ignoreIndex: 2 ** 31 }), RangeError, 'crossEntropy', 'ignoreIndex', /got 2147483648/);
    expectError(() => F.crossEntropy(logits, target, { ignoreIndex: '-100' as never }), TypeError, 'crossEntropy', 'ignoreIndex', /must be an integer, got "-100"/);
  });

  it('unknown option keys and options that are not an object', () => {
    expectError(() => F.crossEntropy(logits, target, { ignore_index: 0 } as never), RangeError, 'crossEntropy', 'options',
      /must be an object with keys among \{ ignoreIndex, labelSmoothing, reduction \}, got unknown key 'ignore_index'/);
    expectError(() => F.crossEntropy(logits, target, 'mean' as never), TypeError, 'crossEntropy', 'options', /must be an object, got "mean"/);
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('a float64 target', () => {
    expectError(() => F.crossEntropy(logits, toroid.zeros([4], { dtype: 'float64', backend })), TypeError, 'crossEntropy', 'target', /must be int32, got float64 \[4\]/);
  });
});
