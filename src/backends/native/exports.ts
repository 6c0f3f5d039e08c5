// The addon's exports, typed: the TypeScript side of native/binding/addon.cc's
// export list. toroid.node and toroid_cuda.node are one binding compiled twice,
// so both export all of these (toroid_cuda.node adds the cuda* switches,
// src/backends/cuda/addon.ts). Kernel exports carry the names of Kernels
// (src/backends/backend.ts) and take its arguments in its order, with attribute
// objects flattened to plain values and enums as the codes of native/backend.h.
import { KERNEL_NAMES, type KTensor, type KernelName, type Kernels } from '../backend.js';
import type { CollectiveOps } from '../collective.js';
import type { DType } from '../../util/dtype.js';

/** A storage handle: the binding's type-tagged external, opaque here. */
export type Handle = unknown;

export interface StorageExports {
  upload(array: Float32Array | Uint16Array | Int32Array | Uint8Array, dtype: DType): Handle;
  download(data: Handle, dtype: DType, size: number): Float32Array | Int32Array | Uint8Array;
  free(data: Handle): void;
  memory(): { liveBytes: number; liveBlocks: number; cachedBytes: number; exactBlocks: boolean };
  /** only in the sanitizer build (build-asan/): deliberate memory bugs for test/hardening/sanitizers.test.ts */
  sanitizerProbe?(kind: 'overrun' | 'double-free' | 'lost-block' | 'alive'): unknown;
  /** Give cached free blocks back (the device's allocator; the host's heap). */
  emptyCache(): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  info(): { blas: string; threads: number; blasThreads: number; avx512: boolean; device: string; bf16?: string };
}

type T = KTensor;

/** Kernels whose export takes exactly the Kernels entry's arguments and returns bare storage. */
type Direct = 'matmul' | 'swigluForward' | 'swigluBackward' | 'softmaxForward' | 'softmaxBackward' | 'embeddingForward'
  | 'scale' | 'broadcastTo' | 'permute' | 'cast' | 'narrow' | 'cat' | 'fill';
type DirectExports = { [K in Direct]: (...args: Parameters<Kernels[K]>) => Handle } & Pick<Kernels, 'writeNarrow'>;

/** The others: attribute objects flattened, enums as codes, several outputs as an array. */
export interface KernelExports extends DirectExports {
  // causal: 0 none, 1 top-left, 2 bottom-right; kvLength (forward only): the first positions of k/v
  topk(x: T, k: number): [values: Handle, indices: Handle];
  attentionForward(q: T, k: T, v: T, attnMask: T | null, keyPadding: T | null, scale: number, causal: number, dropoutP: number,
    seed: bigint, offset: number, kvLength: number | undefined): [out: Handle, lse: Handle];
  attentionBackward(dout: T, q: T, k: T, v: T, out: T, lse: T, attnMask: T | null, keyPadding: T | null, scale: number, causal: number,
    dropoutP: number, seed: bigint, offset: number): [dq: Handle, dk: Handle, dv: Handle];
  layernormForward(x: T, weight: T | null, bias: T | null, C: number, eps: number): [y: Handle, mean: Handle, rstd: Handle];
  layernormBackward(dy: T, x: T, weight: T | null, mean: T, rstd: T, C: number, hasBias: boolean): [dx: Handle, dweight: Handle | null, dbias: Handle | null];
  rmsnormForward(x: T, weight: T | null, C: number, eps: number): [y: Handle, rstd: Handle];
  rmsnormBackward(dy: T, x: T, weight: T | null, rstd: T, C: number): [dx: Handle, dweight: Handle | null];
  // kind: 0 relu, 1 gelu, 2 gelu_tanh, 3 silu, 4 tanh
  activationForward(x: T, kind: number): Handle;
  activationBackward(dy: T, x: T, kind: number): Handle;
  // reduction: 0 mean, 1 sum, 2 none
  crossEntropyForward(logits: T, target: T, ignoreIndex: number, labelSmoothing: number, reduction: number): [loss: Handle, lse: Handle];
  crossEntropyBackward(dloss: T, logits: T, target: T, lse: T, ignoreIndex: number, labelSmoothing: number, reduction: number): Handle;
  // paddingIdx -1: none
  embeddingBackward(dy: T, ids: T, V: number, paddingIdx: number): Handle;
  dropoutForward(x: T, p: number, seed: bigint, offset: number): Handle;
  dropoutBackward(dy: T, p: number, seed: bigint, offset: number): Handle;
  // op: 0 add, 1 sub, 2 mul, 3 div; shape: the broadcast output shape
  binary(a: T, b: T, op: number, shape: readonly number[]): Handle;
  // the kept dims' storage; keepDims only changes the shape, which the adapter computes
  sum(x: T, axes: readonly number[]): Handle;
  adamwStep(params: readonly T[], grads: readonly T[], m: readonly T[], v: readonly T[],
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<C extends true> = C;
/** Compiles only while the kernel exports and Kernels name the same kernels. */
export type KernelExportsMatchKernels = Holds<Same<keyof KernelExports, KernelName>>;

/** The collective exports (native/binding/collective_api.cc): mpi in toroid.node, nccl in toroid_cuda.node; wrapped by collective.ts. */
export interface CollectiveExports {
  distributedAvailable(): { engine: string; available: boolean; why: string };
  distributedInit: CollectiveOps['init'];
  distributedUniqueId: CollectiveOps['uniqueId'];
  allReduceStart: CollectiveOps['allReduceStart'];
  broadcastStart: CollectiveOps['broadcastStart'];
  collectiveWait: CollectiveOps['wait'];
  allReduceHost: CollectiveOps['allReduceHost'];
  collectiveBarrier: CollectiveOps['barrier'];
  distributedAbandon: CollectiveOps['abandon'];
}

/** Everything toroid.node exports. */
export interface Addon extends StorageExports, KernelExports, CollectiveExports {}

/** Why an addon built from older sources cannot serve this TypeScript (null when it can). */
export function staleBuild(loaded: object): string | null {
  const missing = KERNEL_NAMES.filter((k) => typeof (loaded as Record<string, unknown>)[k] !== 'function');
  return missing.length === 0 ? null : `was built from older sources (no ${missing.join(', ')}); rebuild it: npm run build:native`;
}
