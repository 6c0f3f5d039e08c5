// The fuzzer's call plans: plain data (printable, replayable) that
// materialize() turns into real arguments for one addon call in the child.
import type { Addon } from '../../../src/backends/native/addon.js';

export type DTypeName = 'float32' | 'bfloat16' | 'int32' | 'bool';

/** A real storage from addon.upload (n elements), optionally freed before the call. */
export interface StoreSpec {
  k: 'store';
  dtype: DTypeName;
  n: number;
  /** normal values, NaN/Inf sprinkled in, or integers in [lo, hi) (ids, targets) */
  fill: 'normal' | 'nan' | 'inf' | 'ints';
  lo?: number;
  hi?: number;
  freed?: boolean;
  /** every value is outside the range the call accepts (ids >= V, targets >= C) */
  outOfRange?: boolean;
}

/**
 * Evil accessors on a tensor object: 'free' frees every storage of this call
 * (the tensor's own and the ones unpacked before it) when dtype/shape is read;
 * 'throw' throws a non-Error sentinel from the getter; 'grow' makes the shape
 * array longer while it is being read.
 */
export type Evil = 'free' | 'throw' | 'grow';

export interface TensorSpec {
  k: 'tensor';
  data: Spec;
  dtype: unknown;
  shape: unknown;
  evil?: Evil;
  /** leave out a key entirely */
  omit?: 'data' | 'dtype' | 'shape';
}

export type Spec =
  | { k: 'v'; v: unknown } // a plain JS value (number, string, boolean, null, undefined, bigint, array of numbers...)
  | { k: 'obj' }
  | { k: 'fn' }
  | { k: 'sym' }
  | { k: 'proxyArray'; v: number[] }
  | { k: 'growArray'; v: number[] } // an int array that grows while it is read
  | { k: 'typed'; type: 'Float32Array' | 'Int32Array' | 'Uint8Array' | 'Uint16Array' | 'Float64Array' | 'Int8Array'; n: number; detached?: boolean; offset?: number }
  | StoreSpec
  | TensorSpec
  | { k: 'list'; items: Spec[] };

export interface Plan {
  fn: string;
  args: Spec[];
  /** the unmutated base call this plan came from (the plan is valid when args are base) */
  base: Spec[];
}

/** What a getter throws for 'throw' evil: the call must rethrow exactly this value. */
export const SENTINEL = Object.freeze({ fuzzSentinel: true });

interface Ctx {
  addon: Addon;
  stores: unknown[];
  userThrow: boolean;
}

function fillArray(s: StoreSpec, rand: () => number): Float32Array | Uint16Array | Int32Array | Uint8Array {
  const n = s.n;
  if (s.dtype === 'bfloat16') {
    // any 16 bits: NaNs, infinities and subnormals among them
    const a = new Uint16Array(n);
    for (let i = 0; i < n; i++) a[i] = Math.floor(rand() * 65536);
    return a;
  }
  if (s.dtype === 'bool') {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i++) a[i] = rand() < 0.3 ? 1 : 0;
    return a;
  }
  if (s.dtype === 'int32') {
    const a = new Int32Array(n);
    const lo = s.lo ?? -3, hi = s.hi ?? 8;
    for (let i = 0; i < n; i++) a[i] = Math.floor(lo + rand() * (hi - lo));
    return a;
  }
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (s.fill === 'nan' && r < 0.2) a[i] = NaN;
    else if (s.fill === 'inf' && r < 0.2) a[i] = r < 0.1 ? Infinity : -Infinity;
    else if (s.fill === 'ints') a[i] = Math.floor((s.lo ?? 0) + rand() * ((s.hi ?? 4) - (s.lo ?? 0)));
    else a[i] = (rand() - 0.5) * 4;
  }
  return a;
}

function lcg(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

export interface Materialized {
  args: unknown[];
  /** the plan contains getters that throw SENTINEL */
  userThrow: boolean;
  cleanup(): void;
}

export function materialize(addon: Addon, plan: Plan): Materialized {
  const ctx: Ctx = { addon, stores: [], userThrow: false };
  const rand = lcg(plan.args.length * 7919 + 17);
  const build = (s: Spec): unknown => {
    switch (s.k) {
      case 'v':
        return s.v;
      case 'obj':
        return { toString: () => 'x', valueOf: () => 1 };
      case 'fn':
        return () => 1;
      case 'sym':
        return Symbol('fuzz');
      case 'proxyArray':
        return new Proxy(s.v.slice(), {});
      case 'growArray': {
        const arr: number[] = s.v.slice();
        let grown = false;
        Object.defineProperty(arr, 0, {
          get() {
            if (!grown) {
              grown = true;
              for (let i = 0; i < 40; i++) arr.push(1);
            }
            return s.v[0];
          },
          enumerable: true,
          configurable: true,
        });
        return arr;
      }
      case 'typed': {
        const C = globalThis[s.type] as unknown as new (buf: ArrayBuffer, off: number, n: number) => ArrayBufferView;
        const bpe = (globalThis[s.type] as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
        const off = (s.offset ?? 0) * bpe;
        const buf = new ArrayBuffer(off + s.n * bpe);
        const view = new C(buf, off, s.n);
        if (s.detached) structuredClone(buf, { transfer: [buf] });
        return view;
      }
      case 'store': {
        const h = addon.upload(fillArray(s, rand), s.dtype);
        ctx.stores.push(h);
        if (s.freed) addon.free(h);
        return h;
      }
      case 'list':
        return s.items.map(build);
      case 'tensor': {
        const data = build(s.data);
        const t: Record<string, unknown> = {};
        if (s.omit !== 'data') t.data = data;
        const shape = s.shape;
        // FUZZ_NO_FREE_GETTER=1 ignores 'free' getters (to look for other bugs behind that one in an old build)
        if (s.evil === 'free' && process.env.FUZZ_NO_FREE_GETTER !== '1') {
          const stores = ctx.stores.slice();
          const evil = () => {
            for (const h of stores) addon.free(h);
            (addon as { emptyCache?: () => void }).emptyCache?.();
          };
          if (s.omit !== 'dtype') Object.defineProperty(t, 'dtype', { get: () => (evil(), s.dtype), enumerable: true });
          if (s.omit !== 'shape') Object.defineProperty(t, 'shape', { get: () => (evil(), shape), enumerable: true });
        } else if (s.evil === 'throw') {
          ctx.userThrow = true;
          if (s.omit !== 'dtype') t.dtype = s.dtype;
          Object.defineProperty(t, 'shape', {
            get: () => {
              throw SENTINEL;
            },
            enumerable: true,
          });
        } else if (s.evil === 'grow' && Array.isArray(shape)) {
          if (s.omit !== 'dtype') t.dtype = s.dtype;
          if (s.omit !== 'shape') t.shape = build({ k: 'growArray', v: shape as number[] });
        } else {
          if (s.omit !== 'dtype') t.dtype = s.dtype;
          if (s.omit !== 'shape') t.shape = shape;
        }
        return t;
      }
    }
  };
  const args = plan.args.map(build);
  return {
    args,
    userThrow: ctx.userThrow,
    cleanup() {
      for (const h of ctx.stores) addon.free(h);
    },
  };
}
