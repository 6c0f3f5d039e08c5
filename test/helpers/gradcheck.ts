// Central finite differences in float64 on the ts backend: the analytic gradient of
// L = sum(f(inputs) * w), w a fixed random projection so every output element counts,
// against (L(x + h e_i) - L(x - h e_i)) / 2h for every input element.
import { expect } from 'vitest';
import * as toroid from '../../src/index.js';

export interface GradcheckOptions { h?: number; atol?: number; rtol?: number }

export function gradcheck(fn: (...inputs: toroid.Tensor[]) => toroid.Tensor, inputs: toroid.Tensor[], options: GradcheckOptions = {}): void {
  const h = options.h ?? 1e-6, atol = options.atol ?? 1e-6, rtol = options.rtol ?? 1e-5;
  for (const x of inputs) {
    if (x.dtype !== 'float64' || x.device !== 'ts') throw new Error('gradcheck needs float64 inputs on the ts backend');
  }
  // tidy: the probe and whatever fn makes on the way are released here
  const probeShape = toroid.noGrad(() => toroid.tidy(() => fn(...inputs).shape.slice()));
  const w = toroid.randn(probeShape, { dtype: 'float64', backend: 'ts' });
  const objective = (): number => toroid.noGrad(() => toroid.tidy(() => fn(...inputs).mul(w).sum().item()));

  for (const x of inputs) {
    x.grad?.dispose();
    x.grad = null;
  }
  toroid.tidy(() => fn(...inputs).mul(w).sum().backward());

  inputs.forEach((x, n) => {
    if (!x.requiresGrad) return;
    const analytic = x.grad?.toTypedArray() ?? new Float64Array(x.size);
    // the ts backend's storage is the Float64Array itself: perturb it in place
    const data = x.data as Float64Array;
    for (let i = 0; i < data.length; i++) {
      const saved = data[i]!;
      data[i] = saved + h;
      const up = objective();
      data[i] = saved - h;
      const down = objective();
      data[i] = saved;
      const numeric = (up - down) / (2 * h);
      const a = analytic[i]!;
      if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
        expect.fail(`gradcheck: input ${n} element ${i}: analytic ${a}, numeric ${numeric}`);
      }
    }
  });
  w.dispose();
}

/** Random float64 leaf on the ts backend. */
export function randLeaf(shape: number[], scale = 1, requiresGrad = true): toroid.Tensor {
  return toroid.tidy(() => {
    const t = toroid.randn(shape, { dtype: 'float64', backend: 'ts' }).mul(scale);
    const leaf = t.detach();
    leaf.requiresGrad = requiresGrad;
    return leaf;
  });
}
