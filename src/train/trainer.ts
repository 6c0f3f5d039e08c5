// Trainer: runs a training task on a worker thread, so the caller's event loop
// (a server's) stays responsive while the model trains. Progress arrives as
// events and through an async iterator; an AbortSignal stops the run after the
// current step, leaving a consistent model and, with a checkpointPath, a
// checkpoint to resume from bit for bit.
//
//   const trainer = new Trainer({ task: new URL('./task.mjs', import.meta.url), maxSteps: 1000,
//                                 checkpointPath: 'run.safetensors', checkpointEvery: 100, signal });
//   for await (const p of trainer) console.log(p.step, p.loss, p.tokensPerSecond);
//   const result = await trainer.result;
import { EventEmitter } from 'node:events';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describeValue, typeError } from '../errors.js';
import { checkNonNegativeInt, checkOneOf, checkPath, checkPositiveFinite, checkPositiveInt, checkSignal } from '../validate/checks.js';
import { oneOf, resolveConfig, unchecked, type Schema } from '../validate/schema.js';
import type { DistributedConfig, Precision, ProgressEvent, WorkerConfig, WorkerMessage } from './protocol.js';
import { workerEntry } from './worker-entry.js';

export type { ProgressEvent } from './protocol.js';

export interface DistributedOptions {
  /** 'mpi': CPU ranks started by mpirun (Open MPI). 'nccl': one process per GPU under torchrun, srun or mpirun. */
  engine: 'mpi' | 'nccl';
  /** A collective that has not completed after this long fails every rank with an error naming it (default 300). */
  timeoutSeconds?: number;
  /** Gradient bytes per all-reduce bucket (default 4 MiB). */
  bucketBytes?: number;
  /** Debug: compare a hash of the parameters across ranks every N steps (default 0: never). */
  checkEvery?: number;
}

export interface TrainerOptions {
  /** The task module (file URL or path): exports createTask(options) -> TrainTask. */
  task: URL | string;
  /** Passed to createTask in the worker (structured-cloneable). */
  taskOptions?: unknown;
  /** Train until this global step (a resumed run continues from its saved step). */
  maxSteps: number;
  /** Validation loss every N steps (0: never). */
  validateEvery?: number;
  /** Checkpoint every N steps and on cancel (0: only on cancel and at the end). */
  checkpointEvery?: number;
  /** Where checkpoints go (atomic writes); without it nothing is written. */
  checkpointPath?: string;
  /**
   * A checkpoint write that fails (a full disk): 'stop' (default) ends training with the error;
   * 'warn' emits 'checkpointError' (an Error with the system's `code`) and trains on, the
   * previous checkpoint left as it was.
   */
  onCheckpointError?: 'warn' | 'stop';
  /** Resume from a checkpoint written by a previous run. */
  resumeFrom?: string;
  /** Threads of the worker's kernel pool (default: the cores; with `distributed`, the cores per rank on this machine). */
  threads?: number;
  /**
   * 'bf16': mixed precision, the task's forward passes under toroid.autocast (matrix products in
   * bfloat16, float32 master weights, optimizer and checkpoints). Default 'fp32'.
   */
  precision?: Precision;
  /**
   * Data-parallel training with the other processes of this job: each rank trains
   * on its shard of every global batch, gradients are summed over the ranks, and
   * only rank 0 reports progress, validates and writes checkpoints. The task must
   * use the DistributedContext it receives (src/train/task.ts).
   */
  distributed?: 'mpi' | 'nccl' | DistributedOptions;
  signal?: AbortSignal;
}

export interface TrainResult {
  step: number;
  reason: 'finished' | 'aborted' | 'exhausted';
  validation: Array<{ step: number; loss: number }>;
  checkpoints: Array<{ step: number; path: string }>;
  /** Where this process sat in a distributed run. */
  distributed?: { engine: string; version: string; rank: number; worldSize: number; localRank: number; threads: number };
}

export class Trainer extends EventEmitter {
  /** Resolves when the worker stops (finished, aborted or out of data); rejects on a task error. */
  readonly result: Promise<TrainResult>;
  private readonly queue: ProgressEvent[] = [];
  private wake: (() => void) | null = null;
  private ended = false;

  constructor(options: TrainerOptions) {
    super();
    const o = resolveConfig('Trainer', 'options', options, OPTIONS);
    const distributed = o.distributed;
    if (distributed?.engine === 'nccl' && process.env.TOROID_CUDA_DEVICE === undefined && process.env.LOCAL_RANK !== undefined) {
      // one GPU per rank on a machine: read by the cuda addon when it first touches the GPU
      process.env.TOROID_CUDA_DEVICE = process.env.LOCAL_RANK;
    }
    if (o.checkpointPath !== undefined) prepareCheckpointFolder(o.checkpointPath);
    const abortBuffer = new SharedArrayBuffer(4);
    const config: WorkerConfig = {
      taskUrl: o.task, taskOptions: o.taskOptions, maxSteps: o.maxSteps, validateEvery: o.validateEvery,
      checkpointEvery: o.checkpointEvery, checkpointAtEnd: o.checkpointPath !== undefined,
      checkpointPath: o.checkpointPath, onCheckpointError: o.onCheckpointError, resumeFrom: o.resumeFrom, threads: o.threads, precision: o.precision, abortBuffer, distributed,
    };
    const entry = workerEntry(import.meta.url, 'worker');
    const worker = entry.eval === undefined ? new Worker(entry.url, { workerData: config }) : new Worker(entry.eval, { eval: true, workerData: config });
    const flag = new Int32Array(abortBuffer);
    const onAbort = (): void => { Atomics.store(flag, 0, 1); };
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const result: TrainResult = { step: 0, reason: 'finished', validation: [], checkpoints: [] };
    this.result = new Promise<TrainResult>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null): void => {
        if (settled) return;
        settled = true;
        o.signal?.removeEventListener('abort', onAbort);
        this.ended = true;
        this.wake?.();
        void worker.terminate();
        if (err) reject(err);
        else resolve(result);
      };
      worker.on('message', (m: WorkerMessage) => {
        switch (m.type) {
          case 'progress':
            result.step = m.step;
            this.queue.push(m);
            this.wake?.();
            this.emit('progress', m);
            break;
          case 'validation':
            result.validation.push({ step: m.step, loss: m.loss });
            this.emit('validation', m);
            break;
          case 'checkpoint':
            result.checkpoints.push({ step: m.step, path: m.path });
            this.emit('checkpoint', m);
            break;
          case 'checkpointError': {
            const err = new Error(m.message) as NodeJS.ErrnoException;
            err.name = m.name;
            if (m.code !== undefined) err.code = m.code;
            if (this.listenerCount('checkpointError') > 0) this.emit('checkpointError', { step: m.step, path: m.path, error: err });
            else process.emitWarning(`toroid.Trainer: the checkpoint at step ${m.step} was not written (${m.message}); training goes on`, { code: 'TOROID_CHECKPOINT' });
            break;
          }
          case 'resumed':
            result.step = m.step;
            this.emit('resumed', m);
            break;
          case 'joined':
            result.distributed = { engine: m.engine, version: m.version, rank: m.rank, worldSize: m.worldSize, localRank: m.localRank, threads: m.threads };
            this.emit('joined', m);
            break;
          case 'done':
            result.step = m.step;
            result.reason = m.reason;
            this.emit('done', result);
            finish(null);
            break;
          case 'error': {
            const err = new Error(m.message);
            err.name = m.name;
            err.stack = m.stack;
            // 'ENOSPC', 'EACCES', ...: what a caller branches on survives the worker boundary
            if (m.code !== undefined) (err as NodeJS.ErrnoException).code = m.code;
            finish(err);
            break;
          }
        }
      });
      worker.on('error', (err) => finish(err));
      // a worker that ends without 'done' (process.exit in a task, a crash) did not finish
      worker.on('exit', (code) => finish(new Error(`toroid.Trainer: the training worker exited with code ${code} before reporting the end of training (step ${result.step})`)));
    });
    // keep an unobserved rejection from crashing the process; callers see it through result
    this.result.catch(() => {});
  }

  /** Progress events as they arrive; ends when training stops. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ProgressEvent> {
    for (;;) {
      while (this.queue.length > 0) yield this.queue.shift()!;
      if (this.ended) break;
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = null;
    }
    await this.result;
  }
}

/**
 * Before step 1, not after checkpointEvery steps of work: the checkpoint's folder is
 * created (as `toroid train` does) or the constructor throws with the system's code
 * (ENOTDIR, EACCES, ...), and temp files a killed earlier save of this checkpoint left
 * (src/io/atomic-write.ts names them .<name>.<pid>.<random>.tmp) are removed when their
 * process is gone.
 */
function prepareCheckpointFolder(file: string): void {
  const dir = path.dirname(path.resolve(file));
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const err = new Error(`toroid.Trainer: options.checkpointPath must be in a folder that exists or can be created, got '${file}' (${(e as Error).message})`);
    (err as NodeJS.ErrnoException).code = (e as NodeJS.ErrnoException).code;
    throw err;
  }
  const prefix = `.${path.basename(file)}.`;
  for (const name of readdirSync(dir)) {
    const m = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (m === null || processAlive(Number(m[1]))) continue;
    rmSync(path.join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;  // this process may be saving it right now
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A task module given as a file URL or a path -> its file URL. */
function checkTask(fn: string, arg: string, value: unknown): string {
  if (value instanceof URL) return value.href;
  if (typeof value === 'string') return value.startsWith('file:') ? value : pathToFileURL(value).href;
  throw typeError(fn, arg, 'a URL or path of a task module', describeValue(value));
}

const ENGINES = ['mpi', 'nccl'] as const;

const DISTRIBUTED: Schema<DistributedConfig> = {
  engine: { check: oneOf(ENGINES) },
  timeoutSeconds: { check: checkPositiveFinite, default: 300 },
  bucketBytes: { check: checkPositiveInt, default: 4 * 1024 * 1024 },
  checkEvery: { check: checkNonNegativeInt, default: 0 },
};

/** 'mpi', 'nccl' or { engine, ... } -> the resolved DistributedConfig. */
function checkDistributed(fn: string, arg: string, value: unknown): DistributedConfig {
  if (typeof value === 'string') return resolveConfig(fn, arg, { engine: checkOneOf(fn, arg, value, ENGINES) }, DISTRIBUTED);
  return resolveConfig(fn, arg, value, DISTRIBUTED);
}

/** TrainerOptions, checked: the task as a file URL and the defaults filled in. */
interface CheckedOptions {
  /** The task module's file URL. */
  task: string;
  taskOptions: unknown;
  maxSteps: number;
  validateEvery: number;
  checkpointEvery: number;
  checkpointPath: string | undefined;
  onCheckpointError: 'warn' | 'stop';
  resumeFrom: string | undefined;
  threads: number | undefined;
  precision: Precision;
  distributed: DistributedConfig | undefined;
  signal: AbortSignal | undefined;
}

const OPTIONS: Schema<CheckedOptions> = {
  task: { check: checkTask },
  taskOptions: { check: unchecked, optional: true },
  maxSteps: { check: checkNonNegativeInt },
  validateEvery: { check: checkNonNegativeInt, default: 0 },
  checkpointEvery: { check: checkNonNegativeInt, default: 0 },
  checkpointPath: { check: checkPath, optional: true },
  onCheckpointError: { check: oneOf(['warn', 'stop'] as const), default: 'stop' },
  resumeFrom: { check: checkPath, optional: true },
  threads: { check: checkPositiveInt, optional: true },
  precision: { check: oneOf(['fp32', 'bf16'] as const), default: 'fp32' },
  distributed: { check: checkDistributed, optional: true },
  signal: { check: checkSignal, optional: true },
};
