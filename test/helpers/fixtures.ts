// Reads the PyTorch fixtures written by test/fixtures/generate.py (see its README):
// inputs are F32/I32, expected values F64, names are `<case>/<name>`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as toroid from '../../src/index.js';
import { readSafetensorsFileSync, type RawTensor } from '../../src/io/safetensors.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export class Fixture {
  readonly cases: Record<string, Record<string, unknown>>;
  private readonly tensors: Map<string, RawTensor>;

  constructor(readonly family: string) {
    const contents = readSafetensorsFileSync(path.join(FIXTURES, `${family}.safetensors`));
    this.tensors = contents.tensors;
    this.cases = JSON.parse(contents.metadata.cases ?? '{}');
  }

  caseNames(filter: (attrs: Record<string, unknown>) => boolean = () => true): string[] {
    return Object.keys(this.cases).filter((c) => filter(this.cases[c]!));
  }

  has(c: string, name: string): boolean {
    return this.tensors.has(`${c}/${name}`);
  }

  raw(c: string, name: string): RawTensor {
    const t = this.tensors.get(`${c}/${name}`);
    if (t === undefined) throw new Error(`fixture ${this.family}: missing ${c}/${name}`);
    return t;
  }

  /** An input as a tensor on `backend`: F32 -> float32 (or float64 when asked), I32 -> int32 or bool. */
  input(c: string, name: string, backend: string, options: { requiresGrad?: boolean; dtype?: toroid.DType } = {}): toroid.Tensor {
    const raw = this.raw(c, name);
    const dtype = options.dtype ?? (raw.dtype === 'I32' ? 'int32' : 'float32');
    const source = raw.data as Float32Array | Int32Array;
    return toroid.tensor(source, { shape: raw.shape, dtype, backend, requiresGrad: options.requiresGrad ?? false });
  }

  expected(c: string, name: string): Float64Array {
    const raw = this.raw(c, name);
    return raw.data instanceof Float64Array ? raw.data : Float64Array.from(raw.data as ArrayLike<number>);
  }
}

/** The fixture, or the error loading it: a missing file then fails one test instead of the whole file. */
export function loadFixture(family: string): Fixture | Error {
  try {
    return new Fixture(family);
  } catch (err) {
    return err as Error;
  }
}
