// Dropout from the counter-based stream: element i is kept when its uniform >= p.
import type { KResult, KTensor, RngState } from '../backend.js';
import { PhiloxStream } from '../../random/philox.js';
import { output, values } from './util.js';

function apply(x: KTensor, p: number, rng: RngState): KResult {
  const X = values(x);
  const stream = new PhiloxStream(rng.seed, rng.offset);
  const keepScale = 1 / (1 - p);
  const { data: Y, result } = output(x.shape, x.dtype);
  for (let e = 0; e < X.length; e++) Y[e] = stream.uniform(e) >= p ? X[e]! * keepScale : 0;
  return result;
}

export function dropoutForward(x: KTensor, p: number, rng: RngState): KResult {
  return apply(x, p, rng);
}

// the same mask again: dx = dy * mask / (1 - p)
export function dropoutBackward(dy: KTensor, p: number, rng: RngState): KResult {
  return apply(dy, p, rng);
}
