// Helpers for the ts-vs-cpu consistency suite: a small seeded PRNG for case
// parameters and host data (so a failing case replays from its label alone),
// running one closure on both backends, and magnitude-scaled comparisons.
import { expect } from 'vitest';
import * as toroid from '../../src/index.js';
import { expectClose, type Tolerance } from '../helpers/compare.js';

export { Rng } from '../helpers/random.js';
export { maxAbs, sizeOf } from '../ops/table/shapes.js';
import { maxAbs } from '../ops/table/shapes.js';

/** A per-case seed from the family name and case index (FNV-1a), so every case is independent. */
export function caseSeed(family: string, index: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${family}#${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/**
 * The native backend checked against the ts reference: 'cpu' by default,
 * TOROID_CONSISTENCY_NATIVE=cuda on a GPU machine. Results are keyed `cpu` either way.
 */
export const NATIVE = process.env.TOROID_CONSISTENCY_NATIVE ?? 'cpu';
export const BACKENDS = ['ts', NATIVE] as const;
export type BackendName = string;

export type Outputs = Record<string, Float32Array | Uint8Array | Int32Array>;

/** Run `fn` once per backend inside tidy() (everything it makes is released) and return host copies. */
export function runBoth(fn: (backend: BackendName) => Outputs): { ts: Outputs; cpu: Outputs } {
  const ts = toroid.tidy(() => fn('ts'));
  const cpu = toroid.tidy(() => fn(NATIVE));
  return { ts, cpu };
}

/** float32 tensor on `backend` from a host array (always a copy). */
export function f32(backend: string, data: Float32Array, shape: readonly number[], requiresGrad = false): toroid.Tensor {
  return toroid.tensor(data, { shape, backend, requiresGrad });
}

export function boolT(backend: string, data: Uint8Array, shape: readonly number[]): toroid.Tensor {
  return toroid.tensor(data, { shape, backend, dtype: 'bool' });
}

export function i32(backend: string, data: Int32Array, shape: readonly number[]): toroid.Tensor {
  return toroid.tensor(data, { shape, backend, dtype: 'int32' });
}

export function grad(t: toroid.Tensor): Float32Array {
  expect(t.grad, 'a gradient was computed').not.toBeNull();
  return t.grad!.toFloat32Array();
}

/**
 * How far float32 may drift from the float64-accumulating reference. The absolute part is
 * 1e-5 times a magnitude (the largest |expected| of the output, at least `floor` (default 1)
 * and at least `mag`, for results that cancel terms larger than themselves), growing with
 * the number of terms summed into one result (`K`, as sqrt(K): rounding errors random-walk)
 * and a conditioning factor (`cond`: the size of what exp() sees, |mean|/std in norms, ...).
 * The relative part is 1e-4.
 */
export interface Spec { K?: number; cond?: number; mag?: number; floor?: number; bf16?: boolean }

export function tolFor(expected: ArrayLike<number>, spec: Spec): Tolerance {
  const m = Math.max(spec.floor ?? 1, maxAbs(expected), spec.mag ?? 0);
  // bf16: both backends see the same bf16 inputs, compute in float32 and round once, so a result
  // is equal or one bf16 ulp (<= 2^-7 |y|) apart; 2^-6 lets one such difference pass through a
  // second rounding of a composite op, and the atol (scaled as float32's, by 2^-7 / 1e-5) covers
  // it where a sum cancels to near zero
  if (spec.bf16) return { atol: m * 2 ** -7 * (1 + 0.1 * Math.sqrt(spec.K ?? 1) + 0.1 * (spec.cond ?? 0)), rtol: 2 ** -6 };
  return { atol: m * (1e-5 + 1e-6 * Math.sqrt(spec.K ?? 1) + 1e-6 * (spec.cond ?? 0)), rtol: 1e-4 };
}

export const EXACT: Tolerance = { atol: 0, rtol: 0 };

// Worst |cpu - ts| / (atol + rtol |ts|) seen per family and output; printed when TOROID_CONSISTENCY_STATS is set,
// to check how much headroom the tolerances leave.
export const worstRatio = new Map<string, { ratio: number; label: string }>();

/** Compare one named output: cpu (actual) against ts (expected). */
export function check(family: string, label: string, name: string, out: Record<BackendName, Outputs>, spec: Spec | 'exact' = {}): void {
  const e = out.ts[name], a = out.cpu[name];
  expect(e, `${label}: ${name} missing on ts`).toBeDefined();
  expect(a, `${label}: ${name} missing on cpu`).toBeDefined();
  const t = spec === 'exact' ? EXACT : tolFor(e!, spec);
  let worst = 0;
  for (let i = 0; i < e!.length; i++) {
    const ev = e![i]!, av = a![i]!;
    if (ev === av || (Number.isNaN(ev) && Number.isNaN(av))) continue;
    const r = Math.abs(av - ev) / (t.atol + t.rtol * Math.abs(ev));
    if (!(r <= worst)) worst = r;
  }
  const key = `${family}: ${name.replace(/\d+@\d+$/, '')}`;
  const prev = worstRatio.get(key);
  if (prev === undefined || !(worst <= prev.ratio)) worstRatio.set(key, { ratio: worst, label });
  expectClose(a!, e!, t, `${label}: ${name}`);
}

/** Exactly the same positions are zero (dropout masks). */
export function sameZeros(label: string, name: string, out: Record<BackendName, Outputs>): void {
  const e = out.ts[name]!, a = out.cpu[name]!;
  expect(a.length, `${label}: ${name} length`).toBe(e.length);
  for (let i = 0; i < e.length; i++) {
    if ((e[i] === 0) !== (a[i] === 0)) {
      expect.fail(`${label}: ${name} element ${i}: ts ${e[i]}, cpu ${a[i]} (dropout masks differ)`);
    }
  }
}

export function fmt(params: Record<string, unknown>): string {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : String(v)}`)
    .join(' ');
}
