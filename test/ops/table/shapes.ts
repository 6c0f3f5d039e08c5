// Random shapes for the table's consistency generators (and the hand-written consistency cases).
import type { Rng } from '../../helpers/random.js';

/** Mostly tiny sizes, sometimes exactly 1. */
export function small(rng: Rng, max = 6): number {
  return rng.bool(0.2) ? 1 : rng.int(1, max);
}

export function randShape(rng: Rng, minRank: number, maxRank: number, maxDim = 5): number[] {
  const rank = rng.int(minRank, maxRank);
  return Array.from({ length: rank }, () => small(rng, maxDim));
}

/** A shape that broadcasts to `out`: leading dims dropped, some dims set to 1. */
export function broadcastFrom(rng: Rng, out: readonly number[]): number[] {
  const drop = rng.bool(0.3) ? rng.int(0, out.length) : 0;
  return out.slice(drop).map((s) => (rng.bool(0.3) ? 1 : s));
}

/** numpy broadcasting of two shapes (assumed compatible). */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1, y = b[b.length - rank + i] ?? 1;
    return x === 1 ? y : x;
  });
}

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (Number.isFinite(v) && v > m) m = v;
  }
  return m;
}

/** The bench's row-wise problems: x [N=2048, C], checked at [67, min(C, 300)], 5 passes over N*C float32. */
export function benchRows(C: number): { full: Record<string, number>; check: Record<string, number>; scaleKey: string;
  shape: (s: Record<string, number>) => string; work: (s: Record<string, number>) => { bytes: number } } {
  return {
    full: { N: 2048, C }, check: { N: 67, C: Math.min(C, 300) }, scaleKey: 'N',
    shape: ({ N, C: c }) => `[${N},${c}]`,
    work: ({ N, C: c }) => ({ bytes: 5 * N! * c! * 4 }),
  };
}
