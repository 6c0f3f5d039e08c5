// Checkpoints: a Hugging Face GPT-2 file (test/fixtures/models/gpt2_hf.safetensors: GPT2LMHeadModel
// names, Conv1D [in,out] weights, the uint8 attn.bias and scalar attn.masked_bias buffers) read with
// toroid.load and converted to a GPT that reproduces PyTorch's logits, loss and gradients;
// GPT.save/GPT.load and Seq2SeqTransformer.save/load round trips (config in the metadata, tied
// weights stay one tensor); and Seq2SeqTransformer's behaviour (padding, causality, sharing, grads,
// bad configs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { readSafetensorsFileSync, type RawTensor } from '../../src/io/safetensors.js';
import { GPT, gpt2StateDictToNanoGPT, type GPTConfig } from '../../src/nn/gpt.js';
import { Seq2SeqTransformer, type Seq2SeqConfig } from '../../src/nn/seq2seq.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { expectErrorPrefix } from '../helpers/expect-error.js';

type Tensor = toroid.Tensor;
const { F } = toroid;

const GPT2_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'models', 'gpt2_hf.safetensors');

/** The native cpu backend's OpenMP pool can stall on a loaded 2-core machine: give model-sized tests room. */
const SLOW = 60_000;

interface Gpt2Fixture {
  config: { params: string[]; buffers: string[]; n_head: number; n_layer: number; n_embd: number; n_positions: number; vocab_size: number };
  tensors: Map<string, RawTensor>;
}

let gpt2Cache: Gpt2Fixture | undefined;
function gpt2Fixture(): Gpt2Fixture {
  if (gpt2Cache === undefined) {
    const contents = readSafetensorsFileSync(GPT2_FILE);
    gpt2Cache = { config: JSON.parse(contents.metadata.config!), tensors: contents.tensors };
  }
  return gpt2Cache;
}

function expected(name: string): Float64Array {
  const t = gpt2Fixture().tensors.get(name);
  if (t === undefined) throw new Error(`fixture: missing ${name}`);
  return t.data as Float64Array;
}

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

/** float32 against the F64 reference: 1e-5 abs (scaled to the largest magnitude) + 1e-4 rel. */
function expectF32Close(actual: ArrayLike<number>, want: Float64Array, label: string): void {
  expectClose(actual, want, { atol: 1e-5 * Math.max(maxAbs(want), 1e-30), rtol: 1e-4 }, label);
}

/** [rows, cols] row-major -> its transpose. */
function transposeHost(values: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

const CONV1D = /(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;

function ids(values: number[][], backend: string): Tensor {
  return toroid.tensor(Int32Array.from(values.flat()), { shape: [values.length, values[0]!.length], dtype: 'int32', backend });
}

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-ckpt-')); });
afterAll(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

const S2S: Seq2SeqConfig = { srcVocab: 13, tgtVocab: 11, dModel: 16, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 32, dropout: 0, maxLen: 16, pad: 0 };

describeEachBackend('checkpoints', (backend) => {
  it('reads the Hugging Face GPT-2 file with toroid.load (U8 attn.bias, scalar masked_bias) and matches PyTorch through fromHuggingFaceGPT2', async () => {
    const fx = gpt2Fixture();
    const { tensors, metadata } = await toroid.load(GPT2_FILE, { backend });
    const model = GPT.fromHuggingFaceGPT2(
      Object.fromEntries(fx.config.params.map((k) => [k, tensors[k]!])),
      { nHead: fx.config.n_head },
      { backend },
    );
    try {
      expect(JSON.parse(metadata.config!).model).toMatch(/GPT2LMHeadModel/);
      // the buffers come back as bool [1,1,8,8] and a float32 scalar; the conversion drops them
      const mask = tensors['transformer.h.0.attn.bias']!;
      expect(mask.dtype).toBe('bool');
      expect(mask.shape).toEqual([1, 1, 8, 8]);
      expect(Array.from(mask.toTypedArray()).filter((v) => v !== 0).length).toBe(36);
      const fill = tensors['transformer.h.1.attn.masked_bias']!;
      expect(fill.shape).toEqual([]);
      expect(fill.item()).toBe(-1e4);
      expect(tensors['transformer.h.0.attn.c_attn.weight']!.shape).toEqual([16, 48]);

      expect(model.config).toMatchObject({
        vocabSize: 23, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, geluApproximate: 'tanh', normEps: 1e-5,
        tieWeights: true, bias: true, norm: 'layernorm', mlp: 'gelu', positions: 'learned', naming: 'nanogpt',
      });
      expect(model.lmHead.weight).toBe(model.trunk.wte.weight);
      model.eval();
      toroid.tidy(() => {
        const { logits, loss } = model.forward(tensors.idx!, tensors.targets!);
        expect(logits.shape).toEqual([2, 7, 23]);
        expectF32Close(logits.toTypedArray(), expected('logits'), 'gpt2_hf logits');
        expectF32Close(loss!.toTypedArray(), expected('loss'), 'gpt2_hf loss');
        loss!.backward();
      });
      // every gradient; Conv1D gradients are [in,out] in the file, [out,in] in the model
      const buffers = new Set(fx.config.buffers);
      for (const name of fx.config.params) {
        if (buffers.has(name)) continue;
        const p = model.getParameter(name);
        expect(p.grad, name).not.toBeNull();
        const want = expected(`grad/${name}`);
        const got = CONV1D.test(name) ? transposeHost(p.grad!.toTypedArray(), p.shape[0]!, p.shape[1]!) : p.grad!.toTypedArray();
        expectF32Close(got, want, `gpt2_hf grad/${name}`);
      }
    } finally {
      model.dispose();
      for (const t of Object.values(tensors)) t.dispose();
    }
  }, SLOW);

  it('gpt2StateDictToNanoGPT + strict loadStateDict gives the same model; HF files without lm_head.weight and GPT2Model keys work too', async () => {
    const fx = gpt2Fixture();
    const { tensors } = await toroid.load(GPT2_FILE, { backend });
    const hf = Object.fromEntries(fx.config.params.map((k) => [k, tensors[k]!]));
    const config: GPTConfig = { vocabSize: 23, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, geluApproximate: 'tanh', normEps: 1e-5 };
    const model = new GPT(config, { backend });
    const mapped = gpt2StateDictToNanoGPT(hf);
    // GPT2Model / save_pretrained layout: no 'transformer.' prefix, no tied lm_head copy
    const bare = Object.fromEntries(Object.entries(hf).filter(([k]) => k !== 'lm_head.weight').map(([k, t]) => [k.replace(/^transformer\./, ''), t]));
    const fromBare = GPT.fromHuggingFaceGPT2(bare, { nHead: 2 }, { backend });
    try {
      expect(Object.keys(mapped).sort()).toEqual(Object.keys(model.stateDict()).sort());
      expect(Object.keys(mapped).some((k) => /\.attn\.(bias|masked_bias)$/.test(k))).toBe(false);
      expect(mapped['transformer.h.1.attn.c_attn.bias']!.shape).toEqual([48]); // the Conv1D bias stays
      expect(mapped['transformer.h.0.attn.c_attn.weight']!.shape).toEqual([48, 16]);
      expect(mapped['transformer.h.0.mlp.c_fc.weight']!.shape).toEqual([64, 16]);
      expect(mapped['transformer.h.0.mlp.c_proj.weight']!.shape).toEqual([16, 64]);
      model.loadStateDict(mapped, { strict: true });
      model.eval();
      fromBare.eval();
      toroid.tidy(() => {
        const a = model.forward(tensors.idx!, tensors.targets!);
        expectF32Close(a.logits.toTypedArray(), expected('logits'), 'mapped logits');
        expectF32Close(a.loss!.toTypedArray(), expected('loss'), 'mapped loss');
        const b = fromBare.forward(tensors.idx!).logits.toTypedArray();
        expect(same(b, a.logits.toTypedArray())).toBe(true);
      });
      expect(fromBare.lmHead.weight).toBe(fromBare.trunk.wte.weight);
    } finally {
      for (const [k, t] of Object.entries(mapped)) if (CONV1D.test(k)) t.dispose();
      model.dispose();
      fromBare.dispose();
      for (const t of Object.values(tensors)) t.dispose();
    }
  }, SLOW);

  it('GPT.save -> GPT.load: config in the metadata, bitwise-equal logits, tied weights stay one tensor', async () => {
    toroid.manualSeed(31);
    const model = new GPT({ vocabSize: 29, blockSize: 8, nLayer: 2, nHead: 4, nEmbd: 16, geluApproximate: 'tanh', normEps: 1e-6 }, { backend });
    const file = path.join(tmp, `gpt-${backend}.safetensors`);
    await model.save(file, { metadata: { note: 'hello' } });
    const { tensors, metadata } = await toroid.load(file, { backend: 'ts' });
    for (const t of Object.values(tensors)) t.dispose();
    expect(metadata.model).toBe('GPT');
    expect(metadata.note).toBe('hello');
    expect(JSON.parse(metadata.config!)).toEqual(model.config);
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(model.stateDict()).sort()); // both tied names stored

    const loaded = await GPT.load(file, { backend });
    const idx = ids([[1, 5, 7, 2, 28, 0, 3], [4, 4, 9, 11, 13, 17, 19]], backend);
    try {
      expect(loaded.config).toEqual(model.config);
      expect(loaded.lmHead.weight).toBe(loaded.trunk.wte.weight);
      expect(loaded.getParameter('lm_head.weight')).toBe(loaded.getParameter('transformer.wte.weight'));
      expect(loaded.parameters().length).toBe(Object.keys(loaded.stateDict()).length - 1);
      expect(loaded.numParameters()).toBe(model.numParameters());
      expect(loaded.lmHead.weight.device).toBe(backend);
      toroid.tidy(() => {
        const a = model.forward(idx).logits.toTypedArray();
        const b = loaded.forward(idx).logits.toTypedArray();
        expect(same(a, b)).toBe(true);
      });
      // still tied after an update: a change through lm_head shows in wte
      toroid.noGrad(() => toroid.nn.init.constant_(loaded.lmHead.weight, 0.25));
      expect(loaded.trunk.wte.weight.toTypedArray()[0]).toBe(0.25);
    } finally {
      idx.dispose();
      loaded.dispose();
      model.dispose();
    }
  }, SLOW);

  it('GPT.save -> GPT.load keeps non-default configs (LLaMA naming, RoPE, GQA, SwiGLU, untied)', async () => {
    toroid.manualSeed(32);
    const model = new GPT({
      vocabSize: 19, blockSize: 8, nLayer: 2, nHead: 4, nKvHead: 2, nEmbd: 32, ffnHidden: 24, norm: 'rmsnorm', mlp: 'swiglu',
      positions: 'rope', ropeBase: 500, bias: false, tieWeights: false, naming: 'llama', dropout: 0.1,
    }, { backend });
    const file = path.join(tmp, `llama-${backend}.safetensors`);
    await model.save(file);
    const loaded = await GPT.load(file, { backend });
    const idx = ids([[1, 5, 7, 2, 18, 0], [4, 4, 9, 11, 13, 17]], backend);
    try {
      expect(loaded.config).toEqual(model.config);
      expect(loaded.lmHead.weight).not.toBe(loaded.trunk.wte.weight);
      expect(Object.keys(loaded.stateDict())).toEqual(Object.keys(model.stateDict()));
      model.eval();
      loaded.eval();
      toroid.tidy(() => {
        expect(same(loaded.forward(idx).logits.toTypedArray(), model.forward(idx).logits.toTypedArray())).toBe(true);
      });
    } finally {
      idx.dispose();
      loaded.dispose();
      model.dispose();
    }
  }, SLOW);

  it('GPT.load rejects files that are not GPT checkpoints; GPT.save reserves model/config metadata', async () => {
    await expect(GPT.load(GPT2_FILE, { backend })).rejects.toThrow(/^toroid\.GPT\.load: path must be a file written by GPT\.save .*, got metadata keys \[.*"config".*\]$/);
    await expect(GPT.load(GPT2_FILE, { backend })).rejects.toBeInstanceOf(RangeError);
    const model = new GPT({ vocabSize: 7, blockSize: 4, nLayer: 1, nHead: 2, nEmbd: 8 }, { backend });
    try {
      await expect(model.save(path.join(tmp, 'x.safetensors'), { metadata: { model: 'other' } })).rejects.toThrow(/^toroid\.GPT\.save: options\.metadata must be .*reserved keys.*, got key 'model'$/);
      // a GPT file whose tensors do not fit its config: loadStateDict's strict error
      const file = path.join(tmp, `mismatch-${backend}.safetensors`);
      const sd = model.stateDict();
      const smaller = { ...sd };
      delete smaller['transformer.ln_f.bias'];
      await toroid.save(file, smaller, { model: 'GPT', config: JSON.stringify(model.config) });
      await expect(GPT.load(file, { backend })).rejects.toThrow(/missing key: 'transformer\.ln_f\.bias'/);
      await toroid.save(file, sd, { model: 'GPT', config: '{not json' });
      await expect(GPT.load(file, { backend })).rejects.toThrow(/^toroid\.GPT\.load: path must be a file whose metadata\.config is JSON/);
      await toroid.save(file, sd, { model: 'GPT', config: JSON.stringify({ ...model.config, nHead: 3 }) });
      await expect(GPT.load(file, { backend })).rejects.toThrow(/^toroid\.GPT: config\.nHead must be a divisor of nEmbd=8, got 3$/);
      // a Seq2Seq checkpoint is not a GPT one
      const s2s = new Seq2SeqTransformer(S2S, { backend });
      const s2sFile = path.join(tmp, `s2s-as-gpt-${backend}.safetensors`);
      await s2s.save(s2sFile);
      s2s.dispose();
      await expect(GPT.load(s2sFile, { backend })).rejects.toThrow(/with model "Seq2SeqTransformer"$/);
    } finally {
      model.dispose();
    }
  }, SLOW);

  it('Seq2SeqTransformer.save -> load: bitwise-equal logits, config restored, sharing kept; other files give a RangeError', async () => {
    toroid.manualSeed(41);
    const config: Seq2SeqConfig = { ...S2S, srcVocab: 11, shareEmbeddings: true, tieGenerator: true, positions: 'learned', normFirst: true, activation: 'gelu' };
    const model = new Seq2SeqTransformer(config, { backend });
    model.eval();
    const file = path.join(tmp, `s2s-${backend}.safetensors`);
    await model.save(file);
    const loaded = await Seq2SeqTransformer.load(file, { backend });
    loaded.eval();
    const src = ids([[3, 4, 5, 6, 0, 0], [7, 8, 9, 10, 1, 2]], backend);
    const tgt = ids([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], backend);
    try {
      expect(loaded.config).toEqual(model.config);
      expect(loaded.tgtTokEmb.weight).toBe(loaded.srcTokEmb.weight);
      expect(loaded.generator.weight).toBe(loaded.tgtTokEmb.weight);
      expect(loaded.numParameters()).toBe(model.numParameters());
      toroid.tidy(() => {
        expect(same(loaded.forward(src, tgt).toTypedArray(), model.forward(src, tgt).toTypedArray())).toBe(true);
      });
      const plain = new Seq2SeqTransformer(S2S, { backend });
      const plainFile = path.join(tmp, `s2s-plain-${backend}.safetensors`);
      await plain.save(plainFile);
      const plainLoaded = await Seq2SeqTransformer.load(plainFile, { backend });
      plain.eval();
      plainLoaded.eval();
      const src13 = ids([[3, 12, 5, 6, 0, 0], [7, 8, 9, 10, 1, 2]], backend);
      toroid.tidy(() => {
        expect(same(plainLoaded.forward(src13, tgt).toTypedArray(), plain.forward(src13, tgt).toTypedArray())).toBe(true);
      });
      expect(plainLoaded.config).toEqual(plain.config);
      src13.dispose();
      plain.dispose();
      plainLoaded.dispose();
      // not Seq2Seq checkpoints: the HF GPT-2 fixture and a GPT.save file
      await expect(Seq2SeqTransformer.load(GPT2_FILE, { backend })).rejects.toBeInstanceOf(RangeError);
      await expect(Seq2SeqTransformer.load(GPT2_FILE, { backend })).rejects.toThrow(/^toroid\.Seq2SeqTransformer\.load: path must be a file written by Seq2SeqTransformer\.save \(metadata\.model and config\), got metadata keys/);
      const gpt = new GPT({ vocabSize: 7, blockSize: 4, nLayer: 1, nHead: 2, nEmbd: 8 }, { backend });
      const gptFile = path.join(tmp, `gpt-as-s2s-${backend}.safetensors`);
      await gpt.save(gptFile);
      gpt.dispose();
      await expect(Seq2SeqTransformer.load(gptFile, { backend })).rejects.toThrow(RangeError);
    } finally {
      src.dispose();
      tgt.dispose();
      loaded.dispose();
      model.dispose();
    }
  }, SLOW);

  it('Seq2SeqTransformer: logits [B,T,tgtVocab]; padded source positions are masked', () => {
    toroid.manualSeed(42);
    const model = new Seq2SeqTransformer(S2S, { backend });
    model.eval();
    const tgt = ids([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], backend);
    toroid.tidy(() => {
      const src = ids([[3, 4, 5, 6, 0, 0], [7, 8, 9, 10, 11, 12]], backend);
      const out = model.forward(src, tgt);
      expect(out.shape).toEqual([2, 5, 11]);
      expect(out.dtype).toBe('float32');
      // default mask (src == pad): trailing pads give the logits of the unpadded sentence
      const short = model.forward(ids([[3, 4, 5, 6]], backend), F.narrow(tgt, 0, 0, 1)).toTypedArray();
      expectClose(short, F.narrow(out, 0, 0, 1).toTypedArray(), { atol: 1e-5, rtol: 1e-4 }, 'padded vs unpadded source');
      // explicit mask: whatever tokens sit under it, the logits do not change
      const mask = toroid.tensor(Uint8Array.from([0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1]), { shape: [2, 6], dtype: 'bool', backend });
      const a = model.forward(ids([[3, 4, 5, 6, 0, 0], [7, 8, 9, 10, 11, 12]], backend), tgt, { srcKeyPaddingMask: mask }).toTypedArray();
      const b = model.forward(ids([[3, 4, 5, 6, 9, 2], [7, 8, 9, 1, 3, 5]], backend), tgt, { srcKeyPaddingMask: mask }).toTypedArray();
      expectClose(b, a, { atol: 1e-6, rtol: 1e-6 }, 'tokens under the padding mask');
      // an unmasked change does change them
      const c = model.forward(ids([[3, 4, 5, 7, 0, 0], [7, 8, 9, 10, 11, 12]], backend), tgt).toTypedArray();
      expect(same(c.subarray(0, 55), out.toTypedArray().subarray(0, 55))).toBe(false);
    });
    tgt.dispose();
    model.dispose();
  }, SLOW);

  it('Seq2SeqTransformer is causal over the target', () => {
    toroid.manualSeed(43);
    const model = new Seq2SeqTransformer({ ...S2S, positions: 'learned' }, { backend });
    model.eval();
    toroid.tidy(() => {
      const src = ids([[3, 4, 5, 6, 7, 8], [7, 8, 9, 10, 11, 12]], backend);
      const a = model.forward(src, ids([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], backend));
      const b = model.forward(src, ids([[1, 2, 3, 9, 5], [6, 7, 8, 1, 10]], backend));
      const V = 11, T = 5;
      const av = a.toTypedArray(), bv = b.toTypedArray();
      for (let bi = 0; bi < 2; bi++) {
        const row = (v: ArrayLike<number>, t: number): number[] => Array.from(v as Float32Array).slice((bi * T + t) * V, (bi * T + t + 1) * V);
        for (let t = 0; t < 3; t++) expectClose(row(bv, t), row(av, t), { atol: 1e-6, rtol: 1e-6 }, `batch ${bi} position ${t}`);
        expect(same(row(bv, 3), row(av, 3))).toBe(false);
        expect(same(row(bv, 4), row(av, 4))).toBe(false);
      }
    });
    model.dispose();
  }, SLOW);

  it('Seq2SeqTransformer: shareEmbeddings / tieGenerator register one tensor under both names, counted once', () => {
    const base = { ...S2S, srcVocab: 11 };
    const plain = new Seq2SeqTransformer(base, { backend });
    const shared = new Seq2SeqTransformer({ ...base, shareEmbeddings: true }, { backend });
    const tied = new Seq2SeqTransformer({ ...base, tieGenerator: true }, { backend });
    const both = new Seq2SeqTransformer({ ...base, shareEmbeddings: true, tieGenerator: true }, { backend });
    try {
      const emb = 11 * 16;
      const psd = plain.stateDict();
      expect(Object.keys(psd)).toContain('src_tok_emb.weight');
      expect(Object.keys(psd)).toContain('tgt_tok_emb.weight');
      expect(Object.keys(psd)).toContain('generator.weight');
      for (const m of [shared, tied, both]) expect(Object.keys(m.stateDict())).toEqual(Object.keys(psd));

      const ssd = shared.stateDict();
      expect(ssd['src_tok_emb.weight']).toBe(ssd['tgt_tok_emb.weight']);
      expect(shared.numParameters()).toBe(plain.numParameters() - emb);
      expect(shared.parameters().length).toBe(plain.parameters().length - 1);

      const tsd = tied.stateDict();
      expect(tsd['generator.weight']).toBe(tsd['tgt_tok_emb.weight']);
      expect(tsd['generator.weight']).not.toBe(tsd['src_tok_emb.weight']);
      expect(tied.getParameter('generator.bias').shape).toEqual([11]);
      expect(tied.numParameters()).toBe(plain.numParameters() - emb);

      const bsd = both.stateDict();
      expect(bsd['generator.weight']).toBe(bsd['src_tok_emb.weight']);
      expect(bsd['tgt_tok_emb.weight']).toBe(bsd['src_tok_emb.weight']);
      expect(both.numParameters()).toBe(plain.numParameters() - 2 * emb);
      expect(both.parameters().length).toBe(plain.parameters().length - 2);
    } finally {
      for (const m of [plain, shared, tied, both]) m.dispose();
    }
  }, SLOW);

  it('Seq2SeqTransformer: backward fills every parameter\'s grad (shared and tied ones included)', () => {
    toroid.manualSeed(44);
    for (const extra of [{}, { srcVocab: 11, shareEmbeddings: true, tieGenerator: true, positions: 'learned' as const }]) {
      const model = new Seq2SeqTransformer({ ...S2S, ...extra }, { backend });
      const src = ids([[3, 4, 5, 6, 0, 0], [7, 8, 9, 10, 1, 2]], backend);
      const tgtIn = ids([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], backend);
      const tgtOut = ids([[2, 3, 4, 5, 6], [7, 8, 9, 10, 1]], backend);
      toroid.tidy(() => {
        const logits = model.forward(src, tgtIn);
        F.crossEntropy(logits, tgtOut).backward();
      });
      for (const [name, p] of model.namedParameters()) {
        expect(p.grad, name).not.toBeNull();
        expect(p.grad!.shape, name).toEqual(p.shape);
        expect(maxAbs(p.grad!.toTypedArray()), name).toBeGreaterThan(0);
      }
      for (const t of [src, tgtIn, tgtOut]) t.dispose();
      model.dispose();
    }
  }, SLOW);
});

function expectSeq2SeqError(config: unknown, kind: typeof TypeError | typeof RangeError, pattern: RegExp): void {
  expectErrorPrefix(() => new Seq2SeqTransformer(config as Seq2SeqConfig, { backend: 'ts' }), kind, 'toroid.Seq2SeqTransformer: config', pattern);
}

it('Seq2SeqTransformer rejects bad configs with the toroid error format', () => {
  expectSeq2SeqError({ ...S2S, pad: 11 }, RangeError, /^toroid\.Seq2SeqTransformer: config\.pad must be a token id in \[0, 11\), got 11$/);
  expectSeq2SeqError({ ...S2S, pad: -1 }, RangeError, /^toroid\.Seq2SeqTransformer: config\.pad must be a token id in \[0, 11\), got -1$/);
  expectSeq2SeqError({ ...S2S, pad: 1.5 }, RangeError, /^toroid\.Seq2SeqTransformer: config\.pad must be /);
  expectSeq2SeqError({ ...S2S, srcVocab: 0 }, RangeError, /^toroid\.Seq2SeqTransformer: config\.srcVocab must be a positive integer, got 0$/);
  expectSeq2SeqError({ ...S2S, tgtVocab: '11' }, TypeError, /^toroid\.Seq2SeqTransformer: config\.tgtVocab must be a positive integer, got "11"$/);
  expectSeq2SeqError({ ...S2S, positions: 'rotary' }, RangeError, /^toroid\.Seq2SeqTransformer: config\.positions must be one of 'sinusoidal', 'learned', got "rotary"$/);
  expectSeq2SeqError({ ...S2S, shareEmbeddings: true }, RangeError, /^toroid\.Seq2SeqTransformer: config\.shareEmbeddings must be false unless srcVocab equals tgtVocab \(13 vs 11\), got true$/);
  expectSeq2SeqError({ ...S2S, dModel: 0 }, RangeError, /^toroid\.Seq2SeqTransformer: config\.dModel must be a positive integer, got 0$/);
  expectSeq2SeqError({ ...S2S, normFirst: 'yes' }, TypeError, /^toroid\.Seq2SeqTransformer: config\.normFirst must be a boolean, got "yes"$/);
  expectSeq2SeqError({ ...S2S, d_model: 16 }, RangeError, /^toroid\.Seq2SeqTransformer: config must be an object with keys among .*, got unknown key 'd_model'$/);
  // checked before any parameter exists, under the model's own name
  expectSeq2SeqError({ ...S2S, nhead: 3 }, RangeError, /^toroid\.Seq2SeqTransformer: config\.nhead must be a divisor of dModel=16, got 3$/);
  expectSeq2SeqError({ ...S2S, activation: 'tanh' }, RangeError, /^toroid\.Seq2SeqTransformer: config\.activation must be one of 'relu', 'gelu', got "tanh"$/);
});
