// The Backend interface: storage primitives plus one entry per kernel.
// Backends (ts, the reference; cpu and cuda over the addons, native/kernels.ts)
// register implementations by name (see registry.ts); the API above never
// branches on which backend runs. The addons export each kernel under its name here.
//
// Shape alphabet: B batch, T time (Tq, Tk), C width, h heads, hkv key/value
// heads, d head size, N rows, V vocab. Every kernel returns new storage and
// never mutates its inputs, except adamwStep, which updates in place.
import type { DType, TypedArray } from '../util/dtype.js';

/** What a kernel sees of a tensor: an opaque storage handle plus shape and dtype. */
export interface KTensor {
  readonly data: unknown;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** What a kernel hands back; the engine wraps it into an owned Tensor. */
export interface KResult {
  data: unknown;
  shape: number[];
  dtype: DType;
}

export type CausalMode = 'none' | 'top-left' | 'bottom-right';
export type Activation = 'relu' | 'gelu' | 'gelu_tanh' | 'silu' | 'tanh';
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';
export type Reduction = 'mean' | 'sum' | 'none';

/** Counter-based RNG position: the same (seed, offset) gives the same bits on every backend. */
export interface RngState { seed: bigint; offset: number }

export interface AttentionAttrs {
  scale: number;
  causal: CausalMode;
  dropoutP: number;
  rng: RngState;
  /**
   * Forward only: the keys/values are the first kvLength positions of k and v (dim 2), a KV-cache
   * buffer with room for more; Tk in the masks' shapes is kvLength. Undefined: all of k.
   */
  kvLength?: number;
}

/** Masks, already validated: attnMask [1|B, 1|h, Tq, Tk] (bool, true = masked, or float additive); keyPadding [B,Tk] bool. */
export interface AttentionMasks {
  attnMask: KTensor | null;
  keyPadding: KTensor | null;
}

export interface CrossEntropyAttrs {
  ignoreIndex: number;
  labelSmoothing: number;
  reduction: Reduction;
}

export interface AdamWAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count after this update, for bias correction. */
  step: number;
}

export interface Kernels {
  // y [...batch, M, N] = op(a) [...batch, M, K] x op(b) [...batch, K, N] (+ bias [N]); batch dims broadcast.
  matmul(a: KTensor, b: KTensor, transA: boolean, transB: boolean, bias: KTensor | null): KResult;

  // q [B,h,Tq,d], k/v [B,hkv,Tk,d] -> out [B,h,Tq,d], lse [B,h,Tq] (log-sum-exp of the scaled scores; -inf where every key is masked).
  attentionForward(q: KTensor, k: KTensor, v: KTensor, masks: AttentionMasks, attrs: AttentionAttrs): { out: KResult; lse: KResult };
  attentionBackward(dout: KTensor, q: KTensor, k: KTensor, v: KTensor, out: KTensor, lse: KTensor, masks: AttentionMasks, attrs: AttentionAttrs): { dq: KResult; dk: KResult; dv: KResult };

  // x [N,C] (any leading shape, normalized over the last C elements) -> y, mean [N], rstd [N].
  layernormForward(x: KTensor, weight: KTensor | null, bias: KTensor | null, C: number, eps: number): { y: KResult; mean: KResult; rstd: KResult };
  // dweight is computed when weight is given, dbias when hasBias.
  layernormBackward(dy: KTensor, x: KTensor, weight: KTensor | null, mean: KTensor, rstd: KTensor, C: number, hasBias: boolean): { dx: KResult; dweight: KResult | null; dbias: KResult | null };
  rmsnormForward(x: KTensor, weight: KTensor | null, C: number, eps: number): { y: KResult; rstd: KResult };
  rmsnormBackward(dy: KTensor, x: KTensor, weight: KTensor | null, rstd: KTensor, C: number): { dx: KResult; dweight: KResult | null };

  activationForward(x: KTensor, kind: Activation): KResult;
  activationBackward(dy: KTensor, x: KTensor, kind: Activation): KResult;
  // x [..., 2F] -> silu(x[..., :F]) * x[..., F:]
  swigluForward(x: KTensor): KResult;
  swigluBackward(dy: KTensor, x: KTensor): KResult;

  // Along one axis; `log` selects log-softmax. The backward takes the forward's output y.
  softmaxForward(x: KTensor, axis: number, log: boolean): KResult;
  softmaxBackward(dy: KTensor, y: KTensor, axis: number, log: boolean): KResult;

  // The k largest along the last axis, best first: values [..., k] (x's dtype), indices int32 [..., k].
  // Order: larger first, NaN above every number, ties by lower index. Selection only: no backward kernel.
  topk(x: KTensor, k: number): { values: KResult; indices: KResult };

  // logits [N,C], target [N] int32 -> loss ([] or [N] for 'none'), lse [N]. Fused: no softmax tensor is kept.
  crossEntropyForward(logits: KTensor, target: KTensor, attrs: CrossEntropyAttrs): { loss: KResult; lse: KResult };
  crossEntropyBackward(dloss: KTensor, logits: KTensor, target: KTensor, lse: KTensor, attrs: CrossEntropyAttrs): KResult;

  // weight [V,C], ids int32 [...] -> [..., C]; backward scatter-adds into dweight [V,C], skipping paddingIdx.
  embeddingForward(weight: KTensor, ids: KTensor): KResult;
  embeddingBackward(dy: KTensor, ids: KTensor, V: number, paddingIdx: number | null): KResult;

  // Keep an element when its counter-based uniform u >= p; kept elements scale by 1/(1-p).
  dropoutForward(x: KTensor, p: number, rng: RngState): KResult;
  dropoutBackward(dy: KTensor, p: number, rng: RngState): KResult;

  binary(a: KTensor, b: KTensor, op: BinaryOp): KResult;
  scale(x: KTensor, factor: number): KResult;
  sum(x: KTensor, axes: readonly number[], keepDims: boolean): KResult;
  broadcastTo(x: KTensor, shape: readonly number[]): KResult;
  permute(x: KTensor, dims: readonly number[]): KResult;
  cast(x: KTensor, dtype: DType): KResult;
  // x[..., start:start+length, ...] along axis (a copy); cat joins along axis (shapes equal elsewhere).
  narrow(x: KTensor, axis: number, start: number, length: number): KResult;
  cat(xs: readonly KTensor[], axis: number): KResult;
  // In place: dst[..., start:start+n, ...] = src along axis (n = src's size there). The only
  // kernel that writes an existing storage (KV caches append without copying the past).
  writeNarrow(dst: KTensor, src: KTensor, axis: number, start: number): void;
  fill(shape: readonly number[], dtype: DType, value: number): KResult;

  // In place over all parameters at once: p -= lr * (mhat / (sqrt(vhat) + eps) + wd * p).
  adamwStep(params: readonly KTensor[], grads: readonly KTensor[], m: readonly KTensor[], v: readonly KTensor[], attrs: AdamWAttrs): void;
}

export type KernelName = keyof Kernels;

export const KERNEL_NAMES: readonly KernelName[] = [
  'matmul',
  'attentionForward', 'attentionBackward',
  'layernormForward', 'layernormBackward', 'rmsnormForward', 'rmsnormBackward',
  'activationForward', 'activationBackward', 'swigluForward', 'swigluBackward',
  'softmaxForward', 'softmaxBackward', 'topk',
  'crossEntropyForward', 'crossEntropyBackward',
  'embeddingForward', 'embeddingBackward',
  'dropoutForward', 'dropoutBackward',
  'binary', 'scale', 'sum', 'broadcastTo', 'permute', 'cast', 'narrow', 'cat', 'writeNarrow', 'fill',
  'adamwStep',
];

/** Storage primitives every backend provides. */
export interface StorageOps {
  /** Take a host array into backend storage; `copy: false` may alias it (the ts backend does). */
  upload(array: TypedArray, dtype: DType, copy: boolean): unknown;
  /** Read storage back into a fresh host array of the dtype's array type. */
  download(data: unknown, dtype: DType, size: number): TypedArray;
  /** Release storage; called once, when the last tensor sharing it is disposed or collected. */
  free(data: unknown): void;
  /** Whether this backend computes in the dtype. */
  supportsDType(dtype: DType): boolean;
  /** The most elements one storage of the dtype can hold (checked before anything is allocated). */
  maxElements(dtype: DType): number;
}

export interface Backend extends StorageOps {
  readonly name: string;
  readonly kernels: Kernels;
}
