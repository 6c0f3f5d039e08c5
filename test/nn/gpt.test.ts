// nn.GPT: whole-model parity with PyTorch (test/fixtures/models: nanogpt and llama_gqa:
// logits, loss and the gradient of every parameter), the nanoGPT/LLaMA namings and
// their equivalence (GQA and SwiGLU layouts of the fused nanoGPT weights), seeded init,
// tying, numParameters, dropout modes, bad configs and the GPT-2 state-dict mapping.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { GPT, gpt2StateDictToNanoGPT, resolveGPTConfig, type GPTConfig } from '../../src/nn/gpt.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { expectErrorPrefix } from '../helpers/expect-error.js';
import { expectTensorClose, f64, fixtureStateDict, int32Input, maxAbs, modelFixture, raw, type ModelFixture } from '../helpers/model-fixtures.js';
import { expectSeededInit, std } from '../helpers/model-init.js';

type Tensor = toroid.Tensor;
const { F } = toroid;

function nanogptConfig(fx: ModelFixture): GPTConfig {
  const c = fx.config as Record<string, number | boolean>;
  return {
    vocabSize: c.vocab_size as number, blockSize: c.block_size as number, nLayer: c.n_layer as number,
    nHead: c.n_head as number, nEmbd: c.n_embd as number, bias: c.bias as boolean, dropout: 0,
    normEps: c.layer_norm_eps as number, tieWeights: c.tied as boolean,
  };
}

function llamaConfig(fx: ModelFixture): GPTConfig {
  const c = fx.config as Record<string, number | boolean>;
  return {
    vocabSize: c.vocab_size as number, blockSize: 8, nLayer: c.n_layer as number, nHead: c.n_head as number,
    nKvHead: c.n_kv_head as number, nEmbd: c.d_model as number, ffnHidden: c.ffn_hidden as number,
    bias: c.bias as boolean, norm: 'rmsnorm', mlp: 'swiglu', positions: 'rope', ropeBase: c.rope_base as number,
    normEps: c.rms_norm_eps as number, tieWeights: c.tied as boolean, naming: 'llama',
  };
}

/** Build from the fixture config, load strictly, run forward + backward, compare everything. */
function checkParity(name: string, configOf: (fx: ModelFixture) => GPTConfig, backend: string, dtype: 'float32' | 'float64', ignoreIndex?: number): void {
  const fx = modelFixture(name);
  const model = new GPT(configOf(fx), { backend, dtype });
  const sd = fixtureStateDict(fx, backend, dtype);
  const idx = int32Input(fx, 'idx', backend);
  const targets = int32Input(fx, 'targets', backend);
  try {
    // the keys are exactly the fixture's (strict); a tied fixture stores both names
    expect(Object.keys(model.stateDict()).sort()).toEqual([...fx.config.params].sort());
    model.loadStateDict(sd, { strict: true });
    model.eval();
    toroid.tidy(() => {
      const { logits, loss } = model.forward(idx, targets, ignoreIndex === undefined ? undefined : { ignoreIndex });
      expect(logits.shape).toEqual(raw(fx, 'logits').shape);
      expect(loss).not.toBeNull();
      expect(loss!.shape).toEqual([]);
      expectTensorClose(logits.toTypedArray(), f64(fx, 'logits'), dtype, `${name} logits`);
      expectTensorClose(loss!.toTypedArray(), f64(fx, 'loss'), dtype, `${name} loss`);
      loss!.backward();
    });
    for (const pname of fx.config.params) {
      const p = model.getParameter(pname);
      expect(p.grad, `grad of ${pname}`).not.toBeNull();
      expect(p.grad!.shape).toEqual(p.shape);
      expectTensorClose(p.grad!.toTypedArray(), f64(fx, `grad/${pname}`), dtype, `${name} grad/${pname}`);
    }
  } finally {
    model.dispose();
    for (const t of Object.values(sd)) t.dispose();
    idx.dispose();
    targets.dispose();
  }
}

function randomIds(shape: number[], vocab: number, backend: string, seed = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    data[i] = s % vocab;
  }
  return toroid.tensor(data, { shape, dtype: 'int32', backend });
}

function expectConfigError(config: unknown, kind: typeof TypeError | typeof RangeError, arg: string, detail?: RegExp): void {
  expectErrorPrefix(() => new GPT(config as GPTConfig, { backend: 'ts' }), kind, `toroid.GPT: ${arg} must `, detail);
}

/** The native cpu backend's OpenMP pool can stall on a loaded 2-core machine: give model-sized tests room. */
const SLOW = 60_000;

const SMALL: GPTConfig = { vocabSize: 29, blockSize: 8, nLayer: 2, nHead: 4, nEmbd: 16 };

/** The decoder fixtures, each checked in float32 and float64: name, config reader, the model and what its title adds. */
const PARITY: Array<[string, (fx: ModelFixture) => GPTConfig, string, string]> = [
  ['nanogpt', nanogptConfig, 'nanoGPT', ': logits, loss, every gradient (tied wte/lm_head)'],
  ['llama_gqa', llamaConfig, 'the LLaMA/GQA decoder', ' with HF names, RoPE, RMSNorm, SwiGLU'],
];

describeEachBackend('nn.GPT', (backend) => {
  for (const [name, configOf, what, detail] of PARITY) {
    it(`matches ${what} (PyTorch) on ${name}.safetensors${detail}`, () => {
      checkParity(name, configOf, backend, 'float32');
    }, SLOW);

    it.skipIf(!supportsDType(backend, 'float64'))(`matches ${what} in float64 to 1e-12`, () => {
      checkParity(name, configOf, backend, 'float64');
    }, SLOW);
  }

  it('nanoGPT naming with GQA and SwiGLU: fused c_attn [q|k|v] and c_fc [gate|up] equal the LLaMA-named model', () => {
    const base: GPTConfig = { vocabSize: 19, blockSize: 8, nLayer: 2, nHead: 4, nKvHead: 2, nEmbd: 32, ffnHidden: 24, norm: 'rmsnorm', mlp: 'swiglu', positions: 'rope', bias: true, tieWeights: false };
    toroid.manualSeed(7);
    const llama = new GPT({ ...base, naming: 'llama' }, { backend });
    const nano = new GPT({ ...base, naming: 'nanogpt' }, { backend });
    const hd = 8;
    expect(nano.getParameter('transformer.h.0.attn.c_attn.weight').shape).toEqual([(4 + 2 * 2) * hd, 32]);
    expect(nano.getParameter('transformer.h.0.mlp.c_fc.weight').shape).toEqual([2 * 24, 32]);
    expect(nano.stateDict()['transformer.wpe.weight']).toBeUndefined();
    const ls = llama.stateDict();
    const mapped: Record<string, Tensor> = {};
    toroid.noGrad(() => {
      mapped['transformer.wte.weight'] = ls['model.embed_tokens.weight']!;
      mapped['transformer.ln_f.weight'] = ls['model.norm.weight']!;
      mapped['lm_head.weight'] = ls['lm_head.weight']!;
      for (let l = 0; l < 2; l++) {
        const p = `model.layers.${l}`, q = `transformer.h.${l}`;
        mapped[`${q}.ln_1.weight`] = ls[`${p}.input_layernorm.weight`]!;
        mapped[`${q}.ln_2.weight`] = ls[`${p}.post_attention_layernorm.weight`]!;
        for (const kind of ['weight', 'bias']) {
          mapped[`${q}.attn.c_attn.${kind}`] = F.cat(['q_proj', 'k_proj', 'v_proj'].map((n) => ls[`${p}.self_attn.${n}.${kind}`]!), 0);
          mapped[`${q}.attn.c_proj.${kind}`] = ls[`${p}.self_attn.o_proj.${kind}`]!;
          mapped[`${q}.mlp.c_fc.${kind}`] = F.cat(['gate_proj', 'up_proj'].map((n) => ls[`${p}.mlp.${n}.${kind}`]!), 0);
          mapped[`${q}.mlp.c_proj.${kind}`] = ls[`${p}.mlp.down_proj.${kind}`]!;
        }
      }
    });
    nano.loadStateDict(mapped);
    const idx = randomIds([2, 7], 19, backend);
    toroid.tidy(() => {
      const a = llama.forward(idx).logits.toTypedArray();
      const b = nano.forward(idx).logits.toTypedArray();
      expectClose(b, a, { atol: 1e-6, rtol: 1e-5 }, 'nanogpt-named vs llama-named logits');
    });
    for (const [k, t] of Object.entries(mapped)) if (k.includes('c_attn') || k.includes('c_fc')) t.dispose();
    idx.dispose();
    llama.dispose();
    nano.dispose();
  }, SLOW);

  it('has nanoGPT parameter names and order by default, tied lm_head, wpe counted in numParameters', () => {
    const model = new GPT(SMALL, { backend });
    const keys = Object.keys(model.stateDict());
    expect(keys.slice(0, 4)).toEqual(['transformer.wte.weight', 'transformer.wpe.weight', 'transformer.h.0.ln_1.weight', 'transformer.h.0.ln_1.bias']);
    expect(keys).toContain('transformer.h.1.attn.c_attn.weight');
    expect(keys).toContain('transformer.h.1.mlp.c_proj.bias');
    expect(keys[keys.length - 1]).toBe('lm_head.weight');
    expect(model.lmHead.weight).toBe(model.trunk.wte.weight);
    expect(model.getParameter('lm_head.weight')).toBe(model.getParameter('transformer.wte.weight'));
    const C = 16, V = 29, L = 2, Tb = 8;
    const perBlock = 2 * C + (3 * C * C + 3 * C) + (C * C + C) + 2 * C + (4 * C * C + 4 * C) + (4 * C * C + C);
    const expected = V * C + Tb * C + L * perBlock + 2 * C;
    expect(model.parameters().length).toBe(Object.keys(model.stateDict()).length - 1);
    expect(model.numParameters()).toBe(expected);
    expect(model.numParameters({ nonEmbedding: true })).toBe(expected - Tb * C);
    model.dispose();
    const untied = new GPT({ ...SMALL, tieWeights: false, bias: false }, { backend });
    expect(untied.lmHead.weight).not.toBe(untied.trunk.wte.weight);
    expect(untied.stateDict()['transformer.h.0.ln_1.bias']).toBeUndefined();
    expect(untied.numParameters()).toBe(2 * V * C + Tb * C + L * (2 * C + 4 * C * C + 8 * C * C) + C);
    untied.dispose();
  }, SLOW);

  it('the same seed gives bitwise-equal models, on this backend and on ts; init std follows nanoGPT', () => {
    const config: GPTConfig = { vocabSize: 512, blockSize: 64, nLayer: 3, nHead: 4, nEmbd: 64 };
    const { model: a } = expectSeededInit((b) => new GPT(config, { backend: b }), backend, 1234, 'transformer.wte.weight');
    // N(0, 0.02) on embeddings and Linear weights, N(0, 0.02/sqrt(2 nLayer)) on residual projections
    const within = (t: Tensor, s: number, rel = 0.03): void => { expect(Math.abs(std(t) / s - 1)).toBeLessThan(rel); };
    within(a.getParameter('transformer.wte.weight'), 0.02);
    within(a.getParameter('transformer.wpe.weight'), 0.02, 0.05);
    within(a.getParameter('transformer.h.0.attn.c_attn.weight'), 0.02);
    within(a.getParameter('transformer.h.1.mlp.c_fc.weight'), 0.02);
    within(a.getParameter('transformer.h.2.attn.c_proj.weight'), 0.02 / Math.sqrt(6), 0.05);
    within(a.getParameter('transformer.h.0.mlp.c_proj.weight'), 0.02 / Math.sqrt(6));
    expect(maxAbs(a.getParameter('transformer.h.0.attn.c_attn.bias').toTypedArray())).toBe(0);
    expect(maxAbs(a.getParameter('transformer.h.0.mlp.c_proj.bias').toTypedArray())).toBe(0);
    expect(Array.from(a.getParameter('transformer.ln_f.weight').toTypedArray()).every((x) => x === 1)).toBe(true);
    a.dispose();
    // LLaMA naming: o_proj and down_proj are the residual projections
    toroid.manualSeed(5);
    const l = new GPT({ ...config, naming: 'llama', positions: 'rope', norm: 'rmsnorm', mlp: 'swiglu', bias: false, tieWeights: false }, { backend });
    within(l.getParameter('model.layers.0.self_attn.o_proj.weight'), 0.02 / Math.sqrt(6));
    within(l.getParameter('model.layers.0.mlp.down_proj.weight'), 0.02 / Math.sqrt(6));
    within(l.getParameter('model.layers.0.self_attn.q_proj.weight'), 0.02);
    within(l.getParameter('lm_head.weight'), 0.02);
    expect(l.config.ffnHidden).toBe(176); // ceil(8*64/3 / 8) * 8
    expect(Object.keys(l.stateDict())).not.toContain('model.rotary_emb.cos');
    expect(l.namedBuffers().map(([n]) => n)).toEqual(['model.rotary_emb.cos', 'model.rotary_emb.sin']);
    l.dispose();
  }, SLOW);

  it('forward: loss null without targets, ignoreIndex, shapes, T < blockSize, and bad inputs', () => {
    toroid.manualSeed(3);
    const model = new GPT(SMALL, { backend });
    const idx = randomIds([3, 5], 29, backend, 4);
    const targets = randomIds([3, 5], 29, backend, 9);
    toroid.tidy(() => {
      const out = model.forward(idx);
      expect(out.loss).toBeNull();
      expect(out.logits.shape).toEqual([3, 5, 29]);
      // the loss is the mean CE over non-ignored targets: with every target ignored but one, it is that row's CE
      const all = model.forward(idx, targets).loss!.item();
      const manual = F.crossEntropy(out.logits, targets).item();
      expect(all).toBeCloseTo(manual, 5);
      const t = Array.from(targets.toTypedArray());
      const masked = toroid.tensor(Int32Array.from(t.map((v, i) => (i === 4 ? v : -1))), { shape: [3, 5], dtype: 'int32', backend });
      const one = model.forward(idx, masked).loss!.item();
      const rowCE = F.crossEntropy(out.logits, masked, { ignoreIndex: -1 }).item();
      expect(one).toBeCloseTo(rowCE, 5);
      const other = toroid.tensor(Int32Array.from(t.map((v, i) => (i === 4 ? -100 : v))), { shape: [3, 5], dtype: 'int32', backend });
      expect(model.forward(idx, other, { ignoreIndex: -100 }).loss!.item()).toBeCloseTo(F.crossEntropy(out.logits, other).item(), 5);
      // causal: the logits at position t do not depend on later tokens
      const prefix = toroid.tensor(Int32Array.from(Array.from(idx.toTypedArray()).filter((_, i) => i % 5 < 3)), { shape: [3, 3], dtype: 'int32', backend });
      const short = model.forward(prefix).logits.toTypedArray();
      const long = F.narrow(out.logits, 1, 0, 3).toTypedArray();
      expectClose(short, long, { atol: 1e-6, rtol: 1e-5 }, 'causal prefix');
    });
    const tooLong = randomIds([1, 9], 29, backend);
    expect(() => model.forward(tooLong)).toThrow(/^toroid\.GPT\.forward: idx must be int32 \[B,T\] with 1 <= T <= blockSize=8, got int32 \[1,9\]$/);
    const floats = toroid.zeros([1, 3], { backend });
    expect(() => model.forward(floats)).toThrow(TypeError);
    expect(() => model.forward(idx, randomIds([3, 4], 29, backend))).toThrow(/^toroid\.GPT\.forward: targets must be int32 \[3,5\] like idx, got int32 \[3,4\]$/);
    expect(() => model.forward(idx, null, { ignoreIndex: 0.5 })).toThrow(RangeError);
    for (const t of [idx, targets, tooLong, floats]) t.dispose();
    model.dispose();
  }, SLOW);

  it('dropout is active in train mode and off in eval mode; gradients reach every parameter', () => {
    toroid.manualSeed(11);
    const model = new GPT({ ...SMALL, dropout: 0.2 }, { backend });
    const idx = randomIds([2, 6], 29, backend, 2);
    toroid.tidy(() => {
      model.eval();
      const e1 = model.forward(idx).logits.toTypedArray();
      const e2 = model.forward(idx).logits.toTypedArray();
      expect(Array.from(e1)).toEqual(Array.from(e2));
      model.train();
      const t1 = model.forward(idx, idx).loss!;
      const t2 = model.forward(idx).logits.toTypedArray();
      expect(Array.from(t2)).not.toEqual(Array.from(e1));
      t1.backward();
    });
    for (const [name, p] of model.namedParameters()) expect(p.grad, name).not.toBeNull();
    idx.dispose();
    model.dispose();
  }, SLOW);

  it('forward/backward inside tidy leaves nothing behind but the grads; dispose frees the whole model', () => {
    const before = toroid.memory();
    for (const config of [SMALL, { ...SMALL, nKvHead: 2, positions: 'rope', norm: 'rmsnorm', mlp: 'swiglu', naming: 'llama', tieWeights: false, dropout: 0.1 }] as GPTConfig[]) {
      const model = new GPT(config, { backend });
      const idx = randomIds([2, 8], 29, backend);
      const afterBuild = toroid.memory().liveStorages;
      toroid.tidy(() => model.forward(idx, idx).loss!.backward());
      expect(toroid.memory().liveStorages).toBe(afterBuild + model.parameters().length);
      model.zeroGrad();
      // a forward whose outputs are dropped without tidy frees everything once they are disposed
      const out = model.forward(idx, idx);
      out.logits.dispose();
      out.loss!.dispose();
      expect(toroid.memory().liveStorages).toBe(afterBuild);
      idx.dispose();
      model.dispose();
    }
    expect(toroid.memory()).toEqual(before);
  }, SLOW);

  it('learns: a few AdamW steps lower the loss on a fixed batch (rope + rmsnorm + swiglu + GQA)', () => {
    toroid.manualSeed(21);
    const model = new GPT({ ...SMALL, nKvHead: 2, positions: 'rope', norm: 'rmsnorm', mlp: 'swiglu' }, { backend });
    const params = model.parameters();
    const state = { m: params.map((p) => toroid.zeros(p.shape.slice(), { backend })), v: params.map((p) => toroid.zeros(p.shape.slice(), { backend })) };
    const idx = randomIds([4, 8], 29, backend, 5);
    const targets = randomIds([4, 8], 29, backend, 6);
    const losses: number[] = [];
    for (let step = 1; step <= 8; step++) {
      toroid.tidy(() => {
        const { loss } = model.forward(idx, targets);
        losses.push(loss!.item());
        loss!.backward();
      });
      toroid.noGrad(() => toroid.adamwStep(params, params.map((p) => p.grad!), state, { lr: 2e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, step }));
      model.zeroGrad();
    }
    expect(losses[0]).toBeCloseTo(Math.log(29), 0);
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]! - 0.5);
    for (const t of [...state.m, ...state.v, idx, targets]) t.dispose();
    model.dispose();
  }, SLOW);

  it('gpt2StateDictToNanoGPT: transposes Conv1D weights, drops attn.bias buffers, adds the prefix and the tied head', () => {
    toroid.manualSeed(8);
    const model = new GPT({ ...SMALL, geluApproximate: 'tanh' }, { backend });
    const sd = model.stateDict();
    const conv = /(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
    // HF GPT2Model layout: no 'transformer.' prefix, Conv1D weights [in, out], mask buffers, no lm_head
    const hf: Record<string, Tensor> = {};
    const made: Tensor[] = [];
    toroid.noGrad(() => {
      for (const [k, t] of Object.entries(sd)) {
        if (k === 'lm_head.weight') continue;
        const key = k.replace(/^transformer\./, '');
        if (conv.test(k)) made.push(hf[key] = F.transpose(t, 0, 1));
        else hf[key] = t;
      }
      for (let l = 0; l < SMALL.nLayer; l++) {
        made.push(hf[`h.${l}.attn.bias`] = toroid.ones([1, 1, 8, 8], { backend }));
        made.push(hf[`h.${l}.attn.masked_bias`] = toroid.tensor([-1e4], { backend }));
      }
    });
    expect(hf['h.0.attn.c_attn.weight']!.shape).toEqual([16, 48]);
    const mapped = gpt2StateDictToNanoGPT(hf);
    expect(Object.keys(mapped).sort()).toEqual(Object.keys(sd).sort());
    expect(mapped['lm_head.weight']).toBe(mapped['transformer.wte.weight']);
    for (const [k, t] of Object.entries(sd)) {
      expect(mapped[k]!.shape, k).toEqual(t.shape);
      expect(Array.from(mapped[k]!.toTypedArray()), k).toEqual(Array.from(t.toTypedArray()));
      if (!conv.test(k)) expect(mapped[k]).toBe(t); // not copied
    }
    // GPT2LMHeadModel keys ('transformer.' prefix, explicit lm_head) map the same way; untied leaves lm_head out
    const lmKeys = Object.fromEntries(Object.entries(hf).map(([k, t]) => [`transformer.${k}`, t]));
    expect(Object.keys(gpt2StateDictToNanoGPT(new Map(Object.entries(lmKeys)), { tieWeights: false })).sort()).toEqual(Object.keys(sd).filter((k) => k !== 'lm_head.weight').sort());
    // fromHuggingFaceGPT2 infers the sizes and reproduces the model's logits
    const loaded = GPT.fromHuggingFaceGPT2(hf, { nHead: SMALL.nHead }, { backend });
    expect(loaded.config).toMatchObject({ vocabSize: 29, blockSize: 8, nLayer: 2, nEmbd: 16, nHead: 4, geluApproximate: 'tanh', tieWeights: true });
    const idx = randomIds([2, 8], 29, backend);
    toroid.tidy(() => {
      expect(Array.from(loaded.forward(idx).logits.toTypedArray())).toEqual(Array.from(model.forward(idx).logits.toTypedArray()));
    });
    expect(() => GPT.fromHuggingFaceGPT2({ 'h.0.attn.c_attn.weight': hf['h.0.attn.c_attn.weight']! }, { nHead: 4 }, { backend })).toThrow(/^toroid\.GPT\.fromHuggingFaceGPT2: stateDict must be a GPT-2 state dict with 'wte\.weight'/);
    expect(() => gpt2StateDictToNanoGPT({ 'h.0.mlp.c_fc.weight': toroid.zeros([3], { backend }) })).toThrow(RangeError);
    for (const [k, t] of Object.entries(mapped)) if (conv.test(k)) t.dispose();
    for (const t of made) t.dispose();
    idx.dispose();
    loaded.dispose();
    model.dispose();
  }, SLOW);
});

it('GPT rejects bad configs with the toroid error format', () => {
  expectConfigError({ ...SMALL, nHead: 3 }, RangeError, 'config.nHead', /^toroid\.GPT: config\.nHead must be a divisor of nEmbd=16, got 3$/);
  expectConfigError({ ...SMALL, nKvHead: 3 }, RangeError, 'config.nKvHead', /must be a divisor of nHead=4, got 3$/);
  expectConfigError({ ...SMALL, vocabSize: 0 }, RangeError, 'config.vocabSize', /a positive integer, got 0$/);
  expectConfigError({ ...SMALL, nLayer: 1.5 }, RangeError, 'config.nLayer');
  expectConfigError({ ...SMALL, blockSize: '8' }, TypeError, 'config.blockSize', /got "8"$/);
  expectConfigError({ ...SMALL, norm: 'batchnorm' }, RangeError, 'config.norm', /one of 'layernorm', 'rmsnorm', got "batchnorm"$/);
  expectConfigError({ ...SMALL, mlp: 'relu' }, RangeError, 'config.mlp');
  expectConfigError({ ...SMALL, positions: 'alibi' }, RangeError, 'config.positions');
  expectConfigError({ ...SMALL, naming: 'hf' }, RangeError, 'config.naming');
  expectConfigError({ ...SMALL, dropout: 1 }, RangeError, 'config.dropout', /a probability in \[0, 1\), got 1$/);
  expectConfigError({ ...SMALL, ropeBase: -1, positions: 'rope' }, RangeError, 'config.ropeBase');
  expectConfigError({ ...SMALL, normEps: -1e-5 }, RangeError, 'config.normEps');
  expectConfigError({ ...SMALL, tieWeights: 'yes' }, TypeError, 'config.tieWeights');
  expectConfigError({ ...SMALL, ffnHidden: 0 }, RangeError, 'config.ffnHidden');
  expectConfigError({ vocabSize: 10, blockSize: 4, nLayer: 1, nHead: 4, nEmbd: 12, positions: 'rope' }, RangeError, 'config.nEmbd', /headDim = nEmbd\/nHead must be even/);
  expectConfigError({ ...SMALL, n_head: 4 }, RangeError, 'config', /unknown key 'n_head'$/);
  expectConfigError(null, TypeError, 'config');
  expect(() => new GPT(SMALL, { backend: 'nope' })).toThrow(/^toroid\.GPT: options\.backend must be one of/);
  // defaults filled in
  expect(resolveGPTConfig(SMALL)).toEqual({
    ...SMALL, dropout: 0, bias: true, norm: 'layernorm', mlp: 'gelu', geluApproximate: 'none', ffnHidden: 64,
    positions: 'learned', nKvHead: 4, ropeBase: 10000, normEps: 1e-5, tieWeights: true, naming: 'nanogpt',
  });
});
