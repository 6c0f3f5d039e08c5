// The cuda backend: the same kernel adapter as the cpu backend over
// toroid_cuda.node, whose kernels (native/cuda/) run on the GPU. Tensors live in
// device memory between ops; only toFloat32Array()/toArray() copy back. It is
// registered below cpu, so existing code keeps its backend until it asks:
// toroid.setBackend('cuda'), { backend: 'cuda' } on a tensor, or TOROID_BACKEND=cuda.
import type { Kernels } from '../backend.js';
import { makeKernels } from '../native/kernels.js';
import { markUnavailable, registerBackend, registerKernel } from '../registry.js';
import type { DType, TypedArray } from '../../tensor/dtype.js';
import { cudaAddon, cudaUnavailable, type CudaDeviceInfo } from './addon.js';

export const CUDA_BACKEND = 'cuda';

if (cudaAddon !== null) {
  const native = cudaAddon;
  registerBackend({
    name: CUDA_BACKEND,
    upload: (array: TypedArray, dtype: DType) => native.upload(array as Float32Array, dtype),
    download: (data: unknown, dtype: DType, size: number) => native.download(data, dtype, size) as TypedArray,
    free: (data: unknown) => native.free(data),
    supportsDType: (dtype: DType) => dtype !== 'float64',
  }, 0.5);
  const kernels = makeKernels(native);
  for (const [name, impl] of Object.entries(kernels)) registerKernel(CUDA_BACKEND, name as keyof Kernels, impl as never);
} else {
  markUnavailable(CUDA_BACKEND, cudaUnavailable ?? 'unknown reason');
}

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

/** Let float32 matrix products use TF32 tensor cores (about 10 mantissa bits). Off by default. */
export function setTF32(on: boolean): void {
  need('setTF32').cudaSetTF32(on);
}

/** Wait until every queued kernel has finished (for timing; downloads wait by themselves). */
export function synchronize(): void {
  need('synchronize').cudaSynchronize();
}

/** Give cached free device blocks back to the driver (they are otherwise kept for reuse). */
export function emptyCache(): void {
  need('emptyCache').emptyCache();
}
