import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectError } from '../helpers/expect-error.js';

const { F } = toroid;

describeEachBackend('embedding rejects bad input', (backend) => {
  const weight = toroid.randn([10, 4], { backend });
  const ids = toroid.tensor([1, 2, 3], { dtype: 'int32', backend });

  it('ids or weight that are not Tensors', () => {
    expectError(() => F.embedding([1, 2] as never, weight), TypeError, 'embedding', 'ids', /must be a Tensor, got array\(2\)/);
    expectError(() => F.embedding(ids, new Float32Array(40) as never), TypeError, 'embedding', 'weight', /must be a Tensor, got Float32Array\(40\)/);
  });

  it('ids that are not int32', () => {
    expectError(() => F.embedding(toroid.tensor([1, 2], { backend }), weight), TypeError, 'embedding', 'ids', /must be int32, got float32 \[2\]/);
    expectError(() => F.embedding(toroid.zeros([2], { dtype: 'bool', backend }), weight), TypeError, 'embedding', 'ids', /got bool \[2\]/);
  });

  it('weight of an integer dtype', () => {
    expectError(() => F.embedding(ids, toroid.zeros([10, 4], { dtype: 'int32', backend })), TypeError, 'embedding', 'weight',
      /must be float32 or float64, got int32 \[10,4\]/);
  });

  it('weight that is not [V,C]', () => {
    expectError(() => F.embedding(ids, toroid.randn([10], { backend })), RangeError, 'embedding', 'weight', /must be float32 \[V,C\], got float32 \[10\]/);
    expectError(() => F.embedding(ids, toroid.randn([2, 5, 4], { backend })), RangeError, 'embedding', 'weight', /got float32 \[2,5,4\]/);
  });

  it('disposed ids or weight', () => {
    const goneIds = toroid.tensor([1], { dtype: 'int32', backend });
    goneIds.dispose();
    expectError(() => F.embedding(goneIds, weight), TypeError, 'embedding', 'ids', /a live Tensor, got a disposed int32 \[1\]/);
    const goneWeight = toroid.randn([10, 4], { backend });
    goneWeight.dispose();
    expectError(() => F.embedding(ids, goneWeight), TypeError, 'embedding', 'weight', /a live Tensor, got a disposed float32 \[10,4\]/);
  });

  it('ids outside [0, V)', () => {
    expectError(() => F.embedding(toroid.tensor([1, 10], { dtype: 'int32', backend }), weight), RangeError, 'embedding', 'ids',
      /must be in \[0, 10\), got 10 at index 1/);
    expectError(() => F.embedding(toroid.tensor([[0], [-1]], { dtype: 'int32', backend }), weight), RangeError, 'embedding', 'ids', /got -1 at index 1/);
  });

  it('a paddingIdx outside [-V, V) or not an integer', () => {
    expectError(() => F.embedding(ids, weight, { paddingIdx: 10 }), RangeError, 'embedding', 'paddingIdx', /must be an integer in \[-10, 9\], got 10/);
    expectError(() => F.embedding(ids, weight, { paddingIdx: -11 }), RangeError, 'embedding', 'paddingIdx', /got -11/);
    expectError(() => F.embedding(ids, weight, { paddingIdx: 0.5 }), RangeError, 'embedding', 'paddingIdx', /got 0\.5/);
    expectError(() => F.embedding(ids, weight, { paddingIdx: '0' as never }), TypeError, 'embedding', 'paddingIdx', /must be an integer, got "0"/);
  });

  it('unknown option keys and options that are not an object', () => {
    expectError(() => F.embedding(ids, weight, { padding_idx: 0 } as never), RangeError, 'embedding', 'options',
      /must be an object with keys among \{ paddingIdx \}, got unknown key 'padding_idx'/);
    expectError(() => F.embedding(ids, weight, 0 as never), TypeError, 'embedding', 'options', /must be an object, got number 0/);
  });
});
