// The global generator: a seed and a running offset into the Philox stream.
// Each random op takes a fresh range of counter blocks, like PyTorch's
// philox offset, so re-running with the same seed reproduces every draw.
import type { RngState } from '../backends/backend.js';
import { describeValue, rangeError, typeError } from '../errors.js';
import { blocksFor } from './philox.js';

// PyTorch's default CPU seed, so a fresh process is deterministic by default.
const DEFAULT_SEED = 67280421310721n;

let seed = DEFAULT_SEED;
let offset = 0;

export function manualSeed(value: number | bigint): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw rangeError('manualSeed', 'seed', 'a non-negative safe integer', String(value));
    value = BigInt(value);
  } else if (typeof value !== 'bigint') {
    throw typeError('manualSeed', 'seed', 'a number or bigint', describeValue(value));
  }
  if (value < 0n || value >= 1n << 64n) throw rangeError('manualSeed', 'seed', 'in [0, 2^64)', String(value));
  seed = value;
  offset = 0;
}

export function initialSeed(): bigint {
  return seed;
}

/** Reserve the stream for `count` elements and return where it starts. */
export function nextRng(count: number): RngState {
  const state = { seed, offset };
  offset += blocksFor(count);
  return state;
}

export function getRngState(): RngState {
  return { seed, offset };
}

export function setRngState(state: RngState): void {
  seed = state.seed;
  offset = state.offset;
}
