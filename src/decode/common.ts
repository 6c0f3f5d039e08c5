// Shared argument checks and helpers of toroid.decode. Errors follow src/errors.ts:
//   toroid.decode.<fn>: <arg> must be <expected>, got <actual>
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { GPT } from '../nn/gpt.js';
import { Seq2SeqTransformer } from '../nn/seq2seq.js';
import { tensor } from '../tensor/create.js';
import { Tensor } from '../tensor/tensor.js';

/** Let the event loop run (timers, I/O) before the next decoding step. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

export function checkSeq2Seq(fn: string, model: unknown): Seq2SeqTransformer {
  if (!(model instanceof Seq2SeqTransformer)) throw typeError(fn, 'model', 'an nn.Seq2SeqTransformer', describeValue(model));
  return model;
}

export function checkGPT(fn: string, model: unknown): GPT {
  if (!(model instanceof GPT)) throw typeError(fn, 'model', 'an nn.GPT', describeValue(model));
  return model;
}

export function checkModel(fn: string, model: unknown): GPT | Seq2SeqTransformer {
  if (!(model instanceof GPT) && !(model instanceof Seq2SeqTransformer)) throw typeError(fn, 'model', 'an nn.GPT or an nn.Seq2SeqTransformer', describeValue(model));
  return model;
}

export function modelDevice(model: GPT | Seq2SeqTransformer): string {
  return model instanceof GPT ? model.lmHead.weight.device : model.generator.weight.device;
}

export function checkTokenId(fn: string, arg: string, value: unknown, fallback: number | null, vocab: number): number {
  if (value === undefined && fallback !== null) value = fallback;
  if (typeof value !== 'number') throw typeError(fn, arg, `a token id in [0, ${vocab})`, describeValue(value));
  if (!Number.isInteger(value) || value < 0 || value >= vocab) throw rangeError(fn, arg, `a token id in [0, ${vocab})`, String(value));
  return value;
}

/** Token-id rows as plain arrays; checks the ids against the vocabulary. */
function rowsOf(fn: string, arg: string, input: unknown, vocab: number): number[][] {
  let rows: number[][];
  if (input instanceof Tensor) {
    if (input.isDisposed) throw typeError(fn, arg, 'a live Tensor', 'a disposed tensor');
    if (input.dtype !== 'int32' || input.rank !== 2) throw typeError(fn, arg, 'int32 token ids [B,T]', `${input.dtype} ${describeShape(input.shape)}`);
    const [B, T] = input.shape as [number, number];
    const data = input.toTypedArray() as Int32Array;
    rows = Array.from({ length: B }, (_, b) => Array.from(data.subarray(b * T, (b + 1) * T)));
  } else if (Array.isArray(input) && input.length === 0) {
    throw rangeError(fn, arg, 'at least one sequence', 'an empty array');
  } else if (input instanceof Int32Array || (Array.isArray(input) && input.every((v) => typeof v === 'number'))) {
    rows = [Array.from(input as ArrayLike<number>)];
  } else if (Array.isArray(input) && input.every((r) => r instanceof Int32Array || Array.isArray(r))) {
    rows = input.map((r) => Array.from(r as ArrayLike<number>));
  } else {
    throw typeError(fn, arg, 'token ids: an int32 Tensor [B,T], an array/Int32Array of ids, or an array of them', describeValue(input));
  }
  if (rows.length === 0) throw rangeError(fn, arg, 'at least one sequence', 'none');
  rows.forEach((row, b) => {
    if (row.length === 0) throw rangeError(fn, arg, 'non-empty sequences', `an empty sequence at row ${b}`);
    row.forEach((id, t) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocab) {
        throw rangeError(fn, `${arg}[${b}][${t}]`, `a token id in [0, ${vocab})`, describeValue(id));
      }
    });
  });
  return rows;
}

/**
 * Token ids -> int32 [B,T] on `device`. With pad !== null, rows of different lengths are
 * right-padded with it (sources); otherwise they must have equal lengths (prompts).
 */
export function idsTensor(fn: string, arg: string, input: unknown, vocab: number, device: string, pad: number | null): { ids: Tensor; rows: number[][]; owned: boolean } {
  const rows = rowsOf(fn, arg, input, vocab);
  if (input instanceof Tensor && input.device === device) return { ids: input, rows, owned: false };
  const T = Math.max(...rows.map((r) => r.length));
  if (pad === null && rows.some((r) => r.length !== T)) {
    throw rangeError(fn, arg, 'sequences of equal length (batched prompts are not padded)', `lengths [${rows.map((r) => r.length).join(',')}]`);
  }
  const data = new Int32Array(rows.length * T).fill(pad ?? 0);
  rows.forEach((r, b) => data.set(r, b * T));
  return { ids: tensor(data, { shape: [rows.length, T], dtype: 'int32', backend: device }), rows, owned: true };
}

/**
 * log-softmax of logits[offset .. offset+V) into out (float64) over the whole vocabulary, then
 * the banned ids at -inf: the others keep the model's log-probabilities (fairseq's and Hugging
 * Face's order; masking first would renormalise the banned tokens' mass onto the rest).
 */
export function logSoftmaxRow(logits: ArrayLike<number>, offset: number, V: number, banned: readonly number[], out: Float64Array): Float64Array {
  for (let j = 0; j < V; j++) out[j] = logits[offset + j]!;
  let max = -Infinity;
  for (let j = 0; j < V; j++) if (out[j]! > max) max = out[j]!;
  if (max !== -Infinity) {
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(out[j]! - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < V; j++) out[j] = out[j]! - lse;
  }
  for (const id of banned) out[id] = -Infinity;
  return out;
}
