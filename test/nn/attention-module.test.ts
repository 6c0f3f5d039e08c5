// nn.MultiheadAttention: PyTorch names and init, the needWeights (explicit) path against
// the fused fast path (outputs and gradients), masks, GQA/MQA, cross-attention gradients
// into the packed in_proj_weight (gradcheck), and bad arguments.
import { describe, expect, it, vi } from 'vitest';
import * as toroid from '../../src/index.js';
import { MultiheadAttention } from '../../src/nn/attention.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { gradcheck, randLeaf } from '../helpers/gradcheck.js';
import { expectError } from '../helpers/expect-error.js';

const { F } = toroid;
type Tensor = toroid.Tensor;

// the native cpu backend's small matmuls can be slow with several BLAS threads on small machines
vi.setConfig({ testTimeout: 60_000 });

const TOL = { atol: 2e-6, rtol: 2e-5 };

/**
 * float32 gradients of two implementations: 2e-5 of the tensor's largest magnitude (at least
 * 1e-5: the key bias's gradient is 0 in exact arithmetic, softmax being shift-invariant), plus 2e-5 relative.
 */
function expectGradClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(expected[i]!));
  expectClose(actual, expected, { atol: Math.max(2e-5 * max, 1e-5), rtol: 2e-5 }, label);
}

function randn(shape: number[], backend: string): Tensor {
  return toroid.randn(shape, { backend });
}

function bool(rows: number[][], backend: string): Tensor {
  return toroid.tensor(rows, { dtype: 'bool', backend });
}

/** Gradients of every parameter (and of the inputs given) after backward of sum(out * w). */
function grads(mha: MultiheadAttention, run: () => Tensor, inputs: Tensor[] = []): Float32Array[] {
  mha.zeroGrad();
  for (const x of inputs) {
    x.grad?.dispose();
    x.grad = null;
  }
  toroid.tidy(() => {
    const y = run();
    toroid.manualSeed(99);
    const w = toroid.randn(y.shape.slice(), { backend: y.device, dtype: y.dtype });
    y.mul(w).sum().backward();
  });
  return [...mha.parameters(), ...inputs].map((p) => p.grad!.toFloat32Array());
}

describeEachBackend('nn.MultiheadAttention', (backend) => {
  it("PyTorch's names, order and init (xavier in_proj_weight, zero biases)", () => {
    toroid.manualSeed(1);
    const E = 16;
    const mha = new MultiheadAttention(E, 4, { backend });
    expect(Object.keys(mha.stateDict())).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    expect(mha.inProjWeight!.shape).toEqual([3 * E, E]);
    const w = Array.from(mha.inProjWeight!.toTypedArray(), Math.abs);
    const bound = Math.sqrt(6 / (E + 3 * E));
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.max(...w)).toBeGreaterThan(0.9 * bound);
    expect(Array.from(mha.inProjBias!.toTypedArray()).every((v) => v === 0)).toBe(true);
    expect(Array.from(mha.outProj.bias!.toTypedArray()).every((v) => v === 0)).toBe(true);
    const ow = Array.from(mha.outProj.weight.toTypedArray(), Math.abs);
    expect(Math.max(...ow)).toBeLessThanOrEqual(1 / Math.sqrt(E));
    const nb = new MultiheadAttention(E, 4, { bias: false, backend });
    expect(Object.keys(nb.stateDict())).toEqual(['in_proj_weight', 'out_proj.weight']);
    const gqa = new MultiheadAttention(E, 4, { numKvHeads: 2, backend });
    expect(Object.keys(gqa.stateDict())).toEqual([
      'q_proj.weight', 'q_proj.bias', 'k_proj.weight', 'k_proj.bias', 'v_proj.weight', 'v_proj.bias', 'out_proj.weight', 'out_proj.bias',
    ]);
    expect(gqa.kProj!.weight.shape).toEqual([8, E]);
    expect(String(gqa)).toContain('numKvHeads=2');
    const sep = new MultiheadAttention(E, 4, { packed: false, backend });
    expect(sep.packed).toBe(false);
    expect(Object.keys(sep.stateDict())[0]).toBe('q_proj.weight');
    expect(sep.vProj!.weight.shape).toEqual([E, E]);
    // the separate projections compute the same function as the packed weight holding their rows
    const x = randn([2, 3, E], backend);
    const packed = toroid.tidy(() => F.cat([sep.qProj!.weight, sep.kProj!.weight, sep.vProj!.weight], 0));
    toroid.tidy(() => mha.loadStateDict({
      in_proj_weight: packed,
      in_proj_bias: F.cat([sep.qProj!.bias!, sep.kProj!.bias!, sep.vProj!.bias!], 0),
      'out_proj.weight': sep.outProj.weight,
      'out_proj.bias': sep.outProj.bias!,
    }));
    toroid.tidy(() => expectClose(mha.forward(x, x, x).output.toTypedArray(), sep.forward(x, x, x).output.toTypedArray(), TOL, 'packed = separate'));
    for (const m of [mha, nb, gqa, sep]) m.dispose();
    for (const t of [x, packed]) t.dispose();
  });

  it('needWeights: averaged [B,Tq,Tk] and per-head [B,h,Tq,Tk] weights, rows summing to 1', () => {
    toroid.manualSeed(2);
    const mha = new MultiheadAttention(8, 2, { backend });
    const q = randn([2, 3, 8], backend), kv = randn([2, 5, 8], backend);
    toroid.tidy(() => {
      const fast = mha.forward(q, kv, kv);
      expect(fast.weights).toBeNull();
      expect(fast.output.shape).toEqual([2, 3, 8]);
      const avg = mha.forward(q, kv, kv, { needWeights: true });
      const per = mha.forward(q, kv, kv, { needWeights: true, averageAttnWeights: false });
      expect(avg.weights!.shape).toEqual([2, 3, 5]);
      expect(per.weights!.shape).toEqual([2, 2, 3, 5]);
      expectClose(avg.weights!.sum(-1).toTypedArray(), new Float64Array(6).fill(1), TOL, 'averaged rows');
      expectClose(per.weights!.sum(-1).toTypedArray(), new Float64Array(12).fill(1), TOL, 'per-head rows');
      expectClose(per.weights!.mean(1).toTypedArray(), avg.weights!.toTypedArray(), TOL, 'average of heads');
      expectClose(avg.output.toTypedArray(), fast.output.toTypedArray(), TOL, 'weights path = fast path');
    });
    for (const t of [q, kv]) t.dispose();
    mha.dispose();
  });

  it('explicit and fused paths agree (output and every gradient) under every mask kind', () => {
    toroid.manualSeed(3);
    const B = 2, T = 4, S = 5, E = 8, h = 2;
    const mha = new MultiheadAttention(E, h, { backend });
    const x = randn([B, T, E], backend), mem = randn([B, S, E], backend);
    const kpmT = bool([[0, 0, 0, 1], [0, 0, 0, 0]], backend);
    const kpmS = bool([[0, 0, 0, 0, 1], [0, 1, 0, 0, 0]], backend);
    const boolMask = bool([[0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [1, 0, 0, 1, 0], [0, 0, 0, 0, 0]], backend);
    const floatMask = toroid.tidy(() => randn([1, h, T, S], backend).mul(0.5));
    const cases: Array<[string, Tensor, Tensor, Record<string, unknown>]> = [
      ['self, causal + key padding', x, x, { isCausal: true, keyPaddingMask: kpmT }],
      ['cross, key padding + bool mask', x, mem, { keyPaddingMask: kpmS, attnMask: boolMask }],
      ['cross, float mask [1,h,Tq,Tk]', x, mem, { attnMask: floatMask }],
      ['cross, bottom-right causal', x, mem, { isCausal: 'bottom-right' }],
    ];
    for (const [label, q, kv, opts] of cases) {
      const out = (needWeights: boolean): Tensor => mha.forward(q, kv, kv, { ...opts, needWeights }).output;
      toroid.tidy(() => expectClose(out(true).toTypedArray(), out(false).toTypedArray(), TOL, `${label}: output`));
      const a = grads(mha, () => out(false));
      const b = grads(mha, () => out(true));
      a.forEach((g, i) => expectGradClose(b[i]!, g, `${label}: grad ${i}`));
    }
    for (const t of [x, mem, kpmT, kpmS, boolMask, floatMask]) t.dispose();
    mha.dispose();
  });

  it('key padding + causal: masked keys get weight 0, a fully masked row outputs out_proj.bias', () => {
    toroid.manualSeed(4);
    const mha = new MultiheadAttention(8, 2, { backend });
    // the bias is 0 at init: give it values
    toroid.nn.init.uniform_(mha.outProj.bias!, -1, 1);
    const x = randn([2, 4, 8], backend);
    // batch 1: key 0 padded, so query 0 (causal: sees key 0 only) has no key left
    const kpm = bool([[0, 0, 1, 0], [1, 0, 0, 0]], backend);
    toroid.tidy(() => {
      const { output, weights } = mha.forward(x, x, x, { isCausal: true, keyPaddingMask: kpm, needWeights: true, averageAttnWeights: false });
      const w = weights!.toTypedArray();
      const kp = [[0, 0, 1, 0], [1, 0, 0, 0]];
      for (let b = 0; b < 2; b++) for (let hh = 0; hh < 2; hh++) for (let i = 0; i < 4; i++) {
        let sum = 0;
        for (let j = 0; j < 4; j++) {
          const v = w[((b * 2 + hh) * 4 + i) * 4 + j]!;
          if (j > i || kp[b]![j] === 1) expect(v).toBe(0);
          sum += v;
        }
        expect(sum).toBeCloseTo(b === 1 && i === 0 ? 0 : 1, 5);
      }
      const fast = mha.forward(x, x, x, { isCausal: true, keyPaddingMask: kpm }).output;
      const bias = Array.from(mha.outProj.bias!.toTypedArray());
      for (const out of [output, fast]) {
        const row = Array.from(F.narrow(F.narrow(out, 0, 1, 1), 1, 0, 1).toTypedArray());
        expectClose(row, bias, TOL, 'fully masked row');
        expect(row.every(Number.isFinite)).toBe(true);
      }
    });
    for (const t of [x, kpm]) t.dispose();
    mha.dispose();
  });
  it('F.attentionWithWeights: the fused output with GQA, kvLength and empty rows; weights 0 on masked keys', () => {
    toroid.manualSeed(10);
    // Tq = 5 > Tk = 3 with 'bottom-right': queries 0 and 1 see no key
    const [B, h, hkv, Tq, Tk, d] = [2, 4, 2, 5, 3, 8];
    const q = randn([B, h, Tq, d], backend), k = randn([B, hkv, Tk + 2, d], backend), v = randn([B, hkv, Tk + 2, d], backend);
    const kpm = bool([[0, 1, 0], [0, 0, 0]], backend);
    toroid.tidy(() => {
      const opts = { isCausal: 'bottom-right' as const, keyPaddingMask: kpm, kvLength: Tk };
      const { output, weights } = F.attentionWithWeights(q, k, v, opts);
      expect(weights.shape).toEqual([B, h, Tq, Tk]);
      expectClose(output.toTypedArray(), F.scaledDotProductAttention(q, k, v, opts).toTypedArray(), TOL, 'output');
      const w = weights.toTypedArray();
      for (let b = 0; b < B; b++) for (let hh = 0; hh < h; hh++) for (let i = 0; i < Tq; i++) {
        let sum = 0;
        for (let j = 0; j < Tk; j++) {
          const x = w[((b * h + hh) * Tq + i) * Tk + j]!;
          if (j > i + Tk - Tq || (b === 0 && j === 1)) expect(x).toBe(0);
          sum += x;
        }
        expect(sum).toBeCloseTo(i < Tq - Tk ? 0 : 1, 5);
      }
    });
    for (const t of [q, k, v, kpm]) t.dispose();
  });

  it('needWeights computes on the backend: nothing is downloaded, the masks included', () => {
    toroid.manualSeed(9);
    const mha = new MultiheadAttention(8, 2, { backend });
    const x = randn([2, 4, 8], backend);
    const kpm = bool([[0, 0, 1, 0], [1, 0, 0, 0]], backend);
    const boolMask = bool([[0, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 1], [0, 0, 0, 0]], backend);
    const floatMask = toroid.tidy(() => randn([1, 2, 4, 4], backend).mul(0.5));
    // every device-to-host copy (Tensor.toTypedArray and the rest) goes through the backend's download
    const download = vi.spyOn(toroid.getBackend(backend), 'download');
    toroid.tidy(() => {
      const cases = [
        { isCausal: true, keyPaddingMask: kpm, attnMask: boolMask },
        { isCausal: 'bottom-right' as const, attnMask: floatMask },
      ];
      const results = cases.map((opts) => mha.forward(x, x, x, { ...opts, needWeights: true }));
      expect(download).not.toHaveBeenCalled();
      download.mockRestore();
      cases.forEach((opts, i) => {
        const fast = mha.forward(x, x, x, opts).output;
        expectClose(results[i]!.output.toTypedArray(), fast.toTypedArray(), TOL, `case ${i}`);
        expect(Array.from(results[i]!.weights!.toTypedArray()).every(Number.isFinite)).toBe(true);
      });
    });
    download.mockRestore();
    for (const t of [x, kpm, boolMask, floatMask]) t.dispose();
    mha.dispose();
  });


  it('attnMask as [Tq,Tk], [B,h,Tq,Tk] and PyTorch\'s [B*h,Tq,Tk] agree', () => {
    toroid.manualSeed(5);
    const mha = new MultiheadAttention(8, 2, { backend });
    const x = randn([2, 3, 8], backend);
    const m2 = bool([[0, 1, 0], [0, 0, 1], [1, 0, 0]], backend);
    toroid.tidy(() => {
      const m4 = F.cat([m2, m2, m2, m2].map((m) => m.reshape([1, 1, 3, 3])), 0).reshape([2, 2, 3, 3]);
      const m3 = m4.reshape([4, 3, 3]);
      const a = mha.forward(x, x, x, { attnMask: m2 }).output;
      for (const m of [m4, m3]) {
        for (const needWeights of [false, true]) {
          expectClose(mha.forward(x, x, x, { attnMask: m, needWeights }).output.toTypedArray(), a.toTypedArray(), TOL, `mask rank ${m.rank}`);
        }
      }
    });
    for (const t of [x, m2]) t.dispose();
    mha.dispose();
  });

  it('cross-attention with key !== value and key === value give the same output and gradients', () => {
    toroid.manualSeed(6);
    const mha = new MultiheadAttention(8, 2, { backend });
    const q = randn([2, 3, 8], backend), k = randn([2, 4, 8], backend);
    const kCopy = toroid.tensor(k.toFloat32Array(), { shape: k.shape, backend });
    const same = grads(mha, () => mha.forward(q, k, k).output);
    const split = grads(mha, () => mha.forward(q, k, kCopy).output);
    same.forEach((g, i) => expectGradClose(split[i]!, g, `grad ${i}`));
    // self-attention through the packed projection equals the cross-attention code path
    const copyQ = toroid.tensor(q.toFloat32Array(), { shape: q.shape, backend });
    const self = grads(mha, () => mha.forward(q, q, q).output);
    const cross = grads(mha, () => mha.forward(q, copyQ, copyQ).output);
    self.forEach((g, i) => expectGradClose(cross[i]!, g, `self grad ${i}`));
    for (const t of [q, k, kCopy, copyQ]) t.dispose();
    mha.dispose();
  });

  it('GQA (4 heads, 2 kv heads) and MQA: run, backpropagate, explicit path = fused path', () => {
    toroid.manualSeed(7);
    for (const numKvHeads of [2, 1]) {
      const mha = new MultiheadAttention(16, 4, { numKvHeads, backend });
      const x = randn([2, 5, 16], backend);
      x.requiresGrad = true;
      const kpm = bool([[0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], backend);
      const run = (needWeights: boolean): Tensor => mha.forward(x, x, x, { isCausal: true, keyPaddingMask: kpm, needWeights }).output;
      toroid.tidy(() => {
        const { output, weights } = mha.forward(x, x, x, { isCausal: true, needWeights: true, averageAttnWeights: false });
        expect(output.shape).toEqual([2, 5, 16]);
        expect(weights!.shape).toEqual([2, 4, 5, 5]);
        expectClose(run(true).toTypedArray(), run(false).toTypedArray(), TOL, `hkv=${numKvHeads} output`);
      });
      const a = grads(mha, () => run(false), [x]);
      const b = grads(mha, () => run(true), [x]);
      expect(a.length).toBe(9);
      const names = [...mha.namedParameters().map(([n]) => n), 'x'];
      a.forEach((g, i) => {
        // k_proj.bias shifts every score of a row equally: its gradient is 0 up to rounding
        if (names[i] !== 'k_proj.bias') expect(g.some((v) => Math.abs(v) > 1e-4), `${names[i]} gets a gradient`).toBe(true);
        expectGradClose(b[i]!, g, `hkv=${numKvHeads} grad ${i}`);
      });
      x.grad?.dispose();
      for (const t of [x, kpm]) t.dispose();
      mha.dispose();
    }
  });

  it('dropout on the weights: random in training, off in eval', () => {
    toroid.manualSeed(8);
    const mha = new MultiheadAttention(8, 2, { dropout: 0.5, backend });
    const x = randn([1, 6, 8], backend);
    toroid.tidy(() => {
      for (const needWeights of [false, true]) {
        const a = mha.forward(x, x, x, { needWeights }).output, b = mha.forward(x, x, x, { needWeights }).output;
        expect(Array.from(a.toTypedArray())).not.toEqual(Array.from(b.toTypedArray()));
      }
      mha.eval();
      const c = mha.forward(x, x, x).output, d = mha.forward(x, x, x, { needWeights: true }).output;
      expectClose(c.toTypedArray(), d.toTypedArray(), TOL, 'eval');
    });
    x.dispose();
    mha.dispose();
  });

  it('bad arguments', () => {
    const M = 'MultiheadAttention';
    expectError(() => new MultiheadAttention(10, 4, { backend }), RangeError, M, 'embedDim');
    expectError(() => new MultiheadAttention(0, 1, { backend }), RangeError, M, 'embedDim');
    expectError(() => new MultiheadAttention('8' as never, 2, { backend }), TypeError, M, 'embedDim');
    expectError(() => new MultiheadAttention(8, 0, { backend }), RangeError, M, 'numHeads');
    expectError(() => new MultiheadAttention(8, 4, { numKvHeads: 3, backend }), RangeError, M, 'options.numKvHeads');
    expectError(() => new MultiheadAttention(8, 4, { numKvHeads: 0, backend }), RangeError, M, 'options.numKvHeads');
    expectError(() => new MultiheadAttention(8, 2, { dropout: 1, backend }), RangeError, M, 'options.dropout');
    expectError(() => new MultiheadAttention(8, 2, { dropout: '0.1' as never, backend }), TypeError, M, 'options.dropout');
    expectError(() => new MultiheadAttention(8, 2, { batchFirst: false, backend }), TypeError, M, 'options.batchFirst');
    expectError(() => new MultiheadAttention(8, 2, { bias: 1 as never, backend }), TypeError, M, 'options.bias');
    expectError(() => new MultiheadAttention(8, 2, { kdim: 4 } as never), RangeError, M, 'options');
    expectError(() => new MultiheadAttention(8, 4, { numKvHeads: 2, packed: true, backend }), TypeError, M, 'options.packed');

    const f = 'MultiheadAttention.forward';
    const mha = new MultiheadAttention(8, 2, { backend });
    toroid.tidy(() => {
      const x = randn([2, 3, 8], backend);
      expectError(() => mha.forward(randn([3, 8], backend), x, x), RangeError, f, 'query');
      expectError(() => mha.forward(randn([2, 3, 4], backend), x, x), RangeError, f, 'query');
      expectError(() => mha.forward(x, randn([1, 3, 8], backend), x), RangeError, f, 'key');
      expectError(() => mha.forward(x, x, randn([2, 4, 8], backend)), RangeError, f, 'value');
      expectError(() => mha.forward(x, x, 'v' as never), TypeError, f, 'value');
      expectError(() => mha.forward(x, x, x, { keyPaddingMask: randn([2, 3], backend) }), TypeError, f, 'options.keyPaddingMask');
      expectError(() => mha.forward(x, x, x, { keyPaddingMask: bool([[0, 0]], backend) }), RangeError, f, 'options.keyPaddingMask');
      expectError(() => mha.forward(x, x, x, { attnMask: bool([[0, 0, 0]], backend) }), RangeError, f, 'options.attnMask');
      expectError(() => mha.forward(x, x, x, { attnMask: toroid.zeros([3, 3], { dtype: 'int32', backend }) }), TypeError, f, 'options.attnMask');
      expectError(() => mha.forward(x, x, x, { attnMask: toroid.zeros([3, 3, 3], { backend }) }), RangeError, f, 'options.attnMask');
      expectError(() => mha.forward(x, x, x, { isCausal: 'yes' as never }), TypeError, f, 'options.isCausal');
      expectError(() => mha.forward(x, x, x, { needWeights: 1 as never }), TypeError, f, 'options.needWeights');
      expectError(() => mha.forward(x, x, x, { weights: true } as never), RangeError, f, 'options');
    });
    mha.dispose();
  });
});

describe('nn.MultiheadAttention gradcheck [ts, float64]', () => {
  it.skipIf(!supportsDType('ts', 'float64'))('float64: w.r.t. the input, both paths and through the weights, with masks', () => {
    toroid.manualSeed(10);
    const mha = new MultiheadAttention(4, 2, { backend: 'ts', dtype: 'float64' });
    const x = randLeaf([2, 3, 4]);
    const kpm = toroid.tensor([[0, 0, 1], [0, 0, 0]], { dtype: 'bool', backend: 'ts' });
    for (const needWeights of [false, true]) {
      gradcheck((t) => mha.forward(t, t, t, { isCausal: true, keyPaddingMask: kpm, needWeights }).output, [x]);
    }
    // batch 1 with key 0 padded: causal query 0 sees no key, so its weights and their gradient are 0
    const empty = toroid.tensor([[0, 0, 1], [1, 0, 0]], { dtype: 'bool', backend: 'ts' });
    for (const averageAttnWeights of [true, false]) {
      gradcheck((t) => mha.forward(t, t, t, { isCausal: true, keyPaddingMask: empty, needWeights: true, averageAttnWeights }).weights!, [x]);
    }
    for (const m of [kpm, empty]) m.dispose();
    x.dispose();
    mha.dispose();
  });

  it.skipIf(!supportsDType('ts', 'float64'))('float64 cross-attention: w.r.t. query, key, value and the packed in_proj_weight/bias', () => {
    toroid.manualSeed(11);
    const mha = new MultiheadAttention(4, 2, { backend: 'ts', dtype: 'float64' });
    toroid.noGrad(() => toroid.nn.init.uniform_(mha.inProjBias!, -0.5, 0.5));
    const q = randLeaf([2, 2, 4]), k = randLeaf([2, 3, 4]), v = randLeaf([2, 3, 4]);
    const w = mha.inProjWeight!, b = mha.inProjBias!;
    for (const needWeights of [false, true]) {
      gradcheck((wq, bq, tq, tk, tv) => {
        void wq; void bq;
        return mha.forward(tq!, tk!, tv!, { needWeights }).output;
      }, [w, b, q, k, v]);
      // key === value takes the fused k|v projection
      gradcheck((wq, tq, tk) => {
        void wq;
        return mha.forward(tq!, tk!, tk!, { needWeights }).output;
      }, [w, q, k]);
    }
    for (const t of [q, k, v]) t.dispose();
    mha.dispose();
  });

  it.skipIf(!supportsDType('ts', 'float64'))('float64 GQA: w.r.t. the input and every projection weight', () => {
    toroid.manualSeed(12);
    const mha = new MultiheadAttention(8, 4, { numKvHeads: 2, backend: 'ts', dtype: 'float64' });
    const x = randLeaf([1, 3, 8]);
    for (const needWeights of [false, true]) {
      gradcheck((t) => mha.forward(t!, t!, t!, { isCausal: true, needWeights }).output, [x, mha.qProj!.weight, mha.kProj!.weight, mha.vProj!.weight]);
    }
    x.dispose();
    mha.dispose();
  });
});
