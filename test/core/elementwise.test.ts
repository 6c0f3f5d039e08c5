// add/sub/mul/div/scale, sum/mean, reshape/permute/transpose/cast: forward values against
// plain-JS references on every backend, gradients against finite differences (float64, ts).
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { gradcheck, randLeaf } from '../helpers/gradcheck.js';

const { F } = toroid;

// ---- plain-JS references over flat row-major arrays ----

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]!; }
  return s;
}

function unravel(e: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = e % shape[d]!; e = Math.floor(e / shape[d]!); }
  return idx;
}

function refBroadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = a[a.length - rank + i] ?? 1, db = b[b.length - rank + i] ?? 1;
    return da === 1 ? db : da;
  });
}

function refBinary(a: ArrayLike<number>, aShape: number[], b: ArrayLike<number>, bShape: number[], op: (x: number, y: number) => number): { data: number[]; shape: number[] } {
  const shape = refBroadcastShape(aShape, bShape);
  const read = (data: ArrayLike<number>, s: number[], idx: number[]): number => {
    const st = stridesOf(s);
    let off = 0;
    for (let d = 0; d < s.length; d++) {
      const i = idx[idx.length - s.length + d]!;
      off += (s[d] === 1 ? 0 : i) * st[d]!;
    }
    return data[off]!;
  };
  const data = Array.from({ length: sizeOf(shape) }, (_, e) => {
    const idx = unravel(e, shape);
    return op(read(a, aShape, idx), read(b, bShape, idx));
  });
  return { data, shape };
}

function refReduce(x: ArrayLike<number>, shape: number[], axes: number[], mean: boolean, keepDims: boolean): { data: number[]; shape: number[] } {
  const kept = shape.map((s, i) => (axes.includes(i) ? 1 : s));
  const out = new Array<number>(sizeOf(kept)).fill(0);
  const st = stridesOf(kept);
  for (let e = 0; e < sizeOf(shape); e++) {
    const idx = unravel(e, shape);
    let off = 0;
    idx.forEach((v, d) => { off += (axes.includes(d) ? 0 : v) * st[d]!; });
    out[off] += x[e]!;
  }
  const count = sizeOf(axes.map((a) => shape[a]!));
  return { data: mean ? out.map((v) => v / count) : out, shape: keepDims ? kept : shape.filter((_, i) => !axes.includes(i)) };
}

function refPermute(x: ArrayLike<number>, shape: number[], dims: number[]): { data: number[]; shape: number[] } {
  const outShape = dims.map((d) => shape[d]!);
  const inStrides = stridesOf(shape);
  const data = Array.from({ length: sizeOf(outShape) }, (_, e) => {
    const idx = unravel(e, outShape);
    let off = 0;
    idx.forEach((v, i) => { off += v * inStrides[dims[i]!]!; });
    return x[off]!;
  });
  return { data, shape: outShape };
}

/** Deterministic values, bounded away from zero when asked (for denominators). */
function values(n: number, seed: number, awayFromZero = false): number[] {
  return Array.from({ length: n }, (_, i) => {
    const v = Math.sin(seed * 12.9898 + i * 78.233) * 2;
    return awayFromZero ? Math.sign(v || 1) * (0.5 + Math.abs(v)) : v;
  });
}

/** A float64 leaf on ts with deterministic values (for gradcheck denominators). */
function leaf64(shape: number[], seed: number, awayFromZero = false): toroid.Tensor {
  return toroid.tensor(Float64Array.from(values(sizeOf(shape), seed, awayFromZero)), { shape, backend: 'ts', requiresGrad: true });
}

type Op = 'add' | 'sub' | 'mul' | 'div';
const OPS: Record<Op, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
};

const BROADCAST_CASES: Array<[number[], number[]]> = [
  [[2, 3], [2, 3]],
  [[2, 3], [3]],
  [[3], [2, 3]],
  [[2, 3], [2, 1]],
  [[2, 1, 4], [3, 1]],
  [[4, 1], [1, 5]],
  [[2, 3], []],
  [[], [2, 3]],
  [[1, 1, 2], [3, 2, 2]],
];

describeEachBackend('binary ops forward', (backend) => {
  for (const op of Object.keys(OPS) as Op[]) {
    for (const [aShape, bShape] of BROADCAST_CASES) {
      it(`${op} [${aShape}] with [${bShape}]`, () => {
        toroid.tidy(() => {
          const av = values(sizeOf(aShape), 1), bv = values(sizeOf(bShape), 2, op === 'div');
          const a = toroid.tensor(Float32Array.from(av), { shape: aShape, backend });
          const b = toroid.tensor(Float32Array.from(bv), { shape: bShape, backend });
          const ref = refBinary(Float32Array.from(av), aShape, Float32Array.from(bv), bShape, OPS[op]);
          const viaMethod = a[op](b);
          const viaF = F[op](a, b);
          expect(viaMethod.shape).toEqual(ref.shape);
          expect(viaMethod.dtype).toBe('float32');
          expectClose(viaMethod.toFloat32Array(), ref.data, undefined, op);
          expectClose(viaF.toFloat32Array(), ref.data, undefined, op);
        });
      });
    }
  }

  it('exact small cases by hand', () => {
    toroid.tidy(() => {
      const a = toroid.tensor([[1, 2, 3], [4, 5, 6]], { backend });
      const row = toroid.tensor([10, 20, 30], { backend });
      const col = toroid.tensor([[1], [2]], { backend });
      expect(a.add(row).toArray()).toEqual([[11, 22, 33], [14, 25, 36]]);
      expect(a.sub(col).toArray()).toEqual([[0, 1, 2], [2, 3, 4]]);
      expect(a.mul(col).toArray()).toEqual([[1, 2, 3], [8, 10, 12]]);
      expect(row.div(a).toArray()).toEqual([[10, 10, 10], [2.5, 4, 5]]);
      expect(col.add(row).toArray()).toEqual([[11, 21, 31], [12, 22, 32]]);
    });
  });

  it('number operands act as scalars (float32)', () => {
    toroid.tidy(() => {
      const a = toroid.tensor([1, 2, 4], { backend });
      expect(a.add(1).toArray()).toEqual([2, 3, 5]);
      expect(a.sub(0.5).toArray()).toEqual([0.5, 1.5, 3.5]);
      expect(a.mul(-2).toArray()).toEqual([-2, -4, -8]);
      expect(a.div(4).toArray()).toEqual([0.25, 0.5, 1]);
    });
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('number operands act as scalars (float64)', () => {
    toroid.tidy(() => {
      const d = toroid.tensor([1, 2], { dtype: 'float64', backend });
      const r = d.add(0.1);
      expect(r.dtype).toBe('float64');
      expect(Array.from(r.toTypedArray())).toEqual([1 + 0.1, 2 + 0.1]);
      expect(d.div(3).dtype).toBe('float64');
    });
  });

  it('scale multiplies by a factor', () => {
    toroid.tidy(() => {
      const a = toroid.tensor([[1, -2], [3, 0]], { backend });
      expect(F.scale(a, 2.5).toArray()).toEqual([[2.5, -5], [7.5, 0]]);
      expect(F.scale(a, 0).toArray()).toEqual([[0, -0], [0, 0]]);
    });
  });

  it('division follows IEEE rules', () => {
    toroid.tidy(() => {
      const a = toroid.tensor([1, -1, 0], { backend });
      const z = toroid.zeros([3], { backend });
      const r = a.div(z).toFloat32Array();
      expect(r[0]).toBe(Infinity);
      expect(r[1]).toBe(-Infinity);
      expect(Number.isNaN(r[2])).toBe(true);
    });
  });

  it('does not modify its inputs', () => {
    toroid.tidy(() => {
      const a = toroid.tensor([1, 2], { backend });
      const b = toroid.tensor([3, 4], { backend });
      a.add(b); a.sub(b); a.mul(b); a.div(b); F.scale(a, 3);
      expect(a.toArray()).toEqual([1, 2]);
      expect(b.toArray()).toEqual([3, 4]);
    });
  });
});

const REDUCE_CASES: Array<[number[], number | number[] | undefined, boolean]> = [
  [[2, 3], undefined, false],
  [[2, 3], undefined, true],
  [[2, 3], 0, false],
  [[2, 3], 1, true],
  [[2, 3], -1, false],
  [[2, 3, 4], [0, 2], false],
  [[2, 3, 4], [2, 0], true],
  [[2, 3, 4], [-1, -2], false],
  [[2, 3, 4], [0, 1, 2], true],
  [[5], 0, false],
];

describeEachBackend('sum and mean forward', (backend) => {
  for (const fn of ['sum', 'mean'] as const) {
    for (const [shape, dims, keepDims] of REDUCE_CASES) {
      it(`${fn} [${shape}] over ${JSON.stringify(dims)}${keepDims ? ' keepDims' : ''}`, () => {
        toroid.tidy(() => {
          const v = Float32Array.from(values(sizeOf(shape), 3));
          const x = toroid.tensor(v, { shape, backend });
          const axes = dims === undefined ? shape.map((_, i) => i)
            : (typeof dims === 'number' ? [dims] : dims).map((d) => (d < 0 ? d + shape.length : d));
          const ref = refReduce(v, shape, axes, fn === 'mean', keepDims);
          const y = x[fn](dims, keepDims);
          const z = F[fn](x, dims, keepDims);
          expect(y.shape).toEqual(ref.shape);
          expect(z.shape).toEqual(ref.shape);
          expectClose(y.toFloat32Array(), ref.data, undefined, fn);
          expectClose(z.toFloat32Array(), ref.data, undefined, fn);
        });
      });
    }
  }

  it('exact small cases by hand', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([[1, 2, 3], [4, 5, 6]], { backend });
      expect(x.sum().item()).toBe(21);
      expect(x.sum().shape).toEqual([]);
      expect(x.sum(0).toArray()).toEqual([5, 7, 9]);
      expect(x.sum(1, true).toArray()).toEqual([[6], [15]]);
      expect(x.mean().item()).toBe(3.5);
      expect(x.mean(1).toArray()).toEqual([2, 5]);
      expect(x.mean(0, true).toArray()).toEqual([[2.5, 3.5, 4.5]]);
      expect(x.sum(undefined, true).toArray()).toEqual([[21]]);
    });
  });

  it('a scalar reduces to itself', () => {
    toroid.tidy(() => {
      const s = toroid.tensor(4, { backend });
      expect(s.sum().item()).toBe(4);
      expect(s.mean().item()).toBe(4);
    });
  });

  it('mean of a scalar over dim 0 is the scalar', () => {
    toroid.tidy(() => {
      const s = toroid.tensor(4, { backend });
      expect(s.sum(0).item()).toBe(4);
      expect(s.mean(0).item()).toBe(4);
      // like PyTorch: dim -1 too, keepDims leaves it 0-d, and dim 1 is out of range
      expect(s.mean(-1).item()).toBe(4);
      expect(s.mean([0], true).shape).toEqual([]);
      expect(() => s.mean(1)).toThrow(RangeError);
      expect(() => s.sum(-2)).toThrow(RangeError);
    });
  });

  it('gradient of a scalar mean over dim 0', () => {
    toroid.tidy(() => {
      const s = toroid.tensor(4, { backend, requiresGrad: true });
      s.mean(0).backward();
      expect(s.grad!.item()).toBe(1);
    });
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('float64 stays float64', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([0.1, 0.2, 0.3], { dtype: 'float64', backend });
      const s = x.sum();
      expect(s.dtype).toBe('float64');
      expect(s.item()).toBe(0.1 + 0.2 + 0.3);
    });
  });
});

describeEachBackend('layout ops forward', (backend) => {
  it('reshape keeps row-major order and infers -1', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([1, 2, 3, 4, 5, 6], { backend });
      expect(x.reshape([2, 3]).toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
      expect(x.reshape([3, -1]).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
      expect(x.reshape([-1, 1, 2]).shape).toEqual([3, 1, 2]);
      expect(F.reshape(x, [6]).toArray()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(toroid.tensor([7], { backend }).reshape([]).shape).toEqual([]);
      expect(toroid.tensor(7, { backend }).reshape([1, 1]).toArray()).toEqual([[7]]);
      expect(toroid.zeros([0, 3], { backend }).reshape([3, 0]).shape).toEqual([3, 0]);
    });
  });

  it('reshape works on int32 and bool', () => {
    toroid.tidy(() => {
      const i = toroid.tensor([1, 2, 3, 4], { dtype: 'int32', backend }).reshape([2, 2]);
      expect(i.dtype).toBe('int32');
      expect(i.toArray()).toEqual([[1, 2], [3, 4]]);
      const b = toroid.tensor([1, 0], { dtype: 'bool', backend }).reshape([2, 1]);
      expect(b.dtype).toBe('bool');
      expect(b.toArray()).toEqual([[1], [0]]);
    });
  });

  const PERMUTES: Array<[number[], number[]]> = [
    [[2, 3], [1, 0]],
    [[2, 3, 4], [2, 0, 1]],
    [[2, 3, 4], [0, 2, 1]],
    [[2, 3, 4], [0, 1, 2]],
    [[2, 1, 3, 2], [3, 1, 0, 2]],
    [[2, 3, 4], [-1, 0, -2]],
  ];
  for (const [shape, dims] of PERMUTES) {
    it(`permute [${shape}] by [${dims}]`, () => {
      toroid.tidy(() => {
        const v = Float32Array.from(values(sizeOf(shape), 4));
        const x = toroid.tensor(v, { shape, backend });
        const ref = refPermute(v, shape, dims.map((d) => (d < 0 ? d + shape.length : d)));
        const y = x.permute(dims);
        expect(y.shape).toEqual(ref.shape);
        expectClose(y.toFloat32Array(), ref.data, { atol: 0, rtol: 0 }, 'permute');
        expectClose(F.permute(x, dims).toFloat32Array(), ref.data, { atol: 0, rtol: 0 }, 'permute');
      });
    });
  }

  it('permute and transpose by hand', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([[1, 2, 3], [4, 5, 6]], { backend });
      expect(x.permute([1, 0]).toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
      expect(x.transpose(0, 1).toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
      expect(x.transpose(-1, -2).toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
      expect(x.transpose(1, 1).toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
      expect(F.transpose(x, 1, 0).toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
      const i = toroid.tensor([[1, 2], [3, 4]], { dtype: 'int32', backend });
      const it32 = i.transpose(0, 1);
      expect(it32.dtype).toBe('int32');
      expect(it32.toArray()).toEqual([[1, 3], [2, 4]]);
    });
  });

  it('transpose of a 3-d tensor swaps two axes', () => {
    toroid.tidy(() => {
      const shape = [2, 3, 4];
      const v = Float32Array.from(values(24, 5));
      const x = toroid.tensor(v, { shape, backend });
      const ref = refPermute(v, shape, [2, 1, 0]);
      const y = x.transpose(0, 2);
      expect(y.shape).toEqual([4, 3, 2]);
      expectClose(y.toFloat32Array(), ref.data, { atol: 0, rtol: 0 });
    });
  });

  it('permute copies: it does not alias the input', () => {
    toroid.tidy(() => {
      const x = toroid.tensor([[1, 2], [3, 4]], { backend });
      const y = x.permute([0, 1]);
      expect(y.toArray()).toEqual([[1, 2], [3, 4]]);
      const before = toroid.memory().liveStorages;
      x.permute([1, 0]);
      expect(toroid.memory().liveStorages).toBe(before + 1);
    });
  });

  it('cast between every pair of float32, int32 and bool', () => {
    toroid.tidy(() => {
      const f = toroid.tensor([1.75, -2.5, 0, 3], { backend });
      expect(F.cast(f, 'int32').dtype).toBe('int32');
      // int32 truncates toward zero
      expect(F.cast(f, 'int32').toArray()).toEqual([1, -2, 0, 3]);
      // bool is "non-zero"
      expect(F.cast(f, 'bool').toArray()).toEqual([1, 1, 0, 1]);
      const i = toroid.tensor([3, -1, 0], { dtype: 'int32', backend });
      expect(F.cast(i, 'float32').toArray()).toEqual([3, -1, 0]);
      expect(F.cast(i, 'bool').toArray()).toEqual([1, 1, 0]);
      const b = toroid.tensor([1, 0], { dtype: 'bool', backend });
      expect(F.cast(b, 'float32').toArray()).toEqual([1, 0]);
      expect(F.cast(b, 'int32').toArray()).toEqual([1, 0]);
      const same = F.cast(f, 'float32');
      expect(same.toArray()).toEqual([1.75, -2.5, 0, 3]);
    });
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('cast to and from float64', () => {
    toroid.tidy(() => {
      const f = toroid.tensor([1.75, -2.5, 0, 3], { backend });
      const d = F.cast(f, 'float64');
      expect(d.dtype).toBe('float64');
      expect(d.toArray()).toEqual([1.75, -2.5, 0, 3]);
      expect(F.cast(d, 'float32').toArray()).toEqual([1.75, -2.5, 0, 3]);
      expect(F.cast(d, 'int32').toArray()).toEqual([1, -2, 0, 3]);
      expect(F.cast(d, 'bool').toArray()).toEqual([1, 1, 0, 1]);
      const i = toroid.tensor([3, -1, 0], { dtype: 'int32', backend });
      expect(F.cast(i, 'float64').toArray()).toEqual([3, -1, 0]);
      const b = toroid.tensor([1, 0], { dtype: 'bool', backend });
      expect(F.cast(b, 'float64').toArray()).toEqual([1, 0]);
      expect(F.cast(toroid.tensor([0.1], { dtype: 'float64', backend }), 'float32').item()).toBe(Math.fround(0.1));
    });
  });

  it('cast to a dtype the backend lacks is a TypeError naming the backend', () => {
    toroid.tidy(() => {
      const f = toroid.tensor([1], { backend });
      for (const dtype of ['float32', 'float64', 'int32', 'bool'] as const) {
        if (supportsDType(backend, dtype)) continue;
        expect(() => F.cast(f, dtype)).toThrow(new TypeError(`toroid.cast: dtype must be a dtype backend '${backend}' supports, got ${dtype}`));
      }
    });
  });
});

// the broadcast gradchecks of every binary op are rows of test/ops/table/elementwise.ts
describe('gradients vs finite differences (float64, ts)', () => {
  for (const op of Object.keys(OPS) as Op[]) {
    it(`${op} with one input not requiring grad`, () => {
      const a = leaf64([2, 3], 13);
      const b = leaf64([3], 14, true);
      b.requiresGrad = false;
      gradcheck((x, y) => F[op](x!, y!), [a, b]);
      expect(b.grad).toBeNull();
      a.requiresGrad = false;
      b.requiresGrad = true;
      gradcheck((x, y) => F[op](x!, y!), [a, b]);
      expect(a.grad).toBeNull();
      a.dispose();
      b.dispose();
    });
    it(`${op} with a number`, () => {
      const a = leaf64([2, 3], 15);
      gradcheck((x) => F[op](x!, 1.7), [a]);
      a.dispose();
    });
  }

  it('the same tensor on both sides (x * x, x / x, x - x)', () => {
    const a = leaf64([4], 16, true);
    gradcheck((x) => x!.mul(x!), [a]);
    gradcheck((x) => x!.div(x!), [a]);
    gradcheck((x) => x!.sub(x!), [a]);
    a.dispose();
  });

  it('scale', () => {
    const a = randLeaf([3, 2]);
    gradcheck((x) => F.scale(x!, -0.37), [a]);
    a.dispose();
  });

  it('a composite expression', () => {
    const a = leaf64([2, 3], 17), b = leaf64([3], 18, true), c = leaf64([2, 1], 19);
    gradcheck((x, y, z) => x!.mul(y!).add(z!).div(y!.add(3)).sub(x!.mul(z!)), [a, b, c]);
    [a, b, c].forEach((t) => t.dispose());
  });

  for (const fn of ['sum', 'mean'] as const) {
    for (const [shape, dims, keepDims] of REDUCE_CASES) {
      it(`${fn} [${shape}] over ${JSON.stringify(dims)}${keepDims ? ' keepDims' : ''}`, () => {
        const a = randLeaf(shape);
        gradcheck((x) => F[fn](x!, dims, keepDims), [a]);
        a.dispose();
      });
    }
  }

  it('reshape', () => {
    const a = randLeaf([2, 3, 2]);
    gradcheck((x) => x!.reshape([3, -1]), [a]);
    gradcheck((x) => x!.reshape([12]).mul(x!.reshape([12])), [a]);
    a.dispose();
  });

  it('permute', () => {
    const a = randLeaf([2, 3, 4]);
    gradcheck((x) => x!.permute([2, 0, 1]), [a]);
    gradcheck((x) => x!.permute([1, 2, 0]).mul(x!.permute([1, 2, 0])), [a]);
    a.dispose();
  });

  it('transpose', () => {
    const a = randLeaf([3, 2, 2]);
    gradcheck((x) => x!.transpose(0, 2), [a]);
    gradcheck((x) => x!.transpose(-1, 1), [a]);
    a.dispose();
  });

  it('cast float64 -> float64', () => {
    const a = randLeaf([2, 3]);
    gradcheck((x) => F.cast(x!, 'float64').mul(x!), [a]);
    a.dispose();
  });

  it('cast float64 -> float32 passes the gradient back as float64', () => {
    const a = randLeaf([3]);
    toroid.tidy(() => {
      const w = toroid.tensor([1.5, -2, 0.25], { backend: 'ts' });
      F.cast(a, 'float32').mul(w).sum().backward();
      expect(a.grad!.dtype).toBe('float64');
      expect(Array.from(a.grad!.toTypedArray())).toEqual([1.5, -2, 0.25]);
    });
    a.dispose();
  });

  it('layout, reduce and arithmetic chained', () => {
    const a = randLeaf([2, 3, 4]), b = randLeaf([4, 1]);
    gradcheck((x, y) => x!.transpose(1, 2).mul(y!).sum(2).reshape([8]).mean(0, true), [a, b]);
    a.dispose();
    b.dispose();
  });
});
