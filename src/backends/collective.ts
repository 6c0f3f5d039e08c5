// The collective interface, like Backend for kernels: what a backend gives
// src/distributed/ to join the other ranks and reduce its storages. The cpu
// backend provides 'mpi' (Open MPI over host memory), the cuda backend 'nccl'
// (device memory); distributed code asks this registry for an engine by name and
// never sees an addon.
import type { KTensor } from './backend.js';

export type CollectiveEngine = 'mpi' | 'nccl';

/** What joining reports: the engine's own version string (e.g. 'Open MPI v4.1.4') and this process's place. */
export interface CollectiveInfo {
  engine: CollectiveEngine;
  version: string;
  rank: number;
  worldSize: number;
  /** Rank among the processes on this machine. */
  localRank: number;
}

export interface CollectiveOps {
  readonly engine: CollectiveEngine;
  /** The backend whose storages it reduces. */
  readonly backend: string;
  /** Whether the engine's library can be opened here, and why not. */
  available(): { available: boolean; why: string };
  /** nccl only: the id rank 0 creates and hands to the others before init. */
  uniqueId(): Uint8Array;
  init(rank: number, worldSize: number, uniqueId: Uint8Array | null, timeoutSeconds: number): CollectiveInfo;
  /** Starts outputs[i] = sum over ranks of tensors[i] (fresh storages, final after wait(ticket)). */
  allReduceStart(tensors: readonly KTensor[]): [ticket: number, outputs: unknown[]];
  broadcastStart(tensors: readonly KTensor[], root: number): [ticket: number, outputs: unknown[]];
  wait(ticket: number): void;
  /** Sums a few host numbers over the ranks, in float64. */
  allReduceHost(values: Float64Array): Float64Array;
  barrier(): void;
  /** The engine ends the whole job when this process exits (this rank failed outside a collective). */
  abandon(reason: string): void;
}

const engines = new Map<CollectiveEngine, CollectiveOps>();
const unavailable = new Map<CollectiveEngine, string>();

export function registerCollective(ops: CollectiveOps): void {
  engines.set(ops.engine, ops);
}

/** Record why a backend could not provide `engine`, for the error that asking for it gives. */
export function markCollectiveUnavailable(engine: CollectiveEngine, reason: string): void {
  unavailable.set(engine, reason);
}

export function getCollective(engine: CollectiveEngine): CollectiveOps {
  const ops = engines.get(engine);
  if (ops !== undefined) return ops;
  const why = unavailable.get(engine) ?? `no backend provides it (the ${engine === 'mpi' ? 'cpu' : 'cuda'} backend is not loaded)`;
  throw new Error(`toroid.distributed: '${engine}' is unavailable: ${why}`);
}
