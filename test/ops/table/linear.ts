// linear and matmul: F.linear(x, weight, bias) = x @ weight^T + bias with x: [..., in], weight:
// [out, in], bias: [out] -> [..., out]; F.matmul(a, b) with a: [..., M, K], b: [..., K, N] and
// numpy broadcasting of the batch dims -> [..., M, N].
import * as toroid from '../../../src/index.js';
import { supportsDType } from '../../helpers/backends.js';
import { broadcastFrom, broadcastShape, randShape, sizeOf, small } from './shapes.js';
import type { InvalidCase, OpSpec } from './types.js';
import { bf16Tol } from './tolerance.js';

const { F } = toroid;

export interface LinearParams { x: number[]; out: number; bias: boolean }
export interface MatmulParams { a: number[]; b: number[]; scale?: number }

const TOL = { atol: 1e-5, rtol: 1e-4 };

export const linear: OpSpec<LinearParams> = {
  name: 'linear',
  inputs: (p) => {
    const inF = p.x[p.x.length - 1]!;
    return [
      { name: 'x', shape: p.x },
      { name: 'weight', shape: [p.out, inF], fill: (rng, n) => rng.randn(n, 0.5) },
      ...(p.bias ? [{ name: 'bias', shape: [p.out] }] : []),
    ];
  },
  outShape: (p) => [...p.x.slice(0, -1), p.out],
  forward: (_p, t) => F.linear(t.x!, t.weight!, t.bias ?? null),
  // y sums over in, dx over out, dweight over the rows of x
  dtypes: { float32: TOL, float64: TOL, bfloat16: (p) => bf16Tol(Math.max(p.x[p.x.length - 1]!, p.out, sizeOf(p.x.slice(0, -1)))) },
  fixture: {
    file: 'linear',
    select: (a) => a.op === 'linear',
    params: (a, shapeOf) => ({ x: shapeOf('x'), out: shapeOf('weight')[0]!, bias: a.hasBias === true }),
  },
  gradcheck: [
    { title: 'with bias (x, weight, bias)', seed: 80, p: { x: [3, 4], out: 5, bias: true } },
    { title: 'with a 3-D x, no bias', seed: 81, p: { x: [2, 3, 4], out: 2, bias: false } },
    { title: 'with a 1-D x', seed: 82, p: { x: [4], out: 3, bias: true } },
  ],
  consistency: {
    count: 200,
    random: (rng) => {
      const big = rng.bool(0.04);
      return {
        x: [...randShape(rng, 0, 2, 4), big ? rng.pick([63, 65, 130]) : small(rng, 9)],
        out: big ? rng.pick([1, 64, 127]) : small(rng, 9),
        bias: rng.bool(),
      };
    },
    tolerance: (p, output) => {
      const inF = p.x[p.x.length - 1]!, rows = sizeOf(p.x) / inF;
      return { y: { K: inF }, dx: { K: p.out } }[output] ?? { K: rows };
    },
  },
  invalid: (backend) => {
    const x = toroid.randn([2, 4], { backend });
    const w = toroid.randn([3, 4], { backend });
    const b = toroid.randn([3], { backend });
    const gone = toroid.randn([3, 4], { backend });
    gone.dispose();
    const goneX = toroid.randn([2, 4], { backend });
    goneX.dispose();
    const cases: InvalidCase[] = [
      { title: 'x, weight or bias that are not Tensors', call: () => F.linear(new Float32Array(8) as never, w), kind: TypeError, arg: 'x', detail: /must be a Tensor, got Float32Array\(8\)/ },
      { title: 'x, weight or bias that are not Tensors (2)', call: () => F.linear(x, [[1]] as never), kind: TypeError, arg: 'weight', detail: /must be a Tensor, got array\(1\)/ },
      { title: 'x, weight or bias that are not Tensors (3)', call: () => F.linear(x, w, 0.5 as never), kind: TypeError, arg: 'bias', detail: /must be a Tensor, got number 0\.5/ },
      { title: 'integer dtypes', call: () => F.linear(toroid.zeros([2, 4], { dtype: 'int32', backend }), w), kind: TypeError, arg: 'x', detail: /must be float32, float64 or bfloat16, got int32 \[2,4\]/ },
      { title: 'integer dtypes (2)', call: () => F.linear(x, toroid.zeros([3, 4], { dtype: 'int32', backend })), kind: TypeError, arg: 'weight', detail: /got int32 \[3,4\]/ },
      { title: 'integer dtypes (3)', call: () => F.linear(x, w, toroid.zeros([3], { dtype: 'bool', backend })), kind: TypeError, arg: 'bias', detail: /got bool \[3\]/ },
      { title: 'mixed float dtypes', call: () => F.linear(x, toroid.randn([3, 4], { dtype: 'float64', backend })), kind: TypeError, arg: 'weight', detail: /must be float32 like x, got float64/, skip: (!supportsDType(backend, 'float64')) && `${backend} cannot run it` },
      { title: 'mixed float dtypes (2)', call: () => F.linear(x, w, toroid.randn([3], { dtype: 'float64', backend })), kind: TypeError, arg: 'bias', detail: /must be float32 like x, got float64/, skip: (!supportsDType(backend, 'float64')) && `${backend} cannot run it` },
      { title: 'disposed inputs', call: () => F.linear(x, gone), kind: TypeError, arg: 'weight', detail: /a live Tensor, got a disposed float32 \[3,4\]/ },
      { title: 'disposed inputs (2)', call: () => F.linear(goneX, w), kind: TypeError, arg: 'x', detail: /a live Tensor, got a disposed float32 \[2,4\]/ },
      { title: 'weight whose in-features differ from x, or that is not 2-D', call: () => F.linear(x, toroid.randn([3, 5], { backend })), kind: RangeError, arg: 'weight', detail: /must be \[out, in\] with in=4 like x's last dim, got \[3,5\]/ },
      { title: 'weight whose in-features differ from x, or that is not 2-D (2)', call: () => F.linear(x, toroid.randn([4], { backend })), kind: RangeError, arg: 'weight', detail: /got \[4\]/ },
      { title: 'weight whose in-features differ from x, or that is not 2-D (3)', call: () => F.linear(x, toroid.randn([1, 3, 4], { backend })), kind: RangeError, arg: 'weight', detail: /got \[1,3,4\]/ },
      { title: 'bias that is not [out]', call: () => F.linear(x, w, toroid.randn([4], { backend })), kind: RangeError, arg: 'bias', detail: /must be \[out\] with out=3 like weight, got \[4\]/ },
      { title: 'bias that is not [out] (2)', call: () => F.linear(x, w, toroid.randn([1, 3], { backend })), kind: RangeError, arg: 'bias', detail: /got \[1,3\]/ },
      { title: 'a scalar x', call: () => F.linear(toroid.tensor(1, { backend }), w, b), kind: RangeError, arg: 'x', detail: /must be float32 \[\.\.\., in\], got float32 \[\]/ },
    ];
    return cases;
  },
  bench: (['fwd+bwd', 'fwd'] as const).map((mode) => ({
    kernel: 'linear', mode, torchOp: 'linear', attrs: {}, torchNames: { weight: 'w', bias: 'b' },
    full: { N: 2048, I: 512, O: 2048 }, check: { N: 67, I: 96, O: 130 }, scaleKey: 'N',
    shape: ({ N, I, O }) => `x[${N},${I}] W[${O},${I}] +b`,
    params: ({ N, I, O }) => ({ x: [N!, I!], out: O!, bias: true }),
    work: ({ N, I, O }) => ({ flops: (mode === 'fwd+bwd' ? 3 : 1) * 2 * N! * I! * O! }),
  })),
};

export const matmul: OpSpec<MatmulParams> = {
  name: 'matmul',
  inputs: (p) => [
    { name: 'a', shape: p.a, fill: (rng, n) => rng.randn(n, p.scale ?? 1) },
    { name: 'b', shape: p.b, fill: (rng, n) => rng.randn(n, p.scale ?? 1) },
  ],
  outShape: (p) => [...broadcastShape(p.a.slice(0, -2), p.b.slice(0, -2)), p.a[p.a.length - 2]!, p.b[p.b.length - 1]!],
  forward: (_p, t) => F.matmul(t.a!, t.b!),
  // y sums over K, da over N, db over M (and broadcast batch dims)
  dtypes: { float32: TOL, float64: TOL, bfloat16: (p) => bf16Tol(Math.max(p.a[p.a.length - 1]!, p.b[p.b.length - 1]!, sizeOf(p.a.slice(0, -1)), sizeOf(p.b.slice(0, -2)))) },
  fixture: {
    file: 'linear',
    select: (a) => a.op === 'matmul',
    params: (_a, shapeOf) => ({ a: shapeOf('a'), b: shapeOf('b') }),
  },
  gradcheck: ([
    ['2-D', [3, 4], [4, 2]],
    ['batched', [2, 3, 4], [2, 4, 2]],
    ['b broadcast over a batch', [2, 3, 4], [4, 2]],
    ['a broadcast over b batch', [3, 4], [2, 4, 2]],
    ['size-1 batch dims broadcast both ways', [2, 1, 2, 3], [3, 3, 2]],
  ] as Array<[string, number[], number[]]>).map(([name, a, b]) => ({ title: `${name}: [${a}] @ [${b}]`, seed: 83, p: { a, b } })),
  consistency: {
    count: 200,
    random: (rng) => {
      const batch = randShape(rng, 0, 3, 3);
      const big = rng.bool(0.04);
      const M = big ? rng.pick([63, 64, 65]) : small(rng, 9), K = big ? rng.pick([1, 127, 130]) : small(rng, 9), N = big ? rng.pick([63, 65]) : small(rng, 9);
      return { a: [...broadcastFrom(rng, batch), M, K], b: [...broadcastFrom(rng, batch), K, N], scale: rng.pick([0.1, 1, 10]) };
    },
    // a gradient sums over the other operand's free dim and over the batch dims it was broadcast along
    tolerance: (p, output) => {
      const M = p.a[p.a.length - 2]!, K = p.a[p.a.length - 1]!, N = p.b[p.b.length - 1]!;
      const outBatch = sizeOf(matmul.outShape(p)) / (M * N);
      if (output === 'da') return { K: N * outBatch / (sizeOf(p.a) / (M * K)) };
      if (output === 'db') return { K: M * outBatch / (sizeOf(p.b) / (K * N)) };
      return { K };
    },
  },
  invalid: (backend) => {
    const a = toroid.randn([2, 3, 4], { backend });
    const b = toroid.randn([2, 4, 5], { backend });
    const gone = toroid.randn([4, 5], { backend });
    gone.dispose();
    const goneA = toroid.randn([3, 4], { backend });
    goneA.dispose();
    const cases: InvalidCase[] = [
      { title: 'a or b that are not Tensors', call: () => F.matmul([[1]] as never, b), kind: TypeError, arg: 'a', detail: /must be a Tensor, got array\(1\)/ },
      { title: 'a or b that are not Tensors (2)', call: () => F.matmul(a, null as never), kind: TypeError, arg: 'b', detail: /must be a Tensor, got null/ },
      { title: 'integer dtypes', call: () => F.matmul(toroid.zeros([3, 4], { dtype: 'int32', backend }), b), kind: TypeError, arg: 'a', detail: /must be float32, float64 or bfloat16, got int32 \[3,4\]/ },
      { title: 'integer dtypes (2)', call: () => F.matmul(a, toroid.zeros([4, 5], { dtype: 'bool', backend })), kind: TypeError, arg: 'b', detail: /got bool \[4,5\]/ },
      { title: 'mixed float dtypes', call: () => F.matmul(a, toroid.randn([4, 5], { dtype: 'float64', backend })), kind: TypeError, arg: 'b', detail: /must be float32 like a, got float64/, skip: (!supportsDType(backend, 'float64')) && `${backend} cannot run it` },
      { title: 'disposed inputs', call: () => F.matmul(a, gone), kind: TypeError, arg: 'b', detail: /a live Tensor, got a disposed float32 \[4,5\]/ },
      { title: 'disposed inputs (2)', call: () => F.matmul(goneA, b), kind: TypeError, arg: 'a', detail: /a live Tensor/ },
      { title: '1-D operands', call: () => F.matmul(toroid.randn([4], { backend }), b), kind: RangeError, arg: 'a', detail: /must be at least 2-D \[\.\.\., M, K\], got float32 \[4\]/ },
      { title: '1-D operands (2)', call: () => F.matmul(a, toroid.randn([4], { backend })), kind: RangeError, arg: 'b', detail: /must be at least 2-D \[\.\.\., K, N\], got float32 \[4\]/ },
      { title: 'inner dims that differ', call: () => F.matmul(a, toroid.randn([2, 3, 5], { backend })), kind: RangeError, arg: 'b', detail: /must be \[\.\.\., K, N\] with K=4 like a's last dim, got \[2,3,5\]/ },
      { title: 'batch dims that do not broadcast', call: () => F.matmul(a, toroid.randn([3, 4, 5], { backend })), kind: RangeError, arg: 'b', detail: /must be batch dims broadcastable with a \[2,3,4\], got \[3,4,5\]/ },
      { title: 'batch dims that do not broadcast (2)', call: () => F.matmul(toroid.randn([2, 2, 3, 4], { backend }), toroid.randn([3, 4, 5], { backend })), kind: RangeError, arg: 'b', detail: /got \[3,4,5\]/ },
    ];
    return cases;
  },
  bench: [{
    kernel: 'sgemm', mode: 'fwd', torchOp: 'matmul', attrs: {},
    full: { M: 1024, K: 1024, N: 1024 }, check: { M: 127, K: 129, N: 131 }, scaleKey: 'M',
    shape: ({ M, K, N }) => `${M}x${K} @ ${K}x${N}`,
    params: ({ M, K, N }) => ({ a: [M!, K!], b: [K!, N!] }),
    work: ({ M, K, N }) => ({ flops: 2 * M! * N! * K! }),
  }],
};
