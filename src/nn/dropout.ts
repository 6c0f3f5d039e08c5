// nn.Dropout: F.dropout(x, p, this.isTraining). In eval mode (or p = 0) forward
// returns its input itself, as PyTorch does: do not dispose both.
import { describeValue, rangeError, typeError } from '../errors.js';
import { dropout } from '../ops/dropout.js';
import { checkOptions } from '../validate/checks.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

export class Dropout extends Module {
  /** Probability of zeroing an element, in [0, 1]. */
  readonly p: number;

  constructor(p = 0.5, options?: Record<string, never>) {
    super();
    const fn = 'Dropout';
    if (typeof p !== 'number') throw typeError(fn, 'p', 'a probability in [0, 1]', describeValue(p));
    if (!(p >= 0 && p <= 1)) throw rangeError(fn, 'p', 'a probability in [0, 1]', String(p));
    checkOptions(fn, options, []);
    this.p = p;
  }

  /** Zero elements with probability p and scale the rest by 1/(1-p) while training; identity in eval. */
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.isTraining);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
