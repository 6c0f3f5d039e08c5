// nn.fromPretrained(dir): a Hugging Face model folder (config.json, and model.safetensors or
// a sharded model.safetensors.index.json set) as a toroid model. Families: GPT-2
// (GPT2LMHeadModel; Conv1D weights transposed by GPT.fromHuggingFaceGPT2) and the LLaMA
// family (LlamaForCausalLM and Mistral without a sliding window: GQA, SwiGLU, RMSNorm, RoPE;
// the names load as they are). config.json is checked as untrusted input: an option this
// library does not implement (rope_scaling, biases, another activation...) is an error that
// names the field, never a silently different model.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeValue, rangeError, typeError } from '../errors.js';
import { load } from '../io/checkpoint.js';
import { GPT } from './gpt.js';
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
