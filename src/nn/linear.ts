// nn.Linear: y = x W^T + b, weight [out, in], bias [out] (torch.nn.Linear).
import { linear } from '../ops/matmul.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { factoryOptions, makeParameter, uniformValues, type FactoryOptions } from './parameter.js';
import { checkBoolean, checkPositiveInt } from '../validate/checks.js';

export interface LinearOptions extends FactoryOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** [outFeatures, inFeatures] (a getter over the registered 'weight', so a tie made with registerParameter shows here). */
  get weight(): Tensor {
    return this.ownParameter('weight')!;
  }

  /** [outFeatures], or null with { bias: false } (the registered 'bias'). */
  get bias(): Tensor | null {
    return this.ownParameter('bias');
  }

  /**
   * PyTorch's default init: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)) (what
   * kaiming_uniform_(a=sqrt(5)) reduces to), drawn from toroid's generator, weight first.
   */
  constructor(inFeatures: number, outFeatures: number, options?: LinearOptions) {
    super();
    const fn = 'Linear';
    this.inFeatures = checkPositiveInt(fn, 'inFeatures', inFeatures);
    this.outFeatures = checkPositiveInt(fn, 'outFeatures', outFeatures);
    const { opts, factory } = factoryOptions(fn, options, ['bias']);
    const hasBias = checkBoolean(fn, 'options.bias', opts.bias, true);
    const bound = 1 / Math.sqrt(inFeatures);
    this.registerParameter('weight', makeParameter(uniformValues(outFeatures * inFeatures, -bound, bound), [outFeatures, inFeatures], factory));
    this.registerParameter('bias', hasBias ? makeParameter(uniformValues(outFeatures, -bound, bound), [outFeatures], factory) : null);
  }

  /** x [..., inFeatures] -> [..., outFeatures] (F.linear). */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
