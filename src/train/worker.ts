// The training thread: imports the task module, runs steps, reports progress,
// validates and checkpoints, and stops within one step when the main thread sets
// the shared abort flag. It owns the model and all its native memory.
// With `distributed`, it first joins the other ranks (src/distributed/), hands the
// task a DistributedContext, and from then on every rank takes the same steps:
// the stop decision and the step's loss are summed over the ranks, and only rank 0
// reports progress, validates and writes checkpoints.
import { availableParallelism, cpus } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { DistributedContext } from '../distributed/context.js';
import { loadTrainingState, saveTrainingState } from './state.js';
import type { CreateTask, StepResult, TrainTask } from './task.js';
import type { WorkerConfig, WorkerMessage } from './protocol.js';

const config = workerData as WorkerConfig;
const abort = new Int32Array(config.abortBuffer);
const post = (m: WorkerMessage): void => parentPort!.postMessage(m);

async function run(): Promise<void> {
  // the backends first, as importing toroid does (the task module may import toroid itself)
  await import('../backends/load.js');
  const { nativeInfo, setNumThreads } = await import('../backends/native/index.js');
  if (config.threads !== undefined) setNumThreads(config.threads);
  let dist: DistributedContext | null = null;
  if (config.distributed !== undefined) {
    const { initCollective } = await import('../distributed/collective.js');
    const { DistributedContext: Context } = await import('../distributed/context.js');
    const collective = await initCollective(config.distributed.engine, { timeoutSeconds: config.distributed.timeoutSeconds });
    dist = new Context(collective, { bucketBytes: config.distributed.bucketBytes });
    active = dist;
    // ranks that share a machine share its cores: one pool of kernel threads each, never more threads than cores
    if (config.threads === undefined) setNumThreads(ranksThreads(collective.worldSize));
    post({ type: 'joined', engine: collective.engine, version: collective.version, rank: collective.rank, worldSize: collective.worldSize, localRank: collective.localRank, threads: nativeInfo()?.threads ?? 1 });
  }
  const isRoot = dist === null || dist.rank === 0;
  const mod = (await import(config.taskUrl)) as { createTask?: CreateTask; default?: CreateTask };
  const create = mod.createTask ?? mod.default;
  if (typeof create !== 'function') throw new TypeError(`toroid.Trainer: task must export createTask(options), got none in ${config.taskUrl}`);
  const task: TrainTask = await create(config.taskOptions, { distributed: dist, precision: config.precision });
  let step = 0;
  if (config.resumeFrom !== undefined) {
    step = (await loadTrainingState(config.resumeFrom, task.parts)).step;
    if (isRoot) post({ type: 'resumed', step, path: config.resumeFrom });
  }
  dist?.attach(task.parts.model);
  const checkpoint = async (): Promise<void> => {
    if (config.checkpointPath === undefined || !isRoot) return;
    try {
      await saveTrainingState(config.checkpointPath, task.parts, { step });
    } catch (err) {
      if (config.onCheckpointError !== 'warn') throw err;
      // the write was atomic: the previous checkpoint is still there
      const e = err as NodeJS.ErrnoException;
      post({ type: 'checkpointError', step, path: config.checkpointPath, name: e.name, message: e.message, ...(typeof e.code === 'string' ? { code: e.code } : {}) });
      return;
    }
    post({ type: 'checkpoint', step, path: config.checkpointPath });
  };
  const started = performance.now();
  let tokens = 0, reason: 'finished' | 'aborted' | 'exhausted' = 'finished';
  const stepsThisRun = config.maxSteps - step;
  while (step < config.maxSteps) {
    if (dist === null && Atomics.load(abort, 0) !== 0) { reason = 'aborted'; break; }
    const t0 = performance.now();
    let r: StepResult | null = await task.trainStep();
    let stopAfterThisStep = false;
    if (dist !== null) {
      // every rank stops at the same step; the loss and tokens are those of the global batch
      const local = r ?? { loss: 0, tokens: 0 };
      const [stop, ended, weighted, total] = dist.allReduceNumbers([Atomics.load(abort, 0) !== 0 ? 1 : 0, r === null ? 1 : 0, local.loss * local.tokens, local.tokens]);
      if (ended! > 0) { reason = 'exhausted'; break; }
      r = { ...local, loss: weighted! / Math.max(total!, 1e-30), tokens: total! };
      stopAfterThisStep = stop! > 0;
    }
    if (r === null) { reason = 'exhausted'; break; }
    step++;
    tokens += r.tokens;
    const now = performance.now();
    const elapsed = (now - started) / 1000;
    const done = stepsThisRun - (config.maxSteps - step);
    if (isRoot) {
      post({
        type: 'progress', step, maxSteps: config.maxSteps, loss: r.loss, tokens: r.tokens, lr: r.lr ?? null, gradNorm: r.gradNorm ?? null,
        stepMs: now - t0, tokensPerSecond: tokens / Math.max(elapsed, 1e-9), elapsedSeconds: elapsed,
        etaSeconds: done > 0 ? (elapsed / done) * (config.maxSteps - step) : null,
        liveBytes: nativeInfo()?.liveBytes ?? null, rssBytes: process.memoryUsage().rss,
        worldSize: dist?.worldSize ?? 1, allReduceWaitMs: dist === null ? null : dist.lastReduceWaitMs,
      });
    }
    if (dist !== null && config.distributed!.checkEvery > 0 && step % config.distributed!.checkEvery === 0) dist.checkParameters(task.parts.model, step);
    if (isRoot && config.validateEvery > 0 && task.validate && step % config.validateEvery === 0) post({ type: 'validation', step, loss: await task.validate() });
    if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0) await checkpoint();
    if (stopAfterThisStep) {
      reason = 'aborted';
      break;
    }
    // Let this thread's event loop turn once per step. Awaiting a synchronous trainStep only
    // drains microtasks, and Node runs FinalizationRegistry callbacks and N-API finalizers (each
    // native tensor's External) from the event loop: without a turn, a tensor the task forgot
    // to dispose was never freed during the run, and the finalizer backlog of disposed native
    // tensors (~200 bytes each) grew for the whole run (+50 MB of malloc heap over 2,700 steps
    // of a tiny GPT). test/hardening/memory.test.ts checks the first.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (reason === 'aborted' || (config.checkpointEvery > 0 && step % config.checkpointEvery !== 0) || config.checkpointAtEnd) await checkpoint();
  // the other ranks wait for rank 0's last checkpoint before they report done
  dist?.collective.barrier();
  dist?.dispose();
  task.dispose?.();
  post({ type: 'done', step, reason });
}

let active: DistributedContext | null = null;

/** Kernel threads per rank: this process's cores (mpirun binds one per rank), shared with the other ranks on the machine. */
function ranksThreads(worldSize: number): number {
  const local = Number(process.env.OMPI_COMM_WORLD_LOCAL_SIZE ?? process.env.LOCAL_WORLD_SIZE ?? Math.min(worldSize, cpus().length));
  return Math.max(1, Math.min(availableParallelism(), Math.floor(cpus().length / Math.max(1, local || 1))));
}

run().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  // a rank that fails outside a collective ends the job at exit rather than leaving the others waiting
  try {
    active?.collective.abandon(e.message);
  } catch {
    // the collective is already broken
  }
  const code = (e as { code?: unknown }).code;
  post({ type: 'error', name: e.name, message: e.message, stack: e.stack ?? '', ...(typeof code === 'string' ? { code } : {}) });
});
