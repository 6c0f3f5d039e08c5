// Per-export argument generators for the boundary fuzzer. Each entry builds a
// valid-ish call (real storages of the right sizes, consistent dims) and then
// mutates it: wrong JS types, wrong dtypes, bad/huge/zero dims, shapes larger
// than their storage, freed storages, evil getters, missing/extra arguments,
// NaN/Inf values, out-of-range ids. A new addon export without an entry here
// fails test/hardening/fuzz-boundary.test.ts.
import fc from 'fast-check';
import type { DTypeName, Evil, Plan, Spec, StoreSpec, TensorSpec } from './plan.js';

export interface FnSpec {
  /** argument names as the binding reports them (messages must name one of these) */
  argNames: string[];
  /** a valid-ish call before mutation */
  base: fc.Arbitrary<Spec[]>;
}

const v = (x: unknown): Spec => ({ k: 'v', v: x });
const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

function store(dtype: DTypeName, n: number, fill: StoreSpec['fill'] = 'normal', lo?: number, hi?: number): StoreSpec {
  const s: StoreSpec = { k: 'store', dtype, n, fill };
  if (lo !== undefined) s.lo = lo;
  if (hi !== undefined) s.hi = hi;
  return s;
}
/** Ids or targets all outside the valid range: the call must throw naming this argument (when it has elements). */
function outOfRange(t: TensorSpec): TensorSpec {
  return { ...t, data: { ...(t.data as StoreSpec), outOfRange: true } };
}
function tensor(shape: number[], dtype: DTypeName = 'float32', fill: StoreSpec['fill'] = 'normal', lo?: number, hi?: number): TensorSpec {
  return { k: 'tensor', data: store(dtype, prod(shape), fill, lo, hi), dtype, shape };
}

// dims: mostly 1..4, sometimes 0
const dim = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 8, arbitrary: fc.integer({ min: 1, max: 4 }) });
const pdim = fc.integer({ min: 1, max: 4 });
const shapeArb = (min = 0, max = 3) => fc.array(dim, { minLength: min, maxLength: max });
const floatFill = fc.constantFrom<StoreSpec['fill']>('normal', 'normal', 'normal', 'nan', 'inf');
const seedArb = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((s) => v(s));
const offsetArb = fc.integer({ min: 0, max: 1000 }).map(v);
const dtypeArb = fc.constantFrom<DTypeName>('float32', 'bfloat16', 'int32', 'bool');

// ---- adversarial values ---------------------------------------------------

export const HUGE = [2 ** 31, 2 ** 31 + 1, 2 ** 32, 2 ** 33 + 1, 2 ** 38, 2 ** 40, 2 ** 40 + 1, 2 ** 53 - 1, 2 ** 53, 2 ** 64];
const BAD_NUMBERS = [NaN, Infinity, -Infinity, -1, -0, 0, 0.5, 1.5, -(2 ** 31) - 1, 2 ** 31 - 1, 1e308, Number.MIN_VALUE, ...HUGE];

const badNumber = fc.constantFrom(...BAD_NUMBERS).map(v);
const badValue: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 4, arbitrary: badNumber },
  {
    weight: 4,
    arbitrary: fc.constantFrom<unknown>('float32', 'int32', 'bool', 'bfloat16', 'float64', 'Float32', '', '1', true, false, null, undefined, 1n, -1n, 1n << 64n, [], [1, 2], ['1'], [NaN]).map(v),
  },
  { weight: 1, arbitrary: fc.constantFrom<Spec>({ k: 'obj' }, { k: 'fn' }, { k: 'sym' }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('typed' as const),
      type: fc.constantFrom('Float32Array' as const, 'Int32Array' as const, 'Uint8Array' as const, 'Uint16Array' as const, 'Float64Array' as const, 'Int8Array' as const),
      n: fc.integer({ min: 0, max: 8 }),
      detached: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.tuple(dtypeArb, fc.integer({ min: 0, max: 8 }), fc.boolean()).map(([d, n, freed]): Spec => ({ ...store(d, n), freed })) },
  { weight: 2, arbitrary: fc.tuple(shapeArb(0, 4), dtypeArb).map(([s, d]) => tensor(s, d)) },
);

// a dims array that is wrong in one of many ways
const badShape: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, undefined, 3, '[2,3]', {}, [NaN], [-1], [1.5], ['2'], [null], [2 ** 53], [2 ** 64], Array(17).fill(1), Array(40).fill(1)),
  fc.array(fc.constantFrom(...BAD_NUMBERS, 0, 1, 2), { minLength: 1, maxLength: 5 }),
);

// ---- mutations ------------------------------------------------------------

function mutateShape(shape: number[]): fc.Arbitrary<unknown> {
  const n = shape.length;
  const alts: fc.Arbitrary<unknown>[] = [
    fc.integer({ min: 1, max: 3 }).map((d) => [...shape, d]),
    fc.integer({ min: 1, max: 3 }).map((d) => [d, ...shape]),
    badShape,
    // zero elements with a huge dim: the size fits any storage, the dims overflow products
    fc.tuple(fc.constantFrom(...HUGE), fc.constantFrom(...HUGE), fc.integer({ min: 0, max: 3 })).map(([h1, h2, pos]) => {
      const s = shape.length > 0 ? shape.slice() : [1];
      const i = pos % s.length;
      s[i] = 0;
      if (s.length > 1) s[(i + 1) % s.length] = h1;
      else s.push(h1);
      return h2 === 2 ** 64 ? s : [...s, h2];
    }),
    fc.constantFrom(...HUGE).map((h) => [0, ...shape.map(() => h)]),
  ];
  if (n > 0) {
    alts.push(fc.integer({ min: 0, max: n - 1 }).map((i) => shape.filter((_, k) => k !== i)));
    alts.push(
      fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.constantFrom(...BAD_NUMBERS, 0, 1, 2, 3, 5, 8)).map(([i, d]) => {
        const s: unknown[] = shape.slice();
        s[i] = d;
        return s;
      }),
    );
    alts.push(fc.integer({ min: 0, max: n - 1 }).map((i) => shape.map((d, k) => (k === i ? d + 1 : d))));
    alts.push(fc.integer({ min: 0, max: n - 1 }).map((i) => shape.map((d, k) => (k === i ? Math.max(0, d - 1) : d))));
  }
  return fc.oneof(...alts);
}

function mutateTensor(t: TensorSpec): fc.Arbitrary<Spec> {
  const st = t.data as StoreSpec;
  const shape = Array.isArray(t.shape) ? (t.shape as number[]) : [];
  return fc.oneof(
    { weight: 6, arbitrary: mutateShape(shape).map((s): Spec => ({ ...t, shape: s })) },
    { weight: 2, arbitrary: fc.constantFrom<unknown>('float32', 'int32', 'bool', 'float64', 3, undefined).map((d): Spec => ({ ...t, dtype: d })) },
    { weight: 2, arbitrary: dtypeArb.map((d): Spec => ({ ...t, dtype: d, data: { ...st, dtype: d } })) },
    { weight: 2, arbitrary: dtypeArb.map((d): Spec => ({ ...t, data: { ...st, dtype: d } })) },
    { weight: 3, arbitrary: fc.constantFrom(0, 1, 2).map((k): Spec => ({ ...t, data: { ...st, n: k === 0 ? 0 : k === 1 ? Math.max(0, st.n - 1) : Math.floor(st.n / 2) } })) },
    { weight: 3, arbitrary: fc.constant<Spec>({ ...t, data: { ...st, freed: true } }) },
    { weight: 2, arbitrary: badValue.map((d): Spec => ({ ...t, data: d })) },
    { weight: 1, arbitrary: fc.constantFrom<TensorSpec['omit']>('data', 'dtype', 'shape').map((o): Spec => ({ ...t, omit: o })) },
    { weight: 3, arbitrary: fc.constantFrom<Evil>('free', 'free', 'throw', 'grow').map((e): Spec => ({ ...t, evil: e })) },
    { weight: 2, arbitrary: floatFill.map((f): Spec => ({ ...t, data: { ...st, fill: f } })) },
  );
}

function mutateArg(s: Spec): fc.Arbitrary<Spec> {
  if (s.k === 'tensor') return fc.oneof({ weight: 4, arbitrary: mutateTensor(s) }, { weight: 1, arbitrary: badValue });
  if (s.k === 'list') {
    const items = s.items;
    const alts: fc.Arbitrary<Spec>[] = [
      fc.constant<Spec>({ k: 'list', items: [] }),
      badValue.map((b): Spec => ({ k: 'list', items: [...items, b] })),
      badValue,
    ];
    if (items.length > 0) {
      alts.push(
        fc.integer({ min: 0, max: items.length - 1 }).chain((i) =>
          mutateArg(items[i]!).map((m): Spec => ({ k: 'list', items: items.map((x, k) => (k === i ? m : x)) })),
        ),
      );
      alts.push(fc.constant<Spec>({ k: 'list', items: items.slice(1) }));
      alts.push(fc.constant<Spec>({ k: 'list', items: [...items, items[0]!] }));
    }
    return fc.oneof(...alts);
  }
  if (s.k === 'v' && Array.isArray(s.v)) {
    const arr = s.v as number[];
    return fc.oneof(
      mutateShape(arr).map(v),
      fc.constant<Spec>({ k: 'growArray', v: arr.length > 0 ? arr : [1] }),
      fc.constant<Spec>({ k: 'proxyArray', v: arr }),
      badValue,
    );
  }
  if (s.k === 'store') {
    return fc.oneof(
      fc.constant<Spec>({ ...s, freed: true }),
      dtypeArb.map((d): Spec => ({ ...s, dtype: d })),
      fc.constant<Spec>({ ...s, n: 0 }),
      badValue,
    );
  }
  return badValue;
}

/** base call -> base or one/two mutations of it */
function mutate(base: Spec[]): fc.Arbitrary<Spec[]> {
  const one = (args: Spec[]): fc.Arbitrary<Spec[]> => {
    const alts: { weight: number; arbitrary: fc.Arbitrary<Spec[]> }[] = [
      { weight: 1, arbitrary: fc.integer({ min: 0, max: Math.max(0, args.length - 1) }).map((j) => args.slice(0, j)) },
      { weight: 1, arbitrary: fc.array(badValue, { minLength: 1, maxLength: 3 }).map((extra) => [...args, ...extra]) },
    ];
    if (args.length > 0) {
      alts.push({
        weight: 8,
        arbitrary: fc.integer({ min: 0, max: args.length - 1 }).chain((i) => mutateArg(args[i]!).map((m) => args.map((a, k) => (k === i ? m : a)))),
      });
    }
    return fc.oneof(...alts);
  };
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(base) },
    { weight: 6, arbitrary: one(base) },
    { weight: 2, arbitrary: one(base).chain(one) },
  );
}

// ---- valid-ish bases per export --------------------------------------------

const typedFor: Record<DTypeName, 'Float32Array' | 'Uint16Array' | 'Int32Array' | 'Uint8Array'> = { float32: 'Float32Array', bfloat16: 'Uint16Array', int32: 'Int32Array', bool: 'Uint8Array' };

const none: fc.Arbitrary<Spec[]> = fc.constant([]);

function matmulBase(): fc.Arbitrary<Spec[]> {
  return fc
    .record({
      M: dim, K: dim, N: dim,
      ba: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
      bb: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
      ta: fc.boolean(), tb: fc.boolean(), bias: fc.boolean(), fill: floatFill,
    })
    .map(({ M, K, N, ba, bb, ta, tb, bias, fill }) => {
      // make batch dims broadcastable: where both have a dim, use 1 on one side
      const bb2 = bb.map((d, i) => {
        const j = ba.length - bb.length + i;
        return j >= 0 && ba[j] !== d ? 1 : d;
      });
      return [
        tensor([...ba, ...(ta ? [K, M] : [M, K])], 'float32', fill),
        tensor([...bb2, ...(tb ? [N, K] : [K, N])]),
        v(ta), v(tb),
        bias ? tensor([N]) : v(null),
      ];
    });
}

const attnDims = fc.record({
  B: pdim, hkv: fc.integer({ min: 1, max: 2 }), g: fc.integer({ min: 1, max: 2 }), Tq: dim, Tk: dim, d: pdim,
  mask: fc.constantFrom('none', 'bool', 'float'), maskB: fc.boolean(), maskH: fc.boolean(), pad: fc.boolean(),
  causal: fc.integer({ min: 0, max: 2 }), dropout: fc.constantFrom(0, 0, 0.1, 0.5), fill: floatFill,
});
type AttnDims = typeof attnDims extends fc.Arbitrary<infer T> ? T : never;
function attnTail(a: AttnDims, seed: Spec, off: Spec): Spec[] {
  const h = a.hkv * a.g;
  const mask =
    a.mask === 'none' ? v(null) : tensor([a.maskB ? a.B : 1, a.maskH ? h : 1, a.Tq, a.Tk], a.mask === 'bool' ? 'bool' : 'float32', 'inf');
  return [
    tensor([a.B, h, a.Tq, a.d], 'float32', a.fill),
    tensor([a.B, a.hkv, a.Tk, a.d]),
    tensor([a.B, a.hkv, a.Tk, a.d]),
    mask,
    a.pad ? tensor([a.B, a.Tk], 'bool') : v(undefined),
    v(1 / Math.sqrt(a.d)), v(a.causal), v(a.dropout), seed, off,
  ];
}

function normX(): fc.Arbitrary<{ x: number[]; C: number; N: number }> {
  return fc.tuple(shapeArb(0, 2), fc.array(pdim, { minLength: 1, maxLength: 2 })).map(([lead, tail]) => ({ x: [...lead, ...tail], C: prod(tail), N: prod(lead) }));
}

const ceBase = (backward: boolean) =>
  fc
    .record({ N: dim, C: pdim, ignore: fc.constantFrom(-100, -1, 0, 2), smoothing: fc.constantFrom(0, 0.1, 1), reduction: fc.integer({ min: 0, max: 2 }), oob: fc.boolean(), fill: floatFill })
    .map(({ N, C, ignore, smoothing, reduction, oob, fill }): Spec[] => {
      const logits = tensor([N, C], 'float32', fill);
      const target = oob ? outOfRange(tensor([N], 'int32', 'ints', C + 3, C + 5)) : tensor([N], 'int32', 'ints', 0, C);
      const tail = [v(ignore), v(smoothing), v(reduction)];
      if (!backward) return [logits, target, ...tail];
      return [tensor(reduction === 2 ? [N] : []), logits, target, tensor([N]), ...tail];
    });

// the backward draws the forward's mask: the same arguments, dy for x
const dropoutBase = fc.tuple(shapeArb(), fc.constantFrom(0, 0.1, 0.5, 1), seedArb, offsetArb).map(([s, p, seed, off]): Spec[] => [tensor(s), v(p), seed, off]);

export const GENERATORS: Record<string, FnSpec> = {
  upload: {
    argNames: ['array', 'dtype'],
    base: fc
      .tuple(dtypeArb, fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 3 }), fc.boolean())
      .map(([d, n, offset, detached]): Spec[] => [{ k: 'typed', type: typedFor[d], n, offset, detached: detached && n % 4 === 0 }, v(d)]),
  },
  download: {
    argNames: ['data', 'dtype', 'size'],
    base: fc.tuple(dtypeArb, fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 20 })).map(([d, n, size]): Spec[] => [store(d, n), v(d), v(Math.min(size, n))]),
  },
  free: { argNames: ['data'], base: fc.tuple(dtypeArb, fc.integer({ min: 0, max: 8 })).map(([d, n]): Spec[] => [store(d, n)]) },
  memory: { argNames: [], base: none },
  setNumThreads: { argNames: ['n'], base: fc.constant([v(1)]) },
  getNumThreads: { argNames: [], base: none },
  info: { argNames: [], base: none },
  emptyCache: { argNames: [], base: none },
  // the collectives, never initialised in the fuzzer's children (no mpirun): every call must refuse cleanly
  distributedAvailable: { argNames: [], base: none },
  distributedInit: {
    argNames: ['rank', 'worldSize', 'uniqueId', 'timeoutSeconds', 'process'],
    base: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 4 })).map(([r, w]): Spec[] => [v(Math.min(r, w - 1)), v(w), v(null), v(5)]),
  },
  distributedUniqueId: { argNames: ['engine'], base: none },
  allReduceStart: { argNames: ['tensors', 'collective'], base: fc.array(shapeArb(0, 2), { maxLength: 3 }).map((shapes): Spec[] => [{ k: 'list', items: shapes.map((s) => tensor(s)) }]) },
  broadcastStart: {
    argNames: ['tensors', 'root', 'collective'],
    base: fc.tuple(fc.array(shapeArb(0, 2), { maxLength: 3 }), fc.integer({ min: 0, max: 2 })).map(([shapes, root]): Spec[] => [{ k: 'list', items: shapes.map((s) => tensor(s)) }, v(root)]),
  },
  collectiveWait: { argNames: ['ticket', 'collective'], base: fc.integer({ min: 1, max: 100 }).map((t): Spec[] => [v(t)]) },
  allReduceHost: {
    argNames: ['values', 'collective'],
    base: fc.integer({ min: 0, max: 8 }).map((n): Spec[] => [{ k: 'typed', type: 'Float64Array', n, detached: false }]),
  },
  collectiveBarrier: { argNames: ['collective'], base: none },
  distributedAbandon: { argNames: ['reason'], base: fc.constant([v('fuzz')]) },
  matmul: { argNames: ['a', 'b', 'transA', 'transB', 'bias'], base: matmulBase() },
  attentionForward: {
    argNames: ['q', 'k', 'v', 'attnMask', 'keyPadding', 'scale', 'causal', 'dropoutP', 'rng', 'kvLength'],
    // half the calls read the first Tk positions of longer KV-cache buffers (kvLength)
    base: fc.tuple(attnDims, seedArb, offsetArb, fc.integer({ min: 0, max: 3 }), fc.boolean()).map(([a, s, o, extra, buffer]) => {
      const args = attnTail(a, s, o);
      if (!buffer) return args;
      args[1] = tensor([a.B, a.hkv, a.Tk + extra, a.d]);
      args[2] = tensor([a.B, a.hkv, a.Tk + extra, a.d]);
      return [...args, v(a.Tk)];
    }),
  },
  attentionBackward: {
    argNames: ['dout', 'q', 'k', 'v', 'out', 'lse', 'attnMask', 'keyPadding', 'scale', 'causal', 'dropoutP', 'rng'],
    base: fc.tuple(attnDims, seedArb, offsetArb).map(([a, s, o]) => {
      const h = a.hkv * a.g;
      const [q, k, val, ...rest] = attnTail(a, s, o);
      return [tensor([a.B, h, a.Tq, a.d]), q!, k!, val!, tensor([a.B, h, a.Tq, a.d]), tensor([a.B, h, a.Tq]), ...rest];
    }),
  },
  layernormForward: {
    argNames: ['x', 'weight', 'bias', 'C', 'eps'],
    base: fc.tuple(normX(), fc.boolean(), fc.boolean(), floatFill).map(([{ x, C }, w, b, f]) => [tensor(x, 'float32', f), w ? tensor([C]) : v(null), b ? tensor([C]) : v(undefined), v(C), v(1e-5)]),
  },
  layernormBackward: {
    argNames: ['dy', 'x', 'weight', 'mean', 'rstd', 'C', 'hasBias'],
    base: fc.tuple(normX(), fc.boolean(), fc.boolean()).map(([{ x, C, N }, w, b]) => [tensor(x), tensor(x), w ? tensor([C]) : v(null), tensor([N]), tensor([N]), v(C), v(b)]),
  },
  rmsnormForward: {
    argNames: ['x', 'weight', 'C', 'eps'],
    base: fc.tuple(normX(), fc.boolean(), floatFill).map(([{ x, C }, w, f]) => [tensor(x, 'float32', f), w ? tensor([C]) : v(null), v(C), v(1e-6)]),
  },
  rmsnormBackward: {
    argNames: ['dy', 'x', 'weight', 'rstd', 'C'],
    base: fc.tuple(normX(), fc.boolean()).map(([{ x, C, N }, w]) => [tensor(x), tensor(x), w ? tensor([C]) : v(null), tensor([N]), v(C)]),
  },
  activationForward: {
    argNames: ['x', 'kind'],
    base: fc.tuple(shapeArb(), fc.integer({ min: 0, max: 4 }), floatFill).map(([s, k, f]) => [tensor(s, 'float32', f), v(k)]),
  },
  activationBackward: {
    argNames: ['dy', 'x', 'kind'],
    base: fc.tuple(shapeArb(), fc.integer({ min: 0, max: 4 }), floatFill).map(([s, k, f]) => [tensor(s), tensor(s, 'float32', f), v(k)]),
  },
  swigluForward: {
    argNames: ['x'],
    base: fc.tuple(shapeArb(0, 2), pdim).map(([lead, F]) => [tensor([...lead, 2 * F])]),
  },
  swigluBackward: {
    argNames: ['dy', 'x'],
    base: fc.tuple(shapeArb(0, 2), pdim).map(([lead, F]) => [tensor([...lead, F]), tensor([...lead, 2 * F])]),
  },
  topk: {
    argNames: ['x', 'k'],
    // float32 only: the addon's topk takes float32 (bf16 is widened in TypeScript)
    base: fc.tuple(shapeArb(1, 3), fc.nat(), floatFill).map(([s, at, f]) => [tensor(s, 'float32', f), v(at % (s[s.length - 1]! + 1))] as Spec[]),
  },
  softmaxForward: {
    argNames: ['x', 'axis', 'log'],
    base: fc.tuple(shapeArb(1, 3), fc.nat(), fc.boolean(), floatFill).map(([s, ax, log, f]) => [tensor(s, 'float32', f), v(ax % s.length), v(log)]),
  },
  softmaxBackward: {
    argNames: ['dy', 'y', 'axis', 'log'],
    base: fc.tuple(shapeArb(1, 3), fc.nat(), fc.boolean()).map(([s, ax, log]) => [tensor(s), tensor(s), v(ax % s.length), v(log)]),
  },
  crossEntropyForward: { argNames: ['logits', 'target', 'ignoreIndex', 'labelSmoothing', 'reduction'], base: ceBase(false) },
  crossEntropyBackward: { argNames: ['dloss', 'logits', 'target', 'lse', 'ignoreIndex', 'labelSmoothing', 'reduction'], base: ceBase(true) },
  embeddingForward: {
    argNames: ['weight', 'ids'],
    base: fc.tuple(dim, pdim, shapeArb(0, 2), fc.boolean()).map(([V, C, s, oob]) => [tensor([V, C]), V === 0 || oob ? outOfRange(tensor(s, 'int32', 'ints', V, V + 2)) : tensor(s, 'int32', 'ints', 0, V)]),
  },
  embeddingBackward: {
    argNames: ['dy', 'ids', 'V', 'paddingIdx'],
    base: fc
      .tuple(pdim, pdim, shapeArb(0, 2), fc.boolean(), fc.integer({ min: -1, max: 4 }))
      .map(([V, C, s, oob, pad]) => [tensor([...s, C]), oob ? outOfRange(tensor(s, 'int32', 'ints', V + 1, V + 3)) : tensor(s, 'int32', 'ints', 0, V), v(V), v(Math.min(pad, V))]),
  },
  dropoutForward: { argNames: ['x', 'p', 'rng'], base: dropoutBase },
  dropoutBackward: { argNames: ['dy', 'p', 'rng'], base: dropoutBase },
  binary: {
    argNames: ['a', 'b', 'op', 'shape'],
    base: fc.tuple(shapeArb(0, 3), fc.array(fc.boolean(), { maxLength: 3 }), fc.nat(3), fc.integer({ min: 0, max: 3 }), floatFill).map(([s, ones, op, drop, f]) => {
      const b = s.map((d, i) => (ones[i] ? 1 : d)).slice(Math.min(drop, s.length));
      return [tensor(s, 'float32', f), tensor(b), v(op), v(s)];
    }),
  },
  scale: {
    argNames: ['x', 'factor'],
    base: fc.tuple(shapeArb(), fc.constantFrom(0, 1, -2.5, 1e30, Infinity, -Infinity)).map(([s, f]) => [tensor(s), v(f)]),
  },
  sum: {
    argNames: ['x', 'axes'],
    base: fc.tuple(shapeArb(0, 3), fc.array(fc.nat(2), { maxLength: 3 })).map(([s, axes]) => [tensor(s), v(s.length === 0 ? [] : axes.map((a) => a % s.length))]),
  },
  broadcastTo: {
    argNames: ['x', 'shape'],
    base: fc.tuple(shapeArb(0, 3), fc.array(fc.boolean(), { maxLength: 3 }), shapeArb(0, 1), dtypeArb).map(([s, ones, lead, d]) => {
      // x: the target shape with some dims 1 and leading dims dropped
      const x = s.map((n, i) => (ones[i] ? 1 : n)).slice(Math.min(lead.length, s.length));
      return [tensor(x, d), v([...lead, ...s])] as Spec[];
    }),
  },
  permute: {
    argNames: ['x', 'dims'],
    base: fc.tuple(shapeArb(0, 4), dtypeArb, fc.nat()).map(([s, d, r]) => {
      // a rotation of the dims by r
      const dims = s.map((_, i) => (i + r) % s.length);
      return [tensor(s, d), v(dims)] as Spec[];
    }),
  },
  narrow: {
    argNames: ['x', 'axis', 'start', 'length'],
    base: fc.tuple(shapeArb(1, 3), fc.nat(), fc.nat(), fc.nat(), dtypeArb).map(([s, ax, at, n, d]) => {
      const axis = ax % s.length;
      const start = at % (s[axis]! + 1);
      return [tensor(s, d), v(axis), v(start), v(n % (s[axis]! - start + 1))] as Spec[];
    }),
  },
  cat: {
    argNames: ['xs', 'axis'],
    base: fc.tuple(shapeArb(1, 3), fc.nat(), fc.array(dim, { minLength: 1, maxLength: 3 }), dtypeArb).map(([s, ax, sizes, d]) => {
      const axis = ax % s.length;
      return [{ k: 'list', items: sizes.map((n) => tensor(s.map((x, i) => (i === axis ? n : x)), d)) }, v(axis)] as Spec[];
    }),
  },
  writeNarrow: {
    argNames: ['dst', 'src', 'axis', 'start'],
    base: fc.tuple(shapeArb(1, 3), fc.nat(), dim, fc.nat(), dtypeArb).map(([s, ax, n, at, d]) => {
      const axis = ax % s.length;
      const total = s[axis]!;
      const len = Math.min(n, total);
      return [tensor(s, d), tensor(s.map((x, i) => (i === axis ? len : x)), d), v(axis), v(total - len === 0 ? 0 : at % (total - len + 1))] as Spec[];
    }),
  },
  cast: {
    argNames: ['x', 'dtype'],
    base: fc.tuple(shapeArb(), dtypeArb, dtypeArb).map(([s, from, to]) => [tensor(s, from, from === 'float32' ? 'nan' : 'normal'), v(to)]),
  },
  fill: {
    argNames: ['shape', 'dtype', 'value'],
    base: fc.tuple(shapeArb(0, 3), dtypeArb, fc.constantFrom(0, 1, -1.5, Infinity, 2 ** 40)).map(([s, d, val]) => [v(s), v(d), v(val)]),
  },
  adamwStep: {
    argNames: ['params', 'grads', 'm', 'v', 'lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'step'],
    base: fc.tuple(fc.array(shapeArb(0, 2), { maxLength: 3 }), fc.integer({ min: 1, max: 100 })).map(([shapes, step]): Spec[] => {
      const list = (): Spec => ({ k: 'list', items: shapes.map((s) => tensor(s)) });
      return [list(), list(), list(), list(), v(1e-3), v(0.9), v(0.999), v(1e-8), v(0.01), v(step)];
    }),
  },
};

/** The cuda addon's own exports (beside the ones it shares with the cpu addon, above). */
export const CUDA_GENERATORS: Record<string, FnSpec> = {
  cudaInfo: { argNames: [], base: none },
  cudaSetDeterministic: { argNames: ['on'], base: fc.boolean().map((b) => [v(b)]) },
  cudaSetMatmulPrecision: { argNames: ['precision'], base: fc.integer({ min: 0, max: 3 }).map((p) => [v(p)]) },
  cudaSynchronize: { argNames: [], base: none },
  cudaProfile: { argNames: ['on'], base: fc.boolean().map((b) => [v(b)]) },
};

/** The generator of an export of either addon. */
export function generatorOf(fn: string): FnSpec {
  return (Object.hasOwn(GENERATORS, fn) ? GENERATORS[fn] : CUDA_GENERATORS[fn])!;
}

/** Every call the fuzzer makes: an export (uniformly) and a mutated call of it. */
export function planArb(fns: string[] = Object.keys(GENERATORS)): fc.Arbitrary<Plan> {
  return fc.constantFrom(...fns).chain((fn) => generatorOf(fn).base.chain((base) => mutate(base).map((args): Plan => ({ fn, args, base }))));
}
