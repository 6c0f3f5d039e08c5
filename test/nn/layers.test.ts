// nn layers: seeded PyTorch-default inits, forward equal to the F.* call with the
// module's parameters, backward into .grad, Dropout modes, containers, nn.init,
// and bad constructor arguments.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectError } from '../helpers/expect-error.js';

const { nn, F } = toroid;
const { init } = nn;
type Tensor = toroid.Tensor;

function stats(t: Tensor): { min: number; max: number; mean: number; variance: number } {
  const v = t.toTypedArray();
  let min = Infinity, max = -Infinity, sum = 0;
  for (const x of v) {
    min = Math.min(min, x);
    max = Math.max(max, x);
    sum += x;
  }
  const mean = sum / v.length;
  let sq = 0;
  for (const x of v) sq += (x - mean) ** 2;
  return { min, max, mean, variance: sq / v.length };
}

/** Sample std within 2% of `std` (the sampling error is about 0.4% for 32768 values). */
function expectStd(t: Tensor, std: number): void {
  expect(Math.abs(Math.sqrt(stats(t).variance) / std - 1)).toBeLessThan(0.02);
}

function bits(m: toroid.nn.Module): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.toTypedArray())]));
}

/** Run fn on the module and on the F reference with detached copies of its params; compare outputs and grads. */
function checkAgainstF(module: toroid.nn.Module, x: Tensor, viaModule: (x: Tensor) => Tensor, viaF: (x: Tensor, params: Tensor[]) => Tensor): void {
  const params = module.parameters();
  const copies = params.map((p) => {
    const c = toroid.tensor(p.toTypedArray() as Float32Array, { shape: p.shape, backend: p.device, dtype: p.dtype });
    c.requiresGrad = true;
    return c;
  });
  toroid.tidy(() => {
    const y1 = viaModule(x);
    const w = toroid.randn(y1.shape.slice(), { backend: x.device, dtype: y1.dtype });
    const y2 = viaF(x, copies);
    expect(Array.from(y1.toTypedArray())).toEqual(Array.from(y2.toTypedArray()));
    y1.mul(w).sum().backward();
    y2.mul(w).sum().backward();
  });
  params.forEach((p, i) => {
    expect(p.grad, `grad of parameter ${i}`).not.toBeNull();
    expect(p.grad!.shape).toEqual(p.shape);
    expect(Array.from(p.grad!.toTypedArray())).toEqual(Array.from(copies[i]!.grad!.toTypedArray()));
  });
  for (const c of copies) c.dispose();
  module.zeroGrad();
}

describeEachBackend('nn layers', (backend) => {
  it('the same seed gives bitwise-equal parameters, on this backend and on ts', () => {
    const build = (b: string): toroid.nn.Module => new nn.Sequential(
      new nn.Embedding(50, 16, { backend: b, paddingIdx: 3 }),
      new nn.Linear(16, 32, { backend: b }),
      new nn.LayerNorm(32, { backend: b }),
      new nn.RMSNorm([32], { backend: b }),
      new nn.Linear(32, 8, { bias: false, backend: b }),
    );
    toroid.manualSeed(1234);
    const a = build(backend);
    toroid.manualSeed(1234);
    const b = build(backend);
    toroid.manualSeed(1234);
    const ref = build('ts');
    toroid.manualSeed(99);
    const c = build(backend);
    expect(bits(b)).toEqual(bits(a));
    expect(bits(ref)).toEqual(bits(a));
    expect(bits(c)).not.toEqual(bits(a));
    for (const m of [a, b, ref, c]) m.dispose();
  });

  it('Linear: weight [out,in] and bias [out] ~ U(-1/sqrt(in), 1/sqrt(in))', () => {
    toroid.manualSeed(0);
    const m = new nn.Linear(64, 256, { backend });
    expect(m.weight.shape).toEqual([256, 64]);
    expect(m.bias!.shape).toEqual([256]);
    expect(m.inFeatures).toBe(64);
    expect(m.outFeatures).toBe(256);
    const bound = 1 / 8;
    const w = stats(m.weight);
    expect(w.min).toBeGreaterThanOrEqual(-bound);
    expect(w.max).toBeLessThanOrEqual(bound);
    expect(w.min).toBeLessThan(-0.99 * bound);
    expect(w.max).toBeGreaterThan(0.99 * bound);
    expect(Math.abs(w.mean)).toBeLessThan(0.005);
    expect(w.variance).toBeCloseTo(bound * bound / 3, 3);
    const b = stats(m.bias!);
    expect(b.min).toBeGreaterThanOrEqual(-bound);
    expect(b.max).toBeLessThanOrEqual(bound);
    const noBias = new nn.Linear(4, 2, { bias: false, backend });
    expect(noBias.bias).toBeNull();
    expect(noBias.namedParameters().map(([n]) => n)).toEqual(['weight']);
    m.dispose();
    noBias.dispose();
  });

  it('Embedding: weight ~ N(0,1) (the draws of toroid.randn) with the paddingIdx row zeroed', () => {
    toroid.manualSeed(5);
    const m = new nn.Embedding(1000, 16, { backend, paddingIdx: -1 });
    expect(m.paddingIdx).toBe(999);
    toroid.manualSeed(5);
    const r = toroid.randn([1000, 16], { backend });
    const got = m.weight.toTypedArray(), want = r.toTypedArray();
    expect(Array.from(got.slice(0, 999 * 16))).toEqual(Array.from(want.slice(0, 999 * 16)));
    expect(Array.from(got.slice(999 * 16))).toEqual(new Array(16).fill(0));
    const s = stats(m.weight);
    expect(Math.abs(s.mean)).toBeLessThan(0.03);
    expect(s.variance).toBeGreaterThan(0.95);
    expect(s.variance).toBeLessThan(1.05);
    r.dispose();
    m.dispose();
  });

  it('LayerNorm weight 1 and bias 0; RMSNorm weight 1; affine flags', () => {
    const ln = new nn.LayerNorm([3, 4], { backend });
    expect(ln.weight!.shape).toEqual([3, 4]);
    expect(Array.from(ln.weight!.toTypedArray())).toEqual(new Array(12).fill(1));
    expect(Array.from(ln.bias!.toTypedArray())).toEqual(new Array(12).fill(0));
    expect(ln.eps).toBe(1e-5);
    const noBias = new nn.LayerNorm(4, { bias: false, backend });
    expect(Object.keys(noBias.stateDict())).toEqual(['weight']);
    const plain = new nn.LayerNorm(4, { elementwiseAffine: false, backend });
    expect(plain.numParameters()).toBe(0);
    const rms = new nn.RMSNorm(6, { backend });
    expect(Array.from(rms.weight!.toTypedArray())).toEqual(new Array(6).fill(1));
    expect(rms.eps).toBeNull();
    const rmsPlain = new nn.RMSNorm(6, { elementwiseAffine: false, eps: 1e-6, backend });
    expect(rmsPlain.weight).toBeNull();
    expect(rmsPlain.eps).toBe(1e-6);
    for (const m of [ln, noBias, plain, rms, rmsPlain]) m.dispose();
  });

  it('Linear forward and backward equal F.linear', () => {
    const m = new nn.Linear(5, 3, { backend });
    const x = toroid.randn([2, 4, 5], { backend, requiresGrad: true });
    checkAgainstF(m, x, (t) => m.forward(t), (t, [w, b]) => F.linear(t, w!, b!));
    const nb = new nn.Linear(5, 3, { bias: false, backend });
    checkAgainstF(nb, x, (t) => nb.forward(t), (t, [w]) => F.linear(t, w!));
    x.dispose();
    m.dispose();
    nb.dispose();
  });

  it('Embedding forward and backward equal F.embedding; the padding row gets no gradient', () => {
    const m = new nn.Embedding(7, 3, { paddingIdx: 2, backend });
    const ids = toroid.tensor([[0, 2, 6], [2, 1, 1]], { dtype: 'int32', backend });
    checkAgainstF(m, ids, (t) => m.forward(t), (t, [w]) => F.embedding(t, w!, { paddingIdx: 2 }));
    toroid.tidy(() => m.forward(ids).sum().backward());
    expect(Array.from(m.weight.grad!.toTypedArray().slice(6, 9))).toEqual([0, 0, 0]);
    expect(Array.from(m.weight.grad!.toTypedArray().slice(3, 6))).toEqual([2, 2, 2]);
    ids.dispose();
    m.dispose();
  });

  it('LayerNorm and RMSNorm forward and backward equal F.layerNorm / F.rmsNorm', () => {
    const x = toroid.randn([3, 2, 8], { backend, requiresGrad: true });
    const ln = new nn.LayerNorm(8, { eps: 1e-3, backend });
    // non-trivial affine parameters, set in place
    init.normal_(ln.weight!);
    init.normal_(ln.bias!);
    checkAgainstF(ln, x, (t) => ln.forward(t), (t, [w, b]) => F.layerNorm(t, [8], w!, b!, 1e-3));
    const ln2 = new nn.LayerNorm([2, 8], { backend });
    checkAgainstF(ln2, x, (t) => ln2.forward(t), (t, [w, b]) => F.layerNorm(t, [2, 8], w!, b!));
    const rms = new nn.RMSNorm(8, { backend });
    init.uniform_(rms.weight!, 0.5, 1.5);
    checkAgainstF(rms, x, (t) => rms.forward(t), (t, [w]) => F.rmsNorm(t, [8], w!));
    const rmsEps = new nn.RMSNorm(8, { eps: 0.1, backend });
    checkAgainstF(rmsEps, x, (t) => rmsEps.forward(t), (t, [w]) => F.rmsNorm(t, [8], w!, 0.1));
    x.dispose();
    for (const m of [ln, ln2, rms, rmsEps]) m.dispose();
  });

  it.skipIf(!supportsDType(backend, 'float64'))('float64 modules (options.dtype)', () => {
    const m = new nn.Linear(3, 2, { backend, dtype: 'float64' });
    expect(m.weight.dtype).toBe('float64');
    const x = toroid.randn([4, 3], { backend, dtype: 'float64', requiresGrad: true });
    checkAgainstF(m, x, (t) => m.forward(t), (t, [w, b]) => F.linear(t, w!, b!));
    x.dispose();
    m.dispose();
  });

  it('Dropout: the mask of F.dropout while training, the input itself in eval, p = 0 identity', () => {
    const d = new nn.Dropout(0.3);
    expect(d.p).toBe(0.3);
    expect(new nn.Dropout().p).toBe(0.5);
    const x = toroid.randn([64, 16], { backend, requiresGrad: true });
    toroid.tidy(() => {
      toroid.manualSeed(77);
      const y = d.forward(x);
      toroid.manualSeed(77);
      const ref = F.dropout(x, 0.3);
      expect(Array.from(y.toTypedArray())).toEqual(Array.from(ref.toTypedArray()));
      const kept = Array.from(y.toTypedArray()).filter((v) => v !== 0).length / x.size;
      expect(kept).toBeGreaterThan(0.6);
      expect(kept).toBeLessThan(0.8);
      y.sum().backward();
      const g = x.grad!.toTypedArray(), yv = y.toTypedArray();
      for (let i = 0; i < g.length; i++) expect(g[i]).toBeCloseTo(yv[i] === 0 ? 0 : 1 / 0.7, 5);
    });
    d.eval();
    const state = toroid.getRngState();
    expect(d.forward(x)).toBe(x);
    expect(toroid.getRngState()).toEqual(state);
    d.train();
    expect(new nn.Dropout(0).forward(x)).toBe(x);
    // inside a container, eval() reaches it
    const seq = new nn.Sequential(new nn.Dropout(0.9));
    seq.eval();
    expect(seq.forward(x)).toBe(x);
    x.dispose();
  });

  it('Sequential chains its modules; ModuleList indexes and iterates them', () => {
    const a = new nn.Linear(4, 6, { backend }), b = new nn.LayerNorm(6, { backend }), c = new nn.Linear(6, 2, { backend });
    const seq = new nn.Sequential(a, b, new nn.Dropout(0.5), c);
    expect(seq.length).toBe(4);
    expect(seq.get(-1)).toBe(c);
    expect([...seq]).toHaveLength(4);
    expect(Object.keys(seq.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '3.weight', '3.bias']);
    seq.eval();
    toroid.tidy(() => {
      const x = toroid.randn([3, 4], { backend });
      const y = seq.forward(x);
      const ref = c.forward(b.forward(a.forward(x)));
      expect(Array.from(y.toTypedArray())).toEqual(Array.from(ref.toTypedArray()));
    });
    const named = new nn.Sequential({ fc: new nn.Linear(2, 2, { backend }), norm: new nn.RMSNorm(2, { backend }) });
    expect(Object.keys(named.stateDict())).toEqual(['fc.weight', 'fc.bias', 'norm.weight']);
    named.append(new nn.Dropout(0.1));
    expect(named.namedChildren().map(([n]) => n)).toEqual(['fc', 'norm', '2']);
    const x = toroid.randn([2], { backend });
    expect(new nn.Sequential().forward(x)).toBe(x);
    x.dispose();

    const list = new nn.ModuleList([new nn.Linear(2, 3, { backend })]);
    list.append(new nn.Linear(3, 4, { backend })).extend([new nn.Linear(4, 5, { backend })]);
    expect(list.length).toBe(3);
    expect(list.get(-1).outFeatures).toBe(5);
    expect([...list].map((l) => l.inFeatures)).toEqual([2, 3, 4]);
    expect(Object.keys(list.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '2.weight', '2.bias']);
    expect(() => list.forward()).toThrow(/toroid.ModuleList.forward: a ModuleList has no forward/);
    expectError(() => list.get(3), RangeError, 'ModuleList.get', 'index', /got 3/);
    expectError(() => seq.get(1.5), RangeError, 'Sequential.get', 'index');
    for (const m of [seq, named, list]) m.dispose();
  });

  it('Embedding.fromPretrained copies the table; frozen by default', () => {
    const table = toroid.tensor([[1, 2], [3, 4], [5, 6]], { backend });
    const frozen = nn.Embedding.fromPretrained(table);
    expect(frozen.weight).not.toBe(table);
    expect(frozen.weight.requiresGrad).toBe(false);
    expect(frozen.weight.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    const state = toroid.getRngState();
    const trainable = nn.Embedding.fromPretrained(table, { freeze: false, paddingIdx: 0 });
    expect(toroid.getRngState()).toEqual(state); // no random init drawn
    expect(trainable.weight.requiresGrad).toBe(true);
    expect(trainable.weight.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]); // padding row kept, as in PyTorch
    table.dispose();
    frozen.dispose();
    trainable.dispose();
  });

  it('nn.init works in place with PyTorch formulas', () => {
    const w = toroid.zeros([128, 256], { backend });
    const same = w;
    expect(init.uniform_(w, -2, 3)).toBe(same);
    let s = stats(w);
    expect(s.min).toBeGreaterThanOrEqual(-2);
    expect(s.max).toBeLessThan(3);
    expect(s.mean).toBeCloseTo(0.5, 1);
    init.normal_(w, 1, 0.02);
    s = stats(w);
    expect(s.mean).toBeCloseTo(1, 3);
    expect(Math.sqrt(s.variance)).toBeCloseTo(0.02, 3);
    init.xavierUniform_(w);
    s = stats(w);
    const xb = Math.sqrt(6 / (128 + 256));
    expect(s.max).toBeLessThanOrEqual(xb);
    expect(s.max).toBeGreaterThan(0.99 * xb);
    init.xavierNormal_(w, 2);
    expectStd(w, 2 * Math.sqrt(2 / 384));
    init.kaimingUniform_(w, { a: Math.sqrt(5) }); // Linear's default: bound 1/sqrt(fanIn)
    s = stats(w);
    expect(s.max).toBeLessThanOrEqual(1 / 16);
    expect(s.max).toBeGreaterThan(0.99 / 16);
    init.kaimingNormal_(w, { mode: 'fan_out', nonlinearity: 'relu' });
    expectStd(w, Math.sqrt(2 / 128));
    init.constant_(w, 0.25);
    expect(stats(w)).toEqual({ min: 0.25, max: 0.25, mean: 0.25, variance: 0 });
    init.ones_(w);
    expect(stats(w).min).toBe(1);
    init.zeros_(w);
    expect(stats(w).max).toBe(0);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.0001)));
    expect(init.calculateFanInAndFanOut([8, 4, 3])).toEqual({ fanIn: 12, fanOut: 24 });
    // seeded: the same draws on every call after manualSeed
    toroid.manualSeed(3);
    const v1 = Array.from(init.normal_(w).toTypedArray());
    toroid.manualSeed(3);
    expect(Array.from(init.normal_(w).toTypedArray())).toEqual(v1);
    // in place on a parameter: the module sees it
    const lin = new nn.Linear(3, 2, { backend });
    init.zeros_(lin.weight);
    expect(lin.weight.requiresGrad).toBe(true);
    expect(stats(lin.weight).max).toBe(0);
    const before = toroid.memory();
    init.normal_(lin.weight);
    expect(toroid.memory()).toEqual(before);
    expectError(() => init.uniform_(w, 1, 0), RangeError, 'init.uniform_', 'b');
    expectError(() => init.normal_(w, 0, -1), RangeError, 'init.normal_', 'std');
    expectError(() => init.xavierUniform_(toroid.zeros([3], { backend })), RangeError, 'init.calculateFanInAndFanOut', 'tensor', /at least 2-D/);
    expectError(() => init.kaimingUniform_(w, { mode: 'fanIn' } as never), RangeError, 'init.kaimingUniform_', 'options.mode');
    expectError(() => init.zeros_([1, 2] as never), TypeError, 'init.zeros_', 'tensor', /a Tensor/);
    expectError(() => init.calculateGain('swish' as never), RangeError, 'init.calculateGain', 'nonlinearity');
    const ints = toroid.zeros([2], { dtype: 'int32', backend });
    expectError(() => init.ones_(ints), TypeError, 'init.ones_', 'tensor', /float32, float64 or bfloat16/);
    for (const t of [w, ints]) t.dispose();
    lin.dispose();
  });

  it('Linear rejects bad arguments', () => {
    expectError(() => new nn.Linear(-3, 2), RangeError, 'Linear', 'inFeatures', /a positive integer, got -3$/);
    expectError(() => new nn.Linear(0, 2), RangeError, 'Linear', 'inFeatures', /got 0$/);
    expectError(() => new nn.Linear(2.5, 2), RangeError, 'Linear', 'inFeatures', /got 2.5$/);
    expectError(() => new nn.Linear('4' as never, 2), TypeError, 'Linear', 'inFeatures', /got "4"$/);
    expectError(() => new nn.Linear(4, NaN), RangeError, 'Linear', 'outFeatures', /got NaN$/);
    expectError(() => new nn.Linear(4, 2, { bias: 1 } as never), TypeError, 'Linear', 'options.bias', /a boolean, got number 1$/);
    expectError(() => new nn.Linear(4, 2, { backend: 'tpu' }), RangeError, 'Linear', 'options.backend', /got "tpu"$/);
    expectError(() => new nn.Linear(4, 2, { dtype: 'int32' } as never), TypeError, 'Linear', 'options.dtype');
    expectError(() => new nn.Linear(4, 2, { biass: false } as never), RangeError, 'Linear', 'options', /unknown key 'biass'/);
    expectError(() => new nn.Linear(4, 2, 'cpu' as never), TypeError, 'Linear', 'options', /an object/);
    if (!supportsDType(backend, 'float64')) {
      expectError(() => new nn.Linear(4, 2, { backend, dtype: 'float64' }), TypeError, 'Linear', 'options.dtype', new RegExp(`backend '${backend}' supports`));
    }
  });

  it('a failed constructor draws nothing and allocates nothing', () => {
    const state = toroid.getRngState();
    const mem = toroid.memory();
    expect(() => new nn.Linear(4, 2, { backend, bias: 'yes' } as never)).toThrow(TypeError);
    expect(() => new nn.Embedding(4, 2, { backend, paddingIdx: 9 })).toThrow(RangeError);
    expect(toroid.getRngState()).toEqual(state);
    expect(toroid.memory()).toEqual(mem);
  });

  it('Embedding rejects bad arguments', () => {
    expectError(() => new nn.Embedding(0, 4), RangeError, 'Embedding', 'numEmbeddings', /got 0$/);
    expectError(() => new nn.Embedding(10, -1), RangeError, 'Embedding', 'embeddingDim', /got -1$/);
    expectError(() => new nn.Embedding(null as never, 4), TypeError, 'Embedding', 'numEmbeddings', /got null$/);
    expectError(() => new nn.Embedding(10, 4, { paddingIdx: 10 }), RangeError, 'Embedding', 'options.paddingIdx', /an integer in \[-10, 9\], got 10$/);
    expectError(() => new nn.Embedding(10, 4, { paddingIdx: -11 }), RangeError, 'Embedding', 'options.paddingIdx', /got -11$/);
    expectError(() => new nn.Embedding(10, 4, { paddingIdx: '0' } as never), TypeError, 'Embedding', 'options.paddingIdx');
    expectError(() => new nn.Embedding(10, 4, { maxNorm: 1 } as never), RangeError, 'Embedding', 'options', /unknown key 'maxNorm'/);
    const wrong = toroid.zeros([4, 10], { backend });
    expectError(() => new nn.Embedding(10, 4, { weight: wrong, backend }), RangeError, 'Embedding', 'options.weight', /float32 \[10,4\], got float32 \[4,10\]/);
    expectError(() => nn.Embedding.fromPretrained(toroid.zeros([3], { backend })), RangeError, 'Embedding.fromPretrained', 'weight');
    wrong.dispose();
  });

  it('LayerNorm and RMSNorm reject bad arguments', () => {
    expectError(() => new nn.LayerNorm(0), RangeError, 'LayerNorm', 'normalizedShape', /got 0$/);
    expectError(() => new nn.LayerNorm([]), RangeError, 'LayerNorm', 'normalizedShape', /got \[\]$/);
    expectError(() => new nn.LayerNorm([4, -2]), RangeError, 'LayerNorm', 'normalizedShape', /got \[4,-2\]$/);
    expectError(() => new nn.LayerNorm('4' as never), TypeError, 'LayerNorm', 'normalizedShape');
    expectError(() => new nn.LayerNorm(4, { eps: -1 }), RangeError, 'LayerNorm', 'options.eps', /a non-negative finite number, got -1$/);
    expectError(() => new nn.LayerNorm(4, { eps: '1e-5' } as never), TypeError, 'LayerNorm', 'options.eps');
    expectError(() => new nn.LayerNorm(4, { elementwiseAffine: 0 } as never), TypeError, 'LayerNorm', 'options.elementwiseAffine');
    expectError(() => new nn.LayerNorm(4, { bias: null } as never), TypeError, 'LayerNorm', 'options.bias');
    expectError(() => new nn.RMSNorm(-4), RangeError, 'RMSNorm', 'normalizedShape', /got -4$/);
    expectError(() => new nn.RMSNorm([2.5]), RangeError, 'RMSNorm', 'normalizedShape');
    expectError(() => new nn.RMSNorm(4, { eps: Infinity }), RangeError, 'RMSNorm', 'options.eps', /got Infinity$/);
    expectError(() => new nn.RMSNorm(4, { elementwiseAffine: 'yes' } as never), TypeError, 'RMSNorm', 'options.elementwiseAffine');
    expectError(() => new nn.RMSNorm(4, { bias: false } as never), RangeError, 'RMSNorm', 'options', /unknown key 'bias'/);
    expectError(() => new nn.RMSNorm(4, { backend: 3 } as never), TypeError, 'RMSNorm', 'options.backend');
  });

  it('Dropout, ModuleList and Sequential reject bad arguments', () => {
    expectError(() => new nn.Dropout(-0.1), RangeError, 'Dropout', 'p', /a probability in \[0, 1\], got -0.1$/);
    expectError(() => new nn.Dropout(1.5), RangeError, 'Dropout', 'p', /got 1.5$/);
    expectError(() => new nn.Dropout(NaN), RangeError, 'Dropout', 'p', /got NaN$/);
    expectError(() => new nn.Dropout('0.1' as never), TypeError, 'Dropout', 'p');
    expectError(() => new nn.Dropout(null as never), TypeError, 'Dropout', 'p', /got null$/);
    expectError(() => new nn.Dropout(0.1, { inplace: true } as never), RangeError, 'Dropout', 'options', /unknown key 'inplace'/);
    expectError(() => new nn.ModuleList(5 as never), TypeError, 'ModuleList', 'modules', /got number 5$/);
    expectError(() => new nn.ModuleList([new nn.Dropout(), {} as never]), TypeError, 'ModuleList', 'modules[1]', /an nn.Module, got Object$/);
    expectError(() => new nn.ModuleList(null as never), TypeError, 'ModuleList', 'modules');
    expectError(() => new nn.ModuleList().append(F.relu as never), TypeError, 'ModuleList.append', 'module');
    expectError(() => new nn.ModuleList([]).get(0), RangeError, 'ModuleList.get', 'index');
    expectError(() => new nn.Sequential(new nn.Dropout(), 3 as never), TypeError, 'Sequential', 'modules[1]', /got number 3$/);
    expectError(() => new nn.Sequential([new nn.Dropout()] as never), TypeError, 'Sequential', 'modules', /got an array$/);
    expectError(() => new nn.Sequential({ a: new nn.Dropout(), b: 'relu' } as never), TypeError, 'Sequential', 'modules.b');
    expectError(() => new nn.Sequential({ 'a.b': new nn.Dropout() }), RangeError, 'Module.registerModule', 'name');
    expectError(() => new nn.Sequential().append(null as never), TypeError, 'Sequential.append', 'module');
  });
});
