// Fuzzes the TypeScript API the way users call it: every F op (and backward through
// it) with random shapes, dtypes, option values and disposed tensors, on every backend.
// Contract: a call returns a Tensor, or throws a TypeError/RangeError in toroid's format
// ("toroid.<fn>: <arg> must be ..."), never a raw engine error ("Cannot read
// properties of undefined", "Invalid typed array length") and never a crash; when
// every input and output is disposed afterwards, toroid.memory() is back where it was
// (a throw leaks nothing), and at least a fifth of the calls succeed (so the fuzzer
// cannot pass by stopping every call at the first check).
import fc from 'fast-check';
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { F, type Tensor } from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';

const RUNS = Number(process.env.FUZZ_API_RUNS ?? 1500);
const TOROID_ERROR = /^toroid\.[\w.]+: /;

type DT = 'float32' | 'bfloat16' | 'int32' | 'bool' | 'float64';
interface TSpec { shape: number[]; dtype: DT; disposed: boolean; grad: boolean }

const dim = fc.integer({ min: 0, max: 4 });
const shapeArb = fc.array(fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }) }), { maxLength: 4 });
const dtypeArb = fc.constantFrom<DT>('float32', 'float32', 'float32', 'float32', 'float32', 'bfloat16', 'int32', 'bool', 'float64');
const tspec = fc.record({ shape: shapeArb, dtype: dtypeArb, disposed: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 9, arbitrary: fc.constant(false) }), grad: fc.boolean() });
const scalar = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom(0.1, 0.5, 1, NaN, Infinity, -1, 2 ** 40, 1.5), fc.constantFrom<unknown>(undefined, null, 'x', true, [1], {}));

type Op = { name: string; tensors: number; call: (ts: Tensor[], s: unknown[]) => unknown };
const OPS: Op[] = [
  { name: 'matmul', tensors: 2, call: ([a, b]) => F.matmul(a!, b!) },
  { name: 'linear', tensors: 3, call: ([x, w, b], s) => F.linear(x!, w!, s[0] === true ? b : undefined) },
  { name: 'layerNorm', tensors: 3, call: ([x, w, b], s) => F.layerNorm(x!, [x!.shape.at(-1) ?? (s[0] as number)], w, b) },
  { name: 'rmsNorm', tensors: 2, call: ([x, w]) => F.rmsNorm(x!, [x!.shape.at(-1) ?? 1], w) },
  { name: 'relu', tensors: 1, call: ([x]) => F.relu(x!) },
  { name: 'gelu', tensors: 1, call: ([x]) => F.gelu(x!) },
  { name: 'silu', tensors: 1, call: ([x]) => F.silu(x!) },
  { name: 'swiglu', tensors: 1, call: ([x]) => F.swiglu(x!) },
  { name: 'softmax', tensors: 1, call: ([x], s) => F.softmax(x!, s[0] as number) },
  { name: 'logSoftmax', tensors: 1, call: ([x], s) => F.logSoftmax(x!, s[0] as number) },
  { name: 'dropout', tensors: 1, call: ([x], s) => F.dropout(x!, s[0] as number, true) },
  { name: 'embedding', tensors: 2, call: ([ids, w]) => F.embedding(ids!, w!) },
  { name: 'crossEntropy', tensors: 2, call: ([l, t], s) => F.crossEntropy(l!, t!, typeof s[0] === 'number' ? { labelSmoothing: s[0] } : undefined) },
  { name: 'add', tensors: 2, call: ([a, b]) => F.add(a!, b!) },
  { name: 'mul', tensors: 2, call: ([a, b]) => F.mul(a!, b!) },
  { name: 'div', tensors: 2, call: ([a, b]) => F.div(a!, b!) },
  { name: 'scale', tensors: 1, call: ([x], s) => F.scale(x!, s[0] as number) },
  { name: 'sum', tensors: 1, call: ([x], s) => F.sum(x!, s[0] as number) },
  { name: 'mean', tensors: 1, call: ([x]) => F.mean(x!) },
  { name: 'reshape', tensors: 1, call: ([x], s) => F.reshape(x!, [s[0] as number, -1]) },
  { name: 'transpose', tensors: 1, call: ([x], s) => F.transpose(x!, s[0] as number, s[1] as number) },
  { name: 'permute', tensors: 1, call: ([x]) => F.permute(x!, x!.shape.map((_, i) => x!.shape.length - 1 - i)) },
  { name: 'cast', tensors: 1, call: ([x], s) => F.cast(x!, (['float32', 'bfloat16', 'int32', 'bool', 'float64', s[0]] as unknown[])[Math.abs(Number(s[1]) | 0) % 6] as 'float32') },
  { name: 'narrow', tensors: 1, call: ([x], s) => F.narrow(x!, s[0] as number, s[1] as number, 1) },
  { name: 'cat', tensors: 2, call: ([a, b], s) => F.cat([a!, b!], s[0] as number) },
  { name: 'scaledDotProductAttention', tensors: 3, call: ([q, k, v], s) => F.scaledDotProductAttention(q!, k!, v!, { isCausal: s[0] === true }) },
];

// shapes that fit each other more often than chance: tensors after the first take the first's shape 3 times in 4
const caseArb = fc.record({
  op: fc.nat(OPS.length - 1),
  specs: fc.array(tspec, { minLength: 3, maxLength: 3 }),
  share: fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), { minLength: 3, maxLength: 3 }),
  scalars: fc.array(scalar, { minLength: 2, maxLength: 2 }),
  backward: fc.boolean(),
});

function make(spec: TSpec, backend: string): Tensor {
  const dtype = spec.dtype;
  const t = dtype === 'int32' || dtype === 'bool'
    ? toroid.zeros(spec.shape, { dtype, backend })
    : toroid.randn(spec.shape, { dtype, backend, requiresGrad: spec.grad });
  if (spec.disposed) t.dispose();
  return t;
}

describeEachBackend('TypeScript API fuzzing', (backend) => {
  it(`${RUNS} random F calls (and backward): a Tensor or a toroid error, nothing leaked`, () => {
    let ok = 0;
    let threw = 0;
    toroid.manualSeed(1);
    fc.assert(
      fc.property(caseArb, ({ op, specs, share, scalars, backward }) => {
        const entry = OPS[op]!;
        const before = toroid.memory().liveBytes;
        const resolved = specs.slice(0, entry.tensors).map((s, i) => (i > 0 && share[i] ? { ...s, shape: specs[0]!.shape } : s));
        const supported = resolved.map((s) => toroid.getBackend(backend).supportsDType(s.dtype) ? s : { ...s, dtype: 'float32' as DT });
        const inputs = supported.map((s) => make(s, backend));
        let out: unknown;
        try {
          out = entry.call(inputs, scalars);
          if (backward && out instanceof toroid.Tensor && out.requiresGrad && !out.isDisposed) {
            const wide = F.cast(out, 'float32');
            const loss = F.sum(wide);
            loss.backward();
            loss.dispose();
            if (wide !== out) wide.dispose();
          }
          ok++;
        } catch (e) {
          threw++;
          if (!(e instanceof TypeError || e instanceof RangeError) || !TOROID_ERROR.test(e.message)) {
            throw new Error(`${entry.name}: not a toroid TypeError/RangeError: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}\n${(e as Error).stack ?? ''}`);
          }
        } finally {
          const outs = Array.isArray(out) ? out : [out];
          for (const o of outs) if (o instanceof toroid.Tensor) o.dispose();
          for (const t of inputs) {
            t.grad?.dispose();
            t.dispose();
          }
        }
        const after = toroid.memory().liveBytes;
        if (after !== before) throw new Error(`${entry.name}: ${after - before} bytes still live after disposing every input and output`);
      }),
      { numRuns: RUNS, seed: 20_261_207 },
    );
    if (process.env.FUZZ_API_VERBOSE === "1") console.log(`${backend}: ${ok} returned, ${threw} threw`);
    expect(ok + threw).toBe(RUNS);
    expect(ok, `calls that returned (of ${RUNS}; ${threw} threw)`).toBeGreaterThanOrEqual(RUNS / 5);
  });
});
