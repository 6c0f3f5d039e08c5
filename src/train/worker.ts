// The training thread: imports the task module, runs steps, reports progress,
// validates and checkpoints, and stops within one step when the main thread sets
// the shared abort flag. It owns the model and all its native memory.
import { parentPort, workerData } from 'node:worker_threads';
import { loadTrainingState, saveTrainingState } from './state.js';
import type { CreateTask, StepResult, TrainTask } from './task.js';
import type { WorkerConfig, WorkerMessage } from './protocol.js';

const config = workerData as WorkerConfig;
const abort = new Int32Array(config.abortBuffer);
const post = (m: WorkerMessage): void => parentPort!.postMessage(m);

async function run(): Promise<void> {
  const toroid = await import('../index.js');
  if (config.threads !== undefined) toroid.setNumThreads(config.threads);
  const mod = (await import(config.taskUrl)) as { createTask?: CreateTask; default?: CreateTask };
  const create = mod.createTask ?? mod.default;
  if (typeof create !== 'function') throw new TypeError(`toroid.Trainer: task must export createTask(options), got none in ${config.taskUrl}`);
  const task: TrainTask = await create(config.taskOptions);
  let step = 0;
  if (config.resumeFrom !== undefined) {
    step = (await loadTrainingState(config.resumeFrom, task.parts)).step;
    post({ type: 'resumed', step, path: config.resumeFrom });
  }
  const checkpoint = async (): Promise<void> => {
    if (config.checkpointPath === undefined) return;
    await saveTrainingState(config.checkpointPath, task.parts, { step });
    post({ type: 'checkpoint', step, path: config.checkpointPath });
  };
  const started = performance.now();
  let tokens = 0, reason: 'finished' | 'aborted' | 'exhausted' = 'finished';
  const stepsThisRun = config.maxSteps - step;
  while (step < config.maxSteps) {
    if (Atomics.load(abort, 0) !== 0) { reason = 'aborted'; break; }
    const t0 = performance.now();
    const r: StepResult | null = await task.trainStep();
    if (r === null) { reason = 'exhausted'; break; }
    step++;
    tokens += r.tokens;
    const now = performance.now();
    const elapsed = (now - started) / 1000;
    const done = stepsThisRun - (config.maxSteps - step);
    post({
      type: 'progress', step, maxSteps: config.maxSteps, loss: r.loss, tokens: r.tokens, lr: r.lr ?? null, gradNorm: r.gradNorm ?? null,
      stepMs: now - t0, tokensPerSecond: tokens / Math.max(elapsed, 1e-9), elapsedSeconds: elapsed,
      etaSeconds: done > 0 ? (elapsed / done) * (config.maxSteps - step) : null,
      liveBytes: toroid.nativeInfo()?.liveBytes ?? null, rssBytes: process.memoryUsage().rss,
    });
    if (config.validateEvery > 0 && task.validate && step % config.validateEvery === 0) post({ type: 'validation', step, loss: await task.validate() });
    if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0) await checkpoint();
    // Let this thread's event loop turn once per step. Awaiting a synchronous trainStep only
    // drains microtasks, and Node runs FinalizationRegistry callbacks and N-API finalizers (each
    // native tensor's External) from the event loop: without a turn, a tensor the task forgot
    // to dispose was never freed during the run, and the finalizer backlog of disposed native
    // tensors (~200 bytes each) grew for the whole run (+50 MB of malloc heap over 2,700 steps
    // of a tiny GPT). test/hardening/memory.test.ts checks the first.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (reason === 'aborted' || (config.checkpointEvery > 0 && step % config.checkpointEvery !== 0) || config.checkpointAtEnd) await checkpoint();
  task.dispose?.();
  post({ type: 'done', step, reason });
}

run().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  post({ type: 'error', name: e.name, message: e.message, stack: e.stack ?? '' });
});
