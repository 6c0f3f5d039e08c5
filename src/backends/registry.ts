// Kernel registry (the tfjs idea): a backend is storage primitives plus a table
// of kernels filled by name. A kernel that a backend has not registered throws a
// clear error instead of silently falling back.
import type { Backend, KernelName, Kernels, StorageOps } from './backend.js';
import { KERNEL_NAMES } from './backend.js';

const backends = new Map<string, Backend>();
const unavailable = new Map<string, string>();
let current: Backend | undefined;

/** Record why a known backend (e.g. 'cuda') did not register, for the error that asking for it gives. */
export function markUnavailable(name: string, reason: string): void {
  unavailable.set(name, reason);
}

export interface BackendInfo extends StorageOps {
  name: string;
}

export function registerBackend(info: BackendInfo, priority = 0): Backend {
  const kernels = {} as Record<KernelName, unknown>;
  for (const name of KERNEL_NAMES) {
    kernels[name] = () => {
      throw new Error(`toroid: kernel ${name} is not implemented on backend '${info.name}'`);
    };
  }
  const backend: Backend = { ...info, kernels: kernels as unknown as Kernels };
  Object.defineProperty(backend, 'priority', { value: priority, enumerable: false });
  backends.set(info.name, backend);
  if (current === undefined || priority > priorityOf(current)) current = backend;
  return backend;
}

function priorityOf(backend: Backend): number {
  return (backend as unknown as { priority: number }).priority;
}

export function registerKernel<K extends KernelName>(backendName: string, name: K, impl: Kernels[K]): void {
  const backend = backends.get(backendName);
  if (backend === undefined) throw new Error(`toroid: registerKernel: backend '${backendName}' is not registered`);
  if (!KERNEL_NAMES.includes(name)) throw new Error(`toroid: registerKernel: unknown kernel '${String(name)}'`);
  (backend.kernels as unknown as Record<KernelName, unknown>)[name] = impl;
}

export function getBackend(name?: string): Backend {
  if (name === undefined) {
    if (current === undefined) throw new Error('toroid: no backend is registered');
    return current;
  }
  const backend = backends.get(name);
  if (backend === undefined) {
    const why = unavailable.get(name);
    if (why !== undefined) throw new Error(`toroid: backend '${name}' is unavailable: ${why}`);
    throw new RangeError(`toroid.getBackend: name must be one of ${listBackends().map((b) => `'${b}'`).join(', ')}, got '${name}'`);
  }
  return backend;
}

/** Make `name` the backend new tensors are created on. */
export function setBackend(name: string): void {
  current = getBackend(name);
}

/**
 * TOROID_BACKEND=<name> picks the default backend without a code change; a name
 * that is unavailable here is reported in one line and the default stays.
 */
export function applyBackendFromEnv(): void {
  const name = process.env.TOROID_BACKEND;
  if (name === undefined || name === '') return;
  const backend = backends.get(name);
  if (backend !== undefined) current = backend;
  else console.warn(`toroid: TOROID_BACKEND=${name} is unavailable (${unavailable.get(name) ?? `known: ${listBackends().join(', ')}`}); using '${current?.name}'`);
}

export function listBackends(): string[] {
  return [...backends.keys()];
}
