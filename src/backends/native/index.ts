// The cpu backend: a thin adapter from the Kernels interface to the addon.
// Shapes are computed here (cheaply, in JS); the addon re-validates every
// argument at its boundary, allocates outputs and runs the C++ kernels in
// native/cpu/. Registered above the ts backend, so it becomes the default; it
// also provides the 'mpi' collective engine (src/backends/collective.ts).
import { addon, loadError } from './addon.js';
import { registerAddonCollective } from './collective.js';
import { registerAddonBackend } from './kernels.js';

export const CPU_BACKEND = 'cpu';

if (addon !== null) registerAddonBackend(CPU_BACKEND, addon, 1, true);
registerAddonCollective('mpi', addon, CPU_BACKEND, `the cpu addon did not load (${loadError ?? 'unknown reason'})`);

/**
 * The native runtime: BLAS, threads, whether AVX-512 kernels run, the bf16 matrix path
 * ('amx-bf16' | 'avx512-bf16' | 'avx2'), live native memory; null on the ts backend only.
 */
export function nativeInfo(): { blas: string; threads: number; avx512: boolean; device: string; bf16?: string; liveBytes: number } | null {
  if (addon === null) return null;
  return { ...addon.info(), liveBytes: addon.memory().liveBytes };
}

/** Threads of the one OpenMP pool shared by the kernels and the BLAS. */
export function setNumThreads(n: number): void {
  addon?.setNumThreads(n);
}
