// The suite is written once and runs on every registered backend (ts now;
// cpu and cuda register themselves when their addon loads).
import { describe } from 'vitest';
import * as toroid from '../../src/index.js';

export function backendsUnderTest(): string[] {
  const only = process.env.TOROID_TEST_BACKENDS;
  const all = toroid.listBackends();
  return only ? all.filter((b) => only.split(',').includes(b)) : all;
}

/** describe(`<title> [<backend>]`) once per backend. */
export function describeEachBackend(title: string, body: (backend: string) => void): void {
  for (const backend of backendsUnderTest()) describe(`${title} [${backend}]`, () => body(backend));
}
