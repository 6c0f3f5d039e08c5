// Finds and loads toroid_cuda.node (prebuilds/<platform>-<arch>/ first, then a
// source build in build/Release). It links the CUDA runtime statically, so it
// loads on any Linux x64 machine; whether a GPU is usable is asked of it next
// (cudaInfo). Never throws: the reason it is unavailable is kept for the error
// that setBackend('cuda') gives.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { staleBuild, type Addon } from '../native/exports.js';
import { notLoadable, packageRoot } from '../native/platform.js';

export interface CudaDeviceInfo {
  count: number;
  error: string | null;
  device?: number;
  name?: string;
  computeCapability?: string;
  multiprocessors?: number;
  totalBytes?: number;
  freeBytes?: number;
  driverVersion?: number;
  runtimeVersion?: number;
  /** Whether cuBLAS was found (else toroid's own GEMM kernels run). */
  cublas?: boolean;
  /** cuBLAS's path, or why it is not used. */
  blas?: string;
  deterministic: boolean;
  matmulPrecision: MatmulPrecision;
}

/** What float32 matrix products may compute in on cuda (as torch.set_float32_matmul_precision, plus fp16). */
export type MatmulPrecision = 'highest' | 'high' | 'medium' | 'fp16';
export const MATMUL_PRECISIONS: readonly MatmulPrecision[] = ['highest', 'high', 'medium', 'fp16'];

export interface CudaAddon extends Addon {
  cudaInfo(): CudaDeviceInfo;
  cudaSetDeterministic(on: boolean): void;
  cudaSetMatmulPrecision(precision: number): void;
  cudaSynchronize(): void;
  cudaProfile(on: boolean): { name: string; calls: number; ms: number }[] | undefined;
}

export let cudaUnavailable: string | null = null;

/** The toroid_cuda.node this install would load (a prebuild first), or undefined. */
export function cudaAddonFile(): string | undefined {
  const candidates = [
    path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'toroid_cuda.node'),
    path.join(packageRoot, 'build', 'Release', 'toroid_cuda.node'),
  ];
  return candidates.find((f) => existsSync(f));
}

function load(): CudaAddon | null {
  cudaUnavailable = notLoadable('TOROID_CUDA', (platform) => `no CUDA build for ${platform}`);
  if (cudaUnavailable !== null) return null;
  const file = cudaAddonFile();
  if (file === undefined) {
    cudaUnavailable = 'this install has no CUDA build of toroid (toroid_cuda.node)';
    return null;
  }
  let cuda: CudaAddon;
  try {
    cuda = createRequire(import.meta.url)(file) as CudaAddon;
  } catch (err) {
    cudaUnavailable = `toroid_cuda.node failed to load: ${(err as Error).message.split('\n')[0]}`;
    return null;
  }
  const stale = staleBuild(cuda);
  if (stale !== null) {
    cudaUnavailable = `toroid_cuda.node ${stale}`;
    return null;
  }
  let info: CudaDeviceInfo;
  try {
    info = cuda.cudaInfo();
  } catch (err) {
    cudaUnavailable = (err as Error).message;
    return null;
  }
  if (info.count === 0 || info.error !== null) {
    cudaUnavailable = `no usable NVIDIA GPU (${info.error ?? 'none visible'})`;
    return null;
  }
  return cuda;
}

export const cudaAddon: CudaAddon | null = load();
