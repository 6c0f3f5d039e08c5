// toroid.autocast: mixed precision by op, PyTorch's CPU autocast policy.
//   matrix products (linear, matmul, attention) -> their float32 inputs are cast to the
//     autocast dtype and run there (float32 accumulation inside the kernels); outputs bf16;
//   crossEntropy -> bf16 logits are cast up to float32 first; its loss is float32;
//   everything else runs in the dtype it is given (norms and softmax keep float32
//   statistics inside their kernels; a bf16 + float32 sum promotes to float32).
// Parameters stay float32 (master weights). The bf16 copy of a leaf that requires a
// gradient (a parameter) is made once per outermost autocast region, not once per use,
// and freed when that region ends; the graph keeps what backward needs.
import { typeError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { keep } from '../tensor/scope.js';
import type { FloatDType } from '../util/dtype.js';
import { checkBoolean, checkFunction, checkObject, checkKnownKeys, checkOneOf, isTensor } from '../validate/checks.js';
import { cast as castTo } from './layout.js';

export interface AutocastOptions {
  /** The dtype matrix products run in. Default 'bfloat16' (the only one on the cpu so far). */
  dtype?: 'bfloat16';
  /** false turns autocast off inside an enclosing region. Default true. */
  enabled?: boolean;
}

interface Region { dtype: FloatDType | null }

const regions: Region[] = [];
/** Leaf -> its cast copy, for the outermost region's lifetime. */
let weightCasts = new Map<Tensor, Tensor>();

/** Run fn with autocast on (or off, with enabled: false); nestable; fn must be synchronous. */
export function autocast<R>(options: AutocastOptions, fn: () => R): R {
  const opts = checkObject('autocast', 'options', options);
  checkKnownKeys('autocast', 'options', opts, ['dtype', 'enabled']);
  const dtype = checkOneOf('autocast', 'options.dtype', opts.dtype, ['bfloat16'] as const, 'bfloat16');
  const enabled = checkBoolean('autocast', 'options.enabled', opts.enabled, true);
  const body = checkFunction<() => R>('autocast', 'fn', fn);
  regions.push({ dtype: enabled ? dtype : null });
  let result: R;
  try {
    result = body();
  } finally {
    regions.pop();
    if (regions.length === 0) releaseWeightCasts();
  }
  if (result instanceof Promise) {
    throw typeError('autocast', 'fn', 'a synchronous function (the region ends when it returns)', 'a function that returned a Promise');
  }
  return result;
}

/** The dtype matrix products run in now, or null outside autocast (or where it is turned off). */
export function autocastDType(): FloatDType | null {
  return regions.length === 0 ? null : regions[regions.length - 1]!.dtype;
}

function releaseWeightCasts(): void {
  const casts = weightCasts;
  weightCasts = new Map();
  for (const t of casts.values()) t.dispose();
}

/**
 * Under autocast, run `op` on `ts` with their float32 members cast to the autocast dtype
 * (leaves that require a gradient through the region's cache); null when nothing is cast,
 * so the caller goes on as it is. The fresh casts are disposed once op has recorded them.
 */
export function underProductCast<R>(ts: ReadonlyArray<Tensor | null>, op: (...cast: Array<Tensor | null>) => R): R | null {
  const dtype = autocastDType();
  // only live float32 tensors: anything else reaches the op's own checks as it is
  const castable = (t: unknown): t is Tensor => isTensor(t) && !t.isDisposed && t.dtype === 'float32';
  if (dtype === null || !ts.some(castable)) return null;
  const owned: Tensor[] = [];
  const cast = ts.map((t) => {
    if (!castable(t)) return t;
    if (t.gradFn === null && t.requiresGrad) return cachedCast(t, dtype);
    const c = castTo(t, dtype);
    owned.push(c);
    return c;
  });
  try {
    return op(...cast);
  } finally {
    for (const t of owned) t.dispose();
  }
}

/** Under autocast, run `op` on a bf16 tensor cast up to float32 (the ops PyTorch keeps in float32: cross-entropy); null otherwise. */
export function underFloat32Cast<R>(t: Tensor, op: (wide: Tensor) => R): R | null {
  if (autocastDType() === null || !isTensor(t) || t.isDisposed || t.dtype !== 'bfloat16') return null;
  const wide = castTo(t, 'float32');
  try {
    return op(wide);
  } finally {
    wide.dispose();
  }
}

function cachedCast(t: Tensor, dtype: FloatDType): Tensor {
  const hit = weightCasts.get(t);
  if (hit !== undefined && !hit.isDisposed) return hit;
  // kept out of tidy() scopes: the region owns it until it ends
  const c = keep(castTo(t, dtype));
  weightCasts.set(t, c);
  return c;
}

/**
 * Forget the cast copies of tensors about to change in place (an optimizer step inside
 * an autocast region): the next product casts them afresh.
 */
export function dropAutocastCopies(ts: Iterable<Tensor>): void {
  for (const t of ts) {
    weightCasts.get(t)?.dispose();
    weightCasts.delete(t);
  }
}
