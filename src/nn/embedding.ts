// nn.Embedding: a [numEmbeddings, embeddingDim] table looked up by int32 ids (torch.nn.Embedding).
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { embedding } from '../ops/embedding.js';
import { checkBoolean, checkOptions, checkPositiveInt, checkTensor } from '../validate/checks.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { factoryOptions, makeParameter, normalValues, type FactoryOptions } from './parameter.js';

export interface EmbeddingOptions extends FactoryOptions {
  /**
   * Row that gets no gradient and starts at zero (a padding token). Negative values
   * count from the end, as in PyTorch; stored normalized to [0, numEmbeddings).
   */
  paddingIdx?: number | null;
  /** Initial values [numEmbeddings, embeddingDim] to copy instead of drawing (PyTorch's _weight); no RNG is used. */
  weight?: Tensor;
}

export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  /** Normalized padding row, or null. */
  readonly paddingIdx: number | null;
  /** [numEmbeddings, embeddingDim] (a getter over the registered 'weight'). */
  get weight(): Tensor {
    return this.ownParameter('weight')!;
  }

  /** PyTorch's default init: weight ~ N(0, 1) (the values toroid.randn draws), paddingIdx row zeroed. */
  constructor(numEmbeddings: number, embeddingDim: number, options?: EmbeddingOptions) {
    super();
    const fn = 'Embedding';
    this.numEmbeddings = checkPositiveInt(fn, 'numEmbeddings', numEmbeddings);
    this.embeddingDim = checkPositiveInt(fn, 'embeddingDim', embeddingDim);
    const { opts, factory } = factoryOptions(fn, options, ['paddingIdx', 'weight']);
    let paddingIdx: number | null = null;
    if (opts.paddingIdx != null) {
      const p = opts.paddingIdx;
      if (typeof p !== 'number') throw typeError(fn, 'options.paddingIdx', 'an integer or null', describeValue(p));
      if (!Number.isInteger(p) || p < -numEmbeddings || p >= numEmbeddings) {
        throw rangeError(fn, 'options.paddingIdx', `an integer in [-${numEmbeddings}, ${numEmbeddings - 1}]`, String(p));
      }
      paddingIdx = p < 0 ? p + numEmbeddings : p;
    }
    this.paddingIdx = paddingIdx;
    const shape = [numEmbeddings, embeddingDim];
    let values: Float64Array | Float32Array;
    if (opts.weight !== undefined) {
      const w = checkTensor(fn, 'options.weight', opts.weight);
      if (w.rank !== 2 || w.shape[0] !== numEmbeddings || w.shape[1] !== embeddingDim) {
        throw rangeError(fn, 'options.weight', `${w.dtype} ${describeShape(shape)}`, `${w.dtype} ${describeShape(w.shape)}`);
      }
      values = w.dtype === 'float64' ? w.toTypedArray() as Float64Array : w.toFloat32Array();
    } else {
      values = normalValues(numEmbeddings * embeddingDim, 0, 1);
      if (paddingIdx !== null) values.fill(0, paddingIdx * embeddingDim, (paddingIdx + 1) * embeddingDim);
    }
    this.registerParameter('weight', makeParameter(values, shape, factory));
  }

  /**
   * An Embedding holding a copy of `weight` [V, C] (torch's from_pretrained), on
   * weight's backend and dtype unless options say otherwise. freeze (default true)
   * registers the weight with requiresGrad = false.
   */
  static fromPretrained(weight: Tensor, options?: { freeze?: boolean; paddingIdx?: number | null; backend?: string }): Embedding {
    const fn = 'Embedding.fromPretrained';
    const opts = checkOptions(fn, options, ['freeze', 'paddingIdx', 'backend']);
    checkTensor(fn, 'weight', weight);
    if (weight.rank !== 2) throw rangeError(fn, 'weight', `${weight.dtype} [V,C]`, `${weight.dtype} ${describeShape(weight.shape)}`);
    const freeze = checkBoolean(fn, 'options.freeze', opts.freeze, true);
    const backend = (opts.backend as string | undefined) ?? weight.device;
    const module = new Embedding(weight.shape[0]!, weight.shape[1]!, {
      paddingIdx: opts.paddingIdx as number | null | undefined,
      backend,
      dtype: weight.dtype as 'float32' | 'float64',
      weight,
    });
    if (freeze) module.weight.requiresGrad = false;
    return module;
  }

  /** ids int32 [...] -> [..., embeddingDim] (F.embedding); the paddingIdx row gets no gradient. */
  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx === null ? '' : `, paddingIdx=${this.paddingIdx}`}`;
  }
}
