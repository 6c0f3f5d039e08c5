import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { expectClose } from '../helpers/compare.js';
import { gradcheck, randLeaf } from '../helpers/gradcheck.js';

const { F } = toroid;

describeEachBackend('tanh', (backend) => {
  it('forward and backward match Math.tanh and 1 - tanh^2, small and saturated inputs', () => {
    toroid.tidy(() => {
      const values = [-30, -5, -1, -0.3, -1e-3, 0, 1e-4, 0.04, 0.5, 2, 9, 40];
      const x = toroid.tensor(values, { backend, requiresGrad: true });
      const y = F.tanh(x);
      expectClose(y.toFloat32Array(), values.map(Math.tanh), { atol: 1e-7, rtol: 1e-6 }, 'tanh');
      y.backward(toroid.ones([values.length], { backend }));
      expectClose(x.grad!.toFloat32Array(), values.map((v) => 1 - Math.tanh(v) ** 2), { atol: 1e-7, rtol: 1e-5 }, 'dtanh');
    });
  });
});

describe('tanh gradient vs finite differences (float64, ts)', () => {
  it('tanh', () => gradcheck((x) => F.tanh(x!), [randLeaf([3, 4], 2)]));
});

describe('tanh bad inputs', () => {
  const cases: Array<[string, () => unknown, ErrorConstructor]> = [
    ['non-tensor', () => F.tanh(3 as unknown as toroid.Tensor), TypeError],
    ['null', () => F.tanh(null as unknown as toroid.Tensor), TypeError],
    ['int32', () => F.tanh(toroid.tensor([1], { dtype: 'int32' })), TypeError],
    ['bool', () => F.tanh(toroid.tensor([1], { dtype: 'bool' })), TypeError],
    ['disposed', () => { const t = toroid.tensor([1]); t.dispose(); return F.tanh(t); }, TypeError],
  ];
  for (const [title, run, type] of cases) {
    it(title, () => {
      let error: unknown;
      try { run(); } catch (err) { error = err; }
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(/^toroid\.tanh: x must be .*, got /);
    });
  }
});
