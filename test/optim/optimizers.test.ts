// optim.SGD / Adam / AdamW against hand computation, param groups, per-parameter step
// counts, state dicts, gradient accumulation, decayGroups, and bad arguments.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { expectError } from '../helpers/expect-error.js';

const { optim, nn } = toroid;
type Tensor = toroid.Tensor;

function param(values: number[], backend: string, shape = [values.length]): Tensor {
  const t = toroid.tensor(values, { shape, backend });
  t.requiresGrad = true;
  return t;
}

function setGrad(p: Tensor, values: number[]): void {
  p.grad?.dispose();
  p.grad = toroid.tensor(values, { shape: p.shape, backend: p.device });
}

const TIGHT = { atol: 1e-6, rtol: 1e-5 };

describeEachBackend('optim.SGD', (backend) => {
  it('plain, momentum, nesterov, dampening and weight decay follow torch.optim.SGD', () => {
    const p0 = [1, -2, 0.5];
    const grads = [[0.1, 0.2, -0.3], [0.4, -0.1, 0.2], [-0.2, 0.3, 0.1]];
    for (const cfg of [
      { lr: 0.1 },
      { lr: 0.1, momentum: 0.9 },
      { lr: 0.05, momentum: 0.9, nesterov: true },
      { lr: 0.1, momentum: 0.5, dampening: 0.3 },
      { lr: 0.1, momentum: 0.9, weightDecay: 0.1 },
    ]) {
      const p = param(p0, backend);
      const opt = new optim.SGD([p], cfg);
      // by hand, in float64
      const x = p0.slice();
      let buf: number[] | null = null;
      const mom = cfg.momentum ?? 0, damp = cfg.dampening ?? 0, wd = cfg.weightDecay ?? 0;
      for (const g of grads) {
        setGrad(p, g);
        opt.step();
        let d = g.map((v, i) => v + wd * x[i]!);
        if (mom !== 0) {
          buf = buf === null ? d.slice() : buf.map((b, i) => mom * b + (1 - damp) * d[i]!);
          d = (cfg as { nesterov?: boolean }).nesterov ? d.map((v, i) => v + mom * buf![i]!) : buf;
        }
        for (let i = 0; i < x.length; i++) x[i] = x[i]! - cfg.lr * d[i]!;
        expectClose(p.toTypedArray(), x, TIGHT, JSON.stringify(cfg));
      }
      const sd = opt.stateDict();
      if (mom !== 0) expectClose((sd.state[0]!.momentum_buffer as Tensor).toTypedArray(), buf!, TIGHT, 'momentum_buffer');
      else expect(sd.state).toEqual({});
      opt.dispose();
      p.dispose();
    }
  });

  it('updates in place: the same Tensor object, seen through the module', () => {
    toroid.manualSeed(3);
    const lin = new nn.Linear(3, 2, { backend });
    const w = lin.weight;
    const before = Array.from(w.toTypedArray());
    const opt = new optim.SGD(lin.parameters(), { lr: 1 });
    setGrad(w, [1, 1, 1, 1, 1, 1]);
    opt.step();
    expect(lin.weight).toBe(w);
    expectClose(lin.weight.toTypedArray(), before.map((v) => v - 1), TIGHT, 'w - 1');
    // the bias had no grad: untouched
    expect(lin.bias!.grad).toBeNull();
    lin.dispose();
  });
});

describeEachBackend('optim.Adam / AdamW', (backend) => {
  function adamByHand(p0: number[], grads: number[][], lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean) {
    const x = p0.slice(), m = p0.map(() => 0), v = p0.map(() => 0);
    grads.forEach((g0, k) => {
      const t = k + 1;
      const g = decoupled ? g0 : g0.map((gv, i) => gv + wd * x[i]!);
      for (let i = 0; i < x.length; i++) {
        if (decoupled) x[i] = x[i]! * (1 - lr * wd);
        m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
        v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
        x[i] = x[i]! - (lr / (1 - b1 ** t)) * m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps);
      }
    });
    return { x, m, v };
  }

  const P0 = [0.5, -1, 2, 0.25];
  const GRADS = [[0.1, -0.2, 0.3, 0.05], [0.2, 0.1, -0.1, 0.02], [-0.3, 0.2, 0.05, 0.01]];

  for (const [name, decoupled, wd] of [['Adam', false, 0], ['Adam', false, 0.1], ['AdamW', true, 0.1], ['AdamW', true, 0]] as const) {
    it(`${name}(weightDecay ${wd}) follows torch.optim.${name}`, () => {
      const p = param(P0, backend);
      const Opt = name === 'Adam' ? optim.Adam : optim.AdamW;
      const opt = new Opt([p], { lr: 0.01, betas: [0.8, 0.9], eps: 1e-6, weightDecay: wd });
      for (const g of GRADS) {
        setGrad(p, g);
        opt.step();
      }
      const want = adamByHand(P0, GRADS, 0.01, 0.8, 0.9, 1e-6, wd, decoupled);
      expectClose(p.toTypedArray(), want.x, TIGHT, 'param');
      const st = opt.stateDict().state[0]!;
      expect(st.step).toBe(3);
      expectClose((st.exp_avg as Tensor).toTypedArray(), want.m, TIGHT, 'exp_avg');
      expectClose((st.exp_avg_sq as Tensor).toTypedArray(), want.v, TIGHT, 'exp_avg_sq');
      opt.dispose();
      p.dispose();
    });
  }

  it('defaults: AdamW weightDecay 0.01, Adam 0; Adam(wd 0) and AdamW(wd 0) are bitwise equal', () => {
    const a = param(P0, backend), b = param(P0, backend);
    const adam = new optim.Adam([a]);
    const adamw = new optim.AdamW([b], { weightDecay: 0 });
    expect(adam.defaults).toEqual({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
    expect(new optim.AdamW([param([1], backend)]).defaults.weightDecay).toBe(0.01);
    for (const g of GRADS) {
      setGrad(a, g);
      setGrad(b, g);
      adam.step();
      adamw.step();
    }
    expect(Array.from(a.toTypedArray())).toEqual(Array.from(b.toTypedArray()));
    for (const t of [a, b]) t.dispose();
    adam.dispose();
    adamw.dispose();
  });

  it('param groups: per-group hyperparameters, defaults inherited, lr mutable; null grads skipped; per-parameter step', () => {
    const p = param([1, 1], backend), q = param([1, 1], backend), r = param([1, 1], backend);
    const opt = new optim.AdamW([{ params: [p, q], lr: 0.1 }, { params: [r], weightDecay: 0 }], { lr: 0.01, weightDecay: 0.5 });
    expect(opt.paramGroups.map((g) => [g.lr, g.weightDecay])).toEqual([[0.1, 0.5], [0.01, 0]]);
    setGrad(p, [1, -1]);
    setGrad(r, [1, 1]);
    opt.step(); // q has no grad: no state, untouched
    expect(Array.from(q.toTypedArray())).toEqual([1, 1]);
    expect(opt.state.has(q)).toBe(false);
    // first Adam step moves by lr * sign(g) (plus decay)
    expectClose(p.toTypedArray(), [1 * (1 - 0.05) - 0.1, 1 * (1 - 0.05) + 0.1], TIGHT, 'p');
    expectClose(r.toTypedArray(), [0.99, 0.99], TIGHT, 'r');
    opt.paramGroups[1]!.lr = 0;
    setGrad(q, [2, 2]);
    opt.step(); // p: step 2, q: its step 1 (own bias correction), r: lr 0 now
    const st = opt.stateDict();
    expect([st.state[0]!.step, st.state[1]!.step, st.state[2]!.step]).toEqual([2, 1, 2]);
    expectClose(q.toTypedArray(), [1 * (1 - 0.05) - 0.1, 1 * (1 - 0.05) - 0.1], TIGHT, 'q after its first step');
    expectClose(r.toTypedArray(), [0.99, 0.99], TIGHT, 'r with lr 0');
    expect(st.param_groups).toEqual([
      { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.5, params: [0, 1] },
      { lr: 0, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, params: [2] },
    ]);
    // zeroGrad clears every grad
    opt.zeroGrad();
    expect([p.grad, q.grad, r.grad]).toEqual([null, null, null]);
    opt.step(); // nothing to do
    expect(opt.stateDict().state[0]!.step).toBe(2);
    opt.dispose();
    for (const t of [p, q, r]) t.dispose();
  });

  it('stateDict / loadStateDict: copies, restores lr and steps, and a resumed run is bitwise the same', () => {
    const run = (split: boolean): number[] => {
      const p = param(P0, backend);
      let opt = new optim.Adam([p], { lr: 0.05, weightDecay: 0.01 });
      GRADS.forEach((g, k) => {
        if (split && k === 2) {
          const sd = opt.stateDict();
          const fresh = new optim.Adam([p], { lr: 1 });
          fresh.loadStateDict(sd);
          expect(fresh.paramGroups[0]!.lr).toBe(0.05);
          expect(fresh.stateDict().state[0]!.exp_avg).not.toBe(sd.state[0]!.exp_avg);
          opt.dispose(); // the copies in `fresh` survive
          opt = fresh;
        }
        setGrad(p, g);
        opt.step();
      });
      const out = Array.from(p.toTypedArray());
      opt.dispose();
      p.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));
  });

  it('stepping inside toroid.tidy keeps the optimizer state; no storage leaks across steps', () => {
    const p = param(P0, backend);
    const opt = new optim.AdamW([p], { lr: 0.01 });
    const step = (): void => toroid.tidy(() => {
      opt.zeroGrad();
      p.mul(p).sum().backward();
      optim.clipGradNorm([p], 0.5);
      opt.step();
    });
    step();
    const live = toroid.memory().liveStorages;
    for (let i = 0; i < 3; i++) step();
    expect(toroid.memory().liveStorages).toBe(live);
    expect((opt.stateDict().state[0]!.exp_avg as Tensor).isDisposed).toBe(false);
    expect(opt.stateDict().state[0]!.step).toBe(4);
    opt.dispose();
    p.dispose();
  });
});

describeEachBackend('gradient accumulation', (backend) => {
  it('backward() adds into .grad: k micro-batches with loss / k, then step(), equal one full-batch step', () => {
    toroid.manualSeed(5);
    const x = toroid.randn([4, 3], { backend });
    const y = toroid.randn([4, 2], { backend });
    const make = () => {
      toroid.manualSeed(7);
      return new nn.Linear(3, 2, { backend });
    };
    const loss = (m: toroid.nn.Linear, xs: Tensor, ys: Tensor, k: number): Tensor => {
      const d = m.forward(xs).sub(ys);
      return d.mul(d).mean().mul(1 / k);
    };
    const full = make(), acc = make();
    const optFull = new optim.SGD(full.parameters(), { lr: 0.1, momentum: 0.9 });
    const optAcc = new optim.SGD(acc.parameters(), { lr: 0.1, momentum: 0.9 });
    for (let step = 0; step < 2; step++) {
      toroid.tidy(() => {
        optFull.zeroGrad();
        loss(full, x, y, 1).backward();
        optFull.step();
        optAcc.zeroGrad();
        for (let i = 0; i < 2; i++) loss(acc, toroid.F.narrow(x, 0, 2 * i, 2), toroid.F.narrow(y, 0, 2 * i, 2), 2).backward();
        optAcc.step();
      });
    }
    expectClose(acc.weight.toTypedArray(), full.weight.toTypedArray(), TIGHT, 'weight');
    expectClose(acc.bias!.toTypedArray(), full.bias!.toTypedArray(), TIGHT, 'bias');
    for (const t of [x, y]) t.dispose();
    full.dispose();
    acc.dispose();
  });
});

describe('optim.decayGroups', () => {
  it('biases, norm weights and embeddings (tied ones too) go to the no-decay group', () => {
    toroid.manualSeed(1);
    const model = new nn.Seq2SeqTransformer({ srcVocab: 11, tgtVocab: 13, dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, tieGenerator: true });
    const groups = optim.decayGroups(model, { weightDecay: 0.1 });
    expect(groups.map((g) => [g.name, g.weightDecay])).toEqual([['decay', 0.1], ['no_decay', 0]]);
    const names = new Map(model.namedParameters().map(([n, p]) => [p, n]));
    const decay = groups[0]!.params.map((p) => names.get(p)!);
    const noDecay = groups[1]!.params.map((p) => names.get(p)!);
    expect(decay.length + noDecay.length).toBe(model.parameters().length);
    expect(decay.every((n) => n.endsWith('weight') && !n.includes('norm') && !n.includes('emb'))).toBe(true);
    expect(decay).toContain('transformer.encoder.layers.0.self_attn.in_proj_weight');
    expect(decay).toContain('transformer.decoder.layers.0.linear2.weight');
    expect(noDecay).toContain('src_tok_emb.weight');
    expect(noDecay).toContain('tgt_tok_emb.weight'); // tied with the generator: listed once
    expect(noDecay).toContain('transformer.encoder.layers.0.self_attn.in_proj_bias');
    expect(noDecay).toContain('transformer.encoder.layers.0.norm1.weight');
    expect(noDecay).toContain('transformer.decoder.norm.bias');
    expect(noDecay.some((n) => n.startsWith('generator.weight'))).toBe(false);
    // a custom rule replaces the default; weightDecay omitted -> the optimizer's default
    const custom = optim.decayGroups(model, { noDecay: (name) => name.endsWith('.bias') });
    expect(custom[0]!.weightDecay).toBeUndefined();
    expect(custom[1]!.params.every((p) => names.get(p)!.endsWith('.bias'))).toBe(true);
    const opt = new optim.AdamW(custom, { weightDecay: 0.2 });
    expect(opt.paramGroups.map((g) => g.weightDecay)).toEqual([0.2, 0]);
    // frozen parameters are left out
    model.getParameter('src_tok_emb.weight').requiresGrad = false;
    expect(optim.decayGroups(model)[1]!.params.map((p) => names.get(p))).not.toContain('src_tok_emb.weight');
    model.dispose();
  });
});

describe('optimizer bad arguments', () => {
  const p = (): Tensor => param([1, 2], 'ts');

  for (const name of ['Adam', 'AdamW'] as const) {
    it(`${name}`, () => {
      const Opt = optim[name];
      expect(() => new Opt([p()], { lr: -1 })).toThrow(`toroid.${name}: options.lr must be a non-negative finite number, got -1`);
      expectError(() => new Opt([p()], { lr: -1 }), RangeError, name, 'options.lr');
      expectError(() => new Opt([p()], { lr: '0.1' as unknown as number }), TypeError, name, 'options.lr');
      expectError(() => new Opt([p()], { betas: [0.9, 1] }), RangeError, name, 'options.betas');
      expectError(() => new Opt([p()], { betas: [0.9] as unknown as [number, number] }), RangeError, name, 'options.betas');
      expectError(() => new Opt([p()], { eps: -1e-8 }), RangeError, name, 'options.eps');
      expectError(() => new Opt([p()], { weightDecay: NaN }), RangeError, name, 'options.weightDecay');
      expectError(() => new Opt([p()], { momentum: 0.9 } as never), RangeError, name, 'options');
      expectError(() => new Opt([], {}), RangeError, name, 'params');
      expectError(() => new Opt(p() as never), TypeError, name, 'params');
      expectError(() => new Opt([p(), 3 as never]), TypeError, name, 'params[1]');
      const shared = p();
      expectError(() => new Opt([shared, shared]), RangeError, name, 'params[1]');
      expectError(() => new Opt([{ params: [p()] }, { params: [p()], lr: -2 }]), RangeError, name, 'params[1].lr');
      expectError(() => new Opt([{ params: [p()], weight_decay: 0 } as never]), RangeError, name, 'params[0]');
      const computed = toroid.tidy(() => p().mul(2));
      expectError(() => new Opt([computed]), TypeError, name, 'params[0]');
      const ints = toroid.tensor([1, 2], { dtype: 'int32', backend: 'ts' });
      expectError(() => new Opt([ints]), TypeError, name, 'params[0]');
      // at step(): a mutated lr, a grad of the wrong shape
      const q = p();
      const opt = new Opt([q]);
      q.grad = toroid.tensor([1, 2, 3], { backend: 'ts' });
      expectError(() => opt.step(), RangeError, `${name}.step`, 'paramGroups[0].params[0].grad');
      setGrad(q, [1, 1]);
      opt.paramGroups[0]!.lr = -1;
      expectError(() => opt.step(), RangeError, `${name}.step`, 'paramGroups[0].lr');
      opt.paramGroups[0]!.lr = 0.1;
      opt.step();
      // loadStateDict: wrong layout, wrong shapes
      const sd = opt.stateDict();
      const other = new Opt([p(), p()]);
      expectError(() => other.loadStateDict(sd), RangeError, `${name}.loadStateDict`, 'stateDict.param_groups[0].params');
      const bad = new Opt([param([1, 2, 3], 'ts')]);
      expectError(() => bad.loadStateDict(sd), RangeError, `${name}.loadStateDict`, 'stateDict.state[0].exp_avg');
      expectError(() => bad.loadStateDict(null as never), TypeError, `${name}.loadStateDict`, 'stateDict');
    });
  }

  it('SGD', () => {
    expect(() => new optim.SGD([p()], { lr: -1 })).toThrow('toroid.SGD: options.lr must be a non-negative finite number, got -1');
    expectError(() => new optim.SGD([p()], {} as never), TypeError, 'SGD', 'options.lr');
    expectError(() => new optim.SGD([p()], undefined as never), TypeError, 'SGD', 'options');
    expectError(() => new optim.SGD([p()], { lr: 0.1, momentum: -0.9 }), RangeError, 'SGD', 'options.momentum');
    expectError(() => new optim.SGD([p()], { lr: 0.1, nesterov: true }), RangeError, 'SGD', 'options.nesterov');
    expectError(() => new optim.SGD([p()], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), RangeError, 'SGD', 'options.nesterov');
    expectError(() => new optim.SGD([p()], { lr: 0.1, nesterov: 1 as never }), TypeError, 'SGD', 'options.nesterov');
    expectError(() => new optim.SGD([p()], { lr: 0.1, weightDecay: -1 }), RangeError, 'SGD', 'options.weightDecay');
    expectError(() => new optim.SGD([], { lr: 0.1 }), RangeError, 'SGD', 'params');
    expectError(() => new optim.SGD([{ params: [p()], nesterov: true }], { lr: 0.1 }), RangeError, 'SGD', 'params[0].nesterov');
  });

  it('decayGroups', () => {
    const lin = new nn.Linear(2, 2, { backend: 'ts' });
    expectError(() => optim.decayGroups({} as never), TypeError, 'decayGroups', 'model');
    expectError(() => optim.decayGroups(lin, { weightDecay: -1 }), RangeError, 'decayGroups', 'options.weightDecay');
    expectError(() => optim.decayGroups(lin, { noDecay: 'bias' as never }), TypeError, 'decayGroups', 'options.noDecay');
    expectError(() => optim.decayGroups(lin, { noDecay: () => 1 as never }), TypeError, 'decayGroups', 'options.noDecay');
    expectError(() => optim.decayGroups(lin, { decay: 1 } as never), RangeError, 'decayGroups', 'options');
    lin.dispose();
  });
});
