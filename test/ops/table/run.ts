// Running one OpSpec: tensors from host data, the forward, the backward from an upstream
// gradient, and host copies of the output and of every input gradient (named d<input>).
import * as toroid from '../../../src/index.js';
import type { Rng } from '../../helpers/random.js';
import type { AnyOpSpec, InputDef, Tensor } from './types.js';

export type HostData = Record<string, Float32Array | Int32Array | Uint8Array>;
export type Outputs = Record<string, Float32Array>;

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function takesGrad(def: InputDef): boolean {
  return (def.kind ?? 'float') === 'float' && def.grad !== false;
}

/** Host data for every input in draw order, then the upstream gradient `dy` of `outShape`. */
export function drawInputs(spec: AnyOpSpec, p: unknown, rng: Rng, outShape: readonly number[]): HostData {
  const data: HostData = {};
  for (const def of spec.inputs(p)) {
    const n = sizeOf(def.shape);
    data[def.name] = def.fill ? def.fill(rng, n) : rng.randn(n);
  }
  data.dy = rng.randn(sizeOf(outShape));
  return data;
}

/** Forward and backward of `spec` on `backend` in `dtype`; returns the output (y) and d<input> (float32 copies). */
export function runOp(spec: AnyOpSpec, p: unknown, data: HostData, backend: string, dtype: toroid.DType = 'float32'): Outputs {
  return toroid.tidy(() => {
    const t: Record<string, Tensor> = {};
    const defs = spec.inputs(p);
    for (const def of defs) {
      const kind = def.kind ?? 'float';
      t[def.name] = toroid.tensor(data[def.name]!, {
        shape: def.shape, backend, dtype: kind === 'float' ? dtype : kind, requiresGrad: takesGrad(def),
      });
    }
    const y = spec.forward(p, t);
    if (y.shape.join() !== spec.outShape(p).join()) throw new Error(`${spec.name}: output shape [${y.shape}], expected [${spec.outShape(p)}]`);
    y.backward(toroid.tensor(data.dy!, { shape: y.shape, backend, dtype }));
    const out: Outputs = { [spec.output ?? 'y']: y.toFloat32Array() };
    for (const def of defs) {
      if (!takesGrad(def)) continue;
      if (t[def.name]!.grad === null) throw new Error(`${spec.name}: no gradient reached ${def.name}`);
      out[`d${def.name}`] = t[def.name]!.grad!.toFloat32Array();
    }
    return out;
  });
}
