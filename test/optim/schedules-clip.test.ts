// optim schedules (noam, warmupCosine, linearDecay, LRScheduler) against their formulas,
// and optim.clipGradNorm against torch.nn.utils.clip_grad_norm_'s semantics.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { expectError } from '../helpers/expect-error.js';

const { optim } = toroid;
type Tensor = toroid.Tensor;

function param(values: number[], backend = 'ts'): Tensor {
  const t = toroid.tensor(values, { backend });
  t.requiresGrad = true;
  return t;
}

describe('optim schedules', () => {
  it('noam = factor * dModel^-0.5 * min(s^-0.5, s * warmup^-1.5), peaking at s = warmup', () => {
    const f = optim.noam(512, 4000, 2);
    for (const s of [1, 2, 100, 3999, 4000, 4001, 100000]) {
      expect(f(s)).toBeCloseTo(2 * 512 ** -0.5 * Math.min(s ** -0.5, s * 4000 ** -1.5), 15);
    }
    expect(f(4000)).toBeGreaterThan(f(3999));
    expect(f(4000)).toBeGreaterThan(f(4001));
    expect(optim.noam(16, 4)(1)).toBe(0.25 * 0.125);
  });

  it('warmupCosine and linearDecay: linear warmup, then down to minLr at total, flat after', () => {
    const cos = optim.warmupCosine({ warmup: 10, total: 110, maxLr: 1e-3, minLr: 1e-4 });
    const lin = optim.linearDecay({ warmup: 10, total: 110, maxLr: 1e-3 });
    expect(cos(1)).toBeCloseTo(1e-4, 15);
    expect(cos(5)).toBeCloseTo(5e-4, 15);
    expect(cos(10)).toBe(1e-3);
    expect(cos(60)).toBeCloseTo(1e-4 + 0.9e-3 * 0.5, 15);
    expect(cos(35)).toBeCloseTo(1e-4 + 0.9e-3 * 0.5 * (1 + Math.cos(Math.PI / 4)), 15);
    expect(cos(110)).toBeCloseTo(1e-4, 15);
    expect(cos(500)).toBeCloseTo(1e-4, 15);
    expect(lin(5)).toBeCloseTo(5e-4, 15);
    expect(lin(60)).toBeCloseTo(5e-4, 15);
    expect(lin(85)).toBeCloseTo(2.5e-4, 15);
    expect(lin(110)).toBe(0);
    expect(lin(1000)).toBe(0);
    // no warmup: starts at maxLr's curve
    expect(optim.linearDecay({ warmup: 0, total: 4, maxLr: 1 })(1)).toBe(0.75);
  });

  it('LRScheduler: optimizer step s uses schedule(s); relative mode is LambdaLR; state dict { step }', () => {
    const a = param([1]), b = param([1]);
    const opt = new optim.SGD([{ params: [a], lr: 1 }, { params: [b], lr: 0.5 }], { lr: 1 });
    const sched = new optim.LRScheduler(opt, optim.noam(16, 4));
    expect(sched.getLastLr()).toEqual([optim.noam(16, 4)(1), optim.noam(16, 4)(1)]);
    for (let s = 1; s <= 3; s++) sched.step();
    expect(sched.lastStep).toBe(3);
    expect(opt.paramGroups[0]!.lr).toBe(optim.noam(16, 4)(4));
    expect(sched.stateDict()).toEqual({ step: 3 });
    const rel = new optim.LRScheduler(opt, (s) => 1 / s, { relative: true });
    // relative to the lrs at construction (just set by `sched` to noam(4))
    rel.step();
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([optim.noam(16, 4)(4) / 2, optim.noam(16, 4)(4) / 2]);
    const again = new optim.LRScheduler(opt, optim.noam(16, 4));
    again.loadStateDict({ step: 9 });
    expect(opt.paramGroups[1]!.lr).toBe(optim.noam(16, 4)(10));
    for (const t of [a, b]) t.dispose();
  });

  it('bad arguments', () => {
    expectError(() => optim.noam(0, 4), RangeError, 'noam', 'dModel');
    expectError(() => optim.noam('16' as never, 4), TypeError, 'noam', 'dModel');
    expectError(() => optim.noam(16, 0), RangeError, 'noam', 'warmup');
    expectError(() => optim.noam(16, 2.5), RangeError, 'noam', 'warmup');
    expectError(() => optim.noam(16, 4, -1), RangeError, 'noam', 'factor');
    expectError(() => optim.noam(16, 4)(0), RangeError, 'noam', 'step');
    for (const [name, f] of [['warmupCosine', optim.warmupCosine], ['linearDecay', optim.linearDecay]] as const) {
      expectError(() => f({ warmup: -1, total: 10, maxLr: 1 }), RangeError, name, 'options.warmup');
      expectError(() => f({ warmup: 20, total: 10, maxLr: 1 }), RangeError, name, 'options.total');
      expectError(() => f({ warmup: 2, total: 10, maxLr: -1 }), RangeError, name, 'options.maxLr');
      expectError(() => f({ warmup: 2, total: 10, maxLr: 1, minLr: 2 }), RangeError, name, 'options.minLr');
      expectError(() => f({ warmup: 2, total: 10 } as never), TypeError, name, 'options.maxLr');
      expectError(() => f(null as never), TypeError, name, 'options');
      expectError(() => f({ warmup: 2, total: 10, maxLr: 1, min: 0 } as never), RangeError, name, 'options');
      expectError(() => f({ warmup: 2, total: 10, maxLr: 1 })(1.5), RangeError, name, 'step');
    }
    const p = param([1]);
    const opt = new optim.SGD([p], { lr: 1 });
    expectError(() => new optim.LRScheduler({} as never, optim.noam(16, 4)), TypeError, 'LRScheduler', 'optimizer');
    expectError(() => new optim.LRScheduler(opt, 0.1 as never), TypeError, 'LRScheduler', 'schedule');
    expectError(() => new optim.LRScheduler(opt, () => -1), RangeError, 'LRScheduler', 'schedule');
    expectError(() => new optim.LRScheduler(opt, () => 1, { relative: 'yes' as never }), TypeError, 'LRScheduler', 'options.relative');
    expectError(() => new optim.LRScheduler(opt, () => 1, { warmup: 1 } as never), RangeError, 'LRScheduler', 'options');
    expectError(() => new optim.LRScheduler(opt, () => 1).loadStateDict({ step: -1 }), RangeError, 'LRScheduler.loadStateDict', 'state.step');
    p.dispose();
  });
});

describeEachBackend('optim.clipGradNorm', (backend) => {
  it('returns the total norm and scales by maxNorm / (norm + 1e-6) only when that is < 1', () => {
    const a = param([3, 0], backend), b = param([0, 4], backend), c = param([1, 1], backend);
    a.grad = toroid.tensor([3, 0], { backend });
    b.grad = toroid.tensor([0, 4], { backend }); // c has no grad: skipped
    const gradA = a.grad;
    expect(optim.clipGradNorm([a, b, c], 10)).toBeCloseTo(5, 6);
    expect(a.grad).toBe(gradA); // below maxNorm: untouched
    expect(optim.clipGradNorm([a, b, c], 1)).toBeCloseTo(5, 6);
    const coef = 1 / (5 + 1e-6);
    expectClose(a.grad!.toTypedArray(), [3 * coef, 0], { atol: 1e-7, rtol: 1e-6 }, 'a');
    expectClose(b.grad!.toTypedArray(), [0, 4 * coef], { atol: 1e-7, rtol: 1e-6 }, 'b');
    expect(gradA.isDisposed).toBe(true);
    expect(c.grad).toBeNull();
    // norm equal to maxNorm: PyTorch's coefficient is just under 1, so it scales
    expect(optim.clipGradNorm(a, 0.6)).toBeCloseTo(0.6, 6);
    expect(a.grad!.toTypedArray()[0]).toBeLessThan(0.6);
    // other norms
    a.grad = toroid.tensor([-3, 1], { backend });
    b.grad = toroid.tensor([2, -4], { backend });
    expect(optim.clipGradNorm([a, b], 100, { normType: Infinity })).toBe(4);
    expect(optim.clipGradNorm([a, b], 100, { normType: 1 })).toBeCloseTo(10, 6);
    expect(optim.clipGradNorm([a, b], 100, { normType: 3 })).toBeCloseTo((27 + 1 + 8 + 64) ** (1 / 3), 6);
    expect(optim.clipGradNorm([c], 1)).toBe(0);
    b.grad = toroid.tensor([NaN, 1], { backend });
    expect(optim.clipGradNorm([a, b], 1)).toBeNaN();
    expectError(() => optim.clipGradNorm([a, b], 1, { errorIfNonfinite: true }), RangeError, 'clipGradNorm', 'parameters');
    for (const t of [a, b, c]) t.dispose();
  });

  it('bad arguments', () => {
    const a = param([1, 2], backend);
    expectError(() => optim.clipGradNorm(3 as never, 1), TypeError, 'clipGradNorm', 'parameters');
    expectError(() => optim.clipGradNorm([a, 'x' as never], 1), TypeError, 'clipGradNorm', 'parameters[1]');
    expectError(() => optim.clipGradNorm([a], -1), RangeError, 'clipGradNorm', 'maxNorm');
    expectError(() => optim.clipGradNorm([a], '1' as never), TypeError, 'clipGradNorm', 'maxNorm');
    expectError(() => optim.clipGradNorm([a], 1, { normType: 0 }), RangeError, 'clipGradNorm', 'options.normType');
    expectError(() => optim.clipGradNorm([a], 1, { normType: 'inf' as never }), TypeError, 'clipGradNorm', 'options.normType');
    expectError(() => optim.clipGradNorm([a], 1, { max: 1 } as never), RangeError, 'clipGradNorm', 'options');
    a.dispose();
  });
});
