// nn.fromPretrained(dir): a Hugging Face model folder (config.json, and model.safetensors or
// a sharded model.safetensors.index.json set) as a toroid model; nn.savePretrained(model, dir)
// writes a GPT the same way, so transformers (and converters built on it) read what was
// trained here. Families: GPT-2
// (GPT2LMHeadModel; Conv1D weights transposed by GPT.fromHuggingFaceGPT2) and the LLaMA
// family (LlamaForCausalLM and Mistral without a sliding window: GQA, SwiGLU, RMSNorm, RoPE;
// the names load as they are). config.json is checked as untrusted input: an option this
// library does not implement (rope_scaling, biases, another activation...) is an error that
// names the field, never a silently different model.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeValue, rangeError, typeError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { load, save } from '../io/checkpoint.js';
import { transpose } from '../ops/layout.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { CONV1D_WEIGHT, GPT } from './gpt.js';
import type { FactoryOptions } from './parameter.js';

type Json = Record<string, unknown>;

const MAX_CONFIG_BYTES = 1 << 20;
const FN = 'nn.fromPretrained';

function field(c: Json, key: string, check: 'int' | 'number' | 'bool' | 'string', fallback?: unknown): unknown {
  const v = c[key] ?? fallback;
  const ok = check === 'int' ? Number.isSafeInteger(v) && (v as number) > 0
    : check === 'number' ? typeof v === 'number' && Number.isFinite(v) && v > 0
      : check === 'bool' ? typeof v === 'boolean' : typeof v === 'string';
  if (!ok) {
    const expected = check === 'int' ? 'a positive integer' : check === 'number' ? 'a positive finite number' : check === 'bool' ? 'a boolean' : 'a string';
    throw (v === undefined ? typeError : rangeError)(FN, `config.${key}`, expected, describeValue(v));
  }
  return v;
}

/** An option this library does not implement must be absent or at its neutral value. */
function neutral(c: Json, key: string, ok: (v: unknown) => boolean, expected: string): void {
  if (c[key] !== undefined && !ok(c[key])) throw rangeError(FN, `config.${key}`, `${expected} (other values are not supported yet)`, JSON.stringify(c[key]) ?? String(c[key]));
}

/** The weights of a folder: model.safetensors, or the sharded set's index. */
function weightsOf(dir: string): string {
  for (const name of ['model.safetensors', 'model.safetensors.index.json']) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  throw rangeError(FN, 'dir', 'a folder with model.safetensors or model.safetensors.index.json', `none in ${JSON.stringify(dir)}`);
}

async function gpt2(dir: string, c: Json, options: FactoryOptions): Promise<GPT> {
  const nHead = field(c, 'n_head', 'int') as number;
  const eps = field(c, 'layer_norm_epsilon', 'number', 1e-5) as number;
  const act = field(c, 'activation_function', 'string', 'gelu_new') as string;
  if (!['gelu_new', 'gelu_pytorch_tanh', 'gelu'].includes(act)) throw rangeError(FN, 'config.activation_function', "'gelu_new', 'gelu_pytorch_tanh' or 'gelu'", JSON.stringify(act));
  const tie = field(c, 'tie_word_embeddings', 'bool', true) as boolean;
  neutral(c, 'scale_attn_weights', (v) => v === true, 'true');
  neutral(c, 'scale_attn_by_inverse_layer_idx', (v) => v === false, 'false');
  neutral(c, 'reorder_and_upcast_attn', (v) => v === false, 'false');
  const { tensors } = await load(weightsOf(dir), options.backend === undefined ? {} : { backend: options.backend });
  try {
    // attn.bias / masked_bias are the causal-mask buffers of older files: the conversion drops them
    return GPT.fromHuggingFaceGPT2(tensors, { nHead, normEps: eps, geluApproximate: act === 'gelu' ? 'none' : 'tanh', tieWeights: tie }, options);
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

async function llama(dir: string, c: Json, options: FactoryOptions): Promise<GPT> {
  const nEmbd = field(c, 'hidden_size', 'int') as number;
  const nHead = field(c, 'num_attention_heads', 'int') as number;
  const nKvHead = field(c, 'num_key_value_heads', 'int', nHead) as number;
  if (c.head_dim !== undefined && c.head_dim !== null && c.head_dim !== nEmbd / nHead) {
    throw rangeError(FN, 'config.head_dim', `hidden_size / num_attention_heads = ${nEmbd / nHead} (other head sizes are not supported yet)`, describeValue(c.head_dim));
  }
  neutral(c, 'hidden_act', (v) => v === 'silu', "'silu'");
  neutral(c, 'rope_scaling', (v) => v === null, 'null');
  neutral(c, 'attention_bias', (v) => v === false, 'false');
  neutral(c, 'mlp_bias', (v) => v === false, 'false');
  neutral(c, 'sliding_window', (v) => v === null, 'null');
  const tie = field(c, 'tie_word_embeddings', 'bool', false) as boolean;
  const model = new GPT({
    vocabSize: field(c, 'vocab_size', 'int') as number,
    blockSize: field(c, 'max_position_embeddings', 'int') as number,
    nLayer: field(c, 'num_hidden_layers', 'int') as number,
    nHead, nKvHead, nEmbd,
    ffnHidden: field(c, 'intermediate_size', 'int') as number,
    normEps: field(c, 'rms_norm_eps', 'number', 1e-6) as number,
    ropeBase: field(c, 'rope_theta', 'number', 10000) as number,
    norm: 'rmsnorm', mlp: 'swiglu', positions: 'rope', bias: false, tieWeights: tie, naming: 'llama', dropout: 0,
  }, options);
  try {
    const r = await model.loadFile(weightsOf(dir), { strict: false });
    // a tied file may leave out lm_head.weight; older files store the RoPE inverse frequencies
    const missing = r.missingKeys.filter((k) => !(tie && k === 'lm_head.weight'));
    const unexpected = r.unexpectedKeys.filter((k) => !/^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/.test(k));
    if (missing.length > 0 || unexpected.length > 0) {
      throw rangeError(FN, 'dir', "weights with exactly the LlamaForCausalLM parameter names of config.json's sizes",
        `${missing.length} missing (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}) and ${unexpected.length} unexpected (${unexpected.slice(0, 3).join(', ')}${unexpected.length > 3 ? ', ...' : ''})`);
    }
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/** The model of a Hugging Face folder (see the file comment). options place the parameters (backend, dtype). */
export async function fromPretrained(dir: string, options: FactoryOptions = {}): Promise<GPT> {
  if (typeof dir !== 'string') throw typeError(FN, 'dir', 'a folder path', describeValue(dir));
  const configPath = path.join(dir, 'config.json');
  if (!existsSync(configPath)) throw rangeError(FN, 'dir', 'a model folder with a config.json', `no config.json in ${JSON.stringify(dir)}`);
  const size = (await stat(configPath)).size;
  if (size > MAX_CONFIG_BYTES) throw rangeError(FN, 'config.json', `at most ${MAX_CONFIG_BYTES} bytes`, `${size} bytes`);
  let c: unknown;
  try {
    c = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (err) {
    throw rangeError(FN, 'config.json', 'JSON', (err as Error).message);
  }
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw typeError(FN, 'config.json', 'a JSON object', describeValue(c));
  const config = c as Json;
  switch (config.model_type) {
    case 'gpt2':
      return gpt2(dir, config, options);
    case 'llama':
    case 'mistral':
      return llama(dir, config, options);
    default:
      throw rangeError(FN, 'config.model_type', "'gpt2', 'llama' or 'mistral' (other architectures are not supported yet)", describeValue(config.model_type));
  }
}

export interface SavePretrainedOptions {
  /** Split the weights into shards of at most this many bytes (a model.safetensors.index.json set). Default: one file. */
  maxShardBytes?: number;
  /** Written beside the model as tokenizer.json (an HFTokenizer, or anything with toJSON()). */
  tokenizer?: { toJSON(): unknown } | null;
}

/** config.json for a GPT, and whether its weights are GPT-2's (Conv1D) layout; a config transformers cannot express is refused naming the field. */
function exportConfig(m: GPT): { config: Record<string, unknown>; gpt2: boolean } {
  const c = m.config;
  const fn = 'nn.savePretrained';
  const need = (ok: boolean, key: string, expected: string, got: unknown): void => {
    if (!ok) throw rangeError(fn, `model.config.${key}`, expected, describeValue(got));
  };
  if (c.naming === 'llama') {
    need(c.norm === 'rmsnorm', 'norm', "'rmsnorm' for a LLaMA-named model", c.norm);
    need(c.mlp === 'swiglu', 'mlp', "'swiglu' for a LLaMA-named model", c.mlp);
    need(c.positions === 'rope', 'positions', "'rope' for a LLaMA-named model", c.positions);
    need(!c.bias, 'bias', 'false for a LLaMA-named model', c.bias);
    return {
      gpt2: false,
      config: {
        model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: c.nEmbd, intermediate_size: c.ffnHidden, num_hidden_layers: c.nLayer,
        num_attention_heads: c.nHead, num_key_value_heads: c.nKvHead, rms_norm_eps: c.normEps, rope_theta: c.ropeBase, max_position_embeddings: c.blockSize,
        vocab_size: c.vocabSize, tie_word_embeddings: c.tieWeights, hidden_act: 'silu', rope_scaling: null, attention_bias: false, mlp_bias: false, torch_dtype: 'float32',
      },
    };
  }
  need(c.norm === 'layernorm', 'norm', "'layernorm' for GPT-2's layout", c.norm);
  need(c.mlp === 'gelu', 'mlp', "'gelu' for GPT-2's layout", c.mlp);
  need(c.positions === 'learned', 'positions', "'learned' for GPT-2's layout", c.positions);
  need(c.bias, 'bias', "true for GPT-2's layout", c.bias);
  need(c.nKvHead === c.nHead, 'nKvHead', `nHead=${c.nHead} for GPT-2's layout`, c.nKvHead);
  return {
    gpt2: true,
    config: {
      model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_head: c.nHead, n_layer: c.nLayer, n_embd: c.nEmbd, n_positions: c.blockSize, n_ctx: c.blockSize,
      n_inner: c.ffnHidden, vocab_size: c.vocabSize, layer_norm_epsilon: c.normEps, activation_function: c.geluApproximate === 'tanh' ? 'gelu_new' : 'gelu',
      tie_word_embeddings: c.tieWeights, scale_attn_weights: true, torch_dtype: 'float32',
    },
  };
}

/**
 * Write a GPT as a Hugging Face folder: config.json, model.safetensors (or shards with an
 * index), and tokenizer.json when options.tokenizer is given. GPT-2-layout weights are
 * written as Conv1D [in, out], and a tied head is left out (transformers ties it back).
 * Every file is written atomically.
 */
export async function savePretrained(model: GPT, dir: string, options: SavePretrainedOptions = {}): Promise<void> {
  const fn = 'nn.savePretrained';
  if (!(model instanceof GPT)) throw typeError(fn, 'model', 'an nn.GPT', describeValue(model));
  if (typeof dir !== 'string') throw typeError(fn, 'dir', 'a folder path', describeValue(dir));
  const { config, gpt2 } = exportConfig(model);
  if (options.maxShardBytes !== undefined && (!Number.isSafeInteger(options.maxShardBytes) || options.maxShardBytes < 1)) {
    throw rangeError(fn, 'options.maxShardBytes', 'a positive integer', describeValue(options.maxShardBytes));
  }
  const tok = options.tokenizer ?? null;
  if (tok !== null && (typeof tok !== 'object' || typeof tok.toJSON !== 'function')) throw typeError(fn, 'options.tokenizer', 'a tokenizer with toJSON()', describeValue(tok));
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const sd = model.stateDict();
  const owned: Tensor[] = [];
  const weights: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(sd)) {
    if (model.config.tieWeights && name === 'lm_head.weight') continue;
    if (gpt2 && CONV1D_WEIGHT.test(name)) {
      const w = tidy(() => transpose(t, 0, 1));
      owned.push(w);
      weights[name] = w;
    } else {
      weights[name] = t;
    }
  }
  try {
    const file = options.maxShardBytes === undefined ? 'model.safetensors' : 'model.safetensors.index.json';
    await save(path.join(dir, file), weights, { format: 'pt' }, options.maxShardBytes === undefined ? {} : { maxShardBytes: options.maxShardBytes });
  } finally {
    for (const t of owned) t.dispose();
  }
  await writeFileAtomic(path.join(dir, 'config.json'), [Buffer.from(`${JSON.stringify(config, null, 2)}\n`, 'utf8')]);
  if (tok !== null) await writeFileAtomic(path.join(dir, 'tokenizer.json'), [Buffer.from(JSON.stringify(tok.toJSON()), 'utf8')]);
}
