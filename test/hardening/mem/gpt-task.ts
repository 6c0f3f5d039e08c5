// A small GPT training task for the hardening tests (memory, event loop, determinism).
// Runs on the backend named in its options, so one Trainer per backend; a synthetic,
// deterministic token stream; optim.AdamW. Optional instrumentation:
//   counter: SharedArrayBuffer(8) -> Int32Array [steps started, steps completed], written
//            by the worker as it goes, so the main thread knows the worker's true position
//            (a progress event can arrive late);
//   memoryLog + memoryEvery: at every memoryEvery-th step the task records toroid.memory(),
//            the addon's block counts and process.memoryUsage(); dispose() writes them as JSON.
import fs from 'node:fs';
import v8 from 'node:v8';
import * as toroid from '../../../src/index.js';
import { addon } from '../../../src/backends/native/addon.js';
import type { TrainTask } from '../../../src/train/index.js';

export interface GptTaskOptions {
  backend?: string;
  seed?: number;
  dropout?: number;
  vocab?: number;
  T?: number;
  batch?: number;
  nLayer?: number;
  nEmbd?: number;
  nHead?: number;
  counter?: SharedArrayBuffer;
  memoryLog?: string;
  memoryEvery?: number;
  /** Drop this many undisposed 64 KiB tensors per step (left to the FinalizationRegistry backstop). */
  dropPerStep?: number;
}

export interface MemorySample {
  step: number;
  liveStorages: number;
  liveBytes: number;
  nativeLiveBytes: number | null;
  nativeLiveBlocks: number | null;
  nativeCachedBytes: number | null;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** This isolate's V8 heap: reserved pages (young generation included) and malloc'ed by V8. */
  v8HeapTotal: number;
  v8Malloced: number;
}

export function memorySample(step: number): MemorySample {
  const m = toroid.memory();
  const n = addon?.memory() as { liveBytes: number; liveBlocks: number; cachedBytes?: number } | undefined;
  const u = process.memoryUsage();
  const h = v8.getHeapStatistics();
  return {
    step, liveStorages: m.liveStorages, liveBytes: m.liveBytes,
    nativeLiveBytes: n?.liveBytes ?? null, nativeLiveBlocks: n?.liveBlocks ?? null, nativeCachedBytes: n?.cachedBytes ?? null,
    rss: u.rss, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers,
    v8HeapTotal: h.total_heap_size, v8Malloced: h.malloced_memory,
  };
}

/** The model, optimizer and batches of the task, usable in-process too (determinism test). */
export function buildGptRun(options: GptTaskOptions = {}) {
  const backend = options.backend ?? toroid.getBackend().name;
  const V = options.vocab ?? 32, T = options.T ?? 16, B = options.batch ?? 8;
  toroid.manualSeed(options.seed ?? 0);
  const model = new toroid.nn.GPT({
    vocabSize: V, blockSize: T, nLayer: options.nLayer ?? 2, nHead: options.nHead ?? 2, nEmbd: options.nEmbd ?? 32,
    dropout: options.dropout ?? 0,
  }, { backend });
  model.train();
  const optimizer = new toroid.optim.AdamW(model.parameters(), { lr: 3e-3 });
  const data = {
    index: 0,
    stateDict: () => ({ index: data.index }),
    loadStateDict: (s: unknown) => { data.index = (s as { index: number }).index; },
  };
  const batch = (index: number): { x: Int32Array; y: Int32Array } => {
    // a learnable stream: each row counts up by a row-dependent stride mod V
    const x = new Int32Array(B * T), y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const stride = 1 + ((b + index) % 3), start = (b * 7 + index * 13) % V;
      for (let t = 0; t < T; t++) {
        x[b * T + t] = (start + stride * t) % V;
        y[b * T + t] = (start + stride * (t + 1)) % V;
      }
    }
    return { x, y };
  };
  const step = (): number => {
    const { x, y } = batch(data.index++);
    const loss = toroid.tidy(() => {
      const out = model.forward(toroid.tensor(x, { shape: [B, T], backend }), toroid.tensor(y, { shape: [B, T], backend }));
      out.loss!.backward();
      return out.loss!.item();
    });
    optimizer.step();
    optimizer.zeroGrad();
    return loss;
  };
  const dispose = (): void => {
    optimizer.zeroGrad();
    optimizer.dispose();
    model.dispose();
  };
  return { model, optimizer, data, step, dispose, tokensPerStep: B * T };
}

export function createTask(options: GptTaskOptions = {}): TrainTask {
  const run = buildGptRun(options);
  const counter = options.counter ? new Int32Array(options.counter) : null;
  const samples: MemorySample[] = [];
  const every = options.memoryEvery ?? 0;
  let steps = 0, firstStepLive = 0;
  return {
    parts: { model: run.model, optimizer: run.optimizer, data: run.data },
    trainStep() {
      if (counter) Atomics.add(counter, 0, 1);
      const loss = run.step();
      if (steps === 0) firstStepLive = toroid.memory().liveStorages;
      for (let i = 0; i < (options.dropPerStep ?? 0); i++) toroid.tensor(new Float32Array(16384), { backend: options.backend });
      steps++;
      if (counter) Atomics.add(counter, 1, 1);
      if (every > 0 && steps % every === 0) samples.push(memorySample(steps));
      return { loss, tokens: run.tokensPerStep };
    },
    dispose() {
      run.dispose();
      if (options.memoryLog) fs.writeFileSync(options.memoryLog, JSON.stringify({ samples, afterDispose: memorySample(steps), firstStepLive }));
    },
  };
}
