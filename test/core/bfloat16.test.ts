// The bfloat16 dtype and autocast: storage, rounding, casts, promotion, the autocast
// policy and its weight-cast cache, safetensors BF16. Numerics per op live in the
// op table (test/ops/table/, the bfloat16 rows).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { F, nn } from '../../src/index.js';
import { bf16BitsToF32, f32ToBf16Bits } from '../../src/util/half.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectError } from '../helpers/expect-error.js';

const dir = mkdtempSync(join(tmpdir(), 'toroid-bf16-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// values that exercise rounding: ties to even both ways, subnormals, the largest finite, Inf, NaN
const EDGE = [0, -0, 1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -2.5, 1e-40, -1e-39, 3.3895e38, 3.4e38, Infinity, -Infinity, NaN, 65504, 0.1];

describeEachBackend('bfloat16 tensors', (backend) => {
  const run = supportsDType(backend, 'bfloat16');

  it.skipIf(!run)('rounds to nearest even on creation and in cast, the same bits as the reference, NaN stays NaN', () => {
    const expected = EDGE.map((v) => f32ToBf16Bits(v));
    const created = toroid.tensor(EDGE, { dtype: 'bfloat16', backend });
    expect(Array.from(created.toTypedArray())).toEqual(expected);
    const cast = toroid.tensor(Float32Array.from(EDGE), { backend }).to('bfloat16');
    expect(Array.from(cast.toTypedArray())).toEqual(expected);
    // a large tensor takes the cpu's threaded path
    const n = 200_003;
    const big = new Float32Array(n).map((_, i) => Math.sin(i) * 10 ** ((i % 80) - 40));
    const bigCast = toroid.tensor(big, { backend }).to('bfloat16').toTypedArray();
    for (let i = 0; i < n; i += 997) expect(bigCast[i]).toBe(f32ToBf16Bits(big[i]!));
    const wide = created.toFloat32Array();
    EDGE.forEach((v, i) => {
      if (Number.isNaN(v)) expect(Number.isNaN(wide[i]!)).toBe(true);
      else expect(wide[i]).toBe(bf16BitsToF32(expected[i]!));
    });
    expect(created.toArray()).toEqual(Array.from(wide));
    expect(toroid.tensor([2.5], { dtype: 'bfloat16', backend }).item()).toBe(2.5);
  });

  it.skipIf(!run)('holds 2 bytes per element and takes a Uint16Array of bf16 bits', () => {
    const before = toroid.memory().liveBytes;
    const t = toroid.zeros([1000], { dtype: 'bfloat16', backend });
    expect(toroid.memory().liveBytes - before).toBe(2000);
    t.dispose();
    const bits = Uint16Array.from([0x3f80, 0xc020]);
    expect(toroid.tensor(bits, { backend }).toArray()).toEqual([1, -2.5]);
    expect(toroid.full([2], 1 + 2 ** -8, { dtype: 'bfloat16', backend }).toArray()).toEqual([1, 1]);
  });

  it.skipIf(!run)('casts to and from int32 and bool like float32 does', () => {
    const x = toroid.tensor([-2.75, 0, 3.5, NaN], { dtype: 'bfloat16', backend });
    expect(x.to('int32').toArray()).toEqual([-2, 0, 3, 0]);
    expect(x.to('bool').toArray()).toEqual([1, 0, 1, 1]);
    expect(toroid.tensor([1, 257, -3], { dtype: 'int32', backend }).to('bfloat16').toArray()).toEqual([1, 256, -3]);
  });

  it.skipIf(!run)('moves through the layout ops bit for bit (permute, narrow, cat, broadcast)', () => {
    const x = toroid.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'bfloat16', backend });
    expect(x.transpose(0, 1).toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    expect(F.narrow(x, 1, 1, 2).toArray()).toEqual([[2, 3], [5, 6]]);
    expect(F.cat([x, x], 0).dtype).toBe('bfloat16');
    expect(x.reshape([3, 2]).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
  });

  it.skipIf(!run)('promotes mixed float dtypes like PyTorch (bf16 + float32 is float32) and gradients come back in each dtype', () => {
    const a = toroid.tensor([1.5, 2], { dtype: 'bfloat16', backend, requiresGrad: true });
    const b = toroid.tensor([0.25, 0.5], { backend, requiresGrad: true });
    const y = a.mul(b);
    expect(y.dtype).toBe('float32');
    y.sum().backward();
    expect(a.grad!.dtype).toBe('bfloat16');
    expect(a.grad!.toArray()).toEqual([0.25, 0.5]);
    expect(b.grad!.dtype).toBe('float32');
    expect(b.grad!.toArray()).toEqual([1.5, 2]);
  });

  it.skipIf(!run)('LayerNorm takes bf16 activations with float32 weights (statistics in float32, output bf16)', () => {
    const x = toroid.randn([4, 16], { backend }).to('bfloat16');
    const w = toroid.ones([16], { backend }), b = toroid.zeros([16], { backend });
    const y = F.layerNorm(x, 16, w, b);
    expect(y.dtype).toBe('bfloat16');
    const ref = F.layerNorm(x.to('float32'), 16, w, b).to('bfloat16');
    expect(Array.from(y.toTypedArray())).toEqual(Array.from(ref.toTypedArray()));
  });

  it.skipIf(!run)('refuses bf16 parameters in the optimizer (master weights stay float32)', () => {
    const p = toroid.zeros([3], { dtype: 'bfloat16', backend, requiresGrad: true });
    expect(() => new toroid.optim.AdamW([p])).toThrow(TypeError);
  });
});

describeEachBackend('autocast', (backend) => {
  const run = supportsDType(backend, 'bfloat16');

  it.skipIf(!run)('follows the policy: products in bf16, cross-entropy in float32, nested regions and enabled: false', () => {
    toroid.manualSeed(3);
    const lin = new nn.Linear(8, 4, { backend });
    const x = toroid.randn([2, 8], { backend });
    const target = toroid.tensor([1, 3], { dtype: 'int32', backend });
    expect(toroid.autocastDType()).toBe(null);
    toroid.autocast({ dtype: 'bfloat16' }, () => {
      expect(toroid.autocastDType()).toBe('bfloat16');
      const h = lin.forward(x);
      expect(h.dtype).toBe('bfloat16');
      expect(F.matmul(x, toroid.randn([8, 3], { backend })).dtype).toBe('bfloat16');
      const q = toroid.randn([1, 2, 3, 4], { backend });
      expect(F.scaledDotProductAttention(q, q, q).dtype).toBe('bfloat16');
      expect(F.crossEntropy(h, target).dtype).toBe('float32');
      expect(F.softmax(h, -1).dtype).toBe('bfloat16');
      toroid.autocast({ enabled: false }, () => {
        expect(toroid.autocastDType()).toBe(null);
        expect(lin.forward(x).dtype).toBe('float32');
      });
      toroid.autocast({}, () => expect(lin.forward(x).dtype).toBe('bfloat16'));
      expect(toroid.autocastDType()).toBe('bfloat16');
    });
    expect(lin.forward(x).dtype).toBe('float32');
  });

  it.skipIf(!run)('casts each parameter once per region and frees the copies when it ends', () => {
    const lin = new nn.Linear(64, 64, { backend });
    const x = toroid.randn([4, 64], { backend });
    const before = toroid.memory().liveBytes;
    let inside = 0;
    toroid.autocast({ dtype: 'bfloat16' }, () => {
      toroid.tidy(() => { lin.forward(x); });
      const afterOne = toroid.memory().liveBytes;
      toroid.tidy(() => { lin.forward(x); lin.forward(x); });
      // the second and third uses found the cached copy: nothing more is held
      expect(toroid.memory().liveBytes).toBe(afterOne);
      inside = afterOne - before;
    });
    // the bf16 weight (64*64*2) and bias (64*2) were held inside, and are released after
    expect(inside).toBe(64 * 64 * 2 + 64 * 2);
    expect(toroid.memory().liveBytes).toBe(before);
  });

  it.skipIf(!run)('trains: the gradient reaches the float32 master weights and is close to float32 training', () => {
    toroid.manualSeed(5);
    const lin = new nn.Linear(32, 10, { backend });
    const x = toroid.randn([16, 32], { backend });
    const target = toroid.tensor(Array.from({ length: 16 }, (_, i) => i % 10), { dtype: 'int32', backend });
    F.crossEntropy(lin.forward(x), target).backward();
    const g32 = lin.weight.grad!.toFloat32Array();
    lin.zeroGrad();
    const loss = toroid.autocast({ dtype: 'bfloat16' }, () => F.crossEntropy(lin.forward(x), target));
    loss.backward();
    expect(lin.weight.dtype).toBe('float32');
    expect(lin.weight.grad!.dtype).toBe('float32');
    const g16 = lin.weight.grad!.toFloat32Array();
    // bf16 inputs carry 8 significant bits: relative error ~2^-8 per product, a few of them summed
    let maxErr = 0, maxAbs = 0;
    g32.forEach((v, i) => { maxErr = Math.max(maxErr, Math.abs(v - g16[i]!)); maxAbs = Math.max(maxAbs, Math.abs(v)); });
    expect(maxErr).toBeLessThan(0.02 * maxAbs);
  });

  it.skipIf(!run)('an optimizer step inside a region recasts the updated weights', () => {
    const lin = new nn.Linear(4, 2, { backend });
    const opt = new toroid.optim.SGD(lin.parameters(), { lr: 0.5 });
    const x = toroid.ones([1, 4], { backend });
    toroid.autocast({ dtype: 'bfloat16' }, () => {
      const y1 = lin.forward(x);
      y1.sum().backward();
      opt.step();
      const y2 = lin.forward(x);
      expect(y2.toArray()).not.toEqual(y1.toArray());
      const ref = toroid.autocast({ enabled: false }, () => lin.forward(x));
      y2.toFloat32Array().forEach((v, i) => expect(Math.abs(v - ref.toFloat32Array()[i]!)).toBeLessThan(0.05));
    });
  });
});

describe('autocast arguments', () => {
  it('rejects bad options and asynchronous functions', () => {
    expectError(() => toroid.autocast({ dtype: 'float16' as never }, () => 0), RangeError, 'autocast', 'options.dtype');
    expectError(() => toroid.autocast({ enabled: 1 as never }, () => 0), TypeError, 'autocast', 'options.enabled');
    expectError(() => toroid.autocast({ typo: true } as never, () => 0), RangeError, 'autocast', 'options');
    expectError(() => toroid.autocast({}, 3 as never), TypeError, 'autocast', 'fn');
    expectError(() => toroid.autocast({}, async () => 0), TypeError, 'autocast', 'fn');
    expect(toroid.autocastDType()).toBe(null);
  });

  it('ends the region when fn throws', () => {
    expect(() => toroid.autocast({}, () => { throw new Error('boom'); })).toThrow('boom');
    expect(toroid.autocastDType()).toBe(null);
  });
});

describeEachBackend('bfloat16 in safetensors', (backend) => {
  it.skipIf(!supportsDType(backend, 'bfloat16'))('saves bf16 as BF16 and loads it back as bf16 with keepDType (bit for bit), else widened', async () => {
    const path = join(dir, `bf16-${backend}.safetensors`);
    const x = toroid.tensor([1, -2.5, 1e-40, 3.3895e38, NaN], { dtype: 'bfloat16', backend });
    await toroid.save(path, { x });
    const kept = await toroid.load(path, { backend, keepDType: true });
    expect(kept.tensors.x!.dtype).toBe('bfloat16');
    expect(Array.from(kept.tensors.x!.toTypedArray())).toEqual(Array.from(x.toTypedArray()));
    const wide = await toroid.load(path, { backend });
    expect(wide.tensors.x!.dtype).toBe('float32');
    expect(Array.from(wide.tensors.x!.toFloat32Array()).slice(0, 4)).toEqual(Array.from(x.toFloat32Array()).slice(0, 4));
    await expect(toroid.load(path, { keepDType: 'yes' as never })).rejects.toThrow(/options\.keepDType must be a boolean/);
  });
});
