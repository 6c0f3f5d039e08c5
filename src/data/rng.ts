// The data shufflers' random numbers: toroid's Philox4x32-10 (src/random/philox.ts)
// keyed by an explicit seed, with the counter words (c2, c3) naming the stream
// (epoch, window, purpose). It never touches the global generator that
// toroid.manualSeed drives, so data order and dropout masks are independent and
// a given (seed, epoch, window) always draws the same numbers.
import { philox4x32 } from '../random/philox.js';

export const PURPOSE_EXAMPLES = 0;
export const PURPOSE_BATCHES = 1;

export class DataRng {
  private readonly k0: number;
  private readonly k1: number;
  private readonly c2: number;
  private readonly c3: number;
  private readonly block = new Uint32Array(4);
  private draw = 0;
  private cached = -1;

  /** seed: non-negative safe integer; epoch and window: uint32-range integers; purpose: 0 or 1. */
  constructor(seed: number, epoch: number, window: number, purpose: number) {
    this.k0 = seed % 4294967296 >>> 0;
    this.k1 = Math.floor(seed / 4294967296) >>> 0;
    this.c2 = epoch >>> 0;
    this.c3 = ((window % 2147483648) * 2 + purpose) >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits (two 32-bit words per draw). */
  uniform(): number {
    const n = this.draw++;
    const blockIndex = Math.floor(n / 2);
    if (blockIndex !== this.cached) {
      philox4x32(blockIndex >>> 0, Math.floor(blockIndex / 4294967296) >>> 0, this.c2, this.c3, this.k0, this.k1, this.block);
      this.cached = blockIndex;
    }
    const half = (n & 1) * 2;
    const a = this.block[half]! >>> 5, b = this.block[half + 1]! >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }
}
