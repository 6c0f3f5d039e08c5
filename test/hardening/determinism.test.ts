// Hardening, determinism (docs/DETERMINISM.md states the results):
//  - cpu: the same seed and thread count give bitwise-identical losses (and final weights)
//    over 100 training steps of a small GPT with dropout on, at 1 and at 2 threads;
//  - measured, not required: the largest loss difference between 1 and 2 threads on cpu,
//    and between the ts and cpu backends (same seed, same dropout masks: Philox is shared,
//    so only float summation order differs). Bounded loosely so a real divergence fails.
// Two-thread runs take ~2 s each on an idle 2-core machine but can take 10-90 s when another
// process holds a core (OpenMP barriers wait for the starved thread), hence the long timeout.
import { afterAll, describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { backendsUnderTest } from '../helpers/backends.js';
import { buildGptRun, type GptTaskOptions } from './mem/gpt-task.js';

const backends = backendsUnderTest();
const hasCpu = backends.includes('cpu');
const initialThreads = toroid.nativeInfo()?.threads ?? 1;
afterAll(() => toroid.setNumThreads(initialThreads));

// Two layers, width 32, 8 x 16 tokens (runs on ts too); a wider one for the thread comparison
// (width 64, 12 x 32 tokens: big enough for the kernels to split across threads, layer-norm
// weight gradients included: per-thread partial sums above N*C = 16384, native/cpu/norm.cc).
const small: GptTaskOptions = { nLayer: 2, nEmbd: 32, nHead: 2, T: 16, batch: 8, vocab: 32, dropout: 0.1, seed: 7 };
const wide: GptTaskOptions = { nLayer: 2, nEmbd: 64, nHead: 4, T: 32, batch: 12, vocab: 64, dropout: 0.1, seed: 7 };
const STEPS = 100;

interface Run { losses: Float64Array; weights: Float32Array[]; ms: number }

function train(backend: string, threads: number | null, config: GptTaskOptions): Run {
  if (threads !== null) toroid.setNumThreads(threads);
  const t0 = performance.now();
  const run = buildGptRun({ ...config, backend });
  const losses = new Float64Array(STEPS);
  for (let i = 0; i < STEPS; i++) losses[i] = run.step();
  const weights = run.model.parameters().map((p) => p.toFloat32Array());
  run.dispose();
  return { losses, weights, ms: performance.now() - t0 };
}

const bitwise = (a: Float64Array | Float32Array, b: Float64Array | Float32Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function maxDiff(a: Float64Array, b: Float64Array): { abs: number; rel: number; at: number; firstDiffering: number } {
  let abs = 0, rel = 0, at = -1, firstDiffering = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > 0 && firstDiffering < 0) firstDiffering = i + 1;
    if (d > abs) { abs = d; at = i + 1; }
    rel = Math.max(rel, d / Math.abs(a[i]!));
  }
  return { abs, rel, at, firstDiffering };
}

const describeDiff = (d: ReturnType<typeof maxDiff>): string =>
  d.abs === 0 ? 'identical (0)' : `max |diff| ${d.abs.toExponential(2)} (rel ${d.rel.toExponential(2)}) at step ${d.at}, first difference at step ${d.firstDiffering}`;

describe.skipIf(!hasCpu)('hardening: determinism on cpu', { timeout: 300_000 }, () => {
  const runs: Record<string, Run> = {};

  for (const threads of [2, 1]) {
    it(`same seed, ${threads} thread${threads > 1 ? 's' : ''}: bitwise-identical losses and weights over ${STEPS} steps (dropout 0.1)`, () => {
      const a = train('cpu', threads, wide), b = train('cpu', threads, wide);
      runs[`wide-${threads}`] = a;
      console.log(`[cpu, ${threads} thread(s), GPT 2x64, 12x32 tokens] ${STEPS} steps in ${a.ms.toFixed(0)} / ${b.ms.toFixed(0)} ms: ` +
        `loss ${a.losses[0]!.toFixed(4)} -> ${a.losses[STEPS - 1]!.toFixed(4)}; second run ${describeDiff(maxDiff(a.losses, b.losses))}`);
      expect(a.losses[STEPS - 1]).toBeLessThan(a.losses[0]!);
      expect(bitwise(a.losses, b.losses)).toBe(true);
      a.weights.forEach((w, i) => expect(bitwise(w, b.weights[i]!), `parameter ${i}`).toBe(true));
    });
  }

  it('1 vs 2 threads: the difference is measured (summation order) and small', () => {
    const one = runs['wide-1'] ?? train('cpu', 1, wide), two = runs['wide-2'] ?? train('cpu', 2, wide);
    const d = maxDiff(one.losses, two.losses);
    let wmax = 0;
    one.weights.forEach((w, i) => { for (let j = 0; j < w.length; j++) wmax = Math.max(wmax, Math.abs(w[j]! - two.weights[i]![j]!)); });
    console.log(`[cpu, GPT 2x64] 1 vs 2 threads over ${STEPS} steps: losses ${describeDiff(d)}; final weights max |diff| ${wmax.toExponential(2)}`);
    expect(d.abs).toBeLessThan(1e-3);
  });
});

describe.skipIf(!hasCpu || !backends.includes('ts'))('hardening: ts vs cpu', { timeout: 120_000 }, () => {
  it(`same seed and dropout masks: the loss difference over ${STEPS} steps is measured and small`, () => {
    const ts = train('ts', null, small);
    const cpu = train('cpu', 2, small);
    const cpu1 = train('cpu', 1, small);
    const d = maxDiff(ts.losses, cpu.losses), d1 = maxDiff(cpu1.losses, cpu.losses);
    let wmax = 0;
    ts.weights.forEach((w, i) => { for (let j = 0; j < w.length; j++) wmax = Math.max(wmax, Math.abs(w[j]! - cpu.weights[i]![j]!)); });
    console.log(`[GPT 2x32, 8x16 tokens, dropout 0.1] ts (${ts.ms.toFixed(0)} ms) vs cpu 2 threads (${cpu.ms.toFixed(0)} ms) over ${STEPS} steps: losses ${describeDiff(d)}, ` +
      `loss ${ts.losses[0]!.toFixed(6)} / ${cpu.losses[0]!.toFixed(6)} at step 1, ${ts.losses[STEPS - 1]!.toFixed(6)} / ${cpu.losses[STEPS - 1]!.toFixed(6)} at step ${STEPS}; ` +
      `final weights max |diff| ${wmax.toExponential(2)}; cpu 1 vs 2 threads on this model: ${describeDiff(d1)}`);
    expect(d.abs).toBeLessThan(1e-3);
  });
});
