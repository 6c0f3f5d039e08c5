// tidy(): tensors created inside a scope are disposed when it ends, except the
// ones it returns or keep()s. Deterministic release without manual bookkeeping.
import type { Tensor } from './tensor.js';

const scopes: Set<Tensor>[] = [];

export function trackTensor(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Exclude a tensor from the enclosing tidy() scopes so it outlives them. */
export function keep<T extends Tensor>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  return t;
}

export function tidy<R>(fn: () => R): R {
  if (typeof fn !== 'function') throw new TypeError(`toroid.tidy: fn must be a function, got ${typeof fn}`);
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: R;
  try {
    result = fn();
  } catch (err) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw err;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TypeError('toroid.tidy: fn must be synchronous, got a function that returned a Promise');
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept, 0);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

function collectTensors(value: unknown, into: Set<Tensor>, depth: number): void {
  if (value === null || typeof value !== 'object' || depth > 8) return;
  if (isTensor(value)) {
    into.add(value);
    // a tensor's gradient is returned along with it
    if (value.grad !== null) into.add(value.grad);
    return;
  }
  const items = value instanceof Map ? value.values() : Array.isArray(value) ? value : Object.values(value);
  for (const item of items) collectTensors(item, into, depth + 1);
}

function isTensor(value: object): value is Tensor {
  return (value as { __isTensor?: boolean }).__isTensor === true;
}
