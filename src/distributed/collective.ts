// The collective in TypeScript: one process's handle on the engine that joins it
// to the other ranks, Open MPI for CPU tensors or NCCL for CUDA tensors. The cpu
// and cuda backends provide the engines (src/backends/collective.ts); both open
// their library at run time, and `initCollective` says exactly what is missing
// when one cannot start.
//
//   const c = await initCollective('mpi', { timeoutSeconds: 300 });   // under mpirun
//   const pending = c.allReduceStart(grads);   // returns at once; the engine works in the background
//   ...
//   const summed = pending.wait();             // new tensors: the sums over all ranks
import { describeValue, rangeError, typeError } from '../errors.js';
import { getCollective, type CollectiveEngine, type CollectiveInfo, type CollectiveOps } from '../backends/collective.js';
import { getBackend } from '../backends/registry.js';
import type { Backend } from '../backends/backend.js';
import { Tensor } from '../tensor/tensor.js';
import { readLaunchEnv } from './launch-env.js';
import { rendezvous } from './rendezvous.js';

export type { CollectiveEngine, CollectiveInfo } from '../backends/collective.js';

export interface CollectiveOptions {
  /** A collective that has not completed after this long fails the run with an error naming it (default 300 s). */
  timeoutSeconds?: number;
}

/** A started all-reduce or broadcast: its outputs are usable after wait(). */
export interface PendingCollective {
  /** Blocks until the outputs are final and returns them (new tensors, in input order). */
  wait(): Tensor[];
}

export class Collective {
  readonly engine: CollectiveEngine;
  readonly version: string;
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  /** Where the tensors it reduces live: 'cpu' for mpi, 'cuda' for nccl. */
  readonly backend: Backend;

  /** @internal use initCollective */
  constructor(private readonly native: CollectiveOps, info: CollectiveInfo, backend: Backend) {
    this.engine = info.engine;
    this.version = info.version;
    this.rank = info.rank;
    this.worldSize = info.worldSize;
    this.localRank = info.localRank;
    this.backend = backend;
  }

  /** Starts outputs[i] = sum over ranks of tensors[i]; every rank must start the same collectives in the same order. */
  allReduceStart(tensors: readonly Tensor[]): PendingCollective {
    this.check('allReduce', tensors);
    const [ticket, outputs] = this.native.allReduceStart(tensors);
    return this.pending(ticket, outputs, tensors);
  }

  /** Rank `root`'s tensors on every rank (as new tensors; the shapes must agree). */
  broadcast(tensors: readonly Tensor[], root = 0): Tensor[] {
    this.check('broadcast', tensors);
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize) throw rangeError('broadcast', 'root', `a rank in [0, ${this.worldSize})`, describeValue(root));
    const [ticket, outputs] = this.native.broadcastStart(tensors, root);
    return this.pending(ticket, outputs, tensors).wait();
  }

  /** Sums a few numbers over the ranks, in float64 (losses, token counts, flags). */
  allReduceNumbers(values: readonly number[]): number[] {
    return Array.from(this.native.allReduceHost(Float64Array.from(values)));
  }

  barrier(): void {
    this.native.barrier();
  }

  /**
   * This rank failed outside a collective: the engine ends the whole job when
   * this process exits (MPI_Abort, ncclCommAbort) instead of leaving the other
   * ranks to wait for it until their timeout.
   */
  abandon(reason: string): void {
    this.native.abandon(String(reason));
  }

  private check(fn: string, tensors: readonly Tensor[]): void {
    if (!Array.isArray(tensors)) throw typeError(fn, 'tensors', 'an array of tensors', describeValue(tensors));
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw typeError(fn, `tensors[${i}]`, 'a Tensor', describeValue(t));
      if (t.isDisposed) throw typeError(fn, `tensors[${i}]`, 'a live tensor', 'a disposed one');
      if (t.dtype !== 'float32') throw typeError(fn, `tensors[${i}]`, 'float32', t.dtype);
      if (t.backend !== this.backend) {
        throw typeError(fn, `tensors[${i}]`, `a tensor on '${this.backend.name}' (the '${this.engine}' collective reduces ${this.engine === 'mpi' ? 'host' : 'GPU'} memory)`, `one on '${t.device}'`);
      }
    });
  }

  private pending(ticket: number, outputs: unknown[], inputs: readonly Tensor[]): PendingCollective {
    let done: Tensor[] | null = null;
    return {
      wait: () => {
        if (done !== null) return done;
        this.native.wait(ticket);
        done = outputs.map((data, i) => Tensor.fromKernel(this.backend, { data, shape: inputs[i]!.shape.slice(), dtype: 'float32' }));
        return done;
      },
    };
  }
}

let current: Promise<Collective> | null = null;
let currentEngine: CollectiveEngine | null = null;

/**
 * Joins this process to its job: 'mpi' under mpirun (ranks from Open MPI), 'nccl'
 * under torchrun, srun or mpirun (RANK/WORLD_SIZE/LOCAL_RANK, and MASTER_ADDR/MASTER_PORT
 * for the rendezvous that hands NCCL's unique id from rank 0 to the others).
 * Once per process: a second call returns the first collective (an engine cannot
 * be initialised twice); asking for the other engine then throws.
 */
export function initCollective(engine: CollectiveEngine, options: CollectiveOptions = {}): Promise<Collective> {
  if (engine !== 'mpi' && engine !== 'nccl') throw typeError('initCollective', 'engine', "'mpi' or 'nccl'", describeValue(engine));
  const timeout = options.timeoutSeconds ?? 300;
  if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout)) {
    throw rangeError('initCollective', 'options.timeoutSeconds', 'a positive number of seconds', describeValue(timeout));
  }
  if (current !== null) {
    if (currentEngine !== engine) throw new Error(`toroid.distributed: this process already joined its job with '${currentEngine}'; it cannot also use '${engine}'`);
    return current;
  }
  currentEngine = engine;
  current = start(engine, timeout);
  current.catch(() => {
    current = null;
    currentEngine = null;
  });
  return current;
}

async function start(engine: CollectiveEngine, timeoutSeconds: number): Promise<Collective> {
  const env = readLaunchEnv(engine);
  const native = requireEngine(engine);
  if (engine === 'mpi') {
    const info = native.init(env.rank, env.worldSize, null, timeoutSeconds);
    if (info.worldSize !== env.worldSize) {
      throw new Error(`toroid.distributed: MPI sees ${info.worldSize} ranks but mpirun started ${env.worldSize}: is this process linked against a second MPI library?`);
    }
    return new Collective(native, info, getBackend(native.backend));
  }
  const id = env.rank === 0 ? native.uniqueId() : undefined;
  const shared = await rendezvous({
    rank: env.rank, worldSize: env.worldSize, masterAddr: env.masterAddr!, masterPort: env.masterPort!, timeoutMs: timeoutSeconds * 1000, payload: id,
  });
  const info = native.init(env.rank, env.worldSize, shared, timeoutSeconds);
  return new Collective(native, info, getBackend(native.backend));
}

function requireEngine(engine: CollectiveEngine): CollectiveOps {
  const native = getCollective(engine);
  const available = native.available();
  if (!available.available) throw new Error(`toroid.distributed: '${engine}' is not available: ${available.why}`);
  return native;
}
