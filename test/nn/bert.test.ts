// nn.BertEncoder: whole-model parity with a hand-written Hugging Face BERT in PyTorch
// (test/fixtures/models/bert.safetensors, from test/fixtures/generate_bert.py: every
// output, the loss and the gradient of every parameter, tied ones included), the HF
// attention-mask convention and padding invariance, save/load, seeded init, the HF
// state-dict mapping, the losses, and bad configs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { BertEncoder, BertLayer, bertStateDictFromHuggingFace, resolveBertConfig, type BertConfig, type BertOutput } from '../../src/nn/bert.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { expectErrorPrefix } from '../helpers/expect-error.js';
import { expectTensorClose, f64, fixtureStateDict, int32Input, maxAbs, modelFixture, raw, type ModelFixture } from '../helpers/model-fixtures.js';
import { bits, expectSeededInit, std } from '../helpers/model-init.js';

type Tensor = toroid.Tensor;
const { F } = toroid;

/** The fixture's HF snake_case config as a BertConfig (dropout 0: the fixture is in eval mode). */
function fixtureConfig(fx: ModelFixture): BertConfig {
  const c = fx.config as Record<string, number>;
  return {
    vocabSize: c.vocab_size!, hiddenSize: c.hidden_size!, numHiddenLayers: c.num_hidden_layers!,
    numAttentionHeads: c.num_attention_heads!, intermediateSize: c.intermediate_size!,
    maxPositionEmbeddings: c.max_position_embeddings!, typeVocabSize: c.type_vocab_size!,
    layerNormEps: c.layer_norm_eps!, hiddenDropout: 0, attentionDropout: 0, numLabels: c.num_labels!, padTokenId: c.pad_token_id!,
  };
}

/** A model holding the fixture's weights (strict load), in eval mode. */
function fixtureModel(backend: string, dtype: 'float32' | 'float64' = 'float32'): BertEncoder {
  const fx = modelFixture('bert');
  const model = new BertEncoder(fixtureConfig(fx), { backend, dtype });
  const sd = fixtureStateDict(fx, backend, dtype);
  try {
    model.loadStateDict(sd, { strict: true });
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
  return model.eval();
}

/** attention.self.key.bias: its gradient is zero up to roundoff, so it is checked against a bound, not elementwise. */
const KEY_BIAS = /\.attention\.self\.key\.bias$/;

function checkParity(backend: string, dtype: 'float32' | 'float64'): void {
  const fx = modelFixture('bert');
  const probe = new BertEncoder(fixtureConfig(fx), { backend, dtype });
  // the keys are exactly the fixture's (both names of each tied pair)
  expect(Object.keys(probe.stateDict()).sort()).toEqual([...fx.config.params].sort());
  probe.dispose();
  const model = fixtureModel(backend, dtype);
  const inputs = ['input_ids', 'attention_mask', 'token_type_ids', 'mlm_labels', 'class_labels'].map((n) => int32Input(fx, n, backend));
  const [ids, mask, tt, mlmLabels, classLabels] = inputs as [Tensor, Tensor, Tensor, Tensor, Tensor];
  try {
    toroid.tidy(() => {
      const out = model.forward(ids, { attentionMask: mask, tokenTypeIds: tt, mlmLabels, classLabels });
      const pairs: Array<[Tensor, string]> = [
        [out.lastHiddenState, 'last_hidden_state'], [out.pooledOutput, 'pooled_output'],
        [out.mlmLogits, 'mlm_logits'], [out.classLogits!, 'class_logits'], [out.loss!, 'loss'],
      ];
      for (const [t, name] of pairs) {
        expect(t.shape, name).toEqual(raw(fx, name).shape);
        expectTensorClose(t.toTypedArray(), f64(fx, name), dtype, name);
      }
      expect(out.loss!.item()).toBeCloseTo(out.mlmLoss!.item() + out.classLoss!.item(), dtype === 'float64' ? 12 : 5);
      out.loss!.backward();
    });
    for (const pname of fx.config.params) {
      const p = model.getParameter(pname);
      expect(p.grad, `grad of ${pname}`).not.toBeNull();
      expect(p.grad!.shape).toEqual(p.shape);
      if (KEY_BIAS.test(pname)) {
        // mathematically zero (softmax is shift-invariant per query row: q.(k + b) adds the same q.b to
        // every score); the fixture holds PyTorch's roundoff. Bound it against the key weight's gradient.
        const scale = maxAbs(f64(fx, `grad/${pname.replace(/bias$/, 'weight')}`));
        expect(maxAbs(f64(fx, `grad/${pname}`)), pname).toBeLessThan(1e-12 * scale);
        expect(maxAbs(p.grad!.toTypedArray()), pname).toBeLessThan((dtype === 'float64' ? 1e-12 : 1e-5) * scale);
        continue;
      }
      expectTensorClose(p.grad!.toTypedArray(), f64(fx, `grad/${pname}`), dtype, `grad/${pname}`);
    }
  } finally {
    model.dispose();
    for (const t of inputs) t.dispose();
  }
}

function ids(data: number[][], backend: string): Tensor {
  return toroid.tensor(Int32Array.from(data.flat()), { shape: [data.length, data[0]!.length], dtype: 'int32', backend });
}

/** Rows [b, t] of a [B,T,...] tensor for t in [0, len). */
function rows(t: Tensor, b: number, len: number): number[] {
  const [, T] = t.shape as [number, number];
  const inner = t.size / (t.shape[0]! * T);
  return Array.from(t.toTypedArray()).slice(b * T * inner, (b * T + len) * inner);
}

/** `message` as a string is the whole message; as a pattern, what the message must match. */
function expectConfigError(config: unknown, kind: typeof TypeError | typeof RangeError, message: string | RegExp): void {
  const text = expectErrorPrefix(() => new BertEncoder(config as BertConfig, { backend: 'ts' }), kind, 'toroid.BertEncoder: config', typeof message === 'string' ? undefined : message);
  if (typeof message === 'string') expect(text).toBe(message);
}

/** The native cpu backend's OpenMP pool can stall on a loaded 2-core machine: give model-sized tests room. */
const SLOW = 60_000;

const SMALL: BertConfig = {
  vocabSize: 31, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 32, maxPositionEmbeddings: 12, numLabels: 3,
};

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-bert-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describeEachBackend('nn.BertEncoder', (backend) => {
  it('matches HF BERT (PyTorch) on bert.safetensors: every output, the loss and every gradient (tied decoder weight and bias)', () => {
    checkParity(backend, 'float32');
  }, SLOW);

  it.skipIf(!supportsDType(backend, 'float64'))('matches HF BERT in float64 to 1e-12', () => {
    checkParity(backend, 'float64');
  }, SLOW);

  it('attentionMask is HF\'s (1 = real, 0 = padding): padded tokens do not change the real tokens\' outputs', () => {
    const fx = modelFixture('bert');
    const model = fixtureModel(backend);
    const base = toroid.tidy(() => {
      const input = int32Input(fx, 'input_ids', backend);
      const mask = int32Input(fx, 'attention_mask', backend);
      const tt = int32Input(fx, 'token_type_ids', backend);
      const a = model.forward(input, { attentionMask: mask, tokenTypeIds: tt });
      // other tokens and token types in the padded tail (batch 1, positions 5 and 6)
      const idsArr = Array.from(input.toTypedArray());
      const ttArr = Array.from(tt.toTypedArray());
      idsArr[12] = 17; idsArr[13] = 3; ttArr[12] = 1; ttArr[13] = 1;
      const input2 = toroid.tensor(Int32Array.from(idsArr), { shape: [2, 7], dtype: 'int32', backend });
      const tt2 = toroid.tensor(Int32Array.from(ttArr), { shape: [2, 7], dtype: 'int32', backend });
      const b = model.forward(input2, { attentionMask: mask, tokenTypeIds: tt2 });
      const tol = { atol: 1e-6, rtol: 1e-5 };
      // batch 0 has no padding: identical; batch 1: the 5 real positions
      expectClose(rows(b.lastHiddenState, 0, 7), rows(a.lastHiddenState, 0, 7), tol, 'batch 0 hidden');
      expectClose(rows(b.lastHiddenState, 1, 5), rows(a.lastHiddenState, 1, 5), tol, 'batch 1 real hidden');
      expectClose(rows(b.mlmLogits, 1, 5), rows(a.mlmLogits, 1, 5), tol, 'batch 1 real mlm logits');
      expectClose(b.pooledOutput.toTypedArray(), a.pooledOutput.toTypedArray(), tol, 'pooled');
      expectClose(b.classLogits!.toTypedArray(), a.classLogits!.toTypedArray(), tol, 'class logits');
      // without the mask the padded tokens are attended to, and the outputs change
      const unmasked = model.forward(input2, { tokenTypeIds: tt2 });
      expect(maxAbs(F.sub(unmasked.pooledOutput, a.pooledOutput).toTypedArray())).toBeGreaterThan(1e-4);
      // the same sequence alone and unpadded gives the same real-token outputs
      const alone = toroid.tensor(Int32Array.from(idsArr.slice(7, 12)), { shape: [1, 5], dtype: 'int32', backend });
      const aloneTT = toroid.tensor(Int32Array.from(ttArr.slice(7, 12)), { shape: [1, 5], dtype: 'int32', backend });
      const c = model.forward(alone, { tokenTypeIds: aloneTT });
      expectClose(rows(c.lastHiddenState, 0, 5), rows(a.lastHiddenState, 1, 5), tol, 'unpadded vs padded');
      // a mask of all ones (int32, bool or float) is the same as no mask
      const ones = [
        toroid.tensor(new Int32Array(14).fill(1), { shape: [2, 7], dtype: 'int32', backend }),
        toroid.tensor(new Uint8Array(14).fill(1), { shape: [2, 7], dtype: 'bool', backend }),
        toroid.tensor(new Float32Array(14).fill(1), { shape: [2, 7], backend }),
      ];
      for (const m of ones) {
        expect(Array.from(model.forward(input, { attentionMask: m, tokenTypeIds: tt }).lastHiddenState.toTypedArray()))
          .toEqual(Array.from(model.forward(input, { tokenTypeIds: tt }).lastHiddenState.toTypedArray()));
      }
      // a bool mask in HF's sense: false = padding
      const boolMask = toroid.tensor(Uint8Array.from(Array.from(mask.toTypedArray())), { shape: [2, 7], dtype: 'bool', backend });
      expect(Array.from(model.forward(input, { attentionMask: boolMask, tokenTypeIds: tt }).pooledOutput.toTypedArray()))
        .toEqual(Array.from(a.pooledOutput.toTypedArray()));
      // values other than 0/1 are refused (a hint that an additive or toroid-style mask was passed)
      const bad = toroid.tensor(new Float32Array(14).fill(-10000), { shape: [2, 7], backend });
      expect(() => model.forward(input, { attentionMask: bad })).toThrow(/^toroid\.BertEncoder\.forward: options\.attentionMask must be a mask of 0 \(padding\) and 1 \(real token\) values, got the value -10000 at flat index 0$/);
      const wrongShape = toroid.tensor(new Int32Array(7).fill(1), { shape: [1, 7], dtype: 'int32', backend });
      expect(() => model.forward(input, { attentionMask: wrongShape })).toThrow(/^toroid\.BertEncoder\.forward: options\.attentionMask must be int32 \[2,7\] like inputIds/);
      return a.lastHiddenState.shape;
    });
    expect(base).toEqual([2, 7, 32]);
    model.dispose();
  }, SLOW);

  it('save/load round trip: config in the metadata, every name (tied ones) in the file, same outputs, ties restored', async () => {
    const fx = modelFixture('bert');
    const model = fixtureModel(backend);
    const file = path.join(dir, `bert-${backend}.safetensors`);
    await model.save(file, { metadata: { note: 'round trip' } });
    const { tensors, metadata } = await toroid.load(file, { backend: 'ts' });
    expect(Object.keys(tensors).sort()).toEqual([...fx.config.params].sort());
    expect(metadata.model).toBe('BertEncoder');
    expect(metadata.note).toBe('round trip');
    expect(JSON.parse(metadata.config!)).toEqual(model.config);
    for (const t of Object.values(tensors)) t.dispose();

    const loaded = await BertEncoder.load(file, { backend });
    loaded.eval();
    expect(loaded.config).toEqual(model.config);
    expect(bits(loaded)).toEqual(bits(model));
    expect(loaded.cls.predictions.decoder.weight).toBe(loaded.bert.embeddings.wordEmbeddings.weight);
    expect(loaded.cls.predictions.decoder.bias).toBe(loaded.cls.predictions.bias);
    toroid.tidy(() => {
      const input = int32Input(fx, 'input_ids', backend);
      const mask = int32Input(fx, 'attention_mask', backend);
      const a = model.forward(input, { attentionMask: mask });
      const b = loaded.forward(input, { attentionMask: mask });
      expect(Array.from(b.mlmLogits.toTypedArray())).toEqual(Array.from(a.mlmLogits.toTypedArray()));
      expect(Array.from(b.classLogits!.toTypedArray())).toEqual(Array.from(a.classLogits!.toTypedArray()));
    });
    // a file that is not a BertEncoder's
    const other = path.join(dir, `plain-${backend}.safetensors`);
    const lin = new toroid.nn.Linear(2, 2, { backend });
    await lin.save(other);
    await expect(BertEncoder.load(other)).rejects.toThrow(/^toroid\.BertEncoder\.load: path must be a file written by BertEncoder\.save/);
    for (const m of [model, loaded, lin]) m.dispose();
  }, SLOW);

  it('the same seed gives bitwise-equal models (this backend and ts); HF init: N(0, 0.02), zero biases, LN 1/0, pad row 0, ties', () => {
    const config: BertConfig = { ...SMALL, vocabSize: 300, hiddenSize: 64, intermediateSize: 128, maxPositionEmbeddings: 64 };
    const { model: a, state: ba } = expectSeededInit((b) => new BertEncoder(config, { backend: b }), backend, 42, 'bert.embeddings.word_embeddings.weight');
    const within = (name: string, rel = 0.05): void => {
      expect(Math.abs(std(a.getParameter(name)) / 0.02 - 1), name).toBeLessThan(rel);
    };
    within('bert.embeddings.word_embeddings.weight');
    within('bert.embeddings.position_embeddings.weight');
    within('bert.encoder.layer.0.attention.self.query.weight');
    within('bert.encoder.layer.1.output.dense.weight');
    within('bert.pooler.dense.weight', 0.1);
    within('cls.predictions.transform.dense.weight', 0.1);
    within('classifier.weight', 0.3);
    for (const [name, values] of Object.entries(ba)) {
      if (name.endsWith('.bias')) expect(maxAbs(values), name).toBe(0);
      if (name.endsWith('LayerNorm.weight')) expect(values.every((v) => v === 1), name).toBe(true);
    }
    // word_embeddings' row padTokenId = 0 is zero
    expect(maxAbs(ba['bert.embeddings.word_embeddings.weight']!.slice(0, 64))).toBe(0);
    // ties: decoder.weight is the embedding, decoder.bias is cls.predictions.bias; counted once
    expect(a.cls.predictions.decoder.weight).toBe(a.bert.embeddings.wordEmbeddings.weight);
    expect(a.cls.predictions.decoder.bias).toBe(a.cls.predictions.bias);
    const names = a.namedParameters().map(([n]) => n);
    expect(names).toContain('bert.embeddings.word_embeddings.weight');
    expect(names).toContain('cls.predictions.bias');
    expect(names).not.toContain('cls.predictions.decoder.weight');
    expect(names).not.toContain('cls.predictions.decoder.bias');
    const H = 64, I = 128, V = 300, L = 2;
    const perLayer = 4 * (H * H + H) + 2 * 2 * H + (H * I + I) + (I * H + H);
    const expected = V * H + 64 * H + 2 * H + 2 * H + L * perLayer + (H * H + H) + V + (H * H + H) + 2 * H + (3 * H + 3);
    expect(a.numParameters()).toBe(expected);
    // numLabels 0: no classifier, no dropout before it
    const e = new BertEncoder({ ...config, numLabels: 0 }, { backend });
    expect(e.classifier).toBeNull();
    expect(Object.keys(e.stateDict()).some((k) => k.startsWith('classifier.'))).toBe(false);
    for (const m of [a, e]) m.dispose();
  }, SLOW);

  it('losses: mlmLoss ignores -100, classLoss, their sum; null without labels; bad inputs', () => {
    toroid.manualSeed(3);
    const model = new BertEncoder({ ...SMALL, hiddenDropout: 0, attentionDropout: 0 }, { backend });
    const input = ids([[2, 5, 7, 9, 11], [3, 4, 6, 8, 0]], backend);
    const labels = ids([[-100, 5, -100, -100, 1], [-100, -100, 30, -100, -100]], backend);
    const cls = ids([[1, 2]], backend).reshape([2]);
    toroid.tidy(() => {
      const plain: BertOutput = model.forward(input);
      expect(plain.mlmLogits.shape).toEqual([2, 5, 31]);
      expect(plain.pooledOutput.shape).toEqual([2, 16]);
      expect(plain.classLogits!.shape).toEqual([2, 3]);
      expect(plain.loss).toBeNull();
      expect(plain.mlmLoss).toBeNull();
      expect(plain.classLoss).toBeNull();
      const mlm = model.forward(input, { mlmLabels: labels });
      expect(mlm.classLoss).toBeNull();
      expect(mlm.loss).toBe(mlm.mlmLoss);
      expect(mlm.mlmLoss!.item()).toBeCloseTo(F.crossEntropy(plain.mlmLogits, labels, { ignoreIndex: -100 }).item(), 5);
      const both = model.forward(input, { mlmLabels: labels, classLabels: cls });
      expect(both.classLoss!.item()).toBeCloseTo(F.crossEntropy(plain.classLogits!, cls).item(), 5);
      expect(both.loss!.item()).toBeCloseTo(both.mlmLoss!.item() + both.classLoss!.item(), 5);
    });
    expect(() => model.forward(ids([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]], backend))).toThrow(/^toroid\.BertEncoder\.forward: inputIds must be int32 \[B,T\] with B >= 1 and 1 <= T <= maxPositionEmbeddings=12, got int32 \[1,13\]$/);
    expect(() => model.forward(toroid.zeros([2, 5], { backend }))).toThrow(TypeError);
    expect(() => model.forward(input, { mlmLabels: ids([[1, 2, 3]], backend) })).toThrow(/^toroid\.BertEncoder\.forward: options\.mlmLabels must be int32 \[2,5\], got int32 \[1,3\]$/);
    expect(() => model.forward(input, { tokenTypeIds: ids([[0, 1]], backend) })).toThrow(RangeError);
    expect(() => model.forward(input, { labels: labels } as never)).toThrow(/unknown key 'labels'/);
    const noHead = new BertEncoder({ ...SMALL, numLabels: 0 }, { backend });
    expect(noHead.forward(input).classLogits).toBeNull();
    expect(() => noHead.forward(input, { classLabels: cls })).toThrow(/^toroid\.BertEncoder\.forward: options\.classLabels must be null or undefined on a model without a classifier/);
    model.dispose();
    noHead.dispose();
  }, SLOW);

  it('dropout is active in train mode and off in eval mode; training reaches every parameter', () => {
    toroid.manualSeed(11);
    const model = new BertEncoder({ ...SMALL, hiddenDropout: 0.2, attentionDropout: 0.2 }, { backend });
    const input = ids([[2, 5, 7, 9], [3, 4, 6, 8]], backend);
    const labels = ids([[2, -100, 7, -100], [-100, 4, -100, 8]], backend);
    const cls = ids([[0, 2]], backend).reshape([2]);
    toroid.tidy(() => {
      const a = model.forward(input).pooledOutput.toTypedArray();
      const b = model.forward(input).pooledOutput.toTypedArray();
      expect(Array.from(a)).not.toEqual(Array.from(b));
      model.eval();
      const c = model.forward(input).pooledOutput.toTypedArray();
      const d = model.forward(input).pooledOutput.toTypedArray();
      expect(Array.from(c)).toEqual(Array.from(d));
      model.train();
      model.forward(input, { mlmLabels: labels, classLabels: cls }).loss!.backward();
    });
    for (const [name, p] of model.namedParameters()) {
      expect(p.grad, name).not.toBeNull();
      // the padding row of the embedding gets no gradient from the lookup, but the tied decoder gives it one
      expect(maxAbs(p.grad!.toTypedArray()), name).toBeGreaterThan(0);
    }
    model.dispose();
  }, SLOW);

  it('bertStateDictFromHuggingFace: a BertForPreTraining-style dict (no tied copies, position_ids, NSP head) loads strictly', () => {
    toroid.manualSeed(21);
    const src = new BertEncoder({ ...SMALL, numLabels: 0 }, { backend });
    const dst = new BertEncoder({ ...SMALL, numLabels: 0 }, { backend });
    const sd = src.stateDict();
    const hf: Record<string, Tensor> = {};
    const extras: Tensor[] = [
      toroid.tensor(Int32Array.from({ length: 12 }, (_, i) => i), { shape: [1, 12], dtype: 'int32', backend: 'ts' }),
      toroid.zeros([2, 16], { backend }),
      toroid.zeros([2], { backend }),
    ];
    for (const [k, t] of Object.entries(sd)) {
      if (k === 'cls.predictions.decoder.weight' || k === 'cls.predictions.decoder.bias') continue; // HF files dedupe ties
      hf[k.replace(/\.LayerNorm\.weight$/, '.LayerNorm.gamma').replace(/\.LayerNorm\.bias$/, '.LayerNorm.beta')] = t;
    }
    hf['bert.embeddings.position_ids'] = extras[0]!;
    hf['cls.seq_relationship.weight'] = extras[1]!;
    hf['cls.seq_relationship.bias'] = extras[2]!;
    const mapped = bertStateDictFromHuggingFace(hf);
    expect(Object.keys(mapped).sort()).toEqual(Object.keys(sd).sort());
    expect(mapped['cls.predictions.decoder.weight']).toBe(sd['bert.embeddings.word_embeddings.weight']);
    dst.loadStateDict(mapped, { strict: true });
    expect(bits(dst)).toEqual(bits(src));
    // a BertModel dict (no 'bert.' prefix, no heads): the trunk loads, cls.* is reported missing
    const trunk: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(sd)) if (k.startsWith('bert.')) trunk[k.slice(5)] = t;
    const res = dst.loadStateDict(bertStateDictFromHuggingFace(new Map(Object.entries(trunk))), { strict: false });
    expect(res.unexpectedKeys).toEqual([]);
    expect(res.missingKeys.every((k) => k.startsWith('cls.'))).toBe(true);
    expect(() => bertStateDictFromHuggingFace(42 as never)).toThrow(TypeError);
    for (const m of [src, dst]) m.dispose();
    for (const t of extras) t.dispose();
  }, SLOW);

  it('BertLayer is an EncoderLayerLike: nn.TransformerEncoder stacks it with toroid\'s mask convention', () => {
    toroid.manualSeed(8);
    const model = new BertEncoder({ ...SMALL, hiddenDropout: 0, attentionDropout: 0 }, { backend }).eval();
    const layers = [...model.bert.encoder.layer];
    const stack = new toroid.nn.TransformerEncoder((i: number) => layers[i] as BertLayer, layers.length);
    toroid.tidy(() => {
      const x = toroid.randn([2, 5, 16], { backend });
      const padded = toroid.tensor(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]), { shape: [2, 5], dtype: 'bool', backend });
      const viaStack = stack.forward(x, { srcKeyPaddingMask: padded });
      const viaModel = model.bert.encoder.forward(x, { srcKeyPaddingMask: padded });
      expect(Array.from(viaStack.toTypedArray())).toEqual(Array.from(viaModel.toTypedArray()));
    });
    model.dispose();
  }, SLOW);
});

it('bad configs: toroid error format', () => {
  expectConfigError({ ...SMALL, hiddenSize: 30 }, RangeError, 'toroid.BertEncoder: config.numAttentionHeads must be a divisor of hiddenSize=30, got 4');
  expectConfigError({ ...SMALL, vocabSize: 0 }, RangeError, 'toroid.BertEncoder: config.vocabSize must be a positive integer, got 0');
  expectConfigError({ ...SMALL, numHiddenLayers: '2' }, TypeError, 'toroid.BertEncoder: config.numHiddenLayers must be a positive integer, got "2"');
  expectConfigError({ ...SMALL, intermediateSize: undefined }, TypeError, 'toroid.BertEncoder: config.intermediateSize must be a positive integer, got undefined');
  expectConfigError({ ...SMALL, hiddenDropout: 1.5 }, RangeError, 'toroid.BertEncoder: config.hiddenDropout must be a probability in [0, 1), got 1.5');
  expectConfigError({ ...SMALL, numLabels: -1 }, RangeError, 'toroid.BertEncoder: config.numLabels must be a non-negative integer (0 = no classifier), got -1');
  expectConfigError({ ...SMALL, padTokenId: 31 }, RangeError, 'toroid.BertEncoder: config.padTokenId must be a token id in [0, 31) or null, got 31');
  expectConfigError({ ...SMALL, hiddenAct: 'swish' }, RangeError, "toroid.BertEncoder: config.hiddenAct must be one of 'gelu', 'gelu_new', 'relu', got \"swish\"");
  expectConfigError({ ...SMALL, layerNormEps: -1 }, RangeError, 'toroid.BertEncoder: config.layerNormEps must be a non-negative finite number, got -1');
  expectConfigError({ ...SMALL, typeVocabSize: 0 }, RangeError, 'toroid.BertEncoder: config.typeVocabSize must be a positive integer, got 0');
  expectConfigError({ ...SMALL, num_labels: 2 }, RangeError, /^toroid\.BertEncoder: config must be an object with keys among \{ .* \}, got unknown key 'num_labels'$/);
  expectConfigError(null, TypeError, /^toroid\.BertEncoder: config must be an object/);
  // defaults
  const r = resolveBertConfig(SMALL);
  expect(r).toMatchObject({ typeVocabSize: 2, layerNormEps: 1e-12, hiddenDropout: 0.1, attentionDropout: 0.1, padTokenId: 0, initializerRange: 0.02, hiddenAct: 'gelu' });
  expect(resolveBertConfig({ ...SMALL, padTokenId: null }).padTokenId).toBeNull();
});
