// The collective engine over an addon's collective exports: 'mpi' in toroid.node,
// 'nccl' in toroid_cuda.node (native/binding/collective_api.cc, one binding for both).
import { markCollectiveUnavailable, registerCollective, type CollectiveEngine, type CollectiveOps } from '../collective.js';
import type { CollectiveExports } from './exports.js';

export function makeCollective(engine: CollectiveEngine, n: CollectiveExports, backend: string): CollectiveOps {
  return {
    engine,
    backend,
    available: () => (typeof n.distributedAvailable === 'function' ? n.distributedAvailable() : { available: false, why: 'this build of the addon has no collectives; rebuild it (npm run build:native)' }),
    uniqueId: () => n.distributedUniqueId(),
    init: (rank, worldSize, uniqueId, timeoutSeconds) => n.distributedInit(rank, worldSize, uniqueId, timeoutSeconds),
    allReduceStart: (tensors) => n.allReduceStart(tensors),
    broadcastStart: (tensors, root) => n.broadcastStart(tensors, root),
    wait: (ticket) => n.collectiveWait(ticket),
    allReduceHost: (values) => n.allReduceHost(values),
    barrier: () => n.collectiveBarrier(),
    abandon: (reason) => n.distributedAbandon(reason),
  };
}

/** Register `engine` over a loaded addon, or record why it has none. */
export function registerAddonCollective(engine: CollectiveEngine, n: CollectiveExports | null, backend: string, why: string): void {
  if (n !== null) registerCollective(makeCollective(engine, n, backend));
  else markCollectiveUnavailable(engine, why);
}
