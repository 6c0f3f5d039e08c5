// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
// a counter-based generator, so element i of a dropout mask depends only on
// (seed, offset, i) and every backend and thread count draws the same bits.
//
// Layout shared with the native kernels: block n = offset + floor(i / 4) is the
// counter (c0 = low 32 bits of n, c1 = high 32 bits, c2 = c3 = 0), the key is the
// 64-bit seed (k0 low, k1 high), and element i takes output word i % 4.
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 (exact, without BigInt). */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const lh = al * bh, hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
}

/** One Philox4x32-10 block into out[0..3]. Inputs are uint32. */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/** Uniform floats in [0, 1) with 24 random bits, for elements [start, start + count) of a stream. */
export class PhiloxStream {
  private readonly k0: number;
  private readonly k1: number;
  private readonly block = new Uint32Array(4);
  private cached = -1;

  constructor(seed: bigint, private readonly offset: number) {
    this.k0 = Number(seed & 0xffffffffn);
    this.k1 = Number((seed >> 32n) & 0xffffffffn);
  }

  /** Raw uint32 word for element i. */
  word(i: number): number {
    const n = this.offset + Math.floor(i / 4);
    if (n !== this.cached) {
      philox4x32(n >>> 0, Math.floor(n / 4294967296) >>> 0, 0, 0, this.k0, this.k1, this.block);
      this.cached = n;
    }
    return this.block[i & 3]!;
  }

  uniform(i: number): number {
    return (this.word(i) >>> 8) * (1 / 16777216);
  }
}

/** Counter blocks consumed by a stream of `count` elements. */
export function blocksFor(count: number): number {
  return Math.ceil(count / 4);
}
