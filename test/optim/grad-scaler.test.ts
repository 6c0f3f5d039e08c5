// optim.GradScaler against torch.cuda.amp.GradScaler's semantics: exact unscaling with
// power-of-two scales, skipped steps and backoff on Inf/NaN, growth after a streak,
// once-per-step unscale, the disabled pass-through, state dicts, errors and memory.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { expectError } from '../helpers/expect-error.js';

const { optim, nn } = toroid;
type Tensor = toroid.Tensor;

function param(values: number[], backend: string): Tensor {
  const t = toroid.tensor(values, { backend });
  t.requiresGrad = true;
  return t;
}

function setGrad(p: Tensor, values: number[]): void {
  p.grad?.dispose();
  p.grad = toroid.tensor(values, { shape: p.shape, backend: p.device });
}

function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray());
}

describeEachBackend('optim.GradScaler', (backend) => {
  const makeModel = (): toroid.nn.Linear => {
    toroid.manualSeed(11);
    return new nn.Linear(4, 3, { backend });
  };
  const data = (): [Tensor, Tensor] => {
    toroid.manualSeed(12);
    return [toroid.randn([5, 4], { backend }), toroid.randn([5, 3], { backend })];
  };
  const mse = (m: toroid.nn.Linear, x: Tensor, y: Tensor): Tensor => {
    const d = m.forward(x).sub(y);
    return d.mul(d).mean();
  };

  it('training with the scaler gives the same parameters as without (power-of-two scale: exact)', () => {
    const [x, y] = data();
    const plain = makeModel(), scaled = makeModel();
    const optPlain = new optim.AdamW(plain.parameters(), { lr: 0.01 });
    const optScaled = new optim.AdamW(scaled.parameters(), { lr: 0.01 });
    const scaler = new optim.GradScaler({ initScale: 2 ** 10, growthInterval: 2 });
    for (let step = 0; step < 4; step++) {
      toroid.tidy(() => {
        optPlain.zeroGrad();
        mse(plain, x, y).backward();
        optPlain.step();
        optScaled.zeroGrad();
        const loss = mse(scaled, x, y);
        const big = scaler.scale(loss);
        expect(big.item()).toBe(loss.item() * scaler.getScale());
        big.backward();
        expect(scaler.step(optScaled)).toBe(true);
        scaler.update();
      });
    }
    expect(scaler.getScale()).toBe(2 ** 12); // grew twice (interval 2, 4 good steps)
    for (const [a, b] of [[plain.weight, scaled.weight], [plain.bias!, scaled.bias!]] as const) {
      if (backend === 'cuda') expectClose(values(b), values(a), { atol: 0, rtol: 1e-6 }, 'param');
      else expect(values(b)).toEqual(values(a));
    }
    optPlain.dispose();
    optScaled.dispose();
    plain.dispose();
    scaled.dispose();
    x.dispose();
    y.dispose();
  });

  it('unscale divides each grad by the scale, replacing .grad (like clipGradNorm); twice throws', () => {
    const p = param([1, 2, 3], backend), q = param([4, 5], backend), r = param([6], backend);
    const opt = new optim.SGD([{ params: [p, q] }, { params: [r] }], { lr: 0.1 });
    const scaler = new optim.GradScaler({ initScale: 8 });
    toroid.tidy(() => scaler.scale(p.mul(p).sum().add(q.sum())).backward()); // r has no grad
    const oldGrad = p.grad!;
    expect(values(oldGrad)).toEqual([16, 32, 48]);
    scaler.unscale(opt);
    expect(oldGrad.isDisposed).toBe(true);
    expect(values(p.grad!)).toEqual([2, 4, 6]);
    expect(values(q.grad!)).toEqual([1, 1]);
    expect(r.grad).toBeNull();
    expect(() => scaler.unscale(opt)).toThrow(/toroid\.GradScaler\.unscale: unscale\(\) was already called on this optimizer since the last update\(\)/);
    expect(values(p.grad!)).toEqual([2, 4, 6]); // not unscaled twice
    // user clipping between unscale and step sees the true gradients
    expect(optim.clipGradNorm([p, q, r], 100)).toBeCloseTo(Math.sqrt(4 + 16 + 36 + 2), 5);
    expect(scaler.step(opt)).toBe(true);
    expectClose(values(p), [0.8, 1.6, 2.4], { atol: 1e-6, rtol: 1e-6 }, 'p');
    expect(() => scaler.step(opt)).toThrow(/toroid\.GradScaler\.step: step\(\) was already called/);
    expect(() => scaler.unscale(opt)).toThrow(/toroid\.GradScaler\.unscale: unscale\(\) was called after step\(\)/);
    scaler.update();
    expect(() => scaler.update()).toThrow(/toroid\.GradScaler\.update: no gradients were checked since the last update\(\)/);
    expect(scaler.getScale()).toBe(8);
    opt.dispose();
    for (const t of [p, q, r]) t.dispose();
  });

  for (const bad of [Infinity, -Infinity, NaN]) {
    it(`a ${bad} in one gradient: step() returns false, parameters and optimizer state unchanged, scale halves`, () => {
      const p = param([0.5, -1, 2], backend), q = param([1, 1], backend);
      const opt = new optim.AdamW([p, q], { lr: 0.1 });
      const scaler = new optim.GradScaler({ initScale: 2 ** 4, growthInterval: 1000 });
      setGrad(p, [16, 32, -16]);
      setGrad(q, [8, 8]);
      expect(scaler.step(opt)).toBe(true);
      scaler.update();
      const before = { p: values(p), q: values(q) };
      const st = opt.stateDict().state;
      const stateBefore = [0, 1].map((i) => [st[i]!.step, values(st[i]!.exp_avg as Tensor), values(st[i]!.exp_avg_sq as Tensor)]);
      setGrad(p, [16, 32, -16]);
      setGrad(q, [8, bad]);
      expect(scaler.step(opt)).toBe(false);
      expect(values(p)).toEqual(before.p);
      expect(values(q)).toEqual(before.q);
      const after = opt.stateDict().state;
      expect([0, 1].map((i) => [after[i]!.step, values(after[i]!.exp_avg as Tensor), values(after[i]!.exp_avg_sq as Tensor)])).toEqual(stateBefore);
      scaler.update();
      expect(scaler.getScale()).toBe(2 ** 3);
      expect(scaler.stateDict().growthTracker).toBe(0);
      // the next finite step goes through with the new scale
      opt.zeroGrad();
      setGrad(p, [8, 16, -8]);
      expect(scaler.step(opt)).toBe(true);
      scaler.update();
      expect(opt.stateDict().state[0]!.step).toBe(2);
      opt.dispose();
      for (const t of [p, q]) t.dispose();
    });
  }

  it('grows by growthFactor after growthInterval good steps; an overflow restarts the count', () => {
    const p = param([1, 2], backend);
    const opt = new optim.SGD([p], { lr: 0 });
    const scaler = new optim.GradScaler({ initScale: 4, growthFactor: 4, backoffFactor: 0.25, growthInterval: 3 });
    const iterate = (g: number[]): boolean => {
      setGrad(p, g);
      const stepped = scaler.step(opt);
      scaler.update();
      return stepped;
    };
    const scales: number[] = [];
    for (const g of [[1, 1], [1, 1], [1, 1], [1, 1], [1, 1], [NaN, 1], [1, 1], [1, 1], [1, 1]]) {
      iterate(g);
      scales.push(scaler.getScale());
    }
    expect(scales).toEqual([4, 4, 16, 16, 16, 4, 4, 4, 16]);
    expect(scaler.stateDict().growthTracker).toBe(0);
    scaler.update(2); // an explicit new scale (PyTorch's update(new_scale))
    expect(scaler.getScale()).toBe(2);
    opt.dispose();
    p.dispose();
  });

  it('disabled: scale() returns the loss itself, unscale/update do nothing, step() is optimizer.step()', () => {
    const p = param([1, 2], backend);
    const opt = new optim.SGD([p], { lr: 0.5 });
    const scaler = new optim.GradScaler({ enabled: false });
    expect(scaler.isEnabled()).toBe(false);
    expect(scaler.getScale()).toBe(1);
    const loss = p.mul(p).sum();
    expect(scaler.scale(loss)).toBe(loss);
    scaler.scale(loss).backward();
    const g = p.grad!;
    scaler.unscale(opt);
    scaler.unscale(opt); // no bookkeeping when disabled
    expect(p.grad).toBe(g);
    expect(values(g)).toEqual([2, 4]);
    expect(scaler.step(opt)).toBe(true);
    expect(values(p)).toEqual([0, 0]);
    scaler.update();
    scaler.update();
    expect(scaler.getScale()).toBe(1);
    loss.dispose();
    opt.dispose();
    p.dispose();
  });

  it('no tensor leaks over a loop of scaled steps (skipped ones included)', () => {
    const model = makeModel();
    const [x, y] = data();
    const opt = new optim.AdamW(model.parameters(), { lr: 0.01 });
    const scaler = new optim.GradScaler({ growthInterval: 2 });
    const step = (overflow: boolean): boolean => toroid.tidy(() => {
      opt.zeroGrad();
      scaler.scale(mse(model, x, y)).backward();
      if (overflow) setGrad(model.weight, new Array<number>(12).fill(Infinity));
      scaler.unscale(opt);
      optim.clipGradNorm(model.parameters(), 1);
      const stepped = scaler.step(opt);
      scaler.update();
      return stepped;
    });
    step(false);
    opt.zeroGrad();
    const live = toroid.memory().liveStorages;
    const results: boolean[] = [];
    for (const overflow of [false, true, false, false]) {
      results.push(step(overflow));
      opt.zeroGrad();
    }
    expect(results).toEqual([true, false, true, true]);
    expect(toroid.memory().liveStorages).toBe(live);
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  });
});

describe('optim.GradScaler state and arguments', () => {
  it('defaults follow PyTorch; stateDict is plain numbers and round-trips through JSON', () => {
    const scaler = new optim.GradScaler();
    expect(scaler.isEnabled()).toBe(true);
    expect(scaler.stateDict()).toEqual({ scale: 65536, growthFactor: 2, backoffFactor: 0.5, growthInterval: 2000, growthTracker: 0 });
    const p = param([1], 'ts');
    const opt = new optim.SGD([p], { lr: 0 });
    const a = new optim.GradScaler({ initScale: 2 ** 8, growthFactor: 4, backoffFactor: 0.125, growthInterval: 5 });
    for (let i = 0; i < 3; i++) {
      setGrad(p, [1]);
      a.step(opt);
      a.update();
    }
    const sd = JSON.parse(JSON.stringify(a.stateDict())) as toroid.optim.GradScalerState;
    expect(sd).toEqual({ scale: 256, growthFactor: 4, backoffFactor: 0.125, growthInterval: 5, growthTracker: 3 });
    const b = new optim.GradScaler();
    b.loadStateDict(sd);
    expect(b.stateDict()).toEqual(a.stateDict());
    // both continue identically: two more good steps grow the scale
    for (const s of [a, b]) {
      for (let i = 0; i < 2; i++) {
        setGrad(p, [1]);
        s.step(opt);
        s.update();
      }
    }
    expect(a.getScale()).toBe(1024);
    expect(b.stateDict()).toEqual(a.stateDict());
    opt.dispose();
    p.dispose();
  });

  it('bad arguments', () => {
    const fn = 'GradScaler';
    expectError(() => new optim.GradScaler({ initScale: 0 }), RangeError, fn, 'options.initScale');
    expectError(() => new optim.GradScaler({ initScale: Infinity }), RangeError, fn, 'options.initScale');
    expectError(() => new optim.GradScaler({ initScale: '1' as never }), TypeError, fn, 'options.initScale');
    expectError(() => new optim.GradScaler({ growthFactor: 1 }), RangeError, fn, 'options.growthFactor');
    expectError(() => new optim.GradScaler({ backoffFactor: 1 }), RangeError, fn, 'options.backoffFactor');
    expectError(() => new optim.GradScaler({ backoffFactor: 0 }), RangeError, fn, 'options.backoffFactor');
    expectError(() => new optim.GradScaler({ growthInterval: 0 }), RangeError, fn, 'options.growthInterval');
    expectError(() => new optim.GradScaler({ growthInterval: 2.5 }), RangeError, fn, 'options.growthInterval');
    expectError(() => new optim.GradScaler({ enabled: 1 as never }), TypeError, fn, 'options.enabled');
    expectError(() => new optim.GradScaler({ init_scale: 2 } as never), RangeError, fn, 'options');
    expectError(() => new optim.GradScaler(5 as never), TypeError, fn, 'options');
    expect(() => new optim.GradScaler({ growthFactor: 1 })).toThrow('toroid.GradScaler: options.growthFactor must be a finite number > 1, got 1');
    const scaler = new optim.GradScaler();
    const p = param([1, 2], 'ts');
    const opt = new optim.SGD([p], { lr: 0.1 });
    expectError(() => scaler.scale(3 as never), TypeError, 'GradScaler.scale', 'loss');
    expectError(() => scaler.scale(toroid.tensor([1], { dtype: 'int32' })), TypeError, 'GradScaler.scale', 'loss');
    expectError(() => scaler.unscale({} as never), TypeError, 'GradScaler.unscale', 'optimizer');
    expectError(() => scaler.step(null as never), TypeError, 'GradScaler.step', 'optimizer');
    expectError(() => scaler.update(-1), RangeError, 'GradScaler.update', 'newScale');
    const dead = toroid.tensor([1, 1]);
    dead.dispose();
    p.grad = dead;
    expectError(() => scaler.unscale(opt), TypeError, 'GradScaler.unscale', 'optimizer.paramGroups[0].params[0].grad');
    p.grad = null;
    const sd = scaler.stateDict();
    expectError(() => scaler.loadStateDict(null as never), TypeError, 'GradScaler.loadStateDict', 'state');
    expectError(() => scaler.loadStateDict({ ...sd, scale: -1 }), RangeError, 'GradScaler.loadStateDict', 'state.scale');
    expectError(() => scaler.loadStateDict({ ...sd, growthTracker: 1.5 }), RangeError, 'GradScaler.loadStateDict', 'state.growthTracker');
    expectError(() => scaler.loadStateDict({ ...sd, growthInterval: undefined } as never), TypeError, 'GradScaler.loadStateDict', 'state.growthInterval');
    expect(scaler.stateDict()).toEqual(sd); // failed loads change nothing
    opt.dispose();
    p.dispose();
  });
});
