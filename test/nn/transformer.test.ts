// nn.Transformer against PyTorch 1.13 (test/fixtures/models/transformer_{post,pre}_ln):
// the fixture's state dict loads with strict = true, and the output, the loss and the
// gradient of every parameter match the float64 reference. Also encoder/decoder layer
// and stack behaviour, FeedForward, positional encodings and bad arguments.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import * as toroid from '../../src/index.js';
import { readSafetensorsFileSync, type RawTensor } from '../../src/io/safetensors.js';
import { FeedForward } from '../../src/nn/feedforward.js';
import { alibiBias, alibiSlopes, ALiBi, LearnedPositionalEmbedding, SinusoidalPositionalEncoding } from '../../src/nn/positions.js';
import {
  Transformer,
  TransformerDecoder,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerEncoderLayer,
} from '../../src/nn/transformer.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { gradcheck, randLeaf } from '../helpers/gradcheck.js';
import { expectError } from '../helpers/expect-error.js';

const { nn, F } = toroid;
type Tensor = toroid.Tensor;

// the native cpu backend's small matmuls are slow with several BLAS threads on small
// machines (tens of ms each): give the whole-model tests room
vi.setConfig({ testTimeout: 60_000 });

const MODELS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'models');

interface ModelFixture {
  config: Record<string, unknown> & { params: string[] };
  tensors: Map<string, RawTensor>;
}

function loadFixture(name: string): ModelFixture {
  const contents = readSafetensorsFileSync(path.join(MODELS, `${name}.safetensors`));
  return { config: JSON.parse(contents.metadata.config!), tensors: contents.tensors };
}

function raw(fx: ModelFixture, name: string): RawTensor {
  const t = fx.tensors.get(name);
  if (t === undefined) throw new Error(`fixture: missing ${name}`);
  return t;
}

function input(fx: ModelFixture, name: string, backend: string, dtype: toroid.DType): Tensor {
  const r = raw(fx, name);
  return toroid.tensor(r.data as Float32Array | Int32Array, { shape: r.shape, dtype, backend });
}

function expected(fx: ModelFixture, name: string): Float64Array {
  return raw(fx, name).data as Float64Array;
}

/**
 * |a - e| <= 1e-5 * max|e| + 1e-4 * |e|: the absolute part scaled to the tensor's largest
 * magnitude (float32 PyTorch itself is ~1.3e-6 off, relative to max|e|, on the gradients).
 */
function expectCloseScaled(actual: ArrayLike<number>, want: Float64Array, label: string): void {
  let max = 0;
  for (const v of want) max = Math.max(max, Math.abs(v));
  expectClose(actual, want, { atol: 1e-5 * Math.max(max, 1e-30), rtol: 1e-4 }, label);
}

function randn(shape: number[], backend: string, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  return toroid.randn(shape, { backend, dtype });
}

describeEachBackend('nn.Transformer vs PyTorch', (backend) => {
  for (const name of ['transformer_post_ln', 'transformer_pre_ln']) {
    it(`${name}: strict load, output, loss and every parameter's gradient`, () => {
      const fx = loadFixture(name);
      const c = fx.config;
      const model = new Transformer({
        dModel: c.d_model as number,
        nhead: c.nhead as number,
        numEncoderLayers: c.num_encoder_layers as number,
        numDecoderLayers: c.num_decoder_layers as number,
        dimFeedforward: c.dim_feedforward as number,
        dropout: c.dropout as number,
        activation: c.activation as 'relu' | 'gelu',
        layerNormEps: c.layer_norm_eps as number,
        normFirst: c.norm_first as boolean,
        backend,
      });
      model.eval();
      // same names in the same order as PyTorch's state_dict
      expect(Object.keys(model.stateDict())).toEqual(c.params);
      const state = new Map(c.params.map((p) => [p, input(fx, p, 'ts', 'float32')] as [string, Tensor]));
      expect(model.loadStateDict(state)).toEqual({ missingKeys: [], unexpectedKeys: [] });
      for (const t of state.values()) t.dispose();

      const src = input(fx, 'src', backend, 'float32');
      const tgt = input(fx, 'tgt', backend, 'float32');
      const masks = {
        tgtMask: input(fx, 'tgt_mask', backend, 'bool'),
        srcKeyPaddingMask: input(fx, 'src_key_padding_mask', backend, 'bool'),
        tgtKeyPaddingMask: input(fx, 'tgt_key_padding_mask', backend, 'bool'),
        memoryKeyPaddingMask: input(fx, 'memory_key_padding_mask', backend, 'bool'),
      };
      const w = input(fx, 'loss_weight', backend, 'float32');
      const { out, loss } = toroid.tidy(() => {
        const o = model.forward(src, tgt, { ...masks, tgtIsCausal: true });
        const l = o.mul(w).sum();
        l.backward();
        return { out: o, loss: l };
      });
      expectCloseScaled(out.toTypedArray(), expected(fx, 'out'), `${name} out`);
      expectCloseScaled([loss.item()], expected(fx, 'loss'), `${name} loss`);
      const params = model.namedParameters();
      expect(params.length).toBe(c.params.length);
      for (const [pname, p] of params) {
        expect(p.grad, `grad of ${pname}`).not.toBeNull();
        expectCloseScaled(p.grad!.toTypedArray(), expected(fx, `grad/${pname}`), `${name} grad/${pname}`);
      }
      // the mask given explicitly or only as tgtIsCausal gives the same output
      const viaFlag = toroid.noGrad(() => model.forward(src, tgt, { ...masks, tgtMask: null, tgtIsCausal: true }));
      expectClose(viaFlag.toTypedArray(), out.toTypedArray(), { atol: 1e-6, rtol: 1e-5 }, 'tgtIsCausal');
      for (const t of [src, tgt, w, out, loss, viaFlag, ...Object.values(masks)]) t.dispose();
      model.dispose();
    }, 120_000);
  }

  it('generateSquareSubsequentMask: bool, true above the diagonal', () => {
    const m = Transformer.generateSquareSubsequentMask(3, { backend });
    expect(m.dtype).toBe('bool');
    expect(m.toArray()).toEqual([[0, 1, 1], [0, 0, 1], [0, 0, 0]].map((r) => r.map((v) => (v === 1 ? 1 : 0))));
    m.dispose();
  });
});

describeEachBackend('nn.Transformer structure', (backend) => {
  it('children and state-dict names are PyTorch\'s; xavier init; training mode reaches dropout', () => {
    toroid.manualSeed(1);
    const model = new Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, backend });
    const keys = Object.keys(model.stateDict());
    expect(keys.slice(0, 4)).toEqual([
      'encoder.layers.0.self_attn.in_proj_weight',
      'encoder.layers.0.self_attn.in_proj_bias',
      'encoder.layers.0.self_attn.out_proj.weight',
      'encoder.layers.0.self_attn.out_proj.bias',
    ]);
    expect(keys).toContain('encoder.norm.weight');
    expect(keys).toContain('decoder.layers.0.multihead_attn.in_proj_weight');
    expect(keys).toContain('decoder.layers.0.norm3.bias');
    expect(keys.at(-1)).toBe('decoder.norm.bias');
    // xavier_uniform_ on every matrix: bound sqrt(6 / (fanIn + fanOut))
    const w = model.getParameter('encoder.layers.0.linear1.weight');
    const bound = Math.sqrt(6 / (8 + 16));
    expect(Math.max(...Array.from(w.toTypedArray(), Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...Array.from(w.toTypedArray(), Math.abs))).toBeGreaterThan(bound * 0.8);
    expect(Array.from(model.getParameter('encoder.layers.0.self_attn.in_proj_bias').toTypedArray()).every((v) => v === 0)).toBe(true);
    model.eval();
    expect(model.getSubmodule('decoder.layers.0.dropout3').training).toBe(false);
    model.dispose();
  });

  it('an encoder layer instance is cloned (PyTorch deepcopy); a factory and a config build fresh layers', () => {
    const proto = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, backend });
    const enc = new TransformerEncoder(proto, 3, { norm: new nn.LayerNorm(8, { backend }) });
    expect(enc.layers.length).toBe(3);
    const a = enc.layers.get(0).linear1.weight.toTypedArray();
    expect(Array.from(enc.layers.get(2).linear1.weight.toTypedArray())).toEqual(Array.from(a));
    expect(Array.from(a)).toEqual(Array.from(proto.linear1.weight.toTypedArray()));
    expect(enc.layers.get(0).linear1.weight).not.toBe(proto.linear1.weight);
    proto.dispose();
    const byFactory = new TransformerEncoder((i) => new TransformerEncoderLayer(8, 2, { dimFeedforward: 4 + i, backend }), 2);
    expect(byFactory.layers.get(1).linear1.outFeatures).toBe(5);
    expect(byFactory.norm).toBeNull();
    expect(Object.keys(byFactory.stateDict()).some((k) => k.startsWith('norm'))).toBe(false);
    const byConfig = new TransformerDecoder({ dModel: 8, nhead: 4, dimFeedforward: 12, normFirst: true, backend }, 2);
    expect(byConfig.layers.get(1).normFirst).toBe(true);
    expect(byConfig.layers.get(0).selfAttn.numHeads).toBe(4);
    for (const m of [enc, byFactory, byConfig]) m.dispose();
  });

  it('encoder forward: padded keys do not change the other rows; backprop reaches every parameter', () => {
    toroid.manualSeed(2);
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, backend });
    const x = randn([2, 5, 8], backend);
    const kpm = toroid.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0]], { dtype: 'bool', backend });
    const full = layer.forward(x, { srcKeyPaddingMask: kpm });
    // batch 0 with only its 3 unpadded positions gives the same first 3 rows
    const short = toroid.tidy(() => layer.forward(F.narrow(F.narrow(x, 0, 0, 1), 1, 0, 3)));
    const fullRows = toroid.tidy(() => F.narrow(F.narrow(full, 0, 0, 1), 1, 0, 3));
    expectClose(fullRows.toTypedArray(), short.toTypedArray(), { atol: 1e-5, rtol: 1e-4 }, 'padding');
    toroid.tidy(() => full.sum().backward());
    for (const [name, p] of layer.namedParameters()) expect(p.grad, name).not.toBeNull();
    for (const t of [x, kpm, full, short, fullRows]) t.dispose();
    layer.dispose();
  });

  it('decoder layer with isCausal equals the bool causal mask; the future does not leak', () => {
    toroid.manualSeed(3);
    for (const normFirst of [false, true]) {
      const layer = new TransformerDecoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, normFirst, activation: 'gelu', backend });
      const tgt = randn([2, 4, 8], backend);
      const mem = randn([2, 6, 8], backend);
      const mask = Transformer.generateSquareSubsequentMask(4, { backend });
      toroid.tidy(() => {
        const a = layer.forward(tgt, mem, { tgtMask: mask });
        const b = layer.forward(tgt, mem, { tgtIsCausal: true });
        expectClose(a.toTypedArray(), b.toTypedArray(), { atol: 1e-6, rtol: 1e-5 }, 'causal');
        // changing the last target position leaves the earlier outputs alone
        const tgt2 = F.cat([F.narrow(tgt, 1, 0, 3), randn([2, 1, 8], backend)], 1);
        const c = layer.forward(tgt2, mem, { tgtIsCausal: true });
        expectClose(F.narrow(c, 1, 0, 3).toTypedArray(), F.narrow(a, 1, 0, 3).toTypedArray(), { atol: 1e-6, rtol: 1e-5 }, 'no leak');
        expect(Array.from(F.narrow(c, 1, 3, 1).toTypedArray())).not.toEqual(Array.from(F.narrow(a, 1, 3, 1).toTypedArray()));
      });
      for (const t of [tgt, mem, mask]) t.dispose();
      layer.dispose();
    }
  });

  it('dropout is active in training mode only', () => {
    toroid.manualSeed(4);
    const layer = new TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.5, backend });
    const x = randn([1, 4, 8], backend);
    toroid.tidy(() => {
      const a = layer.forward(x), b = layer.forward(x);
      expect(Array.from(a.toTypedArray())).not.toEqual(Array.from(b.toTypedArray()));
      layer.eval();
      const c = layer.forward(x), d = layer.forward(x);
      expect(Array.from(c.toTypedArray())).toEqual(Array.from(d.toTypedArray()));
    });
    x.dispose();
    layer.dispose();
  });

  it('memory: forward + backward inside tidy leaves no tensor behind', () => {
    toroid.manualSeed(5);
    const model = new Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 8, dropout: 0, backend });
    const src = randn([2, 3, 8], backend), tgt = randn([2, 2, 8], backend);
    const step = (): void => toroid.tidy(() => model.forward(src, tgt, { tgtIsCausal: true }).sum().backward());
    step();
    model.zeroGrad();
    const before = toroid.memory().liveStorages;
    step();
    model.zeroGrad();
    expect(toroid.memory().liveStorages).toBe(before);
    src.dispose();
    tgt.dispose();
    model.dispose();
  });
});

describeEachBackend('nn.FeedForward', (backend) => {
  it('relu / gelu / gelu_tanh / swiglu equal the F composition, with w1/w2/w3 names', () => {
    toroid.manualSeed(6);
    const x = randn([2, 3, 8], backend);
    for (const activation of ['relu', 'gelu', 'gelu_tanh', 'swiglu'] as const) {
      const ff = new FeedForward(8, 12, { activation, backend });
      expect(Object.keys(ff.stateDict())).toEqual(activation === 'swiglu'
        ? ['w1.weight', 'w1.bias', 'w3.weight', 'w3.bias', 'w2.weight', 'w2.bias']
        : ['w1.weight', 'w1.bias', 'w2.weight', 'w2.bias']);
      toroid.tidy(() => {
        const y = ff.forward(x);
        const h = F.linear(x, ff.w1.weight, ff.w1.bias);
        const act = activation === 'relu' ? F.relu(h) : activation === 'gelu' ? F.gelu(h)
          : activation === 'gelu_tanh' ? F.gelu(h, { approximate: 'tanh' }) : F.silu(h).mul(F.linear(x, ff.w3!.weight, ff.w3!.bias));
        const ref = F.linear(act, ff.w2.weight, ff.w2.bias);
        expectClose(y.toTypedArray(), ref.toTypedArray(), { atol: 1e-6, rtol: 1e-6 }, activation);
        y.sum().backward();
      });
      for (const [name, p] of ff.namedParameters()) expect(p.grad, name).not.toBeNull();
      ff.dispose();
    }
    const nb = new FeedForward(4, 8, { bias: false, backend });
    expect(Object.keys(nb.stateDict())).toEqual(['w1.weight', 'w2.weight']);
    nb.dispose();
    x.dispose();
  });
});

describe('nn.FeedForward gradcheck [ts, float64]', () => {
  it.skipIf(!supportsDType('ts', 'float64'))('swiglu and gelu: w.r.t. the input and w1', () => {
    toroid.manualSeed(7);
    for (const activation of ['swiglu', 'gelu'] as const) {
      const ff = new FeedForward(4, 6, { activation, backend: 'ts', dtype: 'float64' });
      const x = randLeaf([2, 4]);
      gradcheck((t) => ff.forward(t!), [x, ff.w1.weight]);
      x.dispose();
      ff.dispose();
    }
  });

  it.skipIf(!supportsDType('ts', 'float64'))('a pre-LN decoder layer: w.r.t. tgt and memory', () => {
    toroid.manualSeed(9);
    const layer = new TransformerDecoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, normFirst: true, activation: 'gelu', backend: 'ts', dtype: 'float64' });
    const tgt = randLeaf([2, 3, 4]), mem = randLeaf([2, 2, 4]);
    const kpm = toroid.tensor([[0, 1], [0, 0]], { dtype: 'bool', backend: 'ts' });
    gradcheck((t, m) => layer.forward(t!, m!, { tgtIsCausal: true, memoryKeyPaddingMask: kpm }), [tgt, mem]);
    for (const t of [tgt, mem, kpm]) t.dispose();
    layer.dispose();
  });
});

describeEachBackend('positional encodings', (backend) => {
  it('sinusoidal: PE(pos,2i) = sin(pos/10000^(2i/d)), PE(pos,2i+1) = cos(...), a non-persistent buffer', () => {
    for (const d of [6, 7]) {
      const pe = new SinusoidalPositionalEncoding(d, 10, { backend });
      expect(Object.keys(pe.stateDict())).toEqual([]);
      expect(pe.namedBuffers().map(([n]) => n)).toEqual(['pe']);
      const values = pe.pe.toTypedArray();
      for (let pos = 0; pos < 10; pos++) {
        for (let i = 0; i < d; i++) {
          const angle = pos / Math.pow(10000, (2 * Math.floor(i / 2)) / d);
          expect(values[pos * d + i]).toBeCloseTo(i % 2 === 0 ? Math.sin(angle) : Math.cos(angle), 6);
        }
      }
      const x = randn([2, 4, d], backend);
      toroid.tidy(() => {
        const y = pe.forward(x);
        const ref = x.add(F.narrow(pe.pe, 0, 0, 4));
        expect(Array.from(y.toTypedArray())).toEqual(Array.from(ref.toTypedArray()));
        const shifted = pe.forward(x, { offset: 3 });
        expect(Array.from(shifted.toTypedArray())).toEqual(Array.from(x.add(F.narrow(pe.pe, 0, 3, 4)).toTypedArray()));
      });
      x.dispose();
      pe.dispose();
    }
  });

  it('learned: weight [maxLen, d], forward adds rows 0..T-1 and trains them', () => {
    toroid.manualSeed(8);
    const pos = new LearnedPositionalEmbedding(6, 4, { backend });
    expect(Object.keys(pos.stateDict())).toEqual(['weight']);
    expect(pos.weight.shape).toEqual([6, 4]);
    const x = randn([2, 3, 4], backend);
    toroid.tidy(() => {
      const y = pos.forward(x, { offset: 1 });
      expectClose(y.toTypedArray(), x.add(F.narrow(pos.weight, 0, 1, 3)).toTypedArray(), { atol: 0, rtol: 0 }, 'learned');
      y.sum().backward();
    });
    const g = pos.weight.grad!.toTypedArray();
    // rows 1..3 were each used by the 2 batch rows, rows 0, 4, 5 not at all
    for (let r = 0; r < 6; r++) for (let c = 0; c < 4; c++) expect(g[r * 4 + c]).toBe(r >= 1 && r <= 3 ? 2 : 0);
    x.dispose();
    pos.dispose();
  });

  it('ALiBi slopes: 2^-1..2^-8 for 8 heads; the interpolation for 6; the bias', () => {
    expect(alibiSlopes(8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => 2 ** -i));
    expect(alibiSlopes(4)).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8]);
    // 6 heads: the 4-head slopes, then every other slope of 8 heads
    expect(alibiSlopes(6)).toEqual([2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
    const bias = alibiBias(2, 3, 3, { backend });
    expect(bias.shape).toEqual([1, 2, 3, 3]);
    const m = [2 ** -4, 2 ** -8];
    const want: number[] = [];
    for (let h = 0; h < 2; h++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) want.push(m[h]! * (j - i));
    expectClose(bias.toTypedArray(), want, { atol: 0, rtol: 0 }, 'alibi');
    // KV cache: 1 query at the last of 4 positions
    const last = alibiBias(2, 1, 4, { backend });
    expectClose(last.toTypedArray(), [-3, -2, -1, 0, -3, -2, -1, 0].map((v, k) => v * m[k < 4 ? 0 : 1]!), { atol: 0, rtol: 0 }, 'alibi cache');
    const sym = alibiBias(2, 3, 3, { symmetric: true, backend });
    expectClose(sym.toTypedArray(), want.map((v) => -Math.abs(v)), { atol: 0, rtol: 0 }, 'alibi symmetric');
    // usable as a float attnMask of F.scaledDotProductAttention
    const mod = new ALiBi(2, { backend });
    toroid.tidy(() => {
      const b = mod.forward(3, 3);
      expect(Array.from(b.toTypedArray())).toEqual(Array.from(bias.toTypedArray()));
      const q = randn([1, 2, 3, 4], backend);
      const y = F.scaledDotProductAttention(q, q, q, { attnMask: b, isCausal: true });
      expect(y.shape).toEqual([1, 2, 3, 4]);
    });
    for (const t of [bias, last, sym]) t.dispose();
  });
});

describeEachBackend('nn transformer modules: bad arguments', (backend) => {
  it('TransformerEncoderLayer / TransformerDecoderLayer', () => {
    for (const [Cls, fn] of [[TransformerEncoderLayer, 'TransformerEncoderLayer'], [TransformerDecoderLayer, 'TransformerDecoderLayer']] as const) {
      expectError(() => new Cls(0, 2, { backend }), RangeError, fn, 'dModel');
      expectError(() => new Cls('8' as unknown as number, 2, { backend }), TypeError, fn, 'dModel');
      expectError(() => new Cls(10, 4, { backend }), RangeError, fn, 'dModel');
      expectError(() => new Cls(8, 2.5, { backend }), RangeError, fn, 'nhead');
      expectError(() => new Cls(8, 2, { dropout: 1, backend }), RangeError, fn, 'options.dropout');
      expectError(() => new Cls(8, 2, { activation: 'tanh' as 'relu', backend }), RangeError, fn, 'options.activation');
      expectError(() => new Cls(8, 2, { dimFeedforward: -1, backend }), RangeError, fn, 'options.dimFeedforward');
      expectError(() => new Cls(8, 2, { layerNormEps: -1, backend }), RangeError, fn, 'options.layerNormEps');
      expectError(() => new Cls(8, 2, { normFirst: 1 as unknown as boolean, backend }), TypeError, fn, 'options.normFirst');
      expectError(() => new Cls(8, 2, { batchFirst: false, backend }), TypeError, fn, 'options.batchFirst');
      expectError(() => new Cls(8, 2, { nope: 1 } as never), RangeError, fn, 'options');
    }
    const enc = new TransformerEncoderLayer(8, 2, { backend });
    expectError(() => enc.forward(randn([2, 3, 4], backend)), RangeError, 'TransformerEncoderLayer.forward', 'src');
    expectError(() => enc.forward(randn([2, 3, 8], backend), { srcMask: randn([2, 2], backend) }), RangeError, 'MultiheadAttention.forward', 'options.attnMask');
    const dec = new TransformerDecoderLayer(8, 2, { backend });
    expectError(() => dec.forward(randn([2, 3, 8], backend), randn([3, 3, 8], backend)), RangeError, 'TransformerDecoderLayer.forward', 'memory');
    enc.dispose();
    dec.dispose();
  });

  it('TransformerEncoder / TransformerDecoder / Transformer', () => {
    const cfg = { dModel: 8, nhead: 2, dimFeedforward: 8, backend };
    expectError(() => new TransformerEncoder(cfg, 0), RangeError, 'TransformerEncoder', 'numLayers');
    expectError(() => new TransformerEncoder(42 as never, 2), TypeError, 'TransformerEncoder', 'layer');
    expectError(() => new TransformerEncoder(() => 'x' as never, 2), TypeError, 'TransformerEncoder', 'layer');
    const shared = new TransformerEncoderLayer(8, 2, { dimFeedforward: 8, backend });
    expectError(() => new TransformerEncoder(() => shared, 2), RangeError, 'TransformerEncoder', 'layer');
    expectError(() => new TransformerEncoder(cfg, 2, { norm: 'ln' as never }), TypeError, 'TransformerEncoder', 'options.norm');
    expectError(() => new TransformerDecoder(cfg, 1.5), RangeError, 'TransformerDecoder', 'numLayers');
    expectError(() => new TransformerDecoder(null as never, 2), TypeError, 'TransformerDecoder', 'layer');
    expectError(() => new TransformerDecoder(cfg, 2, { extra: 1 } as never), RangeError, 'TransformerDecoder', 'options');
    expectError(() => new TransformerDecoder({ ...cfg, dModel: 7 }, 2), RangeError, 'TransformerDecoderLayer', 'dModel');
    expectError(() => new TransformerDecoder(cfg, 2, { norm: 3 as never }), TypeError, 'TransformerDecoder', 'options.norm');
    shared.dispose();

    const t = 'Transformer';
    expectError(() => new Transformer({ dModel: 10, nhead: 3, backend }), RangeError, t, 'options.dModel');
    expectError(() => new Transformer({ dModel: 0, backend }), RangeError, t, 'options.dModel');
    expectError(() => new Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 0, backend }), RangeError, t, 'options.numEncoderLayers');
    expectError(() => new Transformer({ dModel: 8, nhead: 2, numDecoderLayers: -1, backend }), RangeError, t, 'options.numDecoderLayers');
    expectError(() => new Transformer({ dModel: 8, nhead: 2, dropout: -0.1, backend }), RangeError, t, 'options.dropout');
    expectError(() => new Transformer({ dModel: 8, nhead: 2, dtype: 'int32' as never, backend }), TypeError, t, 'options.dtype');
    expectError(() => new Transformer({ dModel: 8, nhead: 2, backend: 'nope' }), RangeError, t, 'options.backend');
    expectError(() => new Transformer({ d_model: 8 } as never), RangeError, t, 'options');
    const model = new Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 8, backend });
    expectError(() => model.forward(randn([2, 3, 8], backend), randn([3, 3, 8], backend)), RangeError, 'Transformer.forward', 'tgt');
    expectError(() => model.forward(randn([2, 3, 6], backend), randn([2, 3, 8], backend)), RangeError, 'Transformer.forward', 'src');
    expectError(() => model.forward(randn([2, 3, 8], backend), randn([2, 3, 8], backend), { tgtIsCausal: 'yes' as never }), TypeError, 'MultiheadAttention.forward', 'options.isCausal');
    expectError(() => Transformer.generateSquareSubsequentMask(0), RangeError, 'Transformer.generateSquareSubsequentMask', 'T');
    model.dispose();
  });

  it('FeedForward / positional encodings / ALiBi', () => {
    expectError(() => new FeedForward(0, 8, { backend }), RangeError, 'FeedForward', 'dModel');
    expectError(() => new FeedForward(8, 1.5, { backend }), RangeError, 'FeedForward', 'dFF');
    expectError(() => new FeedForward(8, 8, { activation: 'tanh' as never, backend }), RangeError, 'FeedForward', 'options.activation');
    expectError(() => new FeedForward(8, 8, { bias: 'no' as never, backend }), TypeError, 'FeedForward', 'options.bias');
    expectError(() => new FeedForward(8, 8, { dropout: 2, backend }), RangeError, 'FeedForward', 'options.dropout');
    const ff = new FeedForward(8, 8, { backend });
    expectError(() => ff.forward(randn([2, 4], backend)), RangeError, 'FeedForward.forward', 'x');
    ff.dispose();

    const s = 'SinusoidalPositionalEncoding';
    expectError(() => new SinusoidalPositionalEncoding(0, 10, { backend }), RangeError, s, 'dModel');
    expectError(() => new SinusoidalPositionalEncoding(8, -1, { backend }), RangeError, s, 'maxLen');
    expectError(() => new SinusoidalPositionalEncoding(8, 10, { dropout: 1.5, backend }), RangeError, s, 'options.dropout');
    expectError(() => new SinusoidalPositionalEncoding(8, 10, { base: 0, backend }), RangeError, s, 'options.base');
    expectError(() => new SinusoidalPositionalEncoding(8, 10, { bogus: 1 } as never), RangeError, s, 'options');
    const pe = new SinusoidalPositionalEncoding(8, 4, { backend });
    expectError(() => pe.forward(randn([1, 5, 8], backend)), RangeError, `${s}.forward`, 'x');
    expectError(() => pe.forward(randn([1, 2, 8], backend), { offset: 3 }), RangeError, `${s}.forward`, 'options.offset');
    expectError(() => pe.forward(randn([1, 2, 6], backend)), RangeError, `${s}.forward`, 'x');

    const l = 'LearnedPositionalEmbedding';
    expectError(() => new LearnedPositionalEmbedding(0, 8, { backend }), RangeError, l, 'maxLen');
    expectError(() => new LearnedPositionalEmbedding(8, '8' as never, { backend }), TypeError, l, 'dModel');
    expectError(() => new LearnedPositionalEmbedding(8, 8, { std: -1, backend }), RangeError, l, 'options.std');
    expectError(() => new LearnedPositionalEmbedding(8, 8, { dtype: 'bool' as never, backend }), TypeError, l, 'options.dtype');
    expectError(() => new LearnedPositionalEmbedding(8, 8, { x: 1 } as never), RangeError, l, 'options');
    const lp = new LearnedPositionalEmbedding(4, 8, { backend });
    expectError(() => lp.forward(randn([1, 5, 8], backend)), RangeError, `${l}.forward`, 'x');
    lp.dispose();

    expectError(() => alibiSlopes(0), RangeError, 'alibiSlopes', 'numHeads');
    expectError(() => alibiBias(2, 0, 3), RangeError, 'alibiBias', 'Tq');
    expectError(() => alibiBias(2, 3, 2.5), RangeError, 'alibiBias', 'Tk');
    expectError(() => alibiBias(2, 4, 3), RangeError, 'alibiBias', 'Tq');
    expectError(() => alibiBias(2, 3, 3, { symmetric: 1 } as never), TypeError, 'alibiBias', 'options.symmetric');
    expectError(() => new ALiBi(-2), RangeError, 'ALiBi', 'numHeads');
  });
});
