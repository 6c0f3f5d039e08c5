// Whole-model PyTorch fixtures (test/fixtures/generate_models.py, generate_bert.py): the
// model's config and parameter names in the metadata, inputs and float64 expectations beside.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as toroid from '../../src/index.js';
import { readSafetensorsFileSync, type RawTensor } from '../../src/io/safetensors.js';
import { expectClose } from './compare.js';

const MODELS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'models');

export interface ModelFixture {
  config: Record<string, unknown> & { params: string[] };
  tensors: Map<string, RawTensor>;
}

const cache = new Map<string, ModelFixture>();

/** test/fixtures/models/<name>.safetensors, read once per process. */
export function modelFixture(name: string): ModelFixture {
  let fx = cache.get(name);
  if (fx === undefined) {
    const contents = readSafetensorsFileSync(path.join(MODELS, `${name}.safetensors`));
    fx = { config: JSON.parse(contents.metadata.config!), tensors: contents.tensors };
    cache.set(name, fx);
  }
  return fx;
}

export function raw(fx: ModelFixture, name: string): RawTensor {
  const t = fx.tensors.get(name);
  if (t === undefined) throw new Error(`fixture: missing ${name}`);
  return t;
}

export function f64(fx: ModelFixture, name: string): Float64Array {
  return raw(fx, name).data as Float64Array;
}

export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

/** float32: ~1e-5 abs + 1e-4 rel, the abs part scaled to the tensor's largest magnitude; float64: 1e-12 of the max + 1e-10 rel. */
export function expectTensorClose(actual: ArrayLike<number>, expected: Float64Array, dtype: string, label: string): void {
  const m = Math.max(maxAbs(expected), 1e-30);
  const tol = dtype === 'float64' ? { atol: 1e-12 * m, rtol: 1e-10 } : { atol: 1e-5 * m, rtol: 1e-4 };
  expectClose(actual, expected, tol, label);
}

/** The fixture's parameters (config.params) as tensors on `backend` in `dtype`. */
export function fixtureStateDict(fx: ModelFixture, backend: string, dtype: 'float32' | 'float64'): Record<string, toroid.Tensor> {
  const out: Record<string, toroid.Tensor> = {};
  for (const name of fx.config.params) {
    const r = raw(fx, name);
    out[name] = toroid.tensor(r.data as Float32Array, { shape: r.shape, dtype, backend });
  }
  return out;
}

export function int32Input(fx: ModelFixture, name: string, backend: string): toroid.Tensor {
  const r = raw(fx, name);
  return toroid.tensor(r.data as Int32Array, { shape: r.shape, dtype: 'int32', backend });
}
