// Appending keys/values to a KV cache without copying the past each step.
//
// A cache entry { k, v, length } holds the first `length` positions of buffers
// [B,hkv,capacity,d]; attention reads only those (F.scaledDotProductAttention's kvLength).
// A step writes its new positions in place (F.writeNarrow) while there is room, and
// otherwise moves to a buffer of twice the capacity: O(1) amortised copying per position
// instead of the O(t) of F.cat, which made the copies a sixth of GPT decoding time.
//
// The old contract still holds: the returned entry's tensors are new handles (aliases of
// the same storage), so a caller may dispose `past` after each step; and an entry that
// was already extended once (a fork: two continuations of one prefix) is copied, not
// overwritten, because each buffer remembers how many positions were written to it.
import { isGradEnabled } from '../autograd/tape.js';
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { cat, narrow, writeNarrow } from '../ops/layout.js';
import { zeros } from '../tensor/create.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkTensor } from '../validate/checks.js';
import type { AttentionKV } from './attention.js';

/** Positions held by a cache entry: its `length`, or all of k's dim 2 for a plain { k, v }. */
export function cachedLength(kv: AttentionKV | null | undefined): number {
  return kv == null ? 0 : kv.length ?? kv.k.shape[2]!;
}

const MIN_CAPACITY = 16;

// positions written to each buffer storage (keyed by the storage handle, shared by aliases)
const written = new WeakMap<object, number>();

function canWriteAt(x: Tensor, length: number, needed: number): boolean {
  const data = x.data as object;
  const w = written.get(data);
  return x.shape[2]! >= needed && (w === undefined || w === length);
}

function grow(buffer: Tensor, length: number, capacity: number): Tensor {
  const shape = buffer.shape.slice();
  shape[2] = capacity;
  const out = zeros(shape, { dtype: buffer.dtype, backend: buffer.device });
  if (length > 0) {
    const held = length === buffer.shape[2] ? buffer : narrow(buffer, 2, 0, length);
    writeNarrow(out, held, 2, 0);
    if (held !== buffer) held.dispose();
  }
  return out;
}

/**
 * past + fresh ([B,hkv,T,d] each) along the time axis. Without gradients, a buffer entry
 * { k, v, length } (the same k and v while they have room, else new ones); with gradients,
 * plain F.cat (in-place writes are outside autograd). past is never disposed here.
 */
export function appendKeyValues(past: AttentionKV | null, fresh: AttentionKV): AttentionKV {
  const grad = isGradEnabled() && (fresh.k.requiresGrad || fresh.v.requiresGrad || past?.k.requiresGrad === true || past?.v.requiresGrad === true);
  if (grad) return past === null ? fresh : { k: cat([narrowTo(past.k, past), fresh.k], 2), v: cat([narrowTo(past.v, past), fresh.v], 2) };
  const t = cachedLength(past), T = fresh.k.shape[2]!, needed = t + T;
  let k: Tensor, v: Tensor;
  if (past !== null && past.length !== undefined && canWriteAt(past.k, t, needed) && canWriteAt(past.v, t, needed)) {
    k = past.k.alias();
    v = past.v.alias();
  } else {
    const capacity = Math.max(needed, 2 * (past?.k.shape[2] ?? 0), MIN_CAPACITY);
    k = past === null ? zerosLike(fresh.k, capacity) : grow(past.k, t, capacity);
    v = past === null ? zerosLike(fresh.v, capacity) : grow(past.v, t, capacity);
  }
  writeNarrow(k, fresh.k, 2, t);
  writeNarrow(v, fresh.v, 2, t);
  written.set(k.data as object, needed);
  written.set(v.data as object, needed);
  return { k, v, length: needed };
}

function zerosLike(x: Tensor, capacity: number): Tensor {
  const shape = x.shape.slice();
  shape[2] = capacity;
  return zeros(shape, { dtype: x.dtype, backend: x.device });
}

/** The valid positions of a cache tensor as a plain tensor (a view when the buffer is full). */
function narrowTo(x: Tensor, kv: AttentionKV): Tensor {
  const t = cachedLength(kv);
  return t === x.shape[2] ? x : narrow(x, 2, 0, t);
}

/** A continuous batch's rows (serve/): each row's position ids [B*T] and the cache slots it must not see. */
export interface BatchRows {
  /** Row b's tokens at positions[b]..positions[b]+T-1, as ids [B*T] row-major. */
  ids: Int32Array;
  /** bool [B, offset+T] (true = a padding slot), or null. */
  mask: Tensor | null;
}

/**
 * The options of a cached forward over a continuous batch, checked: `positions` (B integers,
 * each at most offset: the row's position of its first new token; default offset for every
 * row) and the cache's padding mask (bool [B, offset+T]). Undefined when neither is given.
 */
export function checkBatchRows(fn: string, positions: unknown, maskArg: string, mask: unknown, B: number, T: number, offset: number, device: string): BatchRows | undefined {
  if (positions === undefined && mask == null) return undefined;
  const ids = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let v = offset;
    if (positions !== undefined) {
      const p = positions as ArrayLike<unknown> | null;
      if (p === null || typeof p !== 'object' || p.length !== B) throw rangeError(fn, 'options.positions', `${B} positions (one per row)`, describeValue(positions));
      v = p[b] as number;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > offset) throw rangeError(fn, `options.positions[${b}]`, `an integer in [0, offset=${offset}]`, describeValue(p[b]));
    }
    for (let t = 0; t < T; t++) ids[b * T + t] = v + t;
  }
  if (mask == null) return { ids, mask: null };
  const m = checkTensor(fn, maskArg, mask, ['bool']);
  if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== offset + T) throw rangeError(fn, maskArg, `bool [B=${B}, offset+T=${offset + T}]`, `bool ${describeShape(m.shape)}`);
  if (m.device !== device) throw typeError(fn, maskArg, `a tensor on backend '${device}' like the model`, `'${m.device}'`);
  return { ids, mask: m };
}
