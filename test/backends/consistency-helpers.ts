// Helpers for the ts-vs-cpu consistency suite: a small seeded PRNG for case
// parameters and host data (so a failing case replays from its label alone),
// running one closure on both backends, and magnitude-scaled comparisons.
import { expect } from 'vitest';
import * as toroid from '../../src/index.js';
import { expectClose, type Tolerance } from '../helpers/compare.js';

/** mulberry32: tiny, fast, good enough for test data; deterministic from a 32-bit seed. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.uniform() * (hi - lo + 1));
  }

  range(lo: number, hi: number): number {
    return lo + this.uniform() * (hi - lo);
  }

  bool(pTrue = 0.5): boolean {
    return this.uniform() < pTrue;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.uniform() * items.length)]!;
  }

  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Standard normal values times `scale` plus `shift`, as float32. */
  randn(n: number, scale = 1, shift = 0): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = shift + scale * this.normal();
    return out;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(0, i);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    return p;
  }
}

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

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (Number.isFinite(v) && v > m) m = v;
  }
  return m;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, s) => p * s, 1);
}

/**
 * How far float32 may drift from the float64-accumulating reference. The absolute part is
 * 1e-5 times a magnitude (the largest |expected| of the output, at least `floor` (default 1)
 * and at least `mag`, for results that cancel terms larger than themselves), growing with
 * the number of terms summed into one result (`K`, as sqrt(K): rounding errors random-walk)
 * and a conditioning factor (`cond`: the size of what exp() sees, |mean|/std in norms, ...).
 * The relative part is 1e-4.
 */
export interface Spec { K?: number; cond?: number; mag?: number; floor?: number }

export function tolFor(expected: ArrayLike<number>, spec: Spec): Tolerance {
  const m = Math.max(spec.floor ?? 1, maxAbs(expected), spec.mag ?? 0);
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
