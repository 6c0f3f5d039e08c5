// crossEntropy: F.crossEntropy(logits, target, { ignoreIndex, labelSmoothing, reduction }).
// logits: [..., C] float, target: [...] int32 (class ids or ignoreIndex) -> loss: [] or [...] ('none').
import * as toroid from '../../../src/index.js';
import { supportsDType } from '../../helpers/backends.js';
import { maxAbs, sizeOf, small } from './shapes.js';
import type { InvalidCase, OpSpec } from './types.js';
import { bf16Tol } from './tolerance.js';

const { F } = toroid;

export interface CrossEntropyParams {
  /** the leading dims of logits (the target's shape) and the class count */
  lead: number[];
  C: number;
  labelSmoothing?: number;
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum' | 'none';
  /** random cases: the share of rows whose target is ignoreIndex, and the logits' scale */
  ignoredRows?: number;
  scale?: number;
}

function options(p: CrossEntropyParams): toroid.F.CrossEntropyOptions {
  const opts: toroid.F.CrossEntropyOptions = {};
  if (p.labelSmoothing !== undefined) opts.labelSmoothing = p.labelSmoothing;
  if (p.reduction !== undefined) opts.reduction = p.reduction;
  if (p.ignoreIndex !== undefined) opts.ignoreIndex = p.ignoreIndex;
  return opts;
}

const TOL = { atol: 1e-5, rtol: 1e-4 };

export const crossEntropy: OpSpec<CrossEntropyParams> = {
  name: 'crossEntropy',
  output: 'loss',
  inputs: (p) => [
    { name: 'logits', shape: [...p.lead, p.C], fill: (rng, n) => rng.randn(n, p.scale ?? 1) },
    {
      name: 'target', shape: p.lead, kind: 'int32', high: p.C,
      fill: (rng, n) => Int32Array.from({ length: n }, () => (rng.bool(p.ignoredRows ?? 0) ? (p.ignoreIndex ?? -100) : rng.int(0, p.C - 1))),
    },
  ],
  outShape: (p) => (p.reduction === 'none' ? p.lead : []),
  forward: (p, t) => F.crossEntropy(t.logits!, t.target!, options(p)),
  // the log-sum-exp sums over C; a mean or sum loss over the rows
  dtypes: { float32: TOL, float64: TOL, bfloat16: (p) => bf16Tol(Math.max(p.C, p.reduction === 'none' ? 1 : sizeOf(p.lead)), p.scale ?? 1) },
  fixture: {
    file: 'cross_entropy',
    select: () => true,
    params: (a, shapeOf) => {
      const logits = shapeOf('logits');
      return {
        lead: logits.slice(0, -1), C: logits[logits.length - 1]!,
        ignoreIndex: a.ignoreIndex as number, labelSmoothing: a.labelSmoothing as number, reduction: a.reduction as CrossEntropyParams['reduction'],
      };
    },
  },
  gradcheck: (['mean', 'sum', 'none'] as const).flatMap((reduction) => [
    ...[0, 0.2].map((labelSmoothing) => ({
      title: `reduction ${reduction}, labelSmoothing ${labelSmoothing}, with an ignored row`, seed: 60, scale: 2,
      p: { lead: [5], C: 4, reduction, labelSmoothing }, values: { target: [1, 3, -100, 0, 3] },
    })),
    {
      title: `reduction ${reduction}, [B,T,C] logits, custom ignoreIndex inside [0, C)`, seed: 61, scale: 2,
      p: { lead: [2, 3], C: 4, reduction, labelSmoothing: 0.1, ignoreIndex: 2 }, values: { target: [0, 1, 2, 2, 3, 0] },
    },
  ]),
  consistency: {
    count: 220,
    random: (rng) => {
      const lead = rng.bool(0.8) ? [small(rng, 20)] : [small(rng, 3), small(rng, 5)];
      const C = rng.pick([1, 2, small(rng, 10), rng.int(1, 300), rng.int(250, 300)]);
      return {
        lead, C,
        labelSmoothing: rng.pick([0, 0, 0.1, rng.range(0, 0.5), 1]),
        ignoreIndex: rng.pick([undefined, -100, -1, rng.int(0, C - 1)]),
        ignoredRows: rng.pick([0, 0.3, 1]),
        reduction: rng.pick(['mean', 'sum', 'none'] as const),
        scale: rng.pick([1, 3, 20]),
      };
    },
    tolerance: (p, output, data) => {
      const cond = maxAbs(data.logits!);
      if (output === 'loss') return { K: p.reduction === 'none' ? p.C : sizeOf(p.lead) * p.C, cond };
      return { K: p.C, cond };
    },
  },
  invalid: (backend) => {
    const logits = toroid.randn([4, 5], { backend });
    const target = toroid.tensor([0, 1, 4, 2], { dtype: 'int32', backend });
    const goneLogits = toroid.randn([4, 5], { backend });
    goneLogits.dispose();
    const goneTarget = toroid.tensor([0, 1, 4, 2], { dtype: 'int32', backend });
    goneTarget.dispose();
    const cases: InvalidCase[] = [
      { title: 'logits or target that are not Tensors', call: () => F.crossEntropy(new Float32Array(20) as never, target), kind: TypeError, arg: 'logits', detail: /must be a Tensor, got Float32Array\(20\)/ },
      { title: 'logits or target that are not Tensors (2)', call: () => F.crossEntropy(logits, [0, 1, 4, 2] as never), kind: TypeError, arg: 'target', detail: /must be a Tensor, got array\(4\)/ },
      { title: 'logits of an integer dtype', call: () => F.crossEntropy(toroid.zeros([4, 5], { dtype: 'int32', backend }), target), kind: TypeError, arg: 'logits', detail: /must be float32, float64 or bfloat16, got int32 \[4,5\]/ },
      { title: 'target that is not int32', call: () => F.crossEntropy(logits, toroid.tensor([0, 1, 4, 2], { backend })), kind: TypeError, arg: 'target', detail: /must be int32, got float32 \[4\]/ },
      { title: 'target that is not int32 (2)', call: () => F.crossEntropy(logits, toroid.zeros([4], { dtype: 'bool', backend })), kind: TypeError, arg: 'target', detail: /got bool \[4\]/ },
      { title: 'disposed logits or target', call: () => F.crossEntropy(goneLogits, target), kind: TypeError, arg: 'logits', detail: /a live Tensor, got a disposed float32 \[4,5\]/ },
      { title: 'disposed logits or target (2)', call: () => F.crossEntropy(logits, goneTarget), kind: TypeError, arg: 'target', detail: /a live Tensor, got a disposed int32 \[4\]/ },
      { title: 'target whose shape is not logits without its class dim', call: () => F.crossEntropy(logits, toroid.tensor([0, 1, 2], { dtype: 'int32', backend })), kind: RangeError, arg: 'target', detail: /must be int32 \[4\] like logits without its class dim, got int32 \[3\]/ },
      { title: 'target whose shape is not logits without its class dim (2)', call: () => F.crossEntropy(logits, toroid.zeros([4, 1], { dtype: 'int32', backend })), kind: RangeError, arg: 'target', detail: /got int32 \[4,1\]/ },
      { title: 'scalar logits', call: () => F.crossEntropy(toroid.tensor(1, { backend }), toroid.tensor(0, { dtype: 'int32', backend })), kind: RangeError, arg: 'logits', detail: /must be float32 \[N,C\], got a scalar/ },
      { title: 'target values outside [0, C)', call: () => F.crossEntropy(logits, toroid.tensor([0, 5, 1, 1], { dtype: 'int32', backend })), kind: RangeError, arg: 'target values', detail: /must be in \[0, 5\) or ignoreIndex=-100, got 5 at index 1/ },
      { title: 'target values outside [0, C) (2)', call: () => F.crossEntropy(logits, toroid.tensor([0, 1, 1, -1], { dtype: 'int32', backend })), kind: RangeError, arg: 'target values', detail: /got -1/ },
      { title: 'labelSmoothing outside [0, 1] or not a number', call: () => F.crossEntropy(logits, target, { labelSmoothing: 1.5 }), kind: RangeError, arg: 'labelSmoothing', detail: /must be a number in \[0, 1\], got 1\.5/ },
      { title: 'labelSmoothing outside [0, 1] or not a number (2)', call: () => F.crossEntropy(logits, target, { labelSmoothing: -0.1 }), kind: RangeError, arg: 'labelSmoothing', detail: /got -0\.1/ },
      { title: 'labelSmoothing outside [0, 1] or not a number (3)', call: () => F.crossEntropy(logits, target, { labelSmoothing: NaN }), kind: RangeError, arg: 'labelSmoothing', detail: /got NaN/ },
      { title: 'labelSmoothing outside [0, 1] or not a number (4)', call: () => F.crossEntropy(logits, target, { labelSmoothing: '0.1' as never }), kind: TypeError, arg: 'labelSmoothing', detail: /must be a number, got "0\.1"/ },
      { title: 'a bad reduction', call: () => F.crossEntropy(logits, target, { reduction: 'avg' as never }), kind: RangeError, arg: 'reduction', detail: /must be one of 'mean', 'sum', 'none', got "avg"/ },
      { title: 'a bad reduction (2)', call: () => F.crossEntropy(logits, target, { reduction: 0 as never }), kind: TypeError, arg: 'reduction', detail: /got number 0/ },
      { title: 'an ignoreIndex that is not an int32 integer', call: () => F.crossEntropy(logits, target, { ignoreIndex: 1.5 }), kind: RangeError, arg: 'ignoreIndex', detail: /must be an integer in .*, got 1\.5/ },
      { title: 'an ignoreIndex that is not an int32 integer (2)', call: () => F.crossEntropy(logits, target, { ignoreIndex: 2 ** 31 }), kind: RangeError, arg: 'ignoreIndex', detail: /got 2147483648/ },
      { title: 'an ignoreIndex that is not an int32 integer (3)', call: () => F.crossEntropy(logits, target, { ignoreIndex: '-100' as never }), kind: TypeError, arg: 'ignoreIndex', detail: /must be an integer, got "-100"/ },
      { title: 'unknown option keys and options that are not an object', call: () => F.crossEntropy(logits, target, { ignore_index: 0 } as never), kind: RangeError, arg: 'options', detail: /must be an object with keys among \{ ignoreIndex, labelSmoothing, reduction \}, got unknown key 'ignore_index'/ },
      { title: 'unknown option keys and options that are not an object (2)', call: () => F.crossEntropy(logits, target, 'mean' as never), kind: TypeError, arg: 'options', detail: /must be an object, got "mean"/ },
      { title: 'a float64 target', call: () => F.crossEntropy(logits, toroid.zeros([4], { dtype: 'float64', backend })), kind: TypeError, arg: 'target', detail: /must be int32, got float64 \[4\]/, skip: (!supportsDType(backend, 'float64')) && `${backend} cannot run it` },
    ];
    return cases;
  },
  bench: [{
    kernel: 'crossentropy', torchOp: 'crossentropy', attrs: { labelSmoothing: 0.1 },
    full: { N: 2048, V: 8000 }, check: { N: 67, V: 1000 }, scaleKey: 'N',
    shape: ({ N, V }) => `logits[${N},${V}] smoothing 0.1`,
    params: ({ N, V }) => ({ lead: [N!], C: V!, labelSmoothing: 0.1 }),
    // forward reads the logits; backward reads them again and writes dlogits
    work: ({ N, V }) => ({ bytes: 3 * N! * V! * 4 }),
  }],
};
