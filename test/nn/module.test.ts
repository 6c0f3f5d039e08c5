// nn.Module: registration and naming, stateDict / loadStateDict (strict and not,
// in place, via files), tied weights, train/eval, zeroGrad, dispose and memory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectErrorPrefix } from '../helpers/expect-error.js';

const { nn, F } = toroid;
type Tensor = toroid.Tensor;

/** Registers a child before its own parameter: namedParameters still lists the parameter first (PyTorch order). */
class Block extends nn.Module {
  readonly fc1: toroid.nn.Linear;
  readonly scale: Tensor;
  readonly norm: toroid.nn.LayerNorm;
  readonly fc2: toroid.nn.Linear;
  readonly drop: toroid.nn.Dropout;
  constructor(backend: string) {
    super();
    this.fc1 = this.registerModule('fc1', new nn.Linear(4, 8, { backend }));
    this.scale = this.registerParameter('scale', toroid.ones([8], { backend }));
    this.norm = this.registerModule('norm', new nn.LayerNorm(8, { backend }));
    this.fc2 = this.registerModule('fc2', new nn.Linear(8, 4, { backend }));
    this.drop = this.registerModule('drop', new nn.Dropout(0.25));
  }
  forward(x: Tensor): Tensor {
    return toroid.tidy(() => x.add(this.drop.forward(this.fc2.forward(F.relu(this.norm.forward(this.fc1.forward(x)).mul(this.scale))))));
  }
}

class Net extends nn.Module {
  readonly embed: toroid.nn.Embedding;
  readonly layers: toroid.nn.ModuleList<Block>;
  readonly lnFinal: toroid.nn.RMSNorm;
  readonly head: toroid.nn.Linear;
  readonly posEmb: Tensor;
  constructor(backend: string, options: { tie?: boolean } = {}) {
    super();
    this.embed = this.registerModule('embed', new nn.Embedding(10, 4, { backend, paddingIdx: 0 }));
    this.layers = this.registerModule('layers', new nn.ModuleList([new Block(backend), new Block(backend)]));
    this.lnFinal = this.registerModule('ln_final', new nn.RMSNorm(4, { backend }));
    this.head = this.registerModule('head', new nn.Linear(4, 10, { bias: false, backend }));
    this.posEmb = this.registerParameter('pos_emb', toroid.zeros([6, 4], { backend }));
    this.registerBuffer('position_ids', toroid.tensor([0, 1, 2, 3, 4, 5], { dtype: 'int32', backend }));
    this.registerBuffer('causal_mask', toroid.ones([6, 6], { dtype: 'bool', backend }), { persistent: false });
    // tie the output projection to the embedding, as GPT-2 does
    if (options.tie) {
      const untied = this.head.weight;
      this.head.registerParameter('weight', this.embed.weight);
      untied.dispose();
    }
  }
  forward(ids: Tensor): Tensor {
    return toroid.tidy(() => {
      let h = this.embed.forward(ids);
      for (const layer of this.layers) h = layer.forward(h);
      return this.head.forward(this.lnFinal.forward(h));
    });
  }
}

const BLOCK_KEYS = (p: string): string[] =>
  ['scale', 'fc1.weight', 'fc1.bias', 'norm.weight', 'norm.bias', 'fc2.weight', 'fc2.bias'].map((k) => `${p}.${k}`);
const PARAM_NAMES = ['pos_emb', 'embed.weight', ...BLOCK_KEYS('layers.0'), ...BLOCK_KEYS('layers.1'), 'ln_final.weight', 'head.weight'];

function values(m: toroid.nn.Module): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.toTypedArray())]));
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-nn-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describeEachBackend('nn.Module', (backend) => {
  it('namedParameters: own parameters first, then children, in registration order, PyTorch keys', () => {
    const net = new Net(backend);
    expect(net.namedParameters().map(([n]) => n)).toEqual(PARAM_NAMES);
    expect(net.parameters()).toEqual(net.namedParameters().map(([, t]) => t));
    for (const p of net.parameters()) {
      expect(p.requiresGrad).toBe(true);
      expect(p.device).toBe(backend);
    }
    expect(net.namedParameters({ recurse: false }).map(([n]) => n)).toEqual(['pos_emb']);
    expect(net.layers.get(1).fc1.namedParameters().map(([n]) => n)).toEqual(['weight', 'bias']);
    net.dispose();
  });

  it('namedModules, children, getSubmodule', () => {
    const net = new Net(backend);
    const block = ['', '.fc1', '.norm', '.fc2', '.drop'];
    expect(net.namedModules().map(([n]) => n)).toEqual([
      '', 'embed', 'layers', ...block.map((s) => `layers.0${s}`), ...block.map((s) => `layers.1${s}`), 'ln_final', 'head',
    ]);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['embed', 'layers', 'ln_final', 'head']);
    expect(net.children()).toEqual([net.embed, net.layers, net.lnFinal, net.head]);
    expect(net.getSubmodule('layers.1.norm')).toBe(net.layers.get(1).norm);
    expect(net.getSubmodule('')).toBe(net);
    expectErrorPrefix(() => net.getSubmodule('layers.2'), RangeError, 'toroid.Module.getSubmodule: target must be', /no '2' in ModuleList/);
    net.dispose();
  });

  it('stateDict: parameters and persistent buffers under dotted keys; non-persistent buffers left out', () => {
    const net = new Net(backend);
    const keys = Object.keys(net.stateDict());
    expect(keys).toEqual(['pos_emb', 'position_ids', 'embed.weight', ...BLOCK_KEYS('layers.0'), ...BLOCK_KEYS('layers.1'), 'ln_final.weight', 'head.weight']);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['position_ids', 'causal_mask']);
    expect(net.stateDict()['layers.0.fc1.weight']).toBe(net.layers.get(0).fc1.weight);
    net.dispose();
  });

  it('loadStateDict copies in place: bitwise equal values, same tensor objects, on the module backend', () => {
    toroid.manualSeed(1);
    const a = new Net(backend);
    toroid.manualSeed(2);
    const b = new Net(backend);
    expect(values(b)).not.toEqual(values(a));
    const before = b.parameters();
    const result = b.loadStateDict(a.stateDict());
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(values(b)).toEqual(values(a));
    expect(b.parameters()).toEqual(before);
    before.forEach((p, i) => expect(p).toBe(b.parameters()[i]));
    for (const p of b.parameters()) expect(p.device).toBe(backend);
    // the loaded module computes what the original does
    const ids = toroid.tensor([[1, 2, 3], [0, 4, 9]], { dtype: 'int32', backend });
    a.eval();
    b.eval();
    const ya = a.forward(ids), yb = b.forward(ids);
    expect(yb.toFloat32Array()).toEqual(ya.toFloat32Array());
    for (const t of [ids, ya, yb]) t.dispose();
    a.dispose();
    b.dispose();
  });

  it('loadStateDict accepts a Map and tensors from another backend', () => {
    toroid.manualSeed(3);
    const src = new Net('ts');
    toroid.manualSeed(4);
    const dst = new Net(backend);
    dst.loadStateDict(new Map(Object.entries(src.stateDict())));
    expect(values(dst)).toEqual(values(src));
    for (const p of dst.parameters()) expect(p.device).toBe(backend);
    src.dispose();
    dst.dispose();
  });

  it.skipIf(!supportsDType(backend, 'float64'))('loadStateDict converts float64 values into float32 parameters', () => {
    const m = new nn.Linear(3, 2, { backend });
    const w = toroid.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], { dtype: 'float64', backend });
    const b = toroid.tensor([1, 2], { dtype: 'float64', backend });
    m.loadStateDict({ weight: w, bias: b });
    expect(m.weight.dtype).toBe('float32');
    expect(m.weight.toFloat32Array()).toEqual(Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]));
    expect(Array.from(m.bias!.toTypedArray())).toEqual([1, 2]);
    for (const t of [w, b]) t.dispose();
    m.dispose();
  });

  it('save -> a differently seeded module -> loadFile is bitwise equal, with metadata', async () => {
    toroid.manualSeed(5);
    const a = new Net(backend);
    const file = path.join(dir, `net-${backend}.safetensors`);
    await a.save(file, { metadata: { format: 'pt', note: 'toroid' } });
    toroid.manualSeed(6);
    const b = new Net(backend);
    const ids = b.parameters();
    const result = await b.loadFile(file);
    expect(result.missingKeys).toEqual([]);
    expect(result.unexpectedKeys).toEqual([]);
    expect(result.metadata).toEqual({ format: 'pt', note: 'toroid' });
    expect(values(b)).toEqual(values(a));
    ids.forEach((p, i) => expect(p).toBe(b.parameters()[i]));
    // the file holds exactly stateDict()'s keys
    const loaded = await toroid.load(file, { backend });
    expect(Object.keys(loaded.tensors).sort()).toEqual(Object.keys(a.stateDict()).sort());
    for (const t of Object.values(loaded.tensors)) t.dispose();
    a.dispose();
    b.dispose();
  });

  it('strict loadStateDict reports every missing key, unexpected key and mismatch in one RangeError, and copies nothing', () => {
    const net = new Net(backend);
    const before = values(net);
    const sd: Record<string, Tensor> = { ...net.stateDict() };
    delete sd['layers.1.fc2.bias'];
    delete sd['head.weight'];
    const extra1 = toroid.zeros([2], { backend });
    const extra2 = toroid.zeros([3], { backend });
    const wrong = toroid.zeros([4, 8], { backend });
    const wrongDType = toroid.zeros([6], { backend });
    const fresh = toroid.full([10, 4], 7, { backend });
    sd['embed.weight'] = fresh;
    sd['layers.0.fc1.weight'] = wrong;
    sd['position_ids'] = wrongDType;
    sd['encoder.layers.0.extra'] = extra1;
    sd['lm_head.bias'] = extra2;
    const message = expectErrorPrefix(() => net.loadStateDict(sd), RangeError, 'toroid.Module.loadStateDict: stateDict must be a dict with exactly the keys, shapes and dtypes of Net.stateDict(), got ');
    expect(message).toContain("2 missing keys: 'layers.1.fc2.bias', 'head.weight'");
    expect(message).toContain("2 unexpected keys: 'encoder.layers.0.extra', 'lm_head.bias'");
    expect(message).toContain("1 size mismatch: 'layers.0.fc1.weight' is [4,8] in stateDict, [8,4] in the module");
    expect(message).toContain("1 dtype mismatch: 'position_ids' is float32 in stateDict, int32 in the module");
    // all or nothing: the valid 'embed.weight' was not copied either
    expect(values(net)).toEqual(before);
    for (const t of [extra1, extra2, wrong, wrongDType, fresh]) t.dispose();
    net.dispose();
  });

  it('non-strict loadStateDict returns the missing and unexpected keys and loads the rest', () => {
    const net = new Net(backend);
    const w = toroid.full([10, 4], 0.5, { backend });
    const extra = toroid.zeros([1], { backend });
    const result = net.loadStateDict({ 'embed.weight': w, 'transformer.wte.weight': extra }, { strict: false });
    expect(result.unexpectedKeys).toEqual(['transformer.wte.weight']);
    expect(result.missingKeys).toEqual(Object.keys(net.stateDict()).filter((k) => k !== 'embed.weight'));
    expect(Array.from(net.embed.weight.toTypedArray())).toEqual(new Array(40).fill(0.5));
    // a shape mismatch still throws, naming the key
    const bad = toroid.zeros([4, 10], { backend });
    expectErrorPrefix(() => net.loadStateDict({ 'head.weight': bad, nope: extra }, { strict: false }), RangeError,
      'toroid.Module.loadStateDict: stateDict must be a dict with the shapes and dtypes of Net.stateDict() for the keys they share, got 1 size mismatch',
      /'head.weight' is \[4,10\] in stateDict, \[10,4\] in the module$/);
    for (const t of [w, extra, bad]) t.dispose();
    net.dispose();
  });

  it('loadStateDict rejects bad arguments', () => {
    const m = new nn.Linear(2, 2, { backend });
    const gone = toroid.zeros([2, 2], { backend });
    gone.dispose();
    expectErrorPrefix(() => m.loadStateDict(null as never), TypeError, 'toroid.Module.loadStateDict: stateDict must be an object or Map', /got null/);
    expectErrorPrefix(() => m.loadStateDict([] as never), TypeError, 'toroid.Module.loadStateDict: stateDict must be an object or Map', /got array\(0\)/);
    expectErrorPrefix(() => m.loadStateDict({ weight: [[1, 2], [3, 4]] } as never), TypeError, "toroid.Module.loadStateDict: stateDict['weight'] must be a Tensor");
    expectErrorPrefix(() => m.loadStateDict({ weight: gone }), TypeError, "toroid.Module.loadStateDict: stateDict['weight'] must be a live Tensor");
    expectErrorPrefix(() => m.loadStateDict(m.stateDict(), { strict: 'no' } as never), TypeError, 'toroid.Module.loadStateDict: options.strict must be a boolean');
    expectErrorPrefix(() => m.loadStateDict(m.stateDict(), { strcit: false } as never), RangeError, 'toroid.Module.loadStateDict: options must be an object with keys among { strict }');
    m.dispose();
  });

  it('tied weights: one tensor under both names in stateDict, listed and counted once', async () => {
    toroid.manualSeed(8);
    const net = new Net(backend, { tie: true });
    expect(net.head.weight).toBe(net.embed.weight); // the getter reads the registration
    const sd = net.stateDict();
    expect(sd['head.weight']).toBe(sd['embed.weight']);
    expect(net.getParameter('head.weight')).toBe(net.embed.weight);
    expect(net.namedParameters().map(([n]) => n)).toEqual(PARAM_NAMES.filter((n) => n !== 'head.weight'));
    const untied = new Net(backend);
    expect(net.numParameters()).toBe(untied.numParameters() - 40);
    expect(untied.numParameters()).toBe(untied.parameters().reduce((n, p) => n + p.size, 0));
    // round trip through a file: both names are written and loading keeps the tie
    const file = path.join(dir, `tied-${backend}.safetensors`);
    await net.save(file);
    toroid.manualSeed(9);
    const other = new Net(backend, { tie: true });
    await other.loadFile(file);
    expect(values(other)).toEqual(values(net));
    expect(other.stateDict()['head.weight']).toBe(other.stateDict()['embed.weight']);
    // an untied file (HF dedupes shared tensors): loading only one name with strict: false fills both
    const partial = { ...net.stateDict() };
    delete partial['head.weight'];
    toroid.manualSeed(10);
    const third = new Net(backend, { tie: true });
    expect(third.loadStateDict(partial, { strict: false }).missingKeys).toEqual(['head.weight']);
    expect(Array.from(third.stateDict()['head.weight']!.toTypedArray())).toEqual(Array.from(net.embed.weight.toTypedArray()));
    for (const m of [net, untied, other, third]) m.dispose();
  });

  it('train() / eval() set training on every submodule and return the module', () => {
    const net = new Net(backend);
    expect(net.modules().every((m) => m.training)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    expect(net.layers.get(1).drop.training).toBe(false);
    expect(net.train()).toBe(net);
    expect(net.modules().every((m) => m.training)).toBe(true);
    net.layers.get(0).train(false);
    expect(net.layers.get(0).drop.training).toBe(false);
    expect(net.layers.get(1).drop.training).toBe(true);
    expect(net.training).toBe(true);
    expectErrorPrefix(() => net.train('yes' as never), TypeError, 'toroid.Module.train: mode must be a boolean');
    net.dispose();
  });

  it('backward fills .grad of every parameter; zeroGrad disposes and clears them', () => {
    const net = new Net(backend);
    const before = toroid.memory();
    const ids = toroid.tensor([[1, 2, 3, 4], [5, 6, 7, 0]], { dtype: 'int32', backend });
    const target = toroid.tensor([2, 3, 4, 5, 6, 7, 8, 9], { dtype: 'int32', backend });
    toroid.tidy(() => {
      const logits = net.forward(ids);
      F.crossEntropy(logits.reshape([8, 10]), target).backward();
    });
    for (const [name, p] of net.namedParameters()) {
      if (name === 'pos_emb') {
        expect(p.grad, name).toBeNull(); // not used by forward
        continue;
      }
      expect(p.grad, name).not.toBeNull();
      expect(p.grad!.shape).toEqual(p.shape);
    }
    // the padding row of the embedding gets no gradient
    expect(Array.from(net.embed.weight.grad!.toTypedArray().slice(0, 4))).toEqual([0, 0, 0, 0]);
    net.zeroGrad();
    for (const p of net.parameters()) expect(p.grad).toBeNull();
    ids.dispose();
    target.dispose();
    expect(toroid.memory()).toEqual(before);
    net.dispose();
  });

  it('dispose frees every parameter and buffer (tied ones once): memory returns to baseline', async () => {
    const baseline = toroid.memory();
    const net = new Net(backend, { tie: true });
    expect(toroid.memory().liveStorages).toBeGreaterThan(baseline.liveStorages);
    const ids = toroid.tensor([[1, 2]], { dtype: 'int32', backend });
    toroid.tidy(() => net.forward(ids).sum().backward());
    ids.dispose();
    net.dispose();
    expect(toroid.memory()).toEqual(baseline);
    for (const p of net.parameters()) expect(p.isDisposed).toBe(true);
    net.dispose(); // idempotent
    expect(toroid.memory()).toEqual(baseline);
    // a module built inside tidy() survives it
    const kept = toroid.tidy(() => new nn.Linear(3, 3, { backend }));
    expect(kept.weight.isDisposed).toBe(false);
    kept.dispose();
    expect(toroid.memory()).toEqual(baseline);
  });

  it('loadStateDict keeps an optimizer over parameters() valid', () => {
    toroid.manualSeed(11);
    const m = new nn.Linear(3, 2, { backend });
    const params = m.parameters();
    const src = new nn.Linear(3, 2, { backend });
    m.loadStateDict(src.stateDict());
    const grads = params.map((p) => toroid.ones(p.shape, { backend }));
    const state = { m: params.map((p) => toroid.zeros(p.shape, { backend })), v: params.map((p) => toroid.zeros(p.shape, { backend })) };
    toroid.adamwStep(params, grads, state, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 });
    // Adam's first step moves every element by about lr against the sign of the gradient
    const moved = m.weight.toTypedArray();
    const start = src.weight.toTypedArray();
    for (let i = 0; i < moved.length; i++) expect(moved[i]).toBeCloseTo(start[i]! - 0.1, 4);
    for (const t of [...grads, ...state.m, ...state.v]) t.dispose();
    m.dispose();
    src.dispose();
  });

  it('apply visits children first, requiresGrad_ freezes, toString prints the tree', () => {
    const net = new Net(backend);
    const seen: string[] = [];
    net.apply((m) => seen.push(m.constructor.name));
    expect(seen[seen.length - 1]).toBe('Net');
    expect(seen.filter((n) => n === 'Linear')).toHaveLength(5);
    expect(net.requiresGrad_(false)).toBe(net);
    expect(net.parameters().every((p) => !p.requiresGrad)).toBe(true);
    net.requiresGrad_();
    expect(net.parameters().every((p) => p.requiresGrad)).toBe(true);
    const text = String(net);
    expect(text.startsWith('Net(\n  (embed): Embedding(10, 4, paddingIdx=0)\n  (layers): ModuleList(\n    (0): Block(\n      (fc1): Linear(inFeatures=4, outFeatures=8, bias=true)')).toBe(true);
    expect(text).toContain('(head): Linear(inFeatures=4, outFeatures=10, bias=false)');
    net.dispose();
  });

  it('registration rejects bad names, clashes, computed tensors and cycles', () => {
    class Empty extends nn.Module {
      forward(): null { return null; }
    }
    const m = new Empty();
    const t = toroid.zeros([2], { backend });
    m.registerParameter('w', t);
    expectErrorPrefix(() => m.registerParameter('a.b', toroid.zeros([1], { backend })), RangeError, 'toroid.Module.registerParameter: name must be a non-empty string without "."', /got "a.b"/);
    expectErrorPrefix(() => m.registerParameter('', toroid.zeros([1], { backend })), RangeError, 'toroid.Module.registerParameter: name must be');
    expectErrorPrefix(() => m.registerParameter(3 as never, t), TypeError, 'toroid.Module.registerParameter: name must be a string');
    expectErrorPrefix(() => m.registerBuffer('w', toroid.zeros([1], { backend })), RangeError, 'toroid.Module.registerBuffer: name must be a name not already used by a parameter of Empty');
    expectErrorPrefix(() => m.registerModule('w', new Empty()), RangeError, 'toroid.Module.registerModule: name must be a name not already used by a parameter');
    expectErrorPrefix(() => m.registerParameter('x', new Float32Array(2) as never), TypeError, "toroid.Module.registerParameter: parameter 'x' must be a Tensor");
    expectErrorPrefix(() => m.registerParameter('x', toroid.zeros([2], { dtype: 'int32', backend })), TypeError, "toroid.Module.registerParameter: parameter 'x' must be float32, float64 or bfloat16");
    const leaf = toroid.zeros([2], { backend, requiresGrad: true });
    const computed = leaf.mul(2);
    expectErrorPrefix(() => m.registerParameter('x', computed), TypeError, "toroid.Module.registerParameter: parameter 'x' must be a leaf tensor", /got one computed by/);
    expectErrorPrefix(() => m.registerModule('self', m), RangeError, "toroid.Module.registerModule: module 'self' must be a module that does not contain Empty");
    const child = m.registerModule('child', new Empty());
    expectErrorPrefix(() => child.registerModule('parent', m), RangeError, 'toroid.Module.registerModule', /cycle/);
    expectErrorPrefix(() => m.registerModule('y', {} as never), TypeError, "toroid.Module.registerModule: module 'y' must be an nn.Module");
    expectErrorPrefix(() => m.registerBuffer('b', toroid.zeros([1], { backend }), { persistant: false } as never), RangeError, 'toroid.Module.registerBuffer: options must be an object with keys among { persistent }');
    // same-kind re-registration replaces in place and keeps the position
    const t2 = toroid.ones([2], { backend });
    m.registerParameter('v', toroid.zeros([1], { backend }));
    const old = m.stateDict()['w']!;
    m.registerParameter('w', t2);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['w', 'v']);
    expect(m.stateDict()['w']).toBe(t2);
    old.dispose();
    // a frozen parameter and an absent one
    m.registerParameter('frozen', toroid.zeros([3], { backend }), { requiresGrad: false });
    m.registerParameter('none', null);
    expect(m.stateDict()['frozen']!.requiresGrad).toBe(false);
    expect('none' in m.stateDict()).toBe(false);
    m.dispose();
    for (const x of [leaf, computed]) x.dispose();
  });

  it('save and loadFile reject bad arguments; a failed strict loadFile leaves no tensors behind', async () => {
    const m = new nn.Linear(2, 3, { backend });
    await expect(m.save(42 as never)).rejects.toThrow(TypeError);
    await expect(m.save(path.join(dir, 'x.safetensors'), { metadata: { a: 1 } } as never)).rejects.toThrow(/options.metadata.a must be a string/);
    await expect(m.save(path.join(dir, 'x.safetensors'), { floatFormat: 'F8' } as never)).rejects.toThrow(RangeError);
    await expect(m.loadFile(7 as never)).rejects.toThrow(/toroid.Module.loadFile: path must be a string/);
    const file = path.join(dir, `lin-${backend}.safetensors`);
    const other = new nn.Linear(3, 3, { backend });
    await other.save(file);
    const before = toroid.memory();
    await expect(m.loadFile(file)).rejects.toThrow(/1 size mismatch: 'weight' is \[3,3\] in stateDict, \[3,2\] in the module/);
    expect(toroid.memory()).toEqual(before);
    m.dispose();
    other.dispose();
  });

  it('loadFile checks the headers before reading any tensor, reads only a prefix when asked, and names inherited keys as unexpected', async () => {
    const source = new nn.Linear(2, 3, { backend });
    const file = path.join(dir, `prefixed-${backend}.safetensors`);
    const state = source.stateDict();
    // a training checkpoint's layout: the model under 'model/', other tensors beside it
    await toroid.save(file, { 'model/weight': state.weight!, 'model/bias': state.bias!, 'optimizer/m': state.weight! });
    const target = new nn.Linear(2, 3, { backend });
    await expect(target.loadFile(file)).rejects.toThrow(/unexpected keys: 'model\/weight'/);
    await target.loadFile(file, { prefix: 'model/' });
    expect(target.weight.toArray()).toEqual(source.weight.toArray());
    expect(target.bias!.toArray()).toEqual(source.bias!.toArray());
    await expect(target.loadFile(file, { prefix: 3 } as never)).rejects.toThrow(/options.prefix must be a string, got number 3/);
    // a name that is an inherited property of a plain object is a key like any other (was: taken as present)
    const hostile = path.join(dir, `inherited-${backend}.safetensors`);
    await toroid.save(hostile, { weight: state.weight!, bias: state.bias!, constructor: state.bias! });
    const before = toroid.memory();
    await expect(target.loadFile(hostile)).rejects.toThrow(/1 unexpected key: 'constructor'/);
    expect(toroid.memory()).toEqual(before);
    expect((await target.loadFile(hostile, { strict: false })).unexpectedKeys).toEqual(['constructor']);
    source.dispose();
    target.dispose();
  });
});
