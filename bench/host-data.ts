// Seeded host data for the benchmarks: the suite's mulberry32 stream (test/helpers/random.ts),
// normal values by Box-Muller in pairs, and ids. Timing data, not statistics.
import { mulberry32 } from '../test/helpers/random.js';

export { mulberry32 };

export function hostRandn(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - r(), v = r();
    const rad = Math.sqrt(-2 * Math.log(u));
    out[i] = rad * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = rad * Math.sin(2 * Math.PI * v);
  }
  return out;
}

export function hostIds(n: number, high: number, seed: number): Int32Array {
  const r = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * high));
}
