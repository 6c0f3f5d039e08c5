import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';

const { F } = toroid;

function expectError(fn: () => unknown, kind: typeof TypeError | typeof RangeError, message: RegExp): void {
  expect(fn).toThrow(kind);
  expect(fn).toThrow(message);
}

describeEachBackend('scaledDotProductAttention rejects bad input', (backend) => {
  const make = (shape: number[], dtype: toroid.DType = 'float32'): toroid.Tensor =>
    dtype === 'bool' ? toroid.zeros(shape, { dtype, backend }) : toroid.randn(shape, { dtype, backend });
  const q = make([2, 4, 5, 8]);
  const k = make([2, 2, 7, 8]);
  const v = make([2, 2, 7, 8]);

  it('q that is not a Tensor', () => {
    expectError(() => F.scaledDotProductAttention(new Float32Array(8) as never, k, v), TypeError,
      /toroid\.scaledDotProductAttention: q must be a Tensor, got Float32Array\(8\)/);
  });

  it('q of the wrong rank', () => {
    expectError(() => F.scaledDotProductAttention(make([2, 4, 5]), k, v), RangeError,
      /toroid\.scaledDotProductAttention: q must be float32 \[B,h,Tq,d\], got float32 \[2,4,5\]/);
  });

  it('k whose head size differs from q', () => {
    expectError(() => F.scaledDotProductAttention(q, make([2, 4, 7, 6]), v), RangeError,
      /toroid\.scaledDotProductAttention: k must be \[B,hkv,Tk,d\] with B=2, d=8 and hkv dividing h=4, got \[2,4,7,6\]/);
  });

  it('k whose heads do not divide the query heads', () => {
    expectError(() => F.scaledDotProductAttention(q, make([2, 3, 7, 8]), make([2, 3, 7, 8])), RangeError,
      /k must be \[B,hkv,Tk,d\] .*hkv dividing h=4, got \[2,3,7,8\]/);
  });

  it('v unlike k', () => {
    expectError(() => F.scaledDotProductAttention(q, k, make([2, 2, 6, 8])), RangeError,
      /toroid\.scaledDotProductAttention: v must be \[B,hkv,Tk,d\] like k \[2,2,7,8\], got \[2,2,6,8\]/);
  });

  it('int32 q', () => {
    expectError(() => F.scaledDotProductAttention(toroid.zeros([2, 4, 5, 8], { dtype: 'int32', backend }), k, v), TypeError,
      /q must be float32 or float64, got int32 \[2,4,5,8\]/);
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('mixed float dtypes', () => {
    expectError(() => F.scaledDotProductAttention(q, make([2, 2, 7, 8], 'float64'), make([2, 2, 7, 8], 'float64')), TypeError,
      /k must be float32 like q, got float64/);
  });

  it('a disposed input', () => {
    const gone = make([2, 2, 7, 8]);
    gone.dispose();
    expectError(() => F.scaledDotProductAttention(q, gone, v), TypeError, /k must be a live Tensor, got a disposed float32 \[2,2,7,8\]/);
  });

  it('a key padding mask of the wrong shape or dtype', () => {
    expectError(() => F.scaledDotProductAttention(q, k, v, { keyPaddingMask: make([2, 5], 'bool') }), RangeError,
      /keyPaddingMask must be bool \[B,Tk\] with B=2, Tk=7, got bool \[2,5\]/);
    expectError(() => F.scaledDotProductAttention(q, k, v, { keyPaddingMask: make([2, 7]) }), TypeError,
      /keyPaddingMask must be bool, got float32 \[2,7\]/);
  });

  it('an attention mask that does not broadcast', () => {
    expectError(() => F.scaledDotProductAttention(q, k, v, { attnMask: make([5, 6], 'bool') }), RangeError,
      /attnMask must be bool or float32 \[Tq,Tk\] or \[1\|B,1\|h,Tq,Tk\] with B=2, h=4, Tq=5, Tk=7, got bool \[5,6\]/);
    expectError(() => F.scaledDotProductAttention(q, k, v, { attnMask: make([2, 3, 5, 7], 'bool') }), RangeError, /attnMask must be/);
  });

  it('bad options', () => {
    expectError(() => F.scaledDotProductAttention(q, k, v, { isCausal: 'yes' as never }), TypeError,
      /isCausal must be a boolean, 'top-left' or 'bottom-right', got "yes"/);
    expectError(() => F.scaledDotProductAttention(q, k, v, { scale: -1 }), RangeError, /scale must be a positive number, got -1/);
    expectError(() => F.scaledDotProductAttention(q, k, v, { dropoutP: 1 }), RangeError, /dropoutP must be a number in \[0, 1\), got 1/);
    expectError(() => F.scaledDotProductAttention(q, k, v, { causal: true } as never), RangeError, /options must be an object with keys among .*, got unknown key 'causal'/);
    expectError(() => F.scaledDotProductAttention(q, k, v, 3 as never), TypeError, /options must be an object, got number 3/);
  });
});
