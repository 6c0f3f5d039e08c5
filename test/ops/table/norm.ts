// layerNorm and rmsNorm: F.layerNorm(x, normalizedShape, weight, bias, eps), F.rmsNorm(x, normalizedShape, weight, eps).
// x: [..., *normalizedShape], weight/bias: normalizedShape; statistics over the trailing nd dims.
import * as toroid from '../../../src/index.js';
import { supportsDType } from '../../helpers/backends.js';
import type { Rng } from '../../helpers/random.js';
import { benchRows, randShape, sizeOf, small } from './shapes.js';
import type { InputDef, InvalidCase, OpSpec } from './types.js';
import { bf16Tol } from './tolerance.js';

const { F } = toroid;

export interface NormParams {
  x: number[];
  /** how many trailing dims of x are normalized */
  nd: number;
  weight: boolean;
  bias: boolean;
  eps?: number;
  /** random cases: x ~ N(mu, sigma^2) (rows far from 0 test the two-pass statistics) */
  mu?: number;
  sigma?: number;
}

const normShape = (p: NormParams): number[] => p.x.slice(p.x.length - p.nd);

function normInputs(p: NormParams, withBias: boolean): InputDef[] {
  const C = normShape(p);
  const defs: InputDef[] = [{ name: 'x', shape: p.x, fill: (rng, n) => rng.randn(n, p.sigma ?? 1, p.mu ?? 0) }];
  if (p.weight) defs.push({ name: 'weight', shape: C, fill: (rng, n) => rng.randn(n, 0.5, 1) });
  if (withBias && p.bias) defs.push({ name: 'bias', shape: C, fill: (rng, n) => rng.randn(n, 0.5) });
  return defs;
}

/** Random shapes: mostly one normalized dim (tiny, around a vector width, or up to 1025), sometimes two. */
function randomNorm(rng: Rng): Pick<NormParams, 'x' | 'nd'> {
  const big = rng.bool(0.04);
  const normalized = rng.bool(0.7) ? [big ? rng.pick([255, 1000, 1025]) : small(rng, 70)] : [small(rng, 6), small(rng, 9)];
  return { x: [...randShape(rng, 0, 2, 5), ...normalized], nd: normalized.length };
}

/**
 * bf16: the statistics sum over C, dweight and dbias over the rows; and y = (x - mean) / std turns
 * x's rounding error u|x| into u|x|/std, so s is how large x is against its spread (a row at
 * 1000 +- 1 keeps almost nothing of its deviation in 8 bits).
 */
function normBf16Tol(p: NormParams, input: (name: string) => ArrayLike<number>) {
  const x = input('x'), C = sizeOf(normShape(p));
  let s = 1;
  for (let r = 0; r * C < x.length; r++) {
    let sum = 0, sq = 0, peak = 0;
    for (let j = r * C; j < (r + 1) * C; j++) { sum += x[j]!; sq += x[j]! * x[j]!; peak = Math.max(peak, Math.abs(x[j]!)); }
    const std = Math.sqrt(Math.max(sq / C - (sum / C) ** 2, 1e-30));
    s = Math.max(s, peak / std);
  }
  if (s > 32) return `x's spread is under 1/32 of its size: 8 bits keep almost nothing of it (max |x|/std = ${s.toFixed(0)})`;
  return bf16Tol(Math.max(C, x.length / C), s);
}

const ROWS = benchRows(512);
const FIXTURE_TOL = { atol: 1e-5, rtol: 1e-4 };

export const layerNorm: OpSpec<NormParams> = {
  name: 'layerNorm',
  inputs: (p) => normInputs(p, true),
  outShape: (p) => p.x,
  forward: (p, t) => F.layerNorm(t.x!, normShape(p), t.weight ?? null, t.bias ?? null, p.eps),
  dtypes: { float32: FIXTURE_TOL, float64: FIXTURE_TOL, bfloat16: normBf16Tol },
  fixture: {
    file: 'norm',
    select: (a) => a.op === 'layer_norm',
    params: (a, shapeOf) => {
      const x = shapeOf('x');
      const nd = (a.normalizedShape as number[]).length;
      return { x, nd, weight: a.hasWeight === true, bias: a.hasBias === true, eps: (a.eps as number | null) ?? undefined };
    },
  },
  gradcheck: [
    { title: 'with weight and bias', seed: 1, p: { x: [3, 5], nd: 1, weight: true, bias: true } },
    { title: 'without weight and bias, custom eps', seed: 2, p: { x: [2, 3, 4], nd: 1, weight: false, bias: false, eps: 1e-3 } },
    { title: 'with weight only', seed: 3, p: { x: [3, 4], nd: 1, weight: true, bias: false } },
    { title: 'with bias only', seed: 3, p: { x: [3, 4], nd: 1, weight: false, bias: true } },
    { title: 'over two trailing dims', seed: 4, p: { x: [2, 2, 3], nd: 2, weight: true, bias: true } },
    {
      title: 'of a near-constant row', seed: 5, p: { x: [2, 6], nd: 1, weight: true, bias: false },
      options: { h: 1e-7, atol: 1e-5, rtol: 1e-5 },
      leaf: {
        x: (shape) => toroid.tidy(() => {
          const leaf = toroid.randn([...shape], { dtype: 'float64', backend: 'ts' }).mul(1e-3).add(7).detach();
          leaf.requiresGrad = true;
          return leaf;
        }),
      },
    },
  ],
  consistency: {
    count: 200,
    random: (rng) => ({
      ...randomNorm(rng),
      weight: rng.bool(), bias: rng.bool(), eps: rng.pick([1e-5, 1e-5, 1e-6, 0.1]),
      mu: rng.pick([0, 0, 1, -3]), sigma: rng.pick([1, 1, 0.1, 3]),
    }),
    tolerance: (p, output) => {
      const C = sizeOf(normShape(p)), N = sizeOf(p.x) / C, cond = Math.abs(p.mu ?? 0) / (p.sigma ?? 1);
      if (output === 'dbias') return { K: N };
      return output === 'dweight' ? { K: N, cond } : { K: C, cond };
    },
  },
  invalid: (backend) => {
    const x = toroid.randn([2, 4], { backend });
    const w = toroid.ones([4], { backend });
    const b = toroid.zeros([4], { backend });
    const gone = toroid.randn([2, 4], { backend });
    gone.dispose();
    const goneW = toroid.ones([4], { backend });
    goneW.dispose();
    const cases: InvalidCase[] = [
      { title: 'x that is not a Tensor', call: () => F.layerNorm(new Float32Array(8) as never, 4), kind: TypeError, arg: 'x', detail: /must be a Tensor, got Float32Array\(8\)/ },
      { title: 'x that is null', call: () => F.layerNorm(null as never, 4), kind: TypeError, arg: 'x', detail: /got null/ },
      { title: 'x of an integer dtype', call: () => F.layerNorm(toroid.zeros([2, 4], { dtype: 'int32', backend }), 4), kind: TypeError, arg: 'x', detail: /must be float32, float64 or bfloat16, got int32 \[2,4\]/ },
      { title: 'a disposed x', call: () => F.layerNorm(gone, 4), kind: TypeError, arg: 'x', detail: /must be a live Tensor, got a disposed float32 \[2,4\]/ },
      { title: 'a disposed weight', call: () => F.layerNorm(x, 4, goneW), kind: TypeError, arg: 'weight', detail: /a live Tensor/ },
      { title: 'x whose trailing dim is not normalizedShape', call: () => F.layerNorm(x, 5), kind: RangeError, arg: 'x', detail: /must be \[\.\.\., 5\] ending in normalizedShape, got float32 \[2,4\]/ },
      { title: 'a normalizedShape longer than x', call: () => F.layerNorm(x, [2, 4, 1]), kind: RangeError, arg: 'x', detail: /ending in normalizedShape/ },
      { title: 'x whose trailing dims are not normalizedShape', call: () => F.layerNorm(x, [3, 4]), kind: RangeError, arg: 'x', detail: /\[\.\.\., 3,4\]/ },
      { title: 'an empty normalizedShape', call: () => F.layerNorm(x, []), kind: RangeError, arg: 'normalizedShape', detail: /got \[\]$/ },
      { title: 'a normalizedShape of 0', call: () => F.layerNorm(x, 0), kind: RangeError, arg: 'normalizedShape', detail: /a positive integer or a non-empty array of them, got 0$/ },
      { title: 'a fractional normalizedShape', call: () => F.layerNorm(x, [2.5]), kind: RangeError, arg: 'normalizedShape' },
      { title: 'a normalizedShape that is a string', call: () => F.layerNorm(x, '4' as never), kind: TypeError, arg: 'normalizedShape', detail: /got "4"/ },
      { title: 'weight of the wrong shape', call: () => F.layerNorm(x, 4, toroid.ones([5], { backend })), kind: RangeError, arg: 'weight', detail: /must be \[4\] like normalizedShape, got float32 \[5\]/ },
      { title: 'bias of the wrong shape', call: () => F.layerNorm(x, 4, w, toroid.zeros([1, 4], { backend })), kind: RangeError, arg: 'bias', detail: /must be \[4\] like normalizedShape, got float32 \[1,4\]/ },
      { title: 'weight that is not a Tensor', call: () => F.layerNorm(x, 4, [1, 1, 1, 1] as never), kind: TypeError, arg: 'weight', detail: /must be a Tensor, got array\(4\)/ },
      { title: 'bias of an integer dtype', call: () => F.layerNorm(x, 4, w, toroid.zeros([4], { dtype: 'int32', backend })), kind: TypeError, arg: 'bias', detail: /got int32 \[4\]/ },
      {
        title: 'weight of another float dtype than x', kind: TypeError, arg: 'weight', detail: /must be float32 like x, got float64/,
        skip: !supportsDType(backend, 'float64') && `${backend} has no float64`,
        call: () => F.layerNorm(x, 4, toroid.ones([4], { dtype: 'float64', backend }), b),
      },
      { title: 'a negative eps', call: () => F.layerNorm(x, 4, w, b, -1e-5), kind: RangeError, arg: 'eps', detail: /must be a non-negative number, got -0\.00001/ },
      { title: 'a NaN eps', call: () => F.layerNorm(x, 4, w, b, NaN), kind: RangeError, arg: 'eps', detail: /got NaN/ },
      { title: 'an eps that is not a number', call: () => F.layerNorm(x, 4, w, b, '1e-5' as never), kind: TypeError, arg: 'eps', detail: /must be a number, got "1e-5"/ },
    ];
    return cases;
  },
  bench: [{
    kernel: 'layernorm', torchOp: 'layernorm', attrs: { eps: 1e-5 }, torchNames: { weight: 'w', bias: 'b' }, ...ROWS,
    params: ({ N, C }) => ({ x: [N!, C!], nd: 1, weight: true, bias: true, eps: 1e-5 }),
  }],
};

export const rmsNorm: OpSpec<NormParams> = {
  name: 'rmsNorm',
  inputs: (p) => normInputs(p, false),
  outShape: (p) => p.x,
  forward: (p, t) => F.rmsNorm(t.x!, normShape(p), t.weight ?? null, p.eps),
  dtypes: { float32: FIXTURE_TOL, float64: FIXTURE_TOL, bfloat16: normBf16Tol },
  fixture: {
    file: 'norm',
    select: (a) => a.op === 'rms_norm',
    params: (a, shapeOf) => ({
      x: shapeOf('x'), nd: (a.normalizedShape as number[]).length, weight: a.hasWeight === true, bias: false,
      eps: (a.eps as number | null) ?? undefined,
    }),
  },
  gradcheck: [
    { title: 'with weight', seed: 6, p: { x: [3, 5], nd: 1, weight: true, bias: false, eps: 1e-5 } },
    { title: 'without weight, default eps, over two dims', seed: 7, p: { x: [2, 2, 3], nd: 2, weight: false, bias: false } },
  ],
  consistency: {
    count: 200,
    random: (rng) => ({
      ...randomNorm(rng),
      weight: rng.bool(), bias: false, eps: rng.pick([undefined, 1e-6, 1e-5]), sigma: rng.pick([1, 0.1, 3]),
    }),
    tolerance: (p, output) => {
      const C = sizeOf(normShape(p));
      return output === 'dweight' ? { K: sizeOf(p.x) / C } : { K: C };
    },
  },
  invalid: (backend) => {
    const x = toroid.randn([3, 6], { backend });
    const w = toroid.ones([6], { backend });
    const gone = toroid.randn([3, 6], { backend });
    gone.dispose();
    return [
      { title: 'x that is not a Tensor', call: () => F.rmsNorm([[1, 2]] as never, 2), kind: TypeError, arg: 'x', detail: /must be a Tensor, got array\(1\)/ },
      { title: 'x that is undefined', call: () => F.rmsNorm(undefined as never, 2), kind: TypeError, arg: 'x', detail: /got undefined/ },
      { title: 'x of an integer dtype', call: () => F.rmsNorm(toroid.zeros([3, 6], { dtype: 'int32', backend }), 6), kind: TypeError, arg: 'x', detail: /float32, float64 or bfloat16, got int32 \[3,6\]/ },
      { title: 'x of bool dtype', call: () => F.rmsNorm(toroid.zeros([3, 6], { dtype: 'bool', backend }), 6), kind: TypeError, arg: 'x', detail: /got bool \[3,6\]/ },
      { title: 'a disposed x', call: () => F.rmsNorm(gone, 6), kind: TypeError, arg: 'x', detail: /a live Tensor, got a disposed float32 \[3,6\]/ },
      { title: 'x whose trailing dim is not normalizedShape', call: () => F.rmsNorm(x, 3), kind: RangeError, arg: 'x', detail: /\[\.\.\., 3\] ending in normalizedShape, got float32 \[3,6\]/ },
      { title: 'x of lower rank than normalizedShape', call: () => F.rmsNorm(toroid.randn([6], { backend }), [1, 6]), kind: RangeError, arg: 'x', detail: /got float32 \[6\]/ },
      { title: 'a negative normalizedShape', call: () => F.rmsNorm(x, -6), kind: RangeError, arg: 'normalizedShape', detail: /got -6$/ },
      { title: 'a null normalizedShape', call: () => F.rmsNorm(x, null as never), kind: TypeError, arg: 'normalizedShape', detail: /got null/ },
      { title: 'weight of the wrong shape', call: () => F.rmsNorm(x, 6, toroid.ones([3], { backend })), kind: RangeError, arg: 'weight', detail: /must be \[6\] like normalizedShape, got float32 \[3\]/ },
      { title: 'weight that is not a Tensor', call: () => F.rmsNorm(x, 6, 1 as never), kind: TypeError, arg: 'weight', detail: /must be a Tensor, got number 1/ },
      { title: 'weight of an integer dtype', call: () => F.rmsNorm(x, 6, toroid.ones([6], { dtype: 'int32', backend })), kind: TypeError, arg: 'weight', detail: /got int32 \[6\]/ },
      { title: 'a negative eps', call: () => F.rmsNorm(x, 6, w, -1), kind: RangeError, arg: 'eps', detail: /must be a non-negative number, got -1/ },
      { title: 'a NaN eps', call: () => F.rmsNorm(x, 6, w, NaN), kind: RangeError, arg: 'eps', detail: /got NaN/ },
      { title: 'an eps that is not a number', call: () => F.rmsNorm(x, 6, w, null as never), kind: TypeError, arg: 'eps', detail: /must be a number, got null/ },
    ];
  },
  bench: [{
    kernel: 'rmsnorm', torchOp: 'rmsnorm', attrs: { eps: 1e-6 }, torchNames: { weight: 'w' }, ...ROWS,
    params: ({ N, C }) => ({ x: [N!, C!], nd: 1, weight: true, bias: false, eps: 1e-6 }),
  }],
};
