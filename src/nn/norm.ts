// nn.LayerNorm and nn.RMSNorm over the trailing normalizedShape dims.
import { describeValue, rangeError, typeError } from '../errors.js';
import { layerNorm, rmsNorm } from '../ops/norm.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { factoryOptions, makeParameter, type FactoryOptions } from './parameter.js';
import { checkBoolean, checkNonNegativeFinite, checkNormalizedShape } from '../validate/checks.js';

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface LayerNormOptions extends FactoryOptions {
  /** Added to the variance inside the square root (default 1e-5). */
  eps?: number;
  /** Learn weight (init 1) and bias (init 0) of normalizedShape (default true). */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, also learn the bias (default true). */
  bias?: boolean;
}

export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  /** normalizedShape, init 1; null without elementwiseAffine (the registered 'weight'). */
  get weight(): Tensor | null {
    return this.ownParameter('weight');
  }

  /** normalizedShape, init 0; null without elementwiseAffine or with bias: false (the registered 'bias'). */
  get bias(): Tensor | null {
    return this.ownParameter('bias');
  }

  constructor(normalizedShape: number | readonly number[], options?: LayerNormOptions) {
    super();
    const fn = 'LayerNorm';
    const shape = checkNormalizedShape(fn, normalizedShape);
    const { opts, factory } = factoryOptions(fn, options, ['eps', 'elementwiseAffine', 'bias']);
    this.eps = checkNonNegativeFinite(fn, 'options.eps', opts.eps, 1e-5);
    this.elementwiseAffine = checkBoolean(fn, 'options.elementwiseAffine', opts.elementwiseAffine, true);
    const hasBias = checkBoolean(fn, 'options.bias', opts.bias, true);
    this.normalizedShape = Object.freeze(shape);
    const n = sizeOf(shape);
    this.registerParameter('weight', this.elementwiseAffine ? makeParameter(new Float64Array(n).fill(1), shape, factory) : null);
    this.registerParameter('bias', this.elementwiseAffine && hasBias ? makeParameter(new Float64Array(n), shape, factory) : null);
  }

  /** x [..., *normalizedShape] -> same shape (F.layerNorm). */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}

export interface RMSNormOptions extends FactoryOptions {
  /**
   * Added to mean(x^2) inside the square root. Default (undefined or null): the input
   * dtype's machine epsilon, as PyTorch's RMSNorm(eps=None) and F.rmsNorm do.
   */
  eps?: number | null;
  /** Learn weight (init 1) of normalizedShape (default true). */
  elementwiseAffine?: boolean;
}

export class RMSNorm extends Module {
  readonly normalizedShape: readonly number[];
  /** null: the input dtype's machine epsilon. */
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  /** normalizedShape, init 1; null without elementwiseAffine (the registered 'weight'). */
  get weight(): Tensor | null {
    return this.ownParameter('weight');
  }

  constructor(normalizedShape: number | readonly number[], options?: RMSNormOptions) {
    super();
    const fn = 'RMSNorm';
    const shape = checkNormalizedShape(fn, normalizedShape);
    const { opts, factory } = factoryOptions(fn, options, ['eps', 'elementwiseAffine']);
    this.eps = opts.eps == null ? null : checkNonNegativeFinite(fn, 'options.eps', opts.eps);
    this.elementwiseAffine = checkBoolean(fn, 'options.elementwiseAffine', opts.elementwiseAffine, true);
    this.normalizedShape = Object.freeze(shape);
    this.registerParameter('weight', this.elementwiseAffine ? makeParameter(new Float64Array(sizeOf(shape)).fill(1), shape, factory) : null);
  }

  /** x [..., *normalizedShape] -> same shape (F.rmsNorm). */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps ?? undefined);
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}
