import { describeShape, rangeError } from '../errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** Row-major strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i]!;
  }
  return strides;
}

/** Numpy broadcasting of two shapes, or undefined when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Resolve a possibly negative axis against a rank; throws a RangeError naming fn and arg. */
export function normalizeAxis(fn: string, arg: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw rangeError(fn, arg, `an integer in [${-rank}, ${rank - 1}]`, String(axis));
  }
  return axis < 0 ? axis + rank : axis;
}

export function checkShapeArg(fn: string, arg: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
    throw rangeError(fn, arg, 'an array of non-negative integers', Array.isArray(shape) ? describeShape(shape) : String(shape));
  }
  return shape.slice();
}

/** Split a shape into (outer, axis, inner) extents around one axis. */
export function splitAt(shape: Shape, axis: number): { outer: number; dim: number; inner: number } {
  return {
    outer: sizeOf(shape.slice(0, axis)),
    dim: shape[axis]!,
    inner: sizeOf(shape.slice(axis + 1)),
  };
}
