// Softmax and log-softmax along one axis, viewed as [outer, dim, inner].
import type { KResult, KTensor } from '../backend.js';
import { splitAt } from '../../util/shape.js';
import { output, values } from './util.js';

export function softmaxForward(x: KTensor, axis: number, log: boolean): KResult {
  const { outer, dim, inner } = splitAt(x.shape, axis);
  const X = values(x);
  const { data: Y, result } = output(x.shape, x.dtype);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
    const base = o * dim * inner + i;
    // subtract the max so exp cannot overflow
    let max = -Infinity;
    for (let j = 0; j < dim; j++) max = Math.max(max, X[base + j * inner]!);
    let sum = 0;
    for (let j = 0; j < dim; j++) sum += Math.exp(X[base + j * inner]! - max);
    const logSum = Math.log(sum);
    for (let j = 0; j < dim; j++) {
      const shifted = X[base + j * inner]! - max;
      Y[base + j * inner] = log ? shifted - logSum : Math.exp(shifted) / sum;
    }
  }
  return result;
}

export function softmaxBackward(dy: KTensor, y: KTensor, axis: number, log: boolean): KResult {
  const { outer, dim, inner } = splitAt(y.shape, axis);
  const Y = values(y), dY = values(dy);
  const { data: dX, result } = output(y.shape, y.dtype);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
    const base = o * dim * inner + i;
    // softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - exp(y) sum(dy)
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += dY[base + j * inner]! * (log ? 1 : Y[base + j * inner]!);
    for (let j = 0; j < dim; j++) {
      const at = base + j * inner;
      dX[at] = log ? dY[at]! - Math.exp(Y[at]!) * dot : Y[at]! * (dY[at]! - dot);
    }
  }
  return result;
}
