import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectError } from '../helpers/expect-error.js';

const { F } = toroid;

type Unary = (x: toroid.Tensor) => toroid.Tensor;

// relu, silu and gelu (without options) share the argument checks
const unary: Array<[string, Unary]> = [
  ['relu', (x) => F.relu(x)],
  ['gelu', (x) => F.gelu(x)],
  ['silu', (x) => F.silu(x)],
];

for (const [fn, op] of unary) {
  describeEachBackend(`${fn} rejects bad input`, (backend) => {
    it('x that is a typed array', () => {
      expectError(() => op(new Float32Array(4) as never), TypeError, fn, 'x', /must be a Tensor, got Float32Array\(4\)/);
    });

    it('x that is null, a number or a tensor-like object', () => {
      expectError(() => op(null as never), TypeError, fn, 'x', /must be a Tensor, got null/);
      expectError(() => op(3 as never), TypeError, fn, 'x', /got number 3/);
      expectError(() => op({ dtype: 'float32', shape: [2] } as never), TypeError, fn, 'x', /must be a Tensor, got float32 \[2\]/);
    });

    it('x of an int32 dtype', () => {
      expectError(() => op(toroid.zeros([2, 3], { dtype: 'int32', backend })), TypeError, fn, 'x', /must be float32 or float64, got int32 \[2,3\]/);
    });

    it('x of a bool dtype', () => {
      expectError(() => op(toroid.zeros([4], { dtype: 'bool', backend })), TypeError, fn, 'x', /must be float32 or float64, got bool \[4\]/);
    });

    it('a disposed x', () => {
      const gone = toroid.randn([2, 3], { backend });
      gone.dispose();
      expectError(() => op(gone), TypeError, fn, 'x', /must be a live Tensor, got a disposed float32 \[2,3\]/);
    });
  });
}

describeEachBackend('gelu rejects bad options', (backend) => {
  const x = toroid.randn([2, 3], { backend });

  it('an unknown approximate string', () => {
    expectError(() => F.gelu(x, { approximate: 'fast' as never }), RangeError, 'gelu', 'approximate', /must be one of 'none', 'tanh', got "fast"/);
  });

  it('an approximate that is not a string', () => {
    expectError(() => F.gelu(x, { approximate: true as never }), TypeError, 'gelu', 'approximate', /must be one of 'none', 'tanh', got boolean true/);
  });

  it('an unknown option key', () => {
    expectError(() => F.gelu(x, { approximation: 'tanh' } as never), RangeError, 'gelu', 'options', /must be an object with keys among \{ approximate \}, got unknown key 'approximation'/);
  });

  it('options that are not an object', () => {
    expectError(() => F.gelu(x, 'tanh' as never), TypeError, 'gelu', 'options', /must be an object, got "tanh"/);
    expectError(() => F.gelu(x, null as never), TypeError, 'gelu', 'options', /got null/);
  });

  it('a bad x with tanh', () => {
    expectError(() => F.gelu(toroid.zeros([2], { dtype: 'int32', backend }), { approximate: 'tanh' }), TypeError, 'gelu', 'x', /got int32 \[2\]/);
  });
});

describeEachBackend('swiglu rejects bad input', (backend) => {
  it('x that is not a Tensor', () => {
    expectError(() => F.swiglu([1, 2] as never), TypeError, 'swiglu', 'x', /must be a Tensor, got array\(2\)/);
  });

  it('x of an integer dtype', () => {
    expectError(() => F.swiglu(toroid.zeros([2, 4], { dtype: 'int32', backend })), TypeError, 'swiglu', 'x', /must be float32 or float64, got int32 \[2,4\]/);
  });

  it('a disposed x', () => {
    const gone = toroid.randn([2, 4], { backend });
    gone.dispose();
    expectError(() => F.swiglu(gone), TypeError, 'swiglu', 'x', /a live Tensor, got a disposed float32 \[2,4\]/);
  });

  it('an odd last dim', () => {
    expectError(() => F.swiglu(toroid.randn([2, 5], { backend })), RangeError, 'swiglu', 'x', /must be \[\.\.\., 2F\] with an even last dim, got \[2,5\]/);
    expectError(() => F.swiglu(toroid.randn([4, 1], { backend })), RangeError, 'swiglu', 'x', /got \[4,1\]/);
  });

  it('a scalar x', () => {
    expectError(() => F.swiglu(toroid.tensor(2, { backend })), RangeError, 'swiglu', 'x', /with an even last dim, got \[\]/);
  });
});
