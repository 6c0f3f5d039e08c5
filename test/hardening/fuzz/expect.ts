// What a fuzzed call must do, read off its plan, so the fuzzer can fail in both
// directions: a valid call (the unmutated base) must return, and a call that hands
// a kernel a tensor whose storage is freed or shorter than its shape must throw,
// naming that argument when it is the only one changed from the base.
import fc from 'fast-check';
import type { Plan, Spec, TensorSpec } from './plan.js';

export type Expectation =
  | { kind: 'ok' }
  | { kind: 'throw'; why: string; arg: number | null; errorClass: 'TypeError' | 'RangeError' }
  | { kind: 'any' };

const DTYPES = new Set(['float32', 'bfloat16', 'int32', 'bool']);

/** Exports whose base call needs state the fuzzer does not set up (a joined collective). */
const NEEDS_SETUP = new Set(['distributedInit', 'distributedUniqueId', 'allReduceStart', 'broadcastStart', 'collectiveWait', 'allReduceHost', 'collectiveBarrier']);

/** Why a tensor argument can never be valid (its storage is freed or too short), or null. */
function brokenTensor(s: Spec): string | null {
  // 'a freed storage' is a TypeError (not a storage any more), the others RangeErrors
  if (s.k === 'list') {
    for (const item of s.items) {
      const why = brokenTensor(item);
      if (why !== null) return why;
    }
    return null;
  }
  if (s.k !== 'tensor') return null;
  const t = s as TensorSpec;
  if (t.omit !== undefined || t.evil !== undefined || t.data.k !== 'store') return null;
  if (t.data.freed) return 'a freed storage';
  const shape = t.shape;
  if (typeof t.dtype !== 'string' || !DTYPES.has(t.dtype) || t.data.dtype !== t.dtype) return null;
  if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) return null;
  const size = (shape as number[]).reduce((a, b) => a * b, 1);
  return t.data.n < size ? `a storage of ${t.data.n} elements for shape [${shape.join(',')}]` : null;
}

// fast-check's printer: NaN, -0, bigints and undefined stay distinct (JSON would merge them)
const same = (a: Spec | undefined, b: Spec | undefined) => fc.stringify(a) === fc.stringify(b);

/** Whether the plan is its generator's unmutated base call. */
export function isBase(plan: Plan): boolean {
  return plan.args === plan.base || (plan.args.length === plan.base.length && plan.args.every((a, i) => same(a, plan.base[i])));
}

/**
 * `arity`: how many arguments the export reads (extra ones are ignored, as JS functions do).
 * `setUp`: exports of NEEDS_SETUP whose state the caller did set up (a joined collective).
 */
export function expectationOf(plan: Plan, arity: number, setUp: ReadonlySet<string> = new Set()): Expectation {
  if (isBase(plan)) {
    if (NEEDS_SETUP.has(plan.fn) && !setUp.has(plan.fn)) return { kind: 'any' };
    const ids = plan.args.findIndex((a) => a.k === 'tensor' && a.data.k === 'store' && a.data.outOfRange === true && a.data.n > 0);
    return ids >= 0 ? { kind: 'throw', why: 'ids or targets out of range', arg: ids, errorClass: 'RangeError' } : { kind: 'ok' };
  }
  const broken = plan.args.slice(0, arity).map(brokenTensor);
  const first = broken.findIndex((w) => w !== null);
  if (first < 0) return { kind: 'any' };
  const changed = plan.args.length === plan.base.length ? plan.args.map((a, i) => !same(a, plan.base[i])) : null;
  // the error must name this argument, with the class of its fault, when only its storage changed
  const was = plan.base[first];
  const now = plan.args[first] as TensorSpec;
  const onlyData = was !== undefined && was.k === 'tensor' && fc.stringify(was.shape) === fc.stringify(now.shape) && was.dtype === now.dtype;
  const onlyOne = onlyData && changed !== null && changed.filter(Boolean).length === 1 && changed[first] === true;
  return { kind: 'throw', why: broken[first]!, arg: onlyOne ? first : null, errorClass: broken[first] === 'a freed storage' ? 'TypeError' : 'RangeError' };
}
