// embedding: F.embedding(ids, weight, { paddingIdx }). ids: [...] int32 in [0, V), weight: [V,C] -> [..., C].
// paddingIdx's row gets no gradient (negative counts from the end).
import { expect } from 'vitest';
import * as toroid from '../../../src/index.js';
import { randShape, sizeOf, small } from './shapes.js';
import type { InvalidCase, OpSpec } from './types.js';
import { bf16Tol } from './tolerance.js';

const { F } = toroid;

export interface EmbeddingParams {
  ids: number[];
  V: number;
  C: number;
  paddingIdx?: number | null;
}

/** paddingIdx as a row index, or -1 when there is none. */
const padRow = (p: EmbeddingParams): number => (p.paddingIdx === undefined || p.paddingIdx === null ? -1 : (p.paddingIdx + p.V) % p.V);

export const embedding: OpSpec<EmbeddingParams> = {
  name: 'embedding',
  inputs: (p) => [
    {
      // a quarter of the ids hit the padding row, when there is one
      name: 'ids', shape: p.ids, kind: 'int32', high: p.V,
      fill: (rng, n) => Int32Array.from({ length: n }, () => (padRow(p) >= 0 && rng.bool(0.25) ? padRow(p) : rng.int(0, p.V - 1))),
    },
    { name: 'weight', shape: [p.V, p.C] },
  ],
  outShape: (p) => [...p.ids, p.C],
  forward: (p, t) => F.embedding(t.ids!, t.weight!, p.paddingIdx === undefined ? undefined : { paddingIdx: p.paddingIdx }),
  // the backward sums the rows of repeated ids
  dtypes: { float32: { atol: 1e-5, rtol: 1e-4 }, float64: { atol: 1e-5, rtol: 1e-4 }, bfloat16: (p) => bf16Tol(sizeOf(p.ids)) },
  fixture: {
    file: 'embedding',
    select: () => true,
    params: (a, shapeOf) => {
      const [V, C] = shapeOf('weight') as [number, number];
      return { ids: shapeOf('ids'), V, C, paddingIdx: a.paddingIdx as number | null };
    },
  },
  gradcheck: [
    { title: 'weight gradient, repeated ids', seed: 70, p: { ids: [2, 3], V: 6, C: 4 }, values: { ids: [0, 3, 3, 5, 0, 2] } },
    { title: 'weight gradient with a paddingIdx that no id uses', seed: 71, p: { ids: [4], V: 5, C: 3, paddingIdx: 2 }, values: { ids: [4, 1, 1, 0] } },
    { title: 'weight gradient with a negative paddingIdx that no id uses', seed: 71, p: { ids: [4], V: 5, C: 3, paddingIdx: -2 }, values: { ids: [4, 1, 1, 0] } },
  ],
  consistency: {
    count: 200,
    random: (rng) => {
      const V = rng.pick([1, 2, small(rng, 10), rng.int(1, 60)]);
      return {
        V, C: rng.bool(0.05) ? rng.pick([255, 1025]) : small(rng, 16), ids: randShape(rng, 0, 3, 6),
        paddingIdx: rng.bool(0.5) ? rng.int(-V, V - 1) : undefined,
      };
    },
    // the forward copies rows (exact); a row's gradient sums as many terms as its id repeats
    tolerance: (_p, output, data) => {
      if (output === 'y') return 'exact';
      const counts = new Map<number, number>();
      for (const id of data.ids!) counts.set(id, (counts.get(id) ?? 0) + 1);
      return { K: Math.max(1, ...counts.values()) };
    },
    extra: (p, _data, out, label) => {
      const pad = padRow(p);
      if (pad >= 0) expect(Array.from(out.cpu.dweight!.subarray(pad * p.C, (pad + 1) * p.C)).every((v) => v === 0), `${label}: padding row`).toBe(true);
    },
  },
  invalid: (backend) => {
    const weight = toroid.randn([10, 4], { backend });
    const ids = toroid.tensor([1, 2, 3], { dtype: 'int32', backend });
    const goneIds = toroid.tensor([1], { dtype: 'int32', backend });
    goneIds.dispose();
    const goneWeight = toroid.randn([10, 4], { backend });
    goneWeight.dispose();
    const cases: InvalidCase[] = [
      { title: 'ids or weight that are not Tensors', call: () => F.embedding([1, 2] as never, weight), kind: TypeError, arg: 'ids', detail: /must be a Tensor, got array\(2\)/ },
      { title: 'ids or weight that are not Tensors (2)', call: () => F.embedding(ids, new Float32Array(40) as never), kind: TypeError, arg: 'weight', detail: /must be a Tensor, got Float32Array\(40\)/ },
      { title: 'ids that are not int32', call: () => F.embedding(toroid.tensor([1, 2], { backend }), weight), kind: TypeError, arg: 'ids', detail: /must be int32, got float32 \[2\]/ },
      { title: 'ids that are not int32 (2)', call: () => F.embedding(toroid.zeros([2], { dtype: 'bool', backend }), weight), kind: TypeError, arg: 'ids', detail: /got bool \[2\]/ },
      { title: 'weight of an integer dtype', call: () => F.embedding(ids, toroid.zeros([10, 4], { dtype: 'int32', backend })), kind: TypeError, arg: 'weight', detail: /must be float32, float64 or bfloat16, got int32 \[10,4\]/ },
      { title: 'weight that is not [V,C]', call: () => F.embedding(ids, toroid.randn([10], { backend })), kind: RangeError, arg: 'weight', detail: /must be float32 \[V,C\], got float32 \[10\]/ },
      { title: 'weight that is not [V,C] (2)', call: () => F.embedding(ids, toroid.randn([2, 5, 4], { backend })), kind: RangeError, arg: 'weight', detail: /got float32 \[2,5,4\]/ },
      { title: 'disposed ids or weight', call: () => F.embedding(goneIds, weight), kind: TypeError, arg: 'ids', detail: /a live Tensor, got a disposed int32 \[1\]/ },
      { title: 'disposed ids or weight (2)', call: () => F.embedding(ids, goneWeight), kind: TypeError, arg: 'weight', detail: /a live Tensor, got a disposed float32 \[10,4\]/ },
      { title: 'ids outside [0, V)', call: () => F.embedding(toroid.tensor([1, 10], { dtype: 'int32', backend }), weight), kind: RangeError, arg: 'ids', detail: /must be in \[0, 10\), got 10 at index 1/ },
      { title: 'ids outside [0, V) (2)', call: () => F.embedding(toroid.tensor([[0], [-1]], { dtype: 'int32', backend }), weight), kind: RangeError, arg: 'ids', detail: /got -1 at index 1/ },
      { title: 'a paddingIdx outside [-V, V) or not an integer', call: () => F.embedding(ids, weight, { paddingIdx: 10 }), kind: RangeError, arg: 'paddingIdx', detail: /must be an integer in \[-10, 9\], got 10/ },
      { title: 'a paddingIdx outside [-V, V) or not an integer (2)', call: () => F.embedding(ids, weight, { paddingIdx: -11 }), kind: RangeError, arg: 'paddingIdx', detail: /got -11/ },
      { title: 'a paddingIdx outside [-V, V) or not an integer (3)', call: () => F.embedding(ids, weight, { paddingIdx: 0.5 }), kind: RangeError, arg: 'paddingIdx', detail: /got 0\.5/ },
      { title: 'a paddingIdx outside [-V, V) or not an integer (4)', call: () => F.embedding(ids, weight, { paddingIdx: '0' as never }), kind: TypeError, arg: 'paddingIdx', detail: /must be an integer, got "0"/ },
      { title: 'unknown option keys and options that are not an object', call: () => F.embedding(ids, weight, { padding_idx: 0 } as never), kind: RangeError, arg: 'options', detail: /must be an object with keys among \{ paddingIdx \}, got unknown key 'padding_idx'/ },
      { title: 'unknown option keys and options that are not an object (2)', call: () => F.embedding(ids, weight, 0 as never), kind: TypeError, arg: 'options', detail: /must be an object, got number 0/ },
    ];
    return cases;
  },
  bench: [{
    kernel: 'embedding', torchOp: 'embedding', attrs: {},
    full: { V: 8000, C: 512, N: 2048 }, check: { V: 1000, C: 512, N: 67 }, scaleKey: 'N',
    shape: ({ V, C, N }) => `V=${V} C=${C} ids[${N}]`,
    params: ({ V, C, N }) => ({ ids: [N!], V: V!, C: C! }),
    // gather N rows (read + write), zero dW, scatter-add N rows (read dy, read + write dW)
    work: ({ V, C, N }) => ({ bytes: (5 * N! * C! + V! * C!) * 4 }),
  }],
};
