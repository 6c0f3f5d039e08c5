// nn.FeedForward: the position-wise MLP of a Transformer block, for the model families.
//
//   relu | gelu | gelu_tanh:  y = w2(dropout(act(w1(x))))                 children w1, dropout, w2
//   swiglu:                   y = w2(dropout(silu(w1(x)) * w3(x)))        children w1, w3, dropout, w2
//
// Names follow Meta's LLaMA (w1 = gate/up, w2 = down, w3 = the SwiGLU "up" branch).
// nn.TransformerEncoderLayer/DecoderLayer do NOT use this module: they keep PyTorch's
// flat names linear1/dropout/linear2 so torch.nn.Transformer state dicts load as is.
import { describeShape, rangeError } from '../errors.js';
import { gelu, relu, silu } from '../ops/activation.js';
import { mul } from '../ops/elementwise.js';
import { checkBoolean, checkOneOf, checkPositiveInt, checkProbability, checkTensor } from '../validate/checks.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { factoryOptions, type FactoryOptions } from './parameter.js';

export type FeedForwardActivation = 'relu' | 'gelu' | 'gelu_tanh' | 'swiglu';

const ACTIVATIONS: readonly FeedForwardActivation[] = ['relu', 'gelu', 'gelu_tanh', 'swiglu'];

export interface FeedForwardOptions extends FactoryOptions {
  /** Default 'relu'. 'gelu' is the exact (erf) GELU, 'gelu_tanh' the tanh approximation (GPT-2). */
  activation?: FeedForwardActivation;
  /** Biases on every Linear (default true). */
  bias?: boolean;
  /** Dropout after the activation while training (default 0). */
  dropout?: number;
}

/** Apply a pointwise activation by name (relu, gelu, gelu_tanh). */
export function applyActivation(name: 'relu' | 'gelu' | 'gelu_tanh', x: Tensor): Tensor {
  return name === 'relu' ? relu(x) : name === 'gelu' ? gelu(x) : gelu(x, { approximate: 'tanh' });
}

export class FeedForward extends Module {
  readonly dModel: number;
  readonly dFF: number;
  readonly activation: FeedForwardActivation;
  readonly w1: Linear;
  readonly w2: Linear;
  /** SwiGLU only, else null. */
  readonly w3: Linear | null;
  readonly dropout: Dropout;

  constructor(dModel: number, dFF: number, options?: FeedForwardOptions) {
    super();
    const fn = 'FeedForward';
    this.dModel = checkPositiveInt(fn, 'dModel', dModel);
    this.dFF = checkPositiveInt(fn, 'dFF', dFF);
    const { opts, factory } = factoryOptions(fn, options, ['activation', 'bias', 'dropout']);
    this.activation = opts.activation === undefined ? 'relu' : checkOneOf(fn, 'options.activation', opts.activation, ACTIVATIONS);
    const bias = checkBoolean(fn, 'options.bias', opts.bias, true);
    const p = checkProbability(fn, 'options.dropout', opts.dropout, 0);
    this.w1 = this.registerModule('w1', new Linear(dModel, dFF, { bias, ...factory }));
    this.w3 = this.activation === 'swiglu' ? this.registerModule('w3', new Linear(dModel, dFF, { bias, ...factory })) : null;
    this.dropout = this.registerModule('dropout', new Dropout(p));
    this.w2 = this.registerModule('w2', new Linear(dFF, dModel, { bias, ...factory }));
  }

  /** x [..., dModel] -> [..., dModel]. */
  forward(x: Tensor): Tensor {
    checkTensor('FeedForward.forward', 'x', x);
    if (x.rank === 0 || x.shape[x.rank - 1] !== this.dModel) {
      throw rangeError('FeedForward.forward', 'x', `${x.dtype} [..., ${this.dModel}]`, `${x.dtype} ${describeShape(x.shape)}`);
    }
    return tidy(() => {
      const hidden = this.activation === 'swiglu'
        ? mul(silu(this.w1.forward(x)), this.w3!.forward(x))
        : applyActivation(this.activation as 'relu' | 'gelu' | 'gelu_tanh', this.w1.forward(x));
      return this.w2.forward(this.dropout.forward(hidden));
    });
  }

  override extraRepr(): string {
    return `dModel=${this.dModel}, dFF=${this.dFF}, activation='${this.activation}'`;
  }
}
