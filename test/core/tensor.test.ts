// Tensor creation, read-back, views, dispose, tidy/keep and memory accounting.
// Every test disposes what it creates (tidy or dispose), so memory() deltas are exact
// and the FinalizationRegistry backstop never fires in the middle of a later test.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';

function live(): toroid.MemoryInfo {
  return toroid.memory();
}

describeEachBackend('tensor creation', (backend) => {
  it('from nested arrays infers the shape and defaults to float32', () => {
    toroid.tidy(() => {
      const t = toroid.tensor([[1, 2, 3], [4, 5, 6]], { backend });
      expect(t.shape).toEqual([2, 3]);
      expect(t.dtype).toBe('float32');
      expect(t.size).toBe(6);
      expect(t.rank).toBe(2);
      expect(t.device).toBe(backend);
      expect(t.requiresGrad).toBe(false);
      expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
      expect(Array.from(t.toFloat32Array())).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });

  it('from a number is a scalar of shape []', () => {
    toroid.tidy(() => {
      const t = toroid.tensor(2.5, { backend });
      expect(t.shape).toEqual([]);
      expect(t.size).toBe(1);
      expect(t.rank).toBe(0);
      expect(t.item()).toBe(2.5);
      expect(t.toArray()).toBe(2.5);
    });
  });

  it('from a 3-d nested array keeps row-major order', () => {
    toroid.tidy(() => {
      const data = [[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]]];
      const t = toroid.tensor(data, { backend });
      expect(t.shape).toEqual([3, 2, 2]);
      expect(t.toArray()).toEqual(data);
      expect(Array.from(t.toFloat32Array())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    });
  });

  it('from empty arrays gives zero-size tensors', () => {
    toroid.tidy(() => {
      const a = toroid.tensor([], { backend });
      expect(a.shape).toEqual([0]);
      expect(a.size).toBe(0);
      expect(a.toFloat32Array().length).toBe(0);
      const b = toroid.tensor([[], []], { backend });
      expect(b.shape).toEqual([2, 0]);
      expect(b.toArray()).toEqual([[], []]);
    });
  });

  it('nested arrays with options.shape take that shape', () => {
    toroid.tidy(() => {
      const t = toroid.tensor([[1, 2], [3, 4]], { shape: [4], backend });
      expect(t.shape).toEqual([4]);
      expect(t.toArray()).toEqual([1, 2, 3, 4]);
    });
  });

  it('from typed arrays: dtype follows the array type, shape defaults to [length]', () => {
    toroid.tidy(() => {
      const f32 = toroid.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3], backend });
      expect(f32.dtype).toBe('float32');
      expect(f32.shape).toEqual([2, 3]);
      expect(f32.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);

      const i32 = toroid.tensor(new Int32Array([-3, 7]), { backend });
      expect(i32.dtype).toBe('int32');
      expect(i32.toTypedArray()).toBeInstanceOf(Int32Array);
      expect(i32.toArray()).toEqual([-3, 7]);

      const bool = toroid.tensor(new Uint8Array([1, 0, 1]), { backend });
      expect(bool.dtype).toBe('bool');
      expect(bool.toTypedArray()).toBeInstanceOf(Uint8Array);
      expect(bool.toArray()).toEqual([1, 0, 1]);
    });
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('from typed arrays: a Float64Array gives float64', () => {
    toroid.tidy(() => {
      const f64 = toroid.tensor(new Float64Array([0.1, 0.2]), { backend });
      expect(f64.dtype).toBe('float64');
      expect(f64.shape).toEqual([2]);
      expect(f64.toTypedArray()).toBeInstanceOf(Float64Array);
      expect(Array.from(f64.toTypedArray())).toEqual([0.1, 0.2]);
    });
  });

  it('a typed array converts when another dtype is asked for', () => {
    toroid.tidy(() => {
      const t = toroid.tensor(new Float64Array([1.5, -2.25]), { dtype: 'float32', backend });
      expect(t.dtype).toBe('float32');
      expect(t.toTypedArray()).toBeInstanceOf(Float32Array);
      expect(t.toArray()).toEqual([1.5, -2.25]);
      const i = toroid.tensor(new Float32Array([1.9, -1.9]), { dtype: 'int32', backend });
      expect(i.toArray()).toEqual([1, -1]);
    });
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('nested arrays as float64', () => {
    toroid.tidy(() => {
      const f64 = toroid.tensor([0.1, 1 / 3], { dtype: 'float64', backend });
      expect(f64.dtype).toBe('float64');
      expect(Array.from(f64.toTypedArray())).toEqual([0.1, 1 / 3]);
    });
  });

  it('nested arrays with float32, int32 and bool', () => {
    toroid.tidy(() => {
      const f32 = toroid.tensor([0.1], { backend });
      expect(f32.item()).toBe(Math.fround(0.1));
      const i32 = toroid.tensor([[1, 2], [3, 4]], { dtype: 'int32', backend });
      expect(i32.dtype).toBe('int32');
      expect(i32.toArray()).toEqual([[1, 2], [3, 4]]);
      const bool = toroid.tensor([1, 0, 0, 1], { dtype: 'bool', backend });
      expect(bool.dtype).toBe('bool');
      expect(bool.toArray()).toEqual([1, 0, 0, 1]);
      const fromBooleans = toroid.tensor([true, false, true] as unknown as number[], { dtype: 'bool', backend });
      expect(fromBooleans.toArray()).toEqual([1, 0, 1]);
    });
  });

  it('toFloat32Array converts any dtype and returns a copy', () => {
    toroid.tidy(() => {
      const i32 = toroid.tensor([1, -2, 3], { dtype: 'int32', backend });
      const out = i32.toFloat32Array();
      expect(out).toBeInstanceOf(Float32Array);
      expect(Array.from(out)).toEqual([1, -2, 3]);
      const f32 = toroid.tensor([1, 2, 3], { backend });
      const copy = f32.toFloat32Array();
      copy[0] = 100;
      expect(f32.toArray()).toEqual([1, 2, 3]);
    });
  });

  it('item() reads one-element tensors of any rank', () => {
    toroid.tidy(() => {
      expect(toroid.tensor([[7]], { backend }).item()).toBe(7);
      expect(toroid.tensor([4], { dtype: 'int32', backend }).item()).toBe(4);
    });
  });

  it('zeros, ones and full fill with the value in the requested dtype', () => {
    toroid.tidy(() => {
      const z = toroid.zeros([2, 3], { backend });
      expect(z.shape).toEqual([2, 3]);
      expect(z.dtype).toBe('float32');
      expect(Array.from(z.toFloat32Array())).toEqual([0, 0, 0, 0, 0, 0]);
      const o = toroid.ones([3], { backend });
      expect(o.dtype).toBe('float32');
      expect(o.toArray()).toEqual([1, 1, 1]);
      const f = toroid.full([2, 2], -1.5, { backend });
      expect(f.toArray()).toEqual([[-1.5, -1.5], [-1.5, -1.5]]);
      const fi = toroid.full([2], 7, { dtype: 'int32', backend });
      expect(fi.dtype).toBe('int32');
      expect(fi.toArray()).toEqual([7, 7]);
      const fb = toroid.ones([2], { dtype: 'bool', backend });
      expect(fb.dtype).toBe('bool');
      expect(fb.toArray()).toEqual([1, 1]);
      const scalar = toroid.full([], 3, { backend });
      expect(scalar.shape).toEqual([]);
      expect(scalar.item()).toBe(3);
      const empty = toroid.zeros([0, 4], { backend });
      expect(empty.size).toBe(0);
    });
  });

  it('rand and randn give the shape and dtype asked for', () => {
    toroid.tidy(() => {
      const r = toroid.rand([3, 4], { backend });
      expect(r.shape).toEqual([3, 4]);
      expect(r.dtype).toBe('float32');
      const n = toroid.randn([2, 2, 2], { backend });
      expect(n.shape).toEqual([2, 2, 2]);
      expect(n.toFloat32Array().every(Number.isFinite)).toBe(true);
    });
  });

  // backends without float64 (cpu) skip this
  it.skipIf(!supportsDType(backend, 'float64'))('zeros, ones, full, rand and randn in float64', () => {
    toroid.tidy(() => {
      const o = toroid.ones([3], { dtype: 'float64', backend });
      expect(o.dtype).toBe('float64');
      expect(o.toArray()).toEqual([1, 1, 1]);
      const f = toroid.full([2], 1 / 3, { dtype: 'float64', backend });
      expect(Array.from(f.toTypedArray())).toEqual([1 / 3, 1 / 3]);
      const r64 = toroid.rand([5], { dtype: 'float64', backend });
      expect(r64.dtype).toBe('float64');
      const n64 = toroid.randn([4], { dtype: 'float64', backend });
      expect(n64.dtype).toBe('float64');
    });
  });

  it('requiresGrad option marks a float leaf', () => {
    toroid.tidy(() => {
      const t = toroid.zeros([2], { backend, requiresGrad: true });
      expect(t.requiresGrad).toBe(true);
      expect(t.gradFn).toBeNull();
      expect(t.grad).toBeNull();
      expect(String(t)).toContain('requiresGrad');
      const r = toroid.randn([2], { backend, requiresGrad: true });
      expect(r.requiresGrad).toBe(true);
    });
  });

  it('the input arrays are copied by default', () => {
    toroid.tidy(() => {
      const source = new Float32Array([1, 2, 3]);
      const t = toroid.tensor(source, { backend });
      source[0] = 42;
      expect(t.toArray()).toEqual([1, 2, 3]);
      const nested = [1, 2, 3];
      const u = toroid.tensor(nested, { backend });
      nested[1] = 99;
      expect(u.toArray()).toEqual([1, 2, 3]);
    });
  });
});

describe('bool from numbers', () => {
  it('tensor(..., { dtype: bool }) stores non-zero as 1 like cast', () => {
    toroid.tidy(() => {
      const fromData = toroid.tensor([0.5, -1, 256, 0], { dtype: 'bool' }).toArray();
      const viaCast = toroid.F.cast(toroid.tensor([0.5, -1, 256, 0]), 'bool').toArray();
      expect(viaCast).toEqual([1, 1, 1, 0]);
      expect(fromData).toEqual(viaCast);
    });
  });

  it('bool from NaN, a typed array and full() is non-zero -> 1 too', () => {
    toroid.tidy(() => {
      expect(toroid.tensor([NaN, 0, true, false] as never, { dtype: 'bool' }).toArray()).toEqual([1, 0, 1, 0]);
      expect(toroid.tensor(new Float32Array([0.5, -1, 0, NaN]), { dtype: 'bool' }).toArray()).toEqual([1, 1, 0, 1]);
      expect(toroid.full([2], 0.5, { dtype: 'bool' }).toArray()).toEqual([1, 1]);
      expect(toroid.full([2], 256, { dtype: 'bool' }).toArray()).toEqual([1, 1]);
    });
  });
});

describe('zero-copy on the ts backend', () => {
  it('{ copy: false } aliases a typed array of the same dtype', () => {
    toroid.tidy(() => {
      const source = new Float32Array([1, 2, 3, 4]);
      const t = toroid.tensor(source, { copy: false, backend: 'ts', shape: [2, 2] });
      expect(t.data).toBe(source);
      source[3] = 40;
      expect(t.toArray()).toEqual([[1, 2], [3, 40]]);
    });
  });

  it('{ copy: false } still copies when the dtype differs', () => {
    toroid.tidy(() => {
      const source = new Float32Array([1, 2]);
      const t = toroid.tensor(source, { copy: false, dtype: 'float64', backend: 'ts' });
      expect(t.data).not.toBe(source);
      source[0] = 5;
      expect(t.toArray()).toEqual([1, 2]);
    });
  });
});

describe('views and aliasing', () => {
  it('reshape is a view over the same storage', () => {
    const before = live();
    const x = toroid.tensor([1, 2, 3, 4, 5, 6], { backend: 'ts' });
    const y = x.reshape([2, 3]);
    const z = y.reshape([3, -1]);
    expect(y.shape).toEqual([2, 3]);
    expect(z.shape).toEqual([3, 2]);
    expect(y.data).toBe(x.data);
    expect(z.data).toBe(x.data);
    // one storage for three tensors
    expect(live().liveStorages - before.liveStorages).toBe(1);
    expect(live().liveBytes - before.liveBytes).toBe(24);
    // writes through the storage are visible through every view
    (x.data as Float32Array)[5] = 60;
    expect(y.toArray()).toEqual([[1, 2, 3], [4, 5, 60]]);
    expect(z.toArray()).toEqual([[1, 2], [3, 4], [5, 60]]);
    x.dispose();
    y.dispose();
    z.dispose();
    expect(live()).toEqual(before);
  });

  it('storage is freed only when the last alias is disposed', () => {
    const before = live();
    const x = toroid.zeros([4, 4]);
    const view = x.reshape([16]);
    const detached = x.detach();
    expect(live().liveStorages).toBe(before.liveStorages + 1);
    expect(live().liveBytes).toBe(before.liveBytes + 64);
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(view.isDisposed).toBe(false);
    expect(live().liveStorages).toBe(before.liveStorages + 1);
    expect(view.toFloat32Array().length).toBe(16);
    view.dispose();
    expect(live().liveStorages).toBe(before.liveStorages + 1);
    expect(detached.toArray()).toEqual([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
    detached.dispose();
    expect(live()).toEqual(before);
  });

  it('detach shares storage but is not tracked by autograd', () => {
    toroid.tidy(() => {
      const x = toroid.ones([3], { requiresGrad: true });
      const y = x.mul(2);
      expect(y.requiresGrad).toBe(true);
      const d = y.detach();
      expect(d.requiresGrad).toBe(false);
      expect(d.gradFn).toBeNull();
      expect(d.data).toBe(y.data);
      y.sum().backward();
    });
  });
});

describe('dispose', () => {
  it('frees the storage and is idempotent', () => {
    const before = live();
    const t = toroid.ones([10]);
    expect(live().liveStorages).toBe(before.liveStorages + 1);
    expect(live().liveBytes).toBe(before.liveBytes + 40);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(live()).toEqual(before);
    t.dispose();
    t.dispose();
    expect(live()).toEqual(before);
  });

  it('bytes follow the dtype', () => {
    const before = live();
    const ts = [
      toroid.zeros([3], { dtype: 'float64', backend: 'ts' }), // the default cpu backend has no float64
      toroid.zeros([3], { dtype: 'float32' }),
      toroid.zeros([3], { dtype: 'int32' }),
      toroid.zeros([3], { dtype: 'bool' }),
    ];
    expect(live().liveBytes - before.liveBytes).toBe(24 + 12 + 12 + 3);
    expect(live().liveStorages - before.liveStorages).toBe(4);
    ts.forEach((t) => t.dispose());
    expect(live()).toEqual(before);
  });

  it('a disposed tensor throws when read or used', () => {
    const t = toroid.tensor([1, 2, 3]);
    t.dispose();
    expect(() => t.toArray()).toThrow(/disposed/);
    expect(() => t.toFloat32Array()).toThrow(/disposed/);
    expect(() => t.item()).toThrow();
    expect(() => t.data).toThrow(/disposed/);
    expect(() => t.reshape([3])).toThrow(/disposed|live Tensor/);
    expect(() => t.add(1)).toThrow(/live Tensor/);
    expect(() => t.detach()).toThrow(/disposed/);
    // metadata stays readable
    expect(t.shape).toEqual([3]);
    expect(t.dtype).toBe('float32');
  });

  it('disposing a leaf disposes its gradient', () => {
    const before = live();
    const x = toroid.ones([2], { requiresGrad: true });
    toroid.tidy(() => x.mul(3).sum().backward());
    const grad = x.grad!;
    expect(grad.isDisposed).toBe(false);
    x.dispose();
    expect(grad.isDisposed).toBe(true);
    expect(x.grad).toBeNull();
    expect(live()).toEqual(before);
  });
});

describe('tidy and keep', () => {
  it('frees tensors created inside unless returned', () => {
    const before = live();
    let inner: toroid.Tensor | undefined;
    const out = toroid.tidy(() => {
      inner = toroid.ones([5]);
      const b = inner.add(1);
      return b.mul(2);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(out.isDisposed).toBe(false);
    expect(out.toArray()).toEqual([4, 4, 4, 4, 4]);
    expect(live().liveStorages).toBe(before.liveStorages + 1);
    out.dispose();
    expect(live()).toEqual(before);
  });

  it('returns tensors nested in arrays, objects and maps', () => {
    const before = live();
    const result = toroid.tidy(() => {
      const a = toroid.ones([1]);
      const b = toroid.zeros([1]);
      const c = toroid.full([1], 2);
      const d = toroid.full([1], 3);
      toroid.zeros([7]); // dropped
      return { list: [a, { b }], map: new Map([['c', c]]), d, n: 5 };
    });
    const all = [result.list[0] as toroid.Tensor, (result.list[1] as { b: toroid.Tensor }).b, result.map.get('c')!, result.d];
    all.forEach((t) => expect(t.isDisposed).toBe(false));
    expect(live().liveStorages).toBe(before.liveStorages + 4);
    all.forEach((t) => t.dispose());
    expect(live()).toEqual(before);
  });

  it('keep() lets a tensor outlive the scope', () => {
    const before = live();
    let kept: toroid.Tensor | undefined;
    let dropped: toroid.Tensor | undefined;
    toroid.tidy(() => {
      kept = toroid.keep(toroid.ones([3]));
      dropped = toroid.ones([3]);
    });
    expect(kept!.isDisposed).toBe(false);
    expect(dropped!.isDisposed).toBe(true);
    kept!.dispose();
    expect(live()).toEqual(before);
  });

  it('keep() inside nested scopes survives all of them', () => {
    const before = live();
    let kept: toroid.Tensor | undefined;
    toroid.tidy(() => {
      toroid.tidy(() => {
        kept = toroid.keep(toroid.ones([2]));
      });
      expect(kept!.isDisposed).toBe(false);
    });
    expect(kept!.isDisposed).toBe(false);
    kept!.dispose();
    expect(live()).toEqual(before);
  });

  it('a tensor returned from an inner scope belongs to the outer one', () => {
    const before = live();
    let fromInner: toroid.Tensor | undefined;
    toroid.tidy(() => {
      fromInner = toroid.tidy(() => toroid.ones([2]).add(1));
      expect(fromInner.isDisposed).toBe(false);
      expect(fromInner.toArray()).toEqual([2, 2]);
    });
    expect(fromInner!.isDisposed).toBe(true);
    expect(live()).toEqual(before);
  });

  it('tensors created before the scope are untouched', () => {
    const outside = toroid.ones([2]);
    toroid.tidy(() => {
      outside.add(1);
    });
    expect(outside.isDisposed).toBe(false);
    outside.dispose();
  });

  it('an exception frees the scope and propagates', () => {
    const before = live();
    let inner: toroid.Tensor | undefined;
    expect(() => toroid.tidy(() => {
      inner = toroid.ones([4]);
      throw new Error('boom');
    })).toThrow('boom');
    expect(inner!.isDisposed).toBe(true);
    expect(live()).toEqual(before);
  });

  it('rejects async functions and frees their tensors', () => {
    const before = live();
    let inner: toroid.Tensor | undefined;
    expect(() => toroid.tidy(async () => {
      inner = toroid.ones([4]);
      // nothing awaited: the tensor was created synchronously
    })).toThrow(TypeError);
    expect(inner!.isDisposed).toBe(true);
    expect(live()).toEqual(before);
  });

  it('rejects a non-function', () => {
    expect(() => toroid.tidy(5 as never)).toThrow(TypeError);
    expect(() => toroid.tidy(5 as never)).toThrow(/toroid\.tidy: fn must be a function, got number/);
  });

  it('returning a leaf also returns its gradient', () => {
    const before = live();
    const leaf = toroid.tidy(() => {
      const x = toroid.ones([3], { requiresGrad: true });
      x.mul(x).sum().backward();
      return x;
    });
    expect(leaf.grad!.toArray()).toEqual([2, 2, 2]);
    leaf.dispose();
    expect(live()).toEqual(before);
  });

  it('memory returns to the baseline after a sizeable computation in tidy', () => {
    const before = live();
    toroid.tidy(() => {
      let x = toroid.randn([8, 8]);
      for (let i = 0; i < 10; i++) x = x.mul(1.01).add(x).permute([1, 0]).reshape([64]).reshape([8, 8]).sum(0, true).add(x);
      return [];
    });
    expect(live()).toEqual(before);
  });
});
