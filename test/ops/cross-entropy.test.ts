// Semantics of crossEntropy beyond the op table: a float64 reference per reduction, the
// ignoreIndex default, all rows ignored, [B,T,C] logits, smoothing 1, the gradient's form.
// The fixture cases, finite-difference checks and invalid inputs are rows of
// test/ops/table/cross-entropy.ts.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';

const { F } = toroid;

/** float64 reference, class dim last: ((1 - eps) nll + eps * mean_c(-log p)), ignored rows 0. */
function crossEntropyReference(logits: ArrayLike<number>, target: ArrayLike<number>, C: number, ignoreIndex: number, eps: number): { rows: number[]; count: number } {
  const rows: number[] = [];
  let count = 0;
  for (let n = 0; n < target.length; n++) {
    const t = target[n]!;
    if (t === ignoreIndex) {
      rows.push(0);
      continue;
    }
    count++;
    let m = -Infinity, sumX = 0;
    for (let c = 0; c < C; c++) {
      m = Math.max(m, logits[n * C + c]!);
      sumX += logits[n * C + c]!;
    }
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(logits[n * C + c]! - m);
    const lse = m + Math.log(s);
    rows.push((1 - eps) * (lse - logits[n * C + t]!) + eps * (lse - sumX / C));
  }
  return { rows, count };
}

describeEachBackend('crossEntropy semantics', (backend) => {
  it('matches a float64 reference for every reduction, with smoothing and ignoreIndex', () => {
    toroid.tidy(() => {
      const logits = toroid.randn([6, 5], { backend }).mul(2);
      const targetValues = [0, 4, 2, 2, 1, 3];
      const target = toroid.tensor(targetValues, { dtype: 'int32', backend });
      const ref = crossEntropyReference(logits.toFloat32Array(), targetValues, 5, 2, 0.15);
      const opts = { ignoreIndex: 2, labelSmoothing: 0.15 };
      const none = F.crossEntropy(logits, target, { ...opts, reduction: 'none' });
      expect(none.shape).toEqual([6]);
      expectClose(none.toFloat32Array(), ref.rows, undefined, 'none');
      const total = ref.rows.reduce((a, b) => a + b, 0);
      expectClose([F.crossEntropy(logits, target, { ...opts, reduction: 'sum' }).item()], [total], undefined, 'sum');
      expectClose([F.crossEntropy(logits, target, opts).item()], [total / ref.count], undefined, 'mean (default)');
    });
  });

  it('ignoreIndex defaults to -100', () => {
    toroid.tidy(() => {
      const logits = toroid.randn([3, 4], { backend });
      const withIgnored = F.crossEntropy(logits, toroid.tensor([1, -100, 3], { dtype: 'int32', backend }), { reduction: 'none' }).toFloat32Array();
      expect(withIgnored[1]).toBe(0);
      const ref = crossEntropyReference(logits.toFloat32Array(), [1, -100, 3], 4, -100, 0);
      expectClose(withIgnored, ref.rows, undefined, 'none');
    });
  });

  it('every target ignored: mean is NaN (like PyTorch), sum is 0, none is zeros; gradients are zero', () => {
    toroid.tidy(() => {
      const logits = toroid.randn([3, 4], { backend, requiresGrad: true });
      const target = toroid.tensor([-100, -100, -100], { dtype: 'int32', backend });
      const mean = F.crossEntropy(logits, target);
      expect(mean.item()).toBeNaN();
      mean.backward();
      expect(Array.from(logits.grad!.toFloat32Array())).toEqual(new Array(12).fill(0));
      expect(F.crossEntropy(logits, target, { reduction: 'sum', labelSmoothing: 0.1 }).item()).toBe(0);
      expect(Array.from(F.crossEntropy(logits, target, { reduction: 'none' }).toFloat32Array())).toEqual([0, 0, 0]);
    });
  });

  it('logits [B,T,C] give the same loss as the flattened [B*T,C]', () => {
    toroid.tidy(() => {
      const logits = toroid.randn([2, 3, 5], { backend });
      const target = toroid.tensor([[0, 1, 4], [3, 3, 2]], { dtype: 'int32', backend });
      const none = F.crossEntropy(logits, target, { reduction: 'none', labelSmoothing: 0.1 });
      expect(none.shape).toEqual([2, 3]);
      const flat = F.crossEntropy(logits.reshape([6, 5]), target.reshape([6]), { reduction: 'none', labelSmoothing: 0.1 });
      expect(none.toFloat32Array()).toEqual(flat.toFloat32Array());
    });
  });

  it('labelSmoothing 1 gives logsumexp minus the mean logit; huge logits stay finite', () => {
    toroid.tidy(() => {
      const logits = toroid.tensor([[1, 2, 3, 4]], { backend });
      const target = toroid.tensor([0], { dtype: 'int32', backend });
      const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3) + Math.exp(4));
      expectClose([F.crossEntropy(logits, target, { labelSmoothing: 1 }).item()], [lse - 2.5], undefined, 'smoothing 1');
      const huge = toroid.tensor([[1e4, -1e4, 0], [5e3, 5e3, 5e3]], { backend, requiresGrad: true });
      const loss = F.crossEntropy(huge, toroid.tensor([1, 2], { dtype: 'int32', backend }), { reduction: 'none' });
      expectClose(loss.toFloat32Array(), [2e4, Math.log(3)], undefined, 'huge');
      loss.sum().backward();
      expect(huge.grad!.toFloat32Array().every(Number.isFinite)).toBe(true);
    });
  });

  it('the gradient is (softmax - smoothed one-hot) scaled by the reduction', () => {
    toroid.tidy(() => {
      const logits = toroid.randn([4, 3], { backend, requiresGrad: true });
      const targetValues = [2, 0, 1, 2];
      const target = toroid.tensor(targetValues, { dtype: 'int32', backend });
      F.crossEntropy(logits, target, { labelSmoothing: 0.3 }).backward();
      const v = logits.toFloat32Array();
      const expected = new Float64Array(12);
      for (let n = 0; n < 4; n++) {
        const e = [0, 1, 2].map((c) => Math.exp(v[n * 3 + c]!));
        const s = e[0]! + e[1]! + e[2]!;
        for (let c = 0; c < 3; c++) expected[n * 3 + c] = (e[c]! / s - (c === targetValues[n] ? 0.7 : 0) - 0.1) / 4;
      }
      expectClose(logits.grad!.toFloat32Array(), expected, undefined, 'dlogits');
    });
  });

  it('target values outside [0, C) that are not ignoreIndex throw a RangeError', () => {
    toroid.tidy(() => {
      const logits = toroid.randn([2, 3], { backend });
      expect(() => F.crossEntropy(logits, toroid.tensor([0, 3], { dtype: 'int32', backend }))).toThrow(RangeError);
      expect(() => F.crossEntropy(logits, toroid.tensor([-1, 0], { dtype: 'int32', backend }))).toThrow(/toroid\.crossEntropy: target/);
      // an ignoreIndex inside [0, C) is skipped, one outside is accepted as a target value
      expect(F.crossEntropy(logits, toroid.tensor([-1, 0], { dtype: 'int32', backend }), { ignoreIndex: -1 }).item()).toBeGreaterThan(0);
    });
  });
});
