// topk: F.topk(x, k).values. x: any shape of rank >= 1, k in [0, last dim]; the values of the
// k largest along the last axis, best first, and their gradient scattered back (the indices
// and the order on ties: test/ops/topk.test.ts).
import * as toroid from '../../../src/index.js';
import { randShape } from './shapes.js';
import type { InvalidCase, OpSpec } from './types.js';

const { F } = toroid;

export interface TopKParams {
  x: number[];
  k: number;
}

function invalid(backend: string): InvalidCase[] {
  const x = toroid.randn([2, 3], { backend });
  return [
    { title: 'x that is not a Tensor', call: () => F.topk([1, 2] as never, 1), kind: TypeError, arg: 'x', detail: /must be a Tensor, got array\(2\)/ },
    { title: 'x of an integer dtype', call: () => F.topk(toroid.zeros([2, 3], { dtype: 'int32', backend }), 1), kind: TypeError, arg: 'x', detail: /must be float32, float64 or bfloat16, got int32 \[2,3\]/ },
    { title: 'a scalar x', call: () => F.topk(toroid.tensor(1, { backend }), 0), kind: RangeError, arg: 'x', detail: /must be at least 1-D, got a scalar/ },
    { title: 'k past the last axis', call: () => F.topk(x, 4), kind: RangeError, arg: 'k', detail: /must be an integer in \[0, 3\] \(the last axis\), got number 4/ },
    { title: 'a negative k', call: () => F.topk(x, -1), kind: RangeError, arg: 'k', detail: /got number -1/ },
    { title: 'a fractional k', call: () => F.topk(x, 1.5), kind: RangeError, arg: 'k', detail: /got number 1\.5/ },
    { title: 'k that is not a number', call: () => F.topk(x, '1' as never), kind: TypeError, arg: 'k', detail: /got "1"/ },
  ];
}

export const topk: OpSpec<TopKParams> = {
  name: 'topk',
  inputs: (p) => [{ name: 'x', shape: p.x }],
  outShape: (p) => [...p.x.slice(0, -1), p.k],
  forward: (p, t) => F.topk(t.x!, p.k).values,
  // values are copied, and each position's gradient is one dout value (or 0). Not bf16 here:
  // rounding the fixture's inputs to bf16 makes ties that reorder the selection (bf16 inputs
  // are checked against float32 on the same rounded values in test/ops/topk.test.ts)
  dtypes: { float32: { atol: 0, rtol: 0 }, float64: { atol: 0, rtol: 0 } },
  fixture: { file: 'topk', select: () => true, params: (a, shapeOf) => ({ x: shapeOf('x'), k: a.k as number }) },
  gradcheck: [
    { title: 'k 2 of [2,3,5]', seed: 90, p: { x: [2, 3, 5], k: 2 } },
    { title: 'k = the last axis of [4]', seed: 91, p: { x: [4], k: 4 } },
  ],
  consistency: {
    count: 200,
    random: (rng) => {
      const x = rng.bool(0.05) ? [rng.int(1, 4), rng.pick([1000, 8000])] : randShape(rng, 1, 3, 9);
      const n = x[x.length - 1]!;
      return { x, k: rng.pick([0, 1, Math.min(n, 3), n, rng.int(0, n)]) };
    },
    tolerance: () => 'exact',
  },
  invalid: (backend) => invalid(backend),
};
