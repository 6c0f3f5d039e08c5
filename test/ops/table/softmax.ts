// softmax and logSoftmax: F.softmax(x, dim), F.logSoftmax(x, dim). x: any shape of rank >= 1.
import * as toroid from '../../../src/index.js';
import { benchRows } from './shapes.js';
import type { Tensor } from '../../../src/index.js';
import { maxAbs, randShape } from './shapes.js';
import type { InvalidCase, OpSpec } from './types.js';
import { bf16Tol } from './tolerance.js';

const { F } = toroid;

export interface SoftmaxParams {
  x: number[];
  dim?: number;
  /** random cases: x ~ N(0, scale^2) (large scales test the max subtraction) */
  scale?: number;
}

type SoftmaxFn = (x: Tensor, dim?: number) => Tensor;

function invalid(fn: string, op: SoftmaxFn, backend: string): InvalidCase[] {
  const x = toroid.randn([2, 3], { backend });
  const gone = toroid.randn([2, 3], { backend });
  gone.dispose();
  return [
    { title: 'x that is not a Tensor', call: () => op(new Float64Array(3) as never), kind: TypeError, arg: 'x', detail: /must be a Tensor, got Float64Array\(3\)/ },
    { title: 'x that is undefined', call: () => op(undefined as never), kind: TypeError, arg: 'x', detail: /got undefined/ },
    { title: 'x of an integer dtype', call: () => op(toroid.zeros([2, 3], { dtype: 'int32', backend })), kind: TypeError, arg: 'x', detail: /must be float32, float64 or bfloat16, got int32 \[2,3\]/ },
    { title: 'x of bool dtype', call: () => op(toroid.zeros([2, 3], { dtype: 'bool', backend })), kind: TypeError, arg: 'x', detail: /got bool \[2,3\]/ },
    { title: 'a disposed x', call: () => op(gone, 0), kind: TypeError, arg: 'x', detail: /must be a live Tensor, got a disposed float32 \[2,3\]/ },
    { title: 'a scalar x', call: () => op(toroid.tensor(1, { backend })), kind: RangeError, arg: 'x', detail: /must be at least 1-D, got a scalar/ },
    { title: 'a dim above the rank', call: () => op(x, 2), kind: RangeError, arg: 'dim', detail: /must be an integer in \[-2, 1\], got 2/ },
    { title: 'a dim below -rank', call: () => op(x, -3), kind: RangeError, arg: 'dim', detail: /got -3/ },
    { title: 'a fractional dim', call: () => op(x, 0.5), kind: RangeError, arg: 'dim', detail: /must be an integer in \[-2, 1\], got 0\.5/ },
    { title: 'a NaN dim', call: () => op(x, NaN), kind: RangeError, arg: 'dim', detail: /got NaN/ },
  ];
}

function softmaxSpec(name: 'softmax' | 'logSoftmax', fixtureOp: string, op: SoftmaxFn, seedBase: number): OpSpec<SoftmaxParams> {
  return {
    name,
    inputs: (p) => [{ name: 'x', shape: p.x, fill: (rng, n) => rng.randn(n, p.scale ?? 1) }],
    outShape: (p) => p.x,
    forward: (p, t) => op(t.x!, p.dim),
    // the normalizer (and the backward's dot) sum along dim
    dtypes: { float32: { atol: 1e-5, rtol: 1e-4 }, float64: { atol: 1e-5, rtol: 1e-4 }, bfloat16: (p) => bf16Tol(p.x[((p.dim ?? -1) + p.x.length) % p.x.length] ?? 1, p.scale ?? 1) },
    fixture: {
      file: 'softmax',
      select: (a) => a.op === fixtureOp,
      params: (a, shapeOf) => ({ x: shapeOf('x'), dim: a.dim as number }),
    },
    gradcheck: [
      ...[0, 1, 2, -1, -2].map((dim) => ({ title: `over dim ${dim} of [2,3,4]`, seed: seedBase + dim, scale: 2, p: { x: [2, 3, 4], dim } })),
      { title: 'of a 1-D input, large spread', seed: 50, scale: 5, p: { x: [6], dim: name === 'softmax' ? undefined : 0 } },
    ],
    consistency: {
      count: 200,
      random: (rng) => {
        const big = rng.bool(0.04);
        const x = big ? [rng.int(1, 3), rng.pick([1000, 1025, 4097])] : randShape(rng, 1, 4, 7);
        return { x, dim: big ? -1 : rng.int(-x.length, x.length - 1), scale: rng.pick([1, 5, 30]) };
      },
      tolerance: (p, _output, data) => {
        const dim = p.dim ?? -1;
        return { K: p.x[dim < 0 ? dim + p.x.length : dim]!, cond: maxAbs(data.x!) };
      },
    },
    invalid: (backend) => invalid(name, op, backend),
    bench: name === 'softmax'
      ? [{ kernel: 'softmax', torchOp: 'softmax', attrs: {}, ...benchRows(512), params: ({ N, C }) => ({ x: [N!, C!], dim: -1 }) }]
      : [],
  };
}

export const softmax = softmaxSpec('softmax', 'softmax', (x, dim) => F.softmax(x, dim), 30);
export const logSoftmax = softmaxSpec('logSoftmax', 'log_softmax', (x, dim) => F.logSoftmax(x, dim), 40);
