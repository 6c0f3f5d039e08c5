// The cpu backend: a thin adapter from the Kernels interface to the addon.
// Shapes are computed here (cheaply, in JS); the addon re-validates every
// argument at its boundary, allocates outputs and runs the C++ kernels in
// native/cpu/. Registered above the ts backend, so it becomes the default.
import type { Kernels } from '../backend.js';
import { registerBackend, registerKernel } from '../registry.js';
import type { DType, TypedArray } from '../../tensor/dtype.js';
import { addon } from './addon.js';
import { makeKernels } from './kernels.js';

export const CPU_BACKEND = 'cpu';

if (addon !== null) {
  const native = addon;
  registerBackend({
    name: CPU_BACKEND,
    upload: (array: TypedArray, dtype: DType) => native.upload(array as Float32Array, dtype),
    download: (data: unknown, dtype: DType, size: number) => native.download(data, dtype, size) as TypedArray,
    free: (data: unknown) => native.free(data),
    supportsDType: (dtype: DType) => dtype !== 'float64',
  }, 1);
  const kernels = makeKernels(native);
  for (const [name, impl] of Object.entries(kernels)) registerKernel(CPU_BACKEND, name as keyof Kernels, impl as never);
}

/** The native runtime: BLAS, threads, live native memory; null on the ts backend only. */
export function nativeInfo(): { blas: string; threads: number; avx512: boolean; liveBytes: number } | null {
  if (addon === null) return null;
  return { ...addon.info(), liveBytes: addon.memory().liveBytes };
}

/** Threads of the one OpenMP pool shared by the kernels and the BLAS. */
export function setNumThreads(n: number): void {
  addon?.setNumThreads(n);
}
