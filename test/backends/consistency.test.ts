// Backend consistency: every kernel family through the public functional API, forward and
// backward, on random shapes (B=1, T=1, d=1, Tq != Tk, sizes around the cpu attention tile
// of 64, all-but-one key padded, ...), the cpu backend against the ts reference. The ops'
// generators and tolerances are rows of the op table (test/ops/table/); the two cases that are
// not one op's forward and backward (attention's dropout pattern, AdamW steps) are written here.
//
// Every case draws its parameters and data from its own seeded PRNG (seed in the label), so a
// failure replays alone: npx vitest run test/backends -t 'attention #142 ' (-t takes a regex).
// TOROID_CONSISTENCY_STATS=1 prints the worst error/tolerance ratio per family.
import { afterAll, describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { loadError } from '../../src/backends/native/addon.js';
import {
  BACKENDS, NATIVE, Rng, caseSeed, check, f32, fmt, maxAbs, runBoth, sameZeros, sizeOf, worstRatio, type Outputs,
} from './consistency-helpers.js';
import { OP_TABLE } from '../ops/table/index.js';
import { drawInputs, runOp } from '../ops/table/run.js';
import { randShape, small } from '../ops/table/shapes.js';

const { F } = toroid;

const HAS_CPU = toroid.listBackends().includes(NATIVE);
const TITLE = `backend consistency: ts vs ${NATIVE}`;

/** One `it` per case: params drawn at collection time, data drawn in the test from the same PRNG. */
function cases<P extends object>(family: string, count: number, gen: (rng: Rng, i: number) => P,
  body: (p: P, rng: Rng, label: string) => void, fixed: P[] = []): void {
  describe(family, () => {
    const all: { p: P; rng: Rng; seed: number; tag: string }[] = [];
    fixed.forEach((p, j) => {
      const seed = caseSeed(`${family}/fixed`, j);
      all.push({ p, rng: new Rng(seed), seed, tag: `fixed${j}` });
    });
    for (let i = 0; i < count; i++) {
      const seed = caseSeed(family, i);
      const rng = new Rng(seed);
      all.push({ p: gen(rng, i), rng, seed, tag: `#${i}` });
    }
    for (const { p, rng, seed, tag } of all) {
      const label = `${family} ${tag} ${fmt(p as Record<string, unknown>)} seed=${seed}`;
      it(label, () => body(p, rng, label));
    }
  });
}

function suite(): void {
  afterAll(() => {
    if (!process.env.TOROID_CONSISTENCY_STATS) return;
    const rows = [...worstRatio.entries()].sort((a, b) => b[1].ratio - a[1].ratio);
    for (const [family, { ratio, label }] of rows) console.log(`${family.padEnd(20)} worst ${ratio.toExponential(2)}  (${label})`);
  });

  it('both backends are registered', () => {
    expect(BACKENDS.every((b) => toroid.listBackends().includes(b))).toBe(true);
  });

  // ---------------------------------------------------------------- attention dropout
  // attention dropout: the kept/dropped pattern of the weights must match exactly. With v = I
  // (Tk = d, one-hot rows) out[i, j] = P[i, j] * keep[i, j], so out's zeros are the mask.
  cases('attention dropout mask', 40, (rng) => {
    const Tk = rng.int(1, 12);
    return { B: small(rng, 2), h: small(rng, 3), Tq: small(rng, 12), Tk, p: rng.pick([0.1, 0.3, 0.5, 0.9]) };
  }, (c, rng, label) => {
    const qShape = [c.B, c.h, c.Tq, c.Tk], kvShape = [c.B, c.h, c.Tk, c.Tk];
    const q = rng.randn(sizeOf(qShape), 0.3), k = rng.randn(sizeOf(kvShape), 0.3);
    const v = new Float32Array(sizeOf(kvShape));
    for (let bh = 0; bh < c.B * c.h; bh++) for (let j = 0; j < c.Tk; j++) v[(bh * c.Tk + j) * c.Tk + j] = 1;
    const seed = rng.int(0, 1e9);
    const out = runBoth((backend) => {
      toroid.manualSeed(seed);
      const y = F.scaledDotProductAttention(f32(backend, q, qShape), f32(backend, k, kvShape), f32(backend, v, kvShape), { dropoutP: c.p });
      return { y: y.toFloat32Array() };
    });
    sameZeros(label, 'y', out);
    check('attention dropout', label, 'y', out, { K: c.Tk, cond: 1 });
  });

  // ---------------------------------------------------------------- the op table (test/ops/table/)
  for (const spec of OP_TABLE) {
    const c = spec.consistency;
    if (!c) continue;
    cases(spec.name, c.count, (rng) => c.random(rng), (p, rng, label) => {
      const data = drawInputs(spec, p, rng, spec.outShape(p));
      const out = runBoth((backend) => runOp(spec, p, data, backend));
      for (const name of Object.keys(out.ts)) check(spec.name, label, name, out, c.tolerance(p, name, data));
      c.extra?.(p, data, out, label);
    }, c.fixed);
    // bfloat16: a quarter as many cases, from the same generator
    if (spec.dtypes.bfloat16 === undefined) continue;
    cases(`${spec.name} bfloat16`, Math.ceil(c.count / 4), (rng) => c.random(rng), (p, rng, label) => {
      const data = drawInputs(spec, p, rng, spec.outShape(p));
      const out = runBoth((backend) => runOp(spec, p, data, backend, 'bfloat16'));
      for (const name of Object.keys(out.ts)) {
        const tol = c.tolerance(p, name, data);
        check(`${spec.name} bfloat16`, label, name, out, tol === 'exact' ? tol : { ...tol, bf16: true });
      }
      c.extra?.(p, data, out, label);
    }, c.fixed);
  }

  // ---------------------------------------------------------------- adamw
  cases('adamwStep', 200, (rng) => {
    const count = rng.int(1, 4);
    return {
      shapes: Array.from({ length: count }, () => (rng.bool(0.05) ? [rng.pick([1023, 16385, 20000])] : randShape(rng, 0, 3, 6))).map((s) => s.join('x') || 'scalar'),
      lr: rng.pick([1e-4, 1e-3, 1e-2, 0.1]),
      beta1: rng.pick([0, 0.8, 0.9]),
      beta2: rng.pick([0.9, 0.99, 0.999]),
      eps: rng.pick([1e-8, 1e-6, 1e-3]),
      weightDecay: rng.pick([0, 0.01, 0.1]),
    };
  }, (c, rng, label) => {
    const shapes = c.shapes.map((s) => (s === 'scalar' ? [] : s.split('x').map(Number)));
    const p0 = shapes.map((s) => rng.randn(sizeOf(s)));
    const grads = [1, 2, 3].map(() => shapes.map((s) => rng.randn(sizeOf(s), rng.pick([1e-3, 1, 10]))));
    const out = runBoth((backend) => {
      const params = shapes.map((s, i) => f32(backend, p0[i]!, s));
      const m = shapes.map((s) => toroid.zeros(s, { backend })), v = shapes.map((s) => toroid.zeros(s, { backend }));
      const r: Outputs = {};
      for (let step = 1; step <= 3; step++) {
        const gs = shapes.map((s, i) => f32(backend, grads[step - 1]![i]!, s));
        toroid.adamwStep(params, gs, { m, v }, { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: c.weightDecay, step });
        shapes.forEach((_, i) => {
          r[`p${i}@${step}`] = params[i]!.toFloat32Array();
          r[`m${i}@${step}`] = m[i]!.toFloat32Array();
          r[`v${i}@${step}`] = v[i]!.toFloat32Array();
        });
      }
      return r;
    });
    for (let step = 1; step <= 3; step++) {
      shapes.forEach((_, i) => {
        // the moments can be far below 1 (tiny gradients): scale by their own size, not 1
        const mg = Math.max(...grads.slice(0, step).map((gs) => maxAbs(gs[i]!)));
        check('adamwStep', label, `p${i}@${step}`, out);
        check('adamwStep', label, `m${i}@${step}`, out, { floor: 0, mag: (1 - c.beta1) * mg });
        check('adamwStep', label, `v${i}@${step}`, out, { floor: 0, mag: (1 - c.beta2) * mg * mg });
      });
    }
  });
}

if (HAS_CPU) describe(TITLE, suite);
else describe.skip(`${TITLE} (skipped: the cpu backend is not registered: ${loadError ?? 'addon not loaded'})`, () => {
  it('needs the native addon (build/Release/toroid.node or a prebuild)', () => {});
});
