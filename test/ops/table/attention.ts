// scaledDotProductAttention: q: [B,h,Tq,d], k/v: [B,hkv,Tk,d] (hkv divides h: GQA) -> [B,h,Tq,d];
// keyPaddingMask: bool [B,Tk] (true = padded), attnMask: bool (true = masked) or additive float
// [Tq,Tk] or [1|B,1|h,Tq,Tk]; isCausal top-left/bottom-right; scale; dropout on the weights.
import * as toroid from '../../../src/index.js';
import { supportsDType } from '../../helpers/backends.js';
import type { Rng } from '../../helpers/random.js';
import { maxAbs, sizeOf, small } from './shapes.js';
import type { AnyOpSpec, InputDef, InvalidCase, OpSpec } from './types.js';
import { bf16Tol } from './tolerance.js';

const { F } = toroid;

export interface AttentionParams {
  B: number; h: number; hkv: number; Tq: number; Tk: number; d: number;
  causal: toroid.F.CausalOption;
  pad: 'none' | 'random' | 'allButOne';
  mask: 'none' | 'bool' | 'float';
  maskShape?: number[];
  scale?: number;
  dropoutP?: number;
  /** random cases: the Philox seed, and how far its offset is advanced before the op */
  seed?: number;
  rngShift?: number;
  /** mask whole query rows (every key: bool true or float -inf): those rows must give zeros on both */
  fullRows?: boolean;
}

function attnMaskShape(rng: Rng, B: number, h: number, Tq: number, Tk: number): number[] {
  return rng.bool(0.4) ? [Tq, Tk] : [rng.pick([1, B]), rng.pick([1, h]), Tq, Tk];
}

function attnMaskData(rng: Rng, p: AttentionParams): Float32Array | Uint8Array {
  const n = sizeOf(p.maskShape!), rows = n / p.Tk;
  if (p.mask === 'bool') {
    const m = new Uint8Array(n);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < p.Tk; j++) m[r * p.Tk + j] = rng.bool(0.3) ? 1 : 0;
      m[r * p.Tk + rng.int(0, p.Tk - 1)] = 0; // never a whole row by itself...
      if (p.fullRows && rng.bool(0.4)) m.fill(1, r * p.Tk, (r + 1) * p.Tk); // ...unless asked
    }
    return m;
  }
  const m = rng.randn(n, 2);
  for (let r = 0; r < rows; r++) {
    const keep = rng.int(0, p.Tk - 1);
    for (let j = 0; j < p.Tk; j++) if (j !== keep && rng.bool(0.1)) m[r * p.Tk + j] = -Infinity;
    if (p.fullRows && rng.bool(0.4)) m.fill(-Infinity, r * p.Tk, (r + 1) * p.Tk);
  }
  return m;
}

function padData(rng: Rng, p: AttentionParams): Uint8Array {
  const m = new Uint8Array(p.B * p.Tk);
  for (let b = 0; b < p.B; b++) {
    const keep = rng.int(0, p.Tk - 1);
    for (let j = 0; j < p.Tk; j++) m[b * p.Tk + j] = j === keep ? 0 : p.pad === 'allButOne' ? 1 : rng.bool(0.35) ? 1 : 0;
  }
  return m;
}

function randomAttention(rng: Rng): AttentionParams {
  const B = small(rng, 3), hkv = rng.int(1, 2), h = hkv * rng.int(1, 3);
  const Tq = small(rng, 10), Tk = small(rng, 10), d = small(rng, 8);
  const mask = rng.pick(['none', 'none', 'bool', 'float'] as const);
  return {
    B, h, hkv, Tq, Tk, d,
    causal: rng.pick([false, true, 'top-left', 'bottom-right'] as const),
    pad: rng.pick(['none', 'random', 'allButOne'] as const),
    mask,
    maskShape: mask === 'none' ? undefined : attnMaskShape(rng, B, h, Tq, Tk),
    scale: rng.bool(0.3) ? rng.range(0.05, 1.5) : undefined,
    dropoutP: rng.bool(0.2) ? rng.pick([0.1, 0.25, 0.5, 0.75]) : 0,
    rngShift: rng.int(0, 3),
    seed: rng.int(0, 1e9),
  };
}

// sizes around the 64 x 64 tiles of the cpu kernel
const base = { B: 1, h: 1, hkv: 1, pad: 'none', mask: 'none', dropoutP: 0, rngShift: 0, seed: 1 } as const;
const TILE_CASES: AttentionParams[] = [
  { ...base, Tq: 64, Tk: 64, d: 16, causal: false },
  { ...base, Tq: 65, Tk: 63, d: 8, causal: 'bottom-right' },
  { ...base, Tq: 63, Tk: 130, d: 32, causal: 'top-left', pad: 'random' },
  { ...base, Tq: 127, Tk: 65, d: 1, causal: 'bottom-right' },
  { ...base, h: 2, Tq: 130, Tk: 127, d: 64, causal: false, mask: 'bool', maskShape: [1, 2, 130, 127] },
  { ...base, B: 2, Tq: 1, Tk: 130, d: 65, causal: false, pad: 'allButOne' },
  { ...base, Tq: 130, Tk: 1, d: 3, causal: true },
  { ...base, Tq: 64, Tk: 65, d: 8, causal: false, mask: 'float', maskShape: [64, 65], dropoutP: 0.2, rngShift: 1 },
  { ...base, B: 2, h: 4, hkv: 2, Tq: 65, Tk: 64, d: 8, causal: 'top-left', pad: 'allButOne' },
  { ...base, Tq: 129, Tk: 129, d: 7, causal: true, scale: 0.9, dropoutP: 0.3, rngShift: 2 },
  { ...base, Tq: 100, Tk: 200, d: 16, causal: 'bottom-right', pad: 'random', mask: 'bool', maskShape: [100, 200] },
  { ...base, Tq: 1, Tk: 1, d: 1, causal: false },
  { ...base, Tq: 64, Tk: 64, d: 64, causal: 'top-left', mask: 'float', maskShape: [1, 1, 64, 64] },
];

function inputs(p: AttentionParams): InputDef[] {
  const defs: InputDef[] = [
    { name: 'q', shape: [p.B, p.h, p.Tq, p.d] },
    { name: 'k', shape: [p.B, p.hkv, p.Tk, p.d] },
    { name: 'v', shape: [p.B, p.hkv, p.Tk, p.d] },
  ];
  if (p.pad !== 'none') defs.push({ name: 'key_padding_mask', shape: [p.B, p.Tk], kind: 'bool', fill: (rng) => padData(rng, p) });
  if (p.mask !== 'none') {
    defs.push({
      name: 'attn_mask', shape: p.maskShape!, kind: p.mask === 'bool' ? 'bool' : 'float', grad: false,
      fill: (rng) => attnMaskData(rng, p),
    });
  }
  return defs;
}

function forward(p: AttentionParams, t: Record<string, toroid.Tensor>): toroid.Tensor {
  const options: toroid.F.AttentionOptions = { isCausal: p.causal };
  if (p.dropoutP) options.dropoutP = p.dropoutP;
  if (p.scale !== undefined) options.scale = p.scale;
  if (t.attn_mask) options.attnMask = t.attn_mask;
  if (t.key_padding_mask) options.keyPaddingMask = t.key_padding_mask;
  if (p.seed !== undefined) {
    // the same (seed, offset) on every backend; a nonzero offset now and then
    toroid.manualSeed(p.seed);
    if (p.rngShift) toroid.rand([p.rngShift * 7], { backend: t.q!.backend.name });
  }
  return F.scaledDotProductAttention(t.q!, t.k!, t.v!, options);
}

/** typical score size (what exp() amplifies) plus the additive mask; per output, the terms summed */
function tolerance(p: AttentionParams, output: string, data: Record<string, ArrayLike<number>>): { K: number; cond: number } {
  const scale = p.scale ?? 1 / Math.sqrt(p.d);
  const cond = scale * Math.sqrt(p.d) * maxAbs(data.q!) * maxAbs(data.k!) + (p.mask === 'float' ? maxAbs(data.attn_mask!) : 0);
  const group = p.h / p.hkv;
  const K = { out: p.Tk, dv: p.Tq * group, dq: p.Tk * p.d, dk: p.Tq * group * p.d }[output]!;
  return { K, cond };
}

const TOL = { atol: 1e-5, rtol: 1e-4 };

function invalid(backend: string): InvalidCase[] {
  const make = (shape: number[], dtype: toroid.DType = 'float32'): toroid.Tensor =>
    dtype === 'bool' ? toroid.zeros(shape, { dtype, backend }) : toroid.randn(shape, { dtype, backend });
  const q = make([2, 4, 5, 8]), k = make([2, 2, 7, 8]), v = make([2, 2, 7, 8]);
  const gone = make([2, 2, 7, 8]);
  gone.dispose();
  const sdpa = F.scaledDotProductAttention;
  return [
    { title: 'q that is not a Tensor', call: () => sdpa(new Float32Array(8) as never, k, v), kind: TypeError, arg: 'q', detail: /q must be a Tensor, got Float32Array\(8\)/ },
    { title: 'q of the wrong rank', call: () => sdpa(make([2, 4, 5]), k, v), kind: RangeError, arg: 'q', detail: /q must be float32 \[B,h,Tq,d\], got float32 \[2,4,5\]/ },
    { title: 'k whose head size differs from q', call: () => sdpa(q, make([2, 4, 7, 6]), v), kind: RangeError, arg: 'k', detail: /k must be \[B,hkv,Tk,d\] with B=2, d=8 and hkv dividing h=4, got \[2,4,7,6\]/ },
    { title: 'k whose heads do not divide the query heads', call: () => sdpa(q, make([2, 3, 7, 8]), make([2, 3, 7, 8])), kind: RangeError, arg: 'k', detail: /k must be \[B,hkv,Tk,d\] .*hkv dividing h=4, got \[2,3,7,8\]/ },
    { title: 'v unlike k', call: () => sdpa(q, k, make([2, 2, 6, 8])), kind: RangeError, arg: 'v', detail: /v must be \[B,hkv,Tk,d\] like k \[2,2,7,8\], got \[2,2,6,8\]/ },
    { title: 'int32 q', call: () => sdpa(toroid.zeros([2, 4, 5, 8], { dtype: 'int32', backend }), k, v), kind: TypeError, arg: 'q', detail: /q must be float32, float64 or bfloat16, got int32 \[2,4,5,8\]/ },
    {
      title: 'mixed float dtypes', call: () => sdpa(q, make([2, 2, 7, 8], 'float64'), make([2, 2, 7, 8], 'float64')), kind: TypeError, arg: 'k',
      detail: /k must be float32 like q, got float64/, skip: !supportsDType(backend, 'float64') && `${backend} has no float64`,
    },
    { title: 'a disposed input', call: () => sdpa(q, gone, v), kind: TypeError, arg: 'k', detail: /k must be a live Tensor, got a disposed float32 \[2,2,7,8\]/ },
    { title: 'a key padding mask of the wrong shape', call: () => sdpa(q, k, v, { keyPaddingMask: make([2, 5], 'bool') }), kind: RangeError, arg: 'keyPaddingMask', detail: /keyPaddingMask must be bool \[B,Tk\] with B=2, Tk=7, got bool \[2,5\]/ },
    { title: 'a key padding mask of the wrong dtype', call: () => sdpa(q, k, v, { keyPaddingMask: make([2, 7]) }), kind: TypeError, arg: 'keyPaddingMask', detail: /keyPaddingMask must be bool, got float32 \[2,7\]/ },
    { title: 'an attention mask whose last dims do not match', call: () => sdpa(q, k, v, { attnMask: make([5, 6], 'bool') }), kind: RangeError, arg: 'attnMask', detail: /attnMask must be bool or float32 \[Tq,Tk\] or \[1\|B,1\|h,Tq,Tk\] with B=2, h=4, Tq=5, Tk=7, got bool \[5,6\]/ },
    { title: 'an attention mask whose heads do not broadcast', call: () => sdpa(q, k, v, { attnMask: make([2, 3, 5, 7], 'bool') }), kind: RangeError, arg: 'attnMask', detail: /attnMask must be/ },
    { title: 'a bad isCausal', call: () => sdpa(q, k, v, { isCausal: 'yes' as never }), kind: TypeError, arg: 'isCausal', detail: /isCausal must be a boolean, 'top-left' or 'bottom-right', got "yes"/ },
    { title: 'a negative scale', call: () => sdpa(q, k, v, { scale: -1 }), kind: RangeError, arg: 'scale', detail: /scale must be a positive number, got -1/ },
    { title: 'a dropoutP of 1', call: () => sdpa(q, k, v, { dropoutP: 1 }), kind: RangeError, arg: 'dropoutP', detail: /dropoutP must be a number in \[0, 1\), got 1/ },
    { title: 'an unknown option key', call: () => sdpa(q, k, v, { causal: true } as never), kind: RangeError, arg: 'options', detail: /options must be an object with keys among .*, got unknown key 'causal'/ },
    { title: 'options that are not an object', call: () => sdpa(q, k, v, 3 as never), kind: TypeError, arg: 'options', detail: /options must be an object, got number 3/ },
  ];
}

type Gradcase = NonNullable<OpSpec<AttentionParams>['gradcheck']>[number];
const plain = { pad: 'none', mask: 'none', causal: false } as const;
const gradcases: Gradcase[] = [
  { title: 'plain', seed: 0, p: { ...plain, B: 2, h: 2, hkv: 2, Tq: 3, Tk: 4, d: 4 } },
  { title: 'causal bottom-right, GQA', seed: 0, p: { ...plain, B: 1, h: 4, hkv: 2, Tq: 3, Tk: 5, d: 4, causal: 'bottom-right' } },
  { title: 'custom scale, causal top-left', seed: 0, p: { ...plain, B: 1, h: 2, hkv: 1, Tq: 4, Tk: 4, d: 3, causal: true, scale: 0.7 } },
  {
    title: 'with padding and a float mask', seed: 0,
    p: { ...plain, B: 2, h: 2, hkv: 2, Tq: 3, Tk: 4, d: 4, pad: 'random', mask: 'float', maskShape: [1, 2, 3, 4] },
    values: { key_padding_mask: [0, 0, 1, 1, 1, 0, 0, 0], attn_mask: [0.3, -1.2, 0.8, 0.1, -0.4, 1.1, 0, -2, 0.5, 0.9, -0.7, 0.2, 1.4, -0.3, 0.6, -1, 0.05, 0.7, -0.9, 0.4, -1.5, 0.25, 1, -0.6] },
  },
  // the seed is set before every evaluation (in forward), so each sees the same dropout mask
  { title: 'with dropout (the mask is regenerated in backward)', seed: 0, p: { ...plain, B: 1, h: 2, hkv: 2, Tq: 3, Tk: 5, d: 4, dropoutP: 0.25, seed: 11 } },
];

export const scaledDotProductAttention: OpSpec<AttentionParams> = {
  name: 'scaledDotProductAttention',
  output: 'out',
  inputs,
  outShape: (p) => [p.B, p.h, p.Tq, p.d],
  forward,
  // scores sum over d, out over Tk, dk and dv over Tq and the query heads of a group
  dtypes: { float32: TOL, float64: TOL, bfloat16: (p) => bf16Tol(Math.max(p.d, p.Tk, p.Tq * (p.h / p.hkv))) },
  fixture: {
    file: 'attention',
    select: () => true,
    params: (a, shapeOf) => {
      const [B, h, Tq, d] = shapeOf('q') as [number, number, number, number];
      const [, hkv, Tk] = shapeOf('k') as [number, number, number, number];
      const mask = (a.attnMask ?? 'none') as AttentionParams['mask'];
      return {
        B, h, hkv, Tq, Tk, d, causal: a.isCausal as AttentionParams['causal'],
        pad: a.hasKeyPaddingMask ? 'random' : 'none', mask,
        maskShape: mask === 'none' ? undefined : shapeOf('attn_mask'),
        scale: (a.scale as number | null) ?? undefined,
      };
    },
  },
  gradcheck: gradcases,
  consistency: { count: 220, random: randomAttention, fixed: TILE_CASES, tolerance },
  invalid,
  bench: ([[64, false, 'fwd+bwd'], [64, true, 'fwd+bwd'], [256, false, 'fwd+bwd'], [256, true, 'fwd+bwd'], [256, false, 'fwd'], [256, true, 'fwd']] as const)
    .map(([T, causal, mode]) => ({
      kernel: causal ? 'attention causal' : 'attention', mode, torchOp: 'attention', attrs: { causal },
      full: { B: 32, h: 8, T, d: 64 }, check: { B: 2, h: 3, T: 37, d: 64 }, scaleKey: 'B',
      shape: ({ B, h, T: t, d }) => `B=${B} h=${h} T=${t} d=${d}`,
      params: ({ B, h, T: t, d }) => ({ ...plain, B: B!, h: h!, hkv: h!, Tq: t!, Tk: t!, d: d!, causal }),
      // 2 matmuls forward, 4 backward (no recompute counted), halved when causal
      work: ({ B, h, T: t, d }) => ({ flops: (mode === 'fwd+bwd' ? 6 : 2) * 2 * B! * h! * t! * t! * d! * (causal ? 0.5 : 1) }),
    })),
};

/** Whole query rows masked by the attention mask alone (bool all-true or float all -inf rows): zeros on both. */
export const attentionMaskedRows: AnyOpSpec = {
  ...scaledDotProductAttention,
  name: 'attention masked rows',
  fixture: undefined, gradcheck: undefined, invalid: undefined, bench: undefined,
  consistency: {
    count: 40,
    random: (rng: Rng) => {
      const c = randomAttention(rng);
      const mask = rng.pick(['bool', 'float'] as const);
      return { ...c, mask, maskShape: attnMaskShape(rng, c.B, c.h, c.Tq, c.Tk), fullRows: true };
    },
    fixed: [
      { ...base, B: 2, h: 2, Tq: 70, Tk: 66, d: 5, causal: false, mask: 'bool', maskShape: [2, 1, 70, 66], fullRows: true },
      { ...base, Tq: 65, Tk: 129, d: 4, causal: 'bottom-right', mask: 'float', maskShape: [65, 129], fullRows: true },
    ],
    tolerance,
  },
};
