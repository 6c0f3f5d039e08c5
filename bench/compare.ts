// The benchmarks' equal-work measure (kernels.bench.ts, cuda.bench.ts): outputs are compared
// before anything is timed, by one number per output.

/** max |a - ref| / max |ref| (a length mismatch is Infinity, a NaN in `a` propagates). */
export function relErr(a: Float32Array, ref: Float32Array): number {
  if (a.length !== ref.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - ref[i]!);
    if (!(d <= diff)) diff = d; // NaN propagates
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}
