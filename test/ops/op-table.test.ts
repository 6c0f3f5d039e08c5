// The op table's drivers (test/ops/table/): for every op, on every backend and in every dtype
// the op and the backend support, the PyTorch fixture (forward and every input gradient);
// the finite-difference checks in float64 on ts; and every invalid-input class.
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend, supportsDType } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { expectError } from '../helpers/expect-error.js';
import { loadFixture, type Fixture } from '../helpers/fixtures.js';
import { gradcheck, randLeaf } from '../helpers/gradcheck.js';
import { OP_TABLE } from './table/index.js';
import { takesGrad } from './table/run.js';
import type { AnyOpSpec, DType, Tensor } from './table/types.js';

const fixtures = new Map<string, Fixture | Error>();
function fixtureFile(file: string): Fixture | Error {
  if (!fixtures.has(file)) fixtures.set(file, loadFixture(file));
  return fixtures.get(file)!;
}

function fixtureCases(spec: AnyOpSpec, backend: string, dtype: DType): void {
  const source = spec.fixture!;
  const fixture = fixtureFile(source.file);
  if (fixture instanceof Error) {
    // a missing fixture file fails one test instead of the whole file
    it(`loads test/fixtures/${source.file}.safetensors`, () => {
      throw fixture;
    });
    return;
  }
  const names = fixture.caseNames(source.select);
  it('has fixture cases', () => expect(names.length).toBeGreaterThan(0));
  for (const name of names) {
    it(name, (ctx) => {
      const p = source.params(fixture.cases[name]!, (input) => [...fixture.raw(name, input).shape]);
      toroid.tidy(() => {
        const defs = spec.inputs(p);
        const t: Record<string, Tensor> = {};
        for (const def of defs) {
          const kind = def.kind ?? 'float';
          t[def.name] = fixture.input(name, def.name, backend, { requiresGrad: takesGrad(def), dtype: kind === 'float' ? dtype : kind });
        }
        const rule = spec.dtypes[dtype]!;
        const tol = typeof rule === 'function' ? rule(p, (input) => fixture.expected(name, input)) : rule;
        if (typeof tol === 'string') return ctx.skip(tol);
        const y = spec.forward(p, t);
        expect(y.shape, 'output shape').toEqual(spec.outShape(p));
        const output = spec.output ?? 'y';
        expectClose(y.toFloat32Array(), fixture.expected(name, output), tol, output);
        y.backward(fixture.input(name, 'dout', backend, { dtype }));
        for (const def of defs) {
          if (takesGrad(def)) expectClose(t[def.name]!.grad!.toFloat32Array(), fixture.expected(name, `d${def.name}`), tol, `d${def.name}`);
        }
        return [];
      });
    });
  }
}

for (const spec of OP_TABLE) {
  if (spec.fixture) describeEachBackend(`${spec.name} vs PyTorch`, (backend) => {
    for (const dtype of Object.keys(spec.dtypes) as DType[]) {
      // a backend without the dtype (cpu has no float64) leaves those rows out, as tfjs's envs do
      if (!supportsDType(backend, dtype)) continue;
      describe(dtype, () => fixtureCases(spec, backend, dtype));
    }
  });

  if (spec.gradcheck) {
    describe(`${spec.name} gradients vs finite differences (float64, ts)`, () => {
      for (const c of spec.gradcheck!) {
        it(c.title, () => {
          toroid.manualSeed(c.seed);
          const all = spec.inputs(c.p), defs = all.filter(takesGrad);
          const leaves = defs.map((def) => (c.leaf?.[def.name] ?? ((s: readonly number[]) => randLeaf([...s], c.scale ?? 1)))(def.shape));
          const fixed = Object.fromEntries(all.filter((def) => !takesGrad(def)).map((def) => [def.name,
            toroid.tensor(c.values![def.name]!, { shape: def.shape, dtype: def.kind === undefined || def.kind === 'float' ? 'float64' : def.kind, backend: 'ts' })]));
          gradcheck((...a) => spec.forward(c.p, { ...fixed, ...Object.fromEntries(defs.map((def, i) => [def.name, a[i]!])) }), leaves, c.options);
        });
      }
    });
  }

  if (spec.invalid) {
    describeEachBackend(`${spec.name} rejects bad input`, (backend) => {
      for (const c of spec.invalid!(backend)) {
        it.skipIf(Boolean(c.skip))(c.title, () => {
          expectError(c.call, c.kind, spec.fn ?? spec.name, c.arg, c.detail);
        });
      }
    });
  }
}
