// Binary arithmetic with numpy broadcasting (F.add/sub/mul/div: a, b -> broadcast(a, b)) and the
// reductions F.sum/F.mean(x, dims, keepDims).
import * as toroid from '../../../src/index.js';
import type { Tensor } from '../../../src/index.js';
import { broadcastFrom, broadcastShape, maxAbs, randShape, sizeOf } from './shapes.js';
import type { OpSpec } from './types.js';
import { bf16Tol } from './tolerance.js';

const { F } = toroid;

export interface BinaryParams { a: number[]; b: number[] }
export interface ReduceParams { x: number[]; dims?: number | number[] | null; keepDims?: boolean }

type BinaryOp = 'add' | 'sub' | 'mul' | 'div';

/** Deterministic values (not the Philox stream): a gradcheck leaf whose divisors keep away from 0. */
function detLeaf(seed: number, awayFromZero = false): (shape: readonly number[]) => Tensor {
  return (shape) => {
    const values = Array.from({ length: sizeOf(shape) }, (_, i) => {
      const v = Math.sin(seed * 12.9898 + i * 78.233) * 2;
      return awayFromZero ? Math.sign(v || 1) * (0.5 + Math.abs(v)) : v;
    });
    return toroid.tensor(Float64Array.from(values), { shape: [...shape], backend: 'ts', requiresGrad: true });
  };
}

const BROADCAST_CASES: Array<[number[], number[]]> = [
  [[2, 3], [2, 3]], [[2, 3], [3]], [[3], [2, 3]], [[2, 3], [2, 1]], [[2, 1, 4], [3, 1]],
  [[4, 1], [1, 5]], [[2, 3], []], [[], [2, 3]], [[1, 1, 2], [3, 2, 2]],
];

const TOL = { atol: 1e-5, rtol: 1e-4 };

function binary(op: BinaryOp): OpSpec<BinaryParams> {
  const div = op === 'div';
  return {
    name: op,
    inputs: (p) => [
      { name: 'a', shape: p.a, fill: (rng, n) => rng.randn(n, 2) },
      {
        // divisors keep away from 0
        name: 'b', shape: p.b,
        fill: (rng, n) => rng.randn(n, 2).map((v) => (div ? Math.sign(v || 1) * (0.5 + Math.abs(v)) : v)),
      },
    ],
    outShape: (p) => broadcastShape(p.a, p.b),
    forward: (_p, t) => F[op](t.a!, t.b!),
    // elementwise; a broadcast input's gradient sums over the broadcast dims
    dtypes: { float32: TOL, float64: TOL, bfloat16: (p) => bf16Tol(sizeOf(broadcastShape(p.a, p.b)) / Math.min(sizeOf(p.a), sizeOf(p.b))) },
    fixture: { file: 'elementwise', select: (a) => a.op === op, params: (_a, shapeOf) => ({ a: shapeOf('a'), b: shapeOf('b') }) },
    gradcheck: BROADCAST_CASES.map(([a, b]) => ({ title: `[${a}] with [${b}]`, seed: 0, p: { a, b }, leaf: { a: detLeaf(11), b: detLeaf(12, div) } })),
    consistency: {
      count: 200,
      random: (rng) => {
        const outShape = rng.bool(0.03) ? [rng.int(1, 3), rng.pick([1023, 4097])] : randShape(rng, 0, 4, 5);
        const a = broadcastFrom(rng, outShape), b = broadcastFrom(rng, outShape);
        // one side carries the full shape (either may)
        return rng.bool() ? { a: outShape, b } : { a, b: outShape };
      },
      // a broadcast input's gradient sums over the dims it was broadcast along
      tolerance: (p, output) => {
        const y = sizeOf(broadcastShape(p.a, p.b));
        return output === 'y' ? {} : { K: y / sizeOf(output === 'da' ? p.a : p.b) };
      },
    },
  };
}

export const add = binary('add');
export const sub = binary('sub');
export const mul = binary('mul');
export const div = binary('div');

/** The dims a reduction removes (all when dims is undefined or null). */
function axesOf(p: ReduceParams): number[] {
  const rank = p.x.length;
  if (p.dims === undefined || p.dims === null) return p.x.map((_, i) => i);
  if (rank === 0) return [];
  return (Array.isArray(p.dims) ? p.dims : [p.dims]).map((d) => (d + rank) % rank);
}

function reduction(op: 'sum' | 'mean'): OpSpec<ReduceParams> {
  return {
    name: op,
    inputs: (p) => [{ name: 'a', shape: p.x, fill: (rng, n) => rng.randn(n, 3) }],
    outShape: (p) => {
      const axes = axesOf(p);
      return p.keepDims ? p.x.map((s, i) => (axes.includes(i) ? 1 : s)) : p.x.filter((_, i) => !axes.includes(i));
    },
    forward: (p, t) => (op === 'sum' ? F.sum(t.a!, p.dims ?? undefined, p.keepDims) : F.mean(t.a!, p.dims ?? undefined, p.keepDims)),
    // sums over the reduced elements
    dtypes: { float32: TOL, float64: TOL, bfloat16: (p) => bf16Tol(sizeOf(p.x)) },
    fixture: {
      file: 'elementwise',
      select: (a) => a.op === op,
      params: (a, shapeOf) => ({ x: shapeOf('a'), dims: a.dims as number[] | null, keepDims: a.keepDims as boolean }),
    },
    consistency: {
      count: 200,
      random: (rng) => {
        const x = rng.bool(0.03) ? [rng.int(1, 4), rng.pick([1000, 4097])] : randShape(rng, 0, 4, 6);
        let dims: number | number[] | undefined;
        const mode = x.length === 0 ? rng.pick(['all', 'one']) : rng.pick(['all', 'one', 'one', 'some']);
        if (mode === 'one') dims = x.length === 0 ? rng.pick([0, -1]) : rng.int(-x.length, x.length - 1);
        else if (mode === 'some') dims = rng.permutation(x.length).slice(0, rng.int(1, x.length)).map((d) => (rng.bool(0.3) ? d - x.length : d));
        return { x, dims, keepDims: rng.bool() };
      },
      tolerance: (p, output, data) => {
        const K = sizeOf(p.x) / sizeOf(reductionSpecs[op].outShape(p));
        // a sum's gradient is a copy of dy (exact); sums that cancel: the terms' size, not the result's, sets the scale
        if (output === 'da') return op === 'sum' ? 'exact' : {};
        return { K, mag: maxAbs(data.a!) * (op === 'sum' ? Math.sqrt(K) : 1 / Math.sqrt(K)) };
      },
    },
  };
}

export const sum = reduction('sum');
export const mean = reduction('mean');
const reductionSpecs = { sum, mean };
