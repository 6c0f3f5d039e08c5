// The suite is written once and runs on every registered backend (ts now;
// cpu and cuda register themselves when their addon loads).
import { describe } from 'vitest';
import * as toroid from '../../src/index.js';
import type { DType } from '../../src/index.js';

export function backendsUnderTest(): string[] {
  const only = process.env.TOROID_TEST_BACKENDS;
  const all = toroid.listBackends();
  return only ? all.filter((b) => only.split(',').includes(b)) : all;
}

/** describe(`<title> [<backend>]`) once per backend. */
export function describeEachBackend(title: string, body: (backend: string) => void): void {
  for (const backend of backendsUnderTest()) describe(`${title} [${backend}]`, () => body(backend));
}

/**
 * Whether `backend` can hold tensors of `dtype` (the native cpu backend has no
 * float64). Use it with `it.skipIf(!supportsDType(backend, 'float64'))` so a
 * dtype the backend lacks shows up as skipped, never as a silent pass.
 */
export function supportsDType(backend: string, dtype: DType): boolean {
  return toroid.getBackend(backend).supportsDType(dtype);
}

/** The dtypes `backend` supports, in the order given (all by default). */
export function dtypesOf(backend: string, dtypes: readonly DType[] = ['float32', 'float64', 'int32', 'bool']): DType[] {
  return dtypes.filter((d) => supportsDType(backend, d));
}
