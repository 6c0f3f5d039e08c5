// Position information for Transformers:
//   SinusoidalPositionalEncoding  the fixed sin/cos table of "Attention Is All You Need"
//   LearnedPositionalEmbedding    a trained [maxLen, dModel] table (GPT-2's wpe, BERT's position_embeddings)
//   alibiSlopes / alibiBias / ALiBi  the linear attention biases of Press et al. (ALiBi),
//                                 a float attnMask for F.scaledDotProductAttention / MultiheadAttention
// (Rotary embeddings live in rotary.ts.)
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { add } from '../ops/elementwise.js';
import { embedding } from '../ops/embedding.js';
import { narrow } from '../ops/layout.js';
import { checkBoolean, checkOptions, checkPositiveInt, checkProbability, checkTensor } from '../validate/checks.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dropout } from './dropout.js';
import { Module } from './module.js';
import { factoryOptions, makeParameter, normalValues, type FactoryOptions } from './parameter.js';

export interface PositionForwardOptions {
  /** Position of x's first row (default 0): for decoding one step at a time with a cache. */
  offset?: number;
}

function checkOffset(fn: string, options: unknown, T: number, maxLen: number): number {
  const opts = checkOptions(fn, options, ['offset']);
  if (opts.offset === undefined) return 0;
  const offset = opts.offset;
  if (typeof offset !== 'number') throw typeError(fn, 'options.offset', 'a non-negative integer', describeValue(offset));
  if (!Number.isInteger(offset) || offset < 0 || offset + T > maxLen) {
    throw rangeError(fn, 'options.offset', `an integer in [0, ${maxLen - T}] (maxLen=${maxLen}, T=${T})`, String(offset));
  }
  return offset;
}

/** x [B,T,d] (or [T,d]) with T <= maxLen. */
function checkSequence(fn: string, x: unknown, dModel: number, maxLen: number): Tensor {
  const t = checkTensor(fn, 'x', x);
  const T = t.shape[t.rank - 2];
  if ((t.rank !== 2 && t.rank !== 3) || t.shape[t.rank - 1] !== dModel || T! > maxLen) {
    throw rangeError(fn, 'x', `${t.dtype} [B,T,${dModel}] or [T,${dModel}] with T <= maxLen=${maxLen}`, `${t.dtype} ${describeShape(t.shape)}`);
  }
  return t;
}

export interface SinusoidalPositionalEncodingOptions extends FactoryOptions {
  /** Dropout on the sum while training (default 0; the paper uses 0.1). */
  dropout?: number;
  /** The wavelength base (default 10000). */
  base?: number;
}

/**
 * PE(pos, 2i) = sin(pos / base^(2i/d)), PE(pos, 2i+1) = cos(pos / base^(2i/d)), held in the
 * non-persistent buffer 'pe' [maxLen, dModel] (not in stateDict, as in most PyTorch code).
 * An odd dModel is allowed (the last column is a sin). forward(x) = dropout(x + pe[offset:offset+T]).
 * Scaling the token embeddings by sqrt(dModel) first, as the paper does, is up to the caller.
 */
/** x [B,T,E] plus table rows at per-row positions [B,T] (a continuous batch whose rows started at different times). */
function addAt(fn: string, x: Tensor, positions: Tensor, table: Tensor, maxLen: number): Tensor {
  checkTensor(fn, 'positions', positions, ['int32']);
  if (x.rank !== 3 || positions.rank !== 2 || positions.shape[0] !== x.shape[0] || positions.shape[1] !== x.shape[1]) {
    throw rangeError(fn, 'positions', `int32 [B,T] matching x [B,T,E]=${describeShape(x.shape)}`, `int32 ${describeShape(positions.shape)}`);
  }
  void maxLen;  // ids past the table are refused by the embedding lookup itself
  return tidy(() => add(x, embedding(positions, table)));
}

export class SinusoidalPositionalEncoding extends Module {
  readonly dModel: number;
  readonly maxLen: number;
  readonly base: number;
  readonly dropout: Dropout;

  /** [maxLen, dModel] (the registered buffer 'pe'). */
  get pe(): Tensor {
    return this.ownBuffer('pe')!;
  }

  constructor(dModel: number, maxLen = 5000, options?: SinusoidalPositionalEncodingOptions) {
    super();
    const fn = 'SinusoidalPositionalEncoding';
    this.dModel = checkPositiveInt(fn, 'dModel', dModel);
    this.maxLen = checkPositiveInt(fn, 'maxLen', maxLen);
    const { opts, factory } = factoryOptions(fn, options, ['dropout', 'base']);
    const p = checkProbability(fn, 'options.dropout', opts.dropout, 0);
    if (opts.base !== undefined && typeof opts.base !== 'number') throw typeError(fn, 'options.base', 'a number > 1', describeValue(opts.base));
    const base = (opts.base as number | undefined) ?? 10000;
    if (!(base > 1 && Number.isFinite(base))) throw rangeError(fn, 'options.base', 'a finite number > 1', String(base));
    this.base = base;
    const values = new Float64Array(maxLen * dModel);
    for (let pos = 0; pos < maxLen; pos++) {
      for (let i = 0; i < dModel; i += 2) {
        const angle = pos / Math.pow(base, i / dModel);
        values[pos * dModel + i] = Math.sin(angle);
        if (i + 1 < dModel) values[pos * dModel + i + 1] = Math.cos(angle);
      }
    }
    this.registerBuffer('pe', tensor(values, { shape: [maxLen, dModel], dtype: factory.dtype, backend: factory.backend }), { persistent: false });
    this.dropout = this.registerModule('dropout', new Dropout(p));
  }

  /** Rows offset..offset+T-1 of the table, [T, dModel] (a copy). */
  encoding(T: number, offset = 0): Tensor {
    const fn = 'SinusoidalPositionalEncoding.encoding';
    checkPositiveInt(fn, 'T', T);
    if (T > this.maxLen) throw rangeError(fn, 'T', `at most maxLen=${this.maxLen}`, String(T));
    return narrow(this.pe, 0, checkOffset(fn, { offset }, T, this.maxLen), T);
  }

  /** x [B,T,dModel] or [T,dModel] -> dropout(x + pe[offset:offset+T]). */
  forward(x: Tensor, options?: PositionForwardOptions): Tensor {
    const fn = 'SinusoidalPositionalEncoding.forward';
    const t = checkSequence(fn, x, this.dModel, this.maxLen);
    const T = t.shape[t.rank - 2]!;
    const offset = checkOffset(fn, options, T, this.maxLen);
    return tidy(() => this.dropout.forward(add(x, narrow(this.pe, 0, offset, T))));
  }

  /** forward with each row's own positions: x [B,T,E], positions int32 [B,T]. */
  forwardAt(x: Tensor, positions: Tensor): Tensor {
    const fn = 'SinusoidalPositionalEncoding.forwardAt';
    checkSequence(fn, x, this.dModel, this.maxLen);
    return tidy(() => this.dropout.forward(addAt(fn, x, positions, this.pe, this.maxLen)));
  }

  override extraRepr(): string {
    return `dModel=${this.dModel}, maxLen=${this.maxLen}`;
  }
}

export interface LearnedPositionalEmbeddingOptions extends FactoryOptions {
  /** Init weight ~ N(0, std^2) (default 1, nn.Embedding's init; GPT-2 uses 0.02). */
  std?: number;
}

/**
 * A learned table of positions: the parameter 'weight' [maxLen, dModel] (the layout of an
 * nn.Embedding, so GPT-2's `wpe.weight` or BERT's `position_embeddings.weight` load into it).
 * forward(x) = x + weight[offset:offset+T]; the rows used get the gradient.
 */
export class LearnedPositionalEmbedding extends Module {
  readonly maxLen: number;
  readonly dModel: number;

  /** [maxLen, dModel] (the registered 'weight'). */
  get weight(): Tensor {
    return this.ownParameter('weight')!;
  }

  constructor(maxLen: number, dModel: number, options?: LearnedPositionalEmbeddingOptions) {
    super();
    const fn = 'LearnedPositionalEmbedding';
    this.maxLen = checkPositiveInt(fn, 'maxLen', maxLen);
    this.dModel = checkPositiveInt(fn, 'dModel', dModel);
    const { opts, factory } = factoryOptions(fn, options, ['std']);
    if (opts.std !== undefined && typeof opts.std !== 'number') throw typeError(fn, 'options.std', 'a positive number', describeValue(opts.std));
    const std = (opts.std as number | undefined) ?? 1;
    if (!(std > 0 && Number.isFinite(std))) throw rangeError(fn, 'options.std', 'a positive finite number', String(std));
    this.registerParameter('weight', makeParameter(normalValues(maxLen * dModel, 0, std), [maxLen, dModel], factory));
  }

  /** Rows offset..offset+T-1 of the table, [T, dModel] (differentiable). */
  embeddings(T: number, offset = 0): Tensor {
    const fn = 'LearnedPositionalEmbedding.embeddings';
    checkPositiveInt(fn, 'T', T);
    if (T > this.maxLen) throw rangeError(fn, 'T', `at most maxLen=${this.maxLen}`, String(T));
    return narrow(this.weight, 0, checkOffset(fn, { offset }, T, this.maxLen), T);
  }

  /** x [B,T,dModel] or [T,dModel] -> x + weight[offset:offset+T]. */
  forward(x: Tensor, options?: PositionForwardOptions): Tensor {
    const fn = 'LearnedPositionalEmbedding.forward';
    const t = checkSequence(fn, x, this.dModel, this.maxLen);
    const T = t.shape[t.rank - 2]!;
    const offset = checkOffset(fn, options, T, this.maxLen);
    return tidy(() => add(x, narrow(this.weight, 0, offset, T)));
  }

  /** forward with each row's own positions: x [B,T,E], positions int32 [B,T]. */
  forwardAt(x: Tensor, positions: Tensor): Tensor {
    const fn = 'LearnedPositionalEmbedding.forwardAt';
    checkSequence(fn, x, this.dModel, this.maxLen);
    return addAt(fn, x, positions, this.weight, this.maxLen);
  }

  override extraRepr(): string {
    return `maxLen=${this.maxLen}, dModel=${this.dModel}`;
  }
}

// ---------------------------------------------------------------- ALiBi

function slopesPowerOfTwo(n: number): number[] {
  const start = Math.pow(2, -Math.pow(2, -(Math.log2(n) - 3)));
  return Array.from({ length: n }, (_, i) => Math.pow(start, i + 1));
}

function slopes(n: number): number[] {
  if (Number.isInteger(Math.log2(n))) return slopesPowerOfTwo(n);
  const closest = Math.pow(2, Math.floor(Math.log2(n)));
  return [...slopesPowerOfTwo(closest), ...slopes(2 * closest).filter((_, i) => i % 2 === 0).slice(0, n - closest)];
}

/**
 * The ALiBi head slopes of Press et al. (the reference get_slopes): for a power of two n,
 * the geometric sequence 2^(-8/n), 2^(-16/n), ..., 2^-8 (8 heads: 2^-1 .. 2^-8); otherwise
 * the slopes of the closest smaller power of two followed by every other slope of twice it.
 */
export function alibiSlopes(numHeads: number): number[] {
  return slopes(checkPositiveInt('alibiSlopes', 'numHeads', numHeads));
}

export interface AlibiOptions {
  /** -slope * |j - i| (bidirectional encoders) instead of slope * (j - i) (causal models). Default false. */
  symmetric?: boolean;
  backend?: string;
  dtype?: 'float32' | 'float64';
}

/**
 * The float additive bias [1, numHeads, Tq, Tk]: slope_h * (j - i') where i' = i + Tk - Tq is
 * query i's position (the queries are the last Tq of the Tk positions, as with a KV cache).
 * Pass it as attnMask together with isCausal (the positive future entries are masked there);
 * symmetric gives -slope_h * |j - i'| for bidirectional attention. Requires Tq <= Tk.
 */
export function alibiBias(numHeads: number, Tq: number, Tk: number, options?: AlibiOptions): Tensor {
  const fn = 'alibiBias';
  const m = slopes(checkPositiveInt(fn, 'numHeads', numHeads));
  checkPositiveInt(fn, 'Tq', Tq);
  checkPositiveInt(fn, 'Tk', Tk);
  if (Tq > Tk) throw rangeError(fn, 'Tq', `at most Tk=${Tk} (queries are the last Tq positions)`, String(Tq));
  const opts = checkOptions(fn, options, ['symmetric', 'backend', 'dtype']);
  const symmetric = checkBoolean(fn, 'options.symmetric', opts.symmetric, false);
  const dtype = opts.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw typeError(fn, 'options.dtype', "'float32' or 'float64'", describeValue(dtype));
  const values = new Float64Array(numHeads * Tq * Tk);
  const shift = Tk - Tq;
  for (let h = 0; h < numHeads; h++) {
    for (let i = 0; i < Tq; i++) {
      for (let j = 0; j < Tk; j++) {
        const dist = j - (i + shift);
        values[(h * Tq + i) * Tk + j] = symmetric ? -m[h]! * Math.abs(dist) : m[h]! * dist;
      }
    }
  }
  return tensor(values, { shape: [1, numHeads, Tq, Tk], dtype, backend: opts.backend as string | undefined });
}

export interface ALiBiOptions extends FactoryOptions {
  symmetric?: boolean;
}

/**
 * ALiBi as a module (no parameters, nothing in stateDict): forward(Tq, Tk = Tq) returns
 * alibiBias(numHeads, Tq, Tk) on the module's backend and dtype.
 */
export class ALiBi extends Module {
  readonly numHeads: number;
  readonly symmetric: boolean;
  readonly slopes: readonly number[];
  private readonly factory: { backend: string; dtype: 'float32' | 'float64' };

  constructor(numHeads: number, options?: ALiBiOptions) {
    super();
    const fn = 'ALiBi';
    this.numHeads = checkPositiveInt(fn, 'numHeads', numHeads);
    const { opts, factory } = factoryOptions(fn, options, ['symmetric']);
    this.symmetric = checkBoolean(fn, 'options.symmetric', opts.symmetric, false);
    this.slopes = Object.freeze(slopes(numHeads));
    this.factory = factory;
  }

  /** The bias [1, numHeads, Tq, Tk] (see alibiBias). */
  forward(Tq: number, Tk: number = Tq): Tensor {
    return alibiBias(this.numHeads, Tq, Tk, { symmetric: this.symmetric, ...this.factory });
  }

  override extraRepr(): string {
    return `numHeads=${this.numHeads}, symmetric=${this.symmetric}`;
  }
}
