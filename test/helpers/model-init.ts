// Seeded model init, checked the same way for every whole model (GPT, BertEncoder): the
// state dict as plain numbers, the spread of a parameter, and reproducibility from one seed.
import { expect } from 'vitest';
import * as toroid from '../../src/index.js';

/** Every state-dict entry as plain numbers, so two models compare bitwise with toEqual. */
export function bits(m: toroid.nn.Module): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.toTypedArray())]));
}

/** Population standard deviation of a tensor's values. */
export function std(t: toroid.Tensor): number {
  const v = t.toTypedArray();
  let s = 0, s2 = 0;
  for (const x of v) { s += x; s2 += x * x; }
  const mean = s / v.length;
  return Math.sqrt(s2 / v.length - mean * mean);
}

/**
 * manualSeed(seed) before each build gives bitwise the same model, twice on `backend` and once
 * on ts (a seed means one model on every backend); a fourth build without reseeding differs in
 * `key`. Returns the first model (the caller disposes it) and its bits; the others are disposed.
 */
export function expectSeededInit<M extends toroid.nn.Module>(build: (backend: string) => M, backend: string, seed: number, key: string): { model: M; state: Record<string, number[]> } {
  toroid.manualSeed(seed);
  const model = build(backend);
  toroid.manualSeed(seed);
  const again = build(backend);
  toroid.manualSeed(seed);
  const onTs = build('ts');
  const state = bits(model);
  expect(bits(again)).toEqual(state);
  expect(bits(onTs)).toEqual(state);
  const unseeded = build(backend);
  expect(bits(unseeded)[key]).not.toEqual(state[key]);
  for (const m of [again, onTs, unseeded]) m.dispose();
  return { model, state };
}
