// The cuda backend: the same kernel adapter as the cpu backend over
// toroid_cuda.node, whose kernels (native/cuda/) run on the GPU. Tensors live in
// device memory between ops; only toFloat32Array()/toArray() copy back. It is
// registered below cpu, so existing code keeps its backend until it asks:
// toroid.setBackend('cuda'), { backend: 'cuda' } on a tensor, or TOROID_BACKEND=cuda.
// It also provides the 'nccl' collective engine (src/backends/collective.ts).
import { registerAddonCollective } from '../native/collective.js';
import { registerAddonBackend } from '../native/kernels.js';
import { markUnavailable } from '../registry.js';
import { describeValue, rangeError, typeError } from '../../errors.js';
import { MATMUL_PRECISIONS, cudaAddon, cudaUnavailable, type CudaDeviceInfo, type MatmulPrecision } from './addon.js';

export type { MatmulPrecision } from './addon.js';

export const CUDA_BACKEND = 'cuda';

if (cudaAddon !== null) registerAddonBackend(CUDA_BACKEND, cudaAddon, 0.5, false);
else markUnavailable(CUDA_BACKEND, cudaUnavailable ?? 'unknown reason');
registerAddonCollective('nccl', cudaAddon, CUDA_BACKEND, `the cuda backend is unavailable (${cudaUnavailable ?? 'unknown reason'})`);

function need(fn: string): NonNullable<typeof cudaAddon> {
  if (cudaAddon === null) throw new Error(`toroid.cuda.${fn}: the cuda backend is unavailable: ${cudaUnavailable}`);
  return cudaAddon;
}

/** The GPU toroid uses and its state; `available: false` with the reason where there is none. */
export function info(): ({ available: true } & CudaDeviceInfo & { liveBytes: number; cachedBytes: number }) | { available: false; reason: string } {
  if (cudaAddon === null) return { available: false, reason: cudaUnavailable ?? 'unknown' };
  const memory = cudaAddon.memory() as { liveBytes: number; cachedBytes?: number };
  return { available: true, ...cudaAddon.cudaInfo(), liveBytes: memory.liveBytes, cachedBytes: memory.cachedBytes ?? 0 };
}

export function isAvailable(): boolean {
  return cudaAddon !== null;
}

/**
 * Deterministic mode: kernels whose results depend on the order of atomic
 * additions (the embedding backward's scatter-add) throw instead of running.
 * Attention, norms and reductions are deterministic either way.
 */
export function setDeterministic(on: boolean): void {
  need('setDeterministic').cudaSetDeterministic(on);
}

/**
 * Mixed precision for matrix products (matmul, linear, and their backward):
 * 'highest' (default) computes in float32; 'high' rounds inputs to TF32 (10
 * mantissa bits), 'medium' to bfloat16 (8 bits), 'fp16' to half precision (10 bits,
 * range 6e-5..65504: use optim.GradScaler against underflowing gradients). Inputs
 * are rounded inside cuBLAS and products accumulate in float32; tensors, master
 * weights and optimizer state stay float32. Needs cuBLAS (toroid's own GEMM is fp32 only).
 */
export function setMatmulPrecision(precision: MatmulPrecision): void {
  const addon = need('setMatmulPrecision');
  if (typeof precision !== 'string') throw typeError('cuda.setMatmulPrecision', 'precision', MATMUL_PRECISIONS.map((p) => `'${p}'`).join(', '), describeValue(precision));
  const index = MATMUL_PRECISIONS.indexOf(precision);
  if (index < 0) throw rangeError('cuda.setMatmulPrecision', 'precision', MATMUL_PRECISIONS.map((p) => `'${p}'`).join(', '), `'${precision}'`);
  addon.cudaSetMatmulPrecision(index);
}

export function getMatmulPrecision(): MatmulPrecision {
  return need('getMatmulPrecision').cudaInfo().matmulPrecision;
}

/** Shorthand: setMatmulPrecision(on ? 'high' : 'highest'). TF32 is off by default. */
export function setTF32(on: boolean): void {
  setMatmulPrecision(on ? 'high' : 'highest');
}

/** Wait until every queued kernel has finished (for timing; downloads wait by themselves). */
export function synchronize(): void {
  need('synchronize').cudaSynchronize();
}

/** GPU time of one kernel entry point (e.g. 'matmul', 'attentionBackward') over a profiled run. */
export interface KernelTime { name: string; calls: number; ms: number }

/**
 * Runs fn with CUDA events around every native call and returns its result and
 * the GPU time per kernel entry point, largest first (a coarse profile: where the
 * time of a training step goes). Profiling adds an event pair per call.
 */
export function profile<T>(fn: () => T): { result: T; kernels: KernelTime[]; totalMs: number } {
  const addon = need('profile');
  addon.cudaProfile(true);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    addon.cudaProfile(false);
    throw err;
  }
  const kernels = (addon.cudaProfile(false) ?? []).sort((a, b) => b.ms - a.ms);
  return { result, kernels, totalMs: kernels.reduce((s, k) => s + k.ms, 0) };
}

/** Give cached free device blocks back to the driver (they are otherwise kept for reuse). */
export function emptyCache(): void {
  need('emptyCache').emptyCache();
}
