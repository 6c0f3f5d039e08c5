// nn.RotaryEmbedding: rotary position embeddings (RoPE) in Hugging Face's
// `rotate_half` convention (LLaMA, Mistral, GPT-NeoX):
//
//   inv_freq[i] = base^(-2i/d)                 i = 0 .. d/2-1
//   freqs[p, i] = p * inv_freq[i]              p = position
//   emb         = cat(freqs, freqs)            [maxLen, d]
//   y           = x * cos(emb) + rotate_half(x) * sin(emb)
//   rotate_half(x) = cat(-x[..., d/2:], x[..., :d/2])
//
// So feature i is paired with feature i + d/2 (not with its neighbour, as in the
// interleaved GPT-J/Meta convention). The cos/sin tables are computed in float64 on
// the host, then stored in the module's dtype as NON-persistent buffers ('cos', 'sin':
// [maxLen, d]); they are not in stateDict(), so loading a checkpoint never needs them.
//
// The rotation is built from differentiable ops (narrow, cat, mul, add with
// broadcasting), so gradients flow to x.
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { add, mul, scale } from '../ops/elementwise.js';
import { embedding } from '../ops/embedding.js';
import { cat, narrow, reshape } from '../ops/layout.js';
import { checkPositiveFinite, checkPositiveInt, checkTensor } from '../validate/checks.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { factoryOptions, type FactoryOptions } from './parameter.js';

export interface RotaryEmbeddingOptions extends FactoryOptions {
  /** The frequency base (default 10000, LLaMA's; some models use 500000 or 1e6). */
  base?: number;
  /** Number of positions the tables cover (required): apply() needs offset + T <= maxLen. */
  maxLen: number;
}

/**
 * Host tables of the HF convention in float64: cos and sin of
 * emb[p, j] = p * base^(-2 (j mod d/2) / d), row-major [maxLen, headDim].
 */
export function rotaryTables(headDim: number, maxLen: number, base = 10000): { cos: Float64Array; sin: Float64Array } {
  const half = headDim / 2;
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = 1 / Math.pow(base, (2 * i) / headDim);
  const cos = new Float64Array(maxLen * headDim);
  const sin = new Float64Array(maxLen * headDim);
  for (let p = 0; p < maxLen; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i]!;
      const c = Math.cos(angle), s = Math.sin(angle);
      cos[p * headDim + i] = c;
      cos[p * headDim + i + half] = c;
      sin[p * headDim + i] = s;
      sin[p * headDim + i + half] = s;
    }
  }
  return { cos, sin };
}

export class RotaryEmbedding extends Module {
  readonly headDim: number;
  readonly base: number;
  readonly maxLen: number;

  /** cos(emb) [maxLen, headDim] (non-persistent buffer). */
  get cos(): Tensor {
    return this.ownBuffer('cos')!;
  }

  /** sin(emb) [maxLen, headDim] (non-persistent buffer). */
  get sin(): Tensor {
    return this.ownBuffer('sin')!;
  }

  /**
   * headDim must be even. options.maxLen is required; options.backend and
   * options.dtype place the tables (default: current backend, float32).
   */
  constructor(headDim: number, options: RotaryEmbeddingOptions) {
    super();
    const fn = 'RotaryEmbedding';
    checkPositiveInt(fn, 'headDim', headDim);
    if (headDim % 2 !== 0) throw rangeError(fn, 'headDim', 'an even positive integer', String(headDim));
    if (options === undefined || options === null || typeof options !== 'object') {
      throw typeError(fn, 'options', 'an object with maxLen', describeValue(options));
    }
    const { opts, factory } = factoryOptions(fn, options, ['base', 'maxLen']);
    if (opts.maxLen === undefined) throw typeError(fn, 'options.maxLen', 'a positive integer', 'undefined');
    this.maxLen = checkPositiveInt(fn, 'options.maxLen', opts.maxLen);
    const base = checkPositiveFinite(fn, 'options.base', opts.base, 10000);
    this.headDim = headDim;
    this.base = base;
    const { cos, sin } = rotaryTables(headDim, this.maxLen, base);
    const shape = [this.maxLen, headDim];
    this.registerBuffer('cos', tensor(cos, { shape, dtype: factory.dtype, backend: factory.backend }), { persistent: false });
    this.registerBuffer('sin', tensor(sin, { shape, dtype: factory.dtype, backend: factory.backend }), { persistent: false });
  }

  /**
   * Rotate x [B,h,T,headDim] (any rank >= 2 whose last two dims are [T, headDim]) as
   * positions offset .. offset+T-1. With a KV cache, pass the number of cached
   * positions as offset. Returns a new tensor; gradients flow to x.
   *
   * `apply(fn)` with a function is Module.apply (visit every submodule), as on any module.
   */
  override apply(fn: (module: Module) => void): this;
  override apply(x: Tensor, offset?: number): Tensor;
  override apply(arg: ((module: Module) => void) | Tensor, offset = 0): this | Tensor {
    if (typeof arg === 'function') return super.apply(arg);
    return this.rotate(arg, offset);
  }

  /** Same as apply(x, offset). */
  forward(x: Tensor, offset = 0): Tensor {
    return this.rotate(x, offset);
  }

  private rotate(x: Tensor, offset: number): Tensor {
    const fn = 'RotaryEmbedding.apply';
    checkTensor(fn, 'x', x);
    const d = this.headDim;
    if (x.rank < 2 || x.shape[x.rank - 1] !== d) {
      throw rangeError(fn, 'x', `${x.dtype} [..., T, ${d}] (headDim=${d} last)`, `${x.dtype} ${describeShape(x.shape)}`);
    }
    if (x.device !== this.cos.device || x.dtype !== this.cos.dtype) {
      throw typeError(fn, 'x', `a ${this.cos.dtype} tensor on backend '${this.cos.device}' like the tables`, `${x.dtype} on '${x.device}'`);
    }
    const T = x.shape[x.rank - 2]!;
    if (typeof offset !== 'number') throw typeError(fn, 'offset', 'a non-negative integer', describeValue(offset));
    if (!Number.isInteger(offset) || offset < 0 || offset + T > this.maxLen) {
      throw rangeError(fn, 'offset', `an integer in [0, ${this.maxLen - T}] (offset + T=${T} <= maxLen=${this.maxLen})`, String(offset));
    }
    return tidy(() => {
      const half = d / 2;
      const cos = narrow(this.cos, 0, offset, T);
      const sin = narrow(this.sin, 0, offset, T);
      const x1 = narrow(x, -1, 0, half);
      const x2 = narrow(x, -1, half, half);
      const rotated = cat([scale(x2, -1), x1], -1);
      return add(mul(x, cos), mul(rotated, sin));
    });
  }

  /**
   * Rotate x [B,h,T,headDim] with its own positions per row: positions int32 [B,T] (a
   * continuous batch whose rows started at different times). The tables' rows are gathered
   * (an embedding lookup), so the values equal apply()'s at the same positions.
   */
  applyAt(x: Tensor, positions: Tensor): Tensor {
    const fn = 'RotaryEmbedding.applyAt';
    checkTensor(fn, 'x', x);
    checkTensor(fn, 'positions', positions, ['int32']);
    const d = this.headDim;
    if (x.rank !== 4 || x.shape[3] !== d) throw rangeError(fn, 'x', `${x.dtype} [B,h,T,${d}]`, `${x.dtype} ${describeShape(x.shape)}`);
    if (x.device !== this.cos.device || x.dtype !== this.cos.dtype) {
      throw typeError(fn, 'x', `a ${this.cos.dtype} tensor on backend '${this.cos.device}' like the tables`, `${x.dtype} on '${x.device}'`);
    }
    const [B, , T] = x.shape as [number, number, number, number];
    if (positions.rank !== 2 || positions.shape[0] !== B || positions.shape[1] !== T) {
      throw rangeError(fn, 'positions', `int32 [B=${B}, T=${T}]`, `int32 ${describeShape(positions.shape)}`);
    }
    return tidy(() => {
      const half = d / 2;
      const cos = reshape(embedding(positions, this.cos), [B, 1, T, d]);
      const sin = reshape(embedding(positions, this.sin), [B, 1, T, d]);
      const x1 = narrow(x, -1, 0, half);
      const x2 = narrow(x, -1, half, half);
      const rotated = cat([scale(x2, -1), x1], -1);
      return add(mul(x, cos), mul(rotated, sin));
    });
  }

  override extraRepr(): string {
    return `headDim=${this.headDim}, base=${this.base}, maxLen=${this.maxLen}`;
  }
}
