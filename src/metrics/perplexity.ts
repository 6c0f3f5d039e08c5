// Perplexity: exp of the mean negative log-likelihood per token.
import { numbersOf } from '../util/dtype.js';
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';

/** exp(meanNll): the perplexity of a model whose mean per-token NLL (in nats) is meanNll. */
export function perplexity(meanNll: number): number {
  const fn = 'metrics.perplexity';
  if (typeof meanNll !== 'number') throw typeError(fn, 'meanNll', 'a number', describeValue(meanNll));
  if (Number.isNaN(meanNll)) throw rangeError(fn, 'meanNll', 'a number (not NaN)', 'NaN');
  return Math.exp(meanNll);
}

export interface NllResult {
  /** Sum of the per-token NLLs (nats) over the counted tokens. */
  totalNll: number;
  /** Tokens counted (targets != ignoreIndex). */
  numTokens: number;
  /** totalNll / numTokens (NaN when no token counts). */
  meanNll: number;
  /** exp(meanNll). */
  perplexity: number;
}

type Logits = Tensor | readonly (readonly number[] | Float32Array | Float64Array)[];
type Targets = Tensor | ArrayLike<number>;

function isTensorLike(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && Array.isArray((x as { shape?: unknown }).shape)
    && typeof (x as { toTypedArray?: unknown }).toTypedArray === 'function';
}

/**
 * Mean token NLL and perplexity from unnormalized logits, in float64 with a stable
 * log-sum-exp: `logits` is a tensor of shape [..., V] or an array of rows of length V;
 * `targets` holds one class index per row (tensor or array, any shape with that many
 * elements). Rows whose target equals `ignoreIndex` (default -100, PyTorch's) are skipped.
 */
export function nllFromLogits(logits: Logits, targets: Targets, options: { ignoreIndex?: number } = {}): NllResult {
  const fn = 'metrics.nllFromLogits';
  const ignoreIndex = options.ignoreIndex ?? -100;
  let flat: ArrayLike<number>;
  let rows: number;
  let V: number;
  if (isTensorLike(logits)) {
    const shape = logits.shape;
    if (shape.length < 1 || shape[shape.length - 1]! < 1) {
      throw rangeError(fn, 'logits', 'a tensor of shape [..., V] with V >= 1', describeShape(shape));
    }
    V = shape[shape.length - 1]!;
    flat = numbersOf(logits.toTypedArray(), logits.dtype);
    rows = flat.length / V;
  } else if (Array.isArray(logits)) {
    rows = logits.length;
    V = rows > 0 ? logits[0]!.length : 0;
    const buf = new Float64Array(rows * V);
    for (let r = 0; r < rows; r++) {
      const row = logits[r];
      if (row === null || typeof row !== 'object' || typeof (row as ArrayLike<number>).length !== 'number') {
        throw typeError(fn, `logits[${r}]`, 'an array of numbers', describeValue(row));
      }
      if (row.length !== V) throw rangeError(fn, `logits[${r}]`, `an array of length ${V}`, describeValue(row));
      buf.set(row as ArrayLike<number>, r * V);
    }
    flat = buf;
  } else {
    throw typeError(fn, 'logits', 'a Tensor or an array of rows', describeValue(logits));
  }
  let tgt: ArrayLike<number>;
  if (isTensorLike(targets)) tgt = targets.toTypedArray();
  else if (targets !== null && typeof targets === 'object' && typeof (targets as ArrayLike<number>).length === 'number') tgt = targets;
  else throw typeError(fn, 'targets', 'a Tensor or an array of class indices', describeValue(targets));
  if (tgt.length !== rows) throw rangeError(fn, 'targets', `${rows} class indices (one per logits row)`, `${tgt.length}`);

  let totalNll = 0;
  let numTokens = 0;
  for (let r = 0; r < rows; r++) {
    const t = Number(tgt[r]);
    if (t === ignoreIndex) continue;
    if (!Number.isInteger(t) || t < 0 || t >= V) throw rangeError(fn, `targets[${r}]`, `an integer in [0, ${V})`, String(t));
    const base = r * V;
    let max = -Infinity;
    for (let j = 0; j < V; j++) max = Math.max(max, Number(flat[base + j]));
    let sum = 0;
    for (let j = 0; j < V; j++) sum += Math.exp(Number(flat[base + j]) - max);
    totalNll += max + Math.log(sum) - Number(flat[base + t]);
    numTokens += 1;
  }
  const meanNll = numTokens > 0 ? totalNll / numTokens : NaN;
  return { totalNll, numTokens, meanNll, perplexity: Math.exp(meanNll) };
}

/** exp(mean token NLL) of `logits` against `targets`; see nllFromLogits. */
export function perplexityFromLogits(logits: Logits, targets: Targets, options: { ignoreIndex?: number } = {}): number {
  return nllFromLogits(logits, targets, options).perplexity;
}
