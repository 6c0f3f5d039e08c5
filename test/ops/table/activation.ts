// Activations: F.relu, F.gelu (erf, and { approximate: 'tanh' }), F.silu elementwise on any
// shape; F.swiglu(x) = silu(x[..., :F]) * x[..., F:] on x: [..., 2F] -> [..., F].
import * as toroid from '../../../src/index.js';
import { benchRows } from './shapes.js';
import type { Tensor } from '../../../src/index.js';
import type { Rng } from '../../helpers/random.js';
import { randShape, small } from './shapes.js';
import type { InvalidCase, OpSpec } from './types.js';
import { bf16Tol } from './tolerance.js';

const { F } = toroid;

export interface ActivationParams {
  x: number[];
  /** random cases: x ~ N(0, scale^2) */
  scale?: number;
}

/** Random data with exact zeros (relu's kink) and saturated tails. */
function activationInput(rng: Rng, n: number, scale: number): Float32Array {
  const x = rng.randn(n, scale);
  for (let i = 0; i < n; i++) if (rng.bool(0.1)) x[i] = rng.pick([0, -0, 20, -20, 60, -60, 1e-6, -1e-6]);
  return x;
}

/** A float64 leaf whose values keep at least `gap` away from 0 (relu's kink). */
function leafAwayFromZero(gap: number): (shape: readonly number[]) => Tensor {
  return (shape) => toroid.tidy(() => {
    const r = toroid.randn([...shape], { dtype: 'float64', backend: 'ts' }).toTypedArray() as Float64Array;
    return toroid.tensor(r.map((v) => (v >= 0 ? v + gap : v - gap)), { shape: [...shape], dtype: 'float64', backend: 'ts', requiresGrad: true });
  });
}

/** The argument checks relu, silu and gelu share. */
function unaryInvalid(op: (x: Tensor) => Tensor, backend: string): InvalidCase[] {
  const gone = toroid.randn([2, 3], { backend });
  gone.dispose();
  return [
    { title: 'x that is a typed array', call: () => op(new Float32Array(4) as never), kind: TypeError, arg: 'x', detail: /must be a Tensor, got Float32Array\(4\)/ },
    { title: 'x that is null', call: () => op(null as never), kind: TypeError, arg: 'x', detail: /must be a Tensor, got null/ },
    { title: 'x that is a number', call: () => op(3 as never), kind: TypeError, arg: 'x', detail: /got number 3/ },
    { title: 'x that is a tensor-like object', call: () => op({ dtype: 'float32', shape: [2] } as never), kind: TypeError, arg: 'x', detail: /must be a Tensor, got float32 \[2\]/ },
    { title: 'x of an int32 dtype', call: () => op(toroid.zeros([2, 3], { dtype: 'int32', backend })), kind: TypeError, arg: 'x', detail: /must be float32, float64 or bfloat16, got int32 \[2,3\]/ },
    { title: 'x of a bool dtype', call: () => op(toroid.zeros([4], { dtype: 'bool', backend })), kind: TypeError, arg: 'x', detail: /must be float32, float64 or bfloat16, got bool \[4\]/ },
    { title: 'a disposed x', call: () => op(gone), kind: TypeError, arg: 'x', detail: /must be a live Tensor, got a disposed float32 \[2,3\]/ },
  ];
}

const TOL = { atol: 1e-5, rtol: 1e-4 };

function elementwise(name: string, op: (x: Tensor) => Tensor, extra: Partial<OpSpec<ActivationParams>>): OpSpec<ActivationParams> {
  return {
    name,
    inputs: (p) => [{ name: 'x', shape: p.x, fill: (rng, n) => activationInput(rng, n, p.scale ?? 1) }],
    outShape: (p) => p.x,
    forward: (_p, t) => op(t.x!),
    // elementwise: one rounding of the input and one of the output
    dtypes: { float32: TOL, float64: TOL, bfloat16: (p) => bf16Tol(1, p.scale ?? 1) },
    fixture: { file: 'activation', select: (a) => a.op === name, params: (_a, shapeOf) => ({ x: shapeOf('x') }) },
    consistency: {
      count: 200,
      random: (rng) => {
        const big = rng.bool(0.03);
        return { x: big ? [rng.pick([1023, 4097, 20000])] : randShape(rng, 0, 4, 6), scale: rng.pick([1, 3, 10]) };
      },
      // relu selects or zeroes: the backends agree bit for bit
      tolerance: () => (name === 'relu' ? 'exact' : {}),
    },
    ...extra,
  };
}

export const relu = elementwise('relu', (x) => F.relu(x), {
  gradcheck: [{ title: 'away from 0', seed: 21, p: { x: [3, 7] }, leaf: { x: leafAwayFromZero(0.05) } }],
  invalid: (backend) => unaryInvalid((x) => F.relu(x), backend),
});

export const gelu = elementwise('gelu', (x) => F.gelu(x), {
  gradcheck: [
    { title: 'erf', seed: 22, scale: 2, p: { x: [4, 6] } },
    {
      title: 'in the erf tails (|x| > 2.5)', seed: 24, p: { x: [6] },
      leaf: { x: () => toroid.tensor([-6, -4, -2.7, 2.6, 3.5, 5], { dtype: 'float64', backend: 'ts', requiresGrad: true }) },
    },
  ],
  invalid: (backend) => {
    const x = toroid.randn([2, 3], { backend });
    return [
      ...unaryInvalid((t) => F.gelu(t), backend),
      { title: 'an unknown approximate string', call: () => F.gelu(x, { approximate: 'fast' as never }), kind: RangeError, arg: 'approximate', detail: /must be one of 'none', 'tanh', got "fast"/ },
      { title: 'an approximate that is not a string', call: () => F.gelu(x, { approximate: true as never }), kind: TypeError, arg: 'approximate', detail: /must be one of 'none', 'tanh', got boolean true/ },
      { title: 'an unknown option key', call: () => F.gelu(x, { approximation: 'tanh' } as never), kind: RangeError, arg: 'options', detail: /must be an object with keys among \{ approximate \}, got unknown key 'approximation'/ },
      { title: 'options that are a string', call: () => F.gelu(x, 'tanh' as never), kind: TypeError, arg: 'options', detail: /must be an object, got "tanh"/ },
      { title: 'options that are null', call: () => F.gelu(x, null as never), kind: TypeError, arg: 'options', detail: /got null/ },
    ];
  },
  bench: [{ kernel: 'gelu', torchOp: 'gelu', attrs: {}, ...benchRows(2048), params: ({ N, C }) => ({ x: [N!, C!] }) }],
});

export const geluTanh = elementwise('gelu_tanh', (x) => F.gelu(x, { approximate: 'tanh' }), {
  fn: 'gelu',
  gradcheck: [{ title: 'tanh', seed: 23, scale: 2, p: { x: [4, 6] } }],
  invalid: (backend) => [
    { title: 'a bad x with tanh', call: () => F.gelu(toroid.zeros([2], { dtype: 'int32', backend }), { approximate: 'tanh' }), kind: TypeError, arg: 'x', detail: /got int32 \[2\]/ },
  ],
});

export const silu = elementwise('silu', (x) => F.silu(x), {
  gradcheck: [{ title: 'of [3,2,5]', seed: 25, scale: 3, p: { x: [3, 2, 5] } }],
  invalid: (backend) => unaryInvalid((x) => F.silu(x), backend),
});

export const swiglu: OpSpec<ActivationParams> = {
  ...elementwise('swiglu', (x) => F.swiglu(x), {}),
  outShape: (p) => [...p.x.slice(0, -1), p.x[p.x.length - 1]! / 2],
  gradcheck: [
    { title: 'of [3,8]', seed: 26, scale: 2, p: { x: [3, 8] } },
    { title: 'of [2,2,2]', seed: 27, scale: 2, p: { x: [2, 2, 2] } },
  ],
  consistency: {
    count: 200,
    random: (rng) => {
      const big = rng.bool(0.03);
      return { x: big ? [rng.int(1, 3), 2 * rng.pick([511, 1024, 1025])] : [...randShape(rng, 0, 3, 5), 2 * small(rng, 9)], scale: rng.pick([1, 3, 10]) };
    },
    tolerance: () => ({}),
  },
  invalid: (backend) => {
    const gone = toroid.randn([2, 4], { backend });
    gone.dispose();
    return [
      { title: 'x that is not a Tensor', call: () => F.swiglu([1, 2] as never), kind: TypeError, arg: 'x', detail: /must be a Tensor, got array\(2\)/ },
      { title: 'x of an integer dtype', call: () => F.swiglu(toroid.zeros([2, 4], { dtype: 'int32', backend })), kind: TypeError, arg: 'x', detail: /must be float32, float64 or bfloat16, got int32 \[2,4\]/ },
      { title: 'a disposed x', call: () => F.swiglu(gone), kind: TypeError, arg: 'x', detail: /a live Tensor, got a disposed float32 \[2,4\]/ },
      { title: 'an odd last dim', call: () => F.swiglu(toroid.randn([2, 5], { backend })), kind: RangeError, arg: 'x', detail: /must be \[\.\.\., 2F\] with an even last dim, got \[2,5\]/ },
      { title: 'a last dim of 1', call: () => F.swiglu(toroid.randn([4, 1], { backend })), kind: RangeError, arg: 'x', detail: /got \[4,1\]/ },
      { title: 'a scalar x', call: () => F.swiglu(toroid.tensor(2, { backend })), kind: RangeError, arg: 'x', detail: /with an even last dim, got \[\]/ },
    ];
  },
};
