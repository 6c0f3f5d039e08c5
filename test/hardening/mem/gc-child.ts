// Run by memory.test.ts in a child process with --expose-gc (vitest's workers cannot
// force a collection). Prints one JSON line. Modes:
//   tensors <backend> [count]  `count` tensors (uploads, reshape views, op results and
//                              autograd graphs) are dropped without dispose(); records
//                              toroid.memory() and the addon's counters after each of 3
//                              forced GCs.
//   external <probe.node>      AdjustExternalMemory on cpu: V8's external-memory counter
//                              (read by the probe module, external-probe.c) around creating,
//                              training one step with, and disposing a model; the same with
//                              the model dropped to the finalizers; raw addon handles dropped.
import { createRequire } from 'node:module';
import * as toroid from '../../../src/index.js';
import { addon } from '../../../src/backends/native/addon.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== 'function') throw new Error('run with node --expose-gc');

interface Counters { liveStorages: number; liveBytes: number; nativeLiveBytes: number | null; nativeLiveBlocks: number | null; heapUsed: number }

function counters(): Counters {
  const m = toroid.memory();
  const n = addon?.memory();
  return { ...m, nativeLiveBytes: n?.liveBytes ?? null, nativeLiveBlocks: n?.liveBlocks ?? null, heapUsed: process.memoryUsage().heapUsed };
}

/** One forced full GC, then let the FinalizationRegistry cleanup task and napi finalizers run. */
async function forcedGc(): Promise<void> {
  gc!();
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 0));
}

/** V8's external-memory counter (every AdjustExternalMemory in this isolate), read through the probe module. */
let adjusted: () => number = () => NaN;

// Make and drop tensors in a separate function so no stack slot keeps the last one alive.
function makeGarbage(backend: string, count: number): void {
  const quarter = Math.floor(count / 4);
  let made = 0;
  // plain uploads of different sizes (different native size classes)
  for (let i = 0; i < quarter; i++, made++) toroid.tensor(new Float32Array(16 + (i % 64) * 16).fill(i), { backend });
  // views: an upload plus a reshape alias over the same storage (2 tensors each)
  for (let i = 0; i < quarter / 2; i++, made += 2) toroid.tensor(new Float32Array(64), { backend }).reshape([8, 8]);
  // op results (kernel-allocated storage): an upload and its product (2 tensors each)
  for (let i = 0; i < quarter / 2; i++, made += 2) toroid.tensor(new Float32Array(32).fill(1), { backend }).mul(2);
  // autograd graphs never backpropagated: a leaf, its square (saves the leaf for backward)
  // and a sum: 3 tensors + the saved aliases, all held together by the grad nodes
  while (made + 3 <= count) {
    const leaf = toroid.tensor(new Float32Array(32).fill(0.5), { backend });
    leaf.requiresGrad = true;
    leaf.mul(leaf).sum();
    made += 3;
  }
  while (made < count) { toroid.tensor([made], { backend }); made++; }
}

async function tensorsMode(backend: string, count: number): Promise<void> {
  await forcedGc();
  const baseline = counters();
  makeGarbage(backend, count);
  const created = counters();
  const afterGc: Counters[] = [];
  for (let i = 0; i < 3; i++) {
    await forcedGc();
    afterGc.push(counters());
  }
  console.log(JSON.stringify({ backend, count, baseline, created, afterGc, cachedBytes: (addon?.memory() as { cachedBytes?: number } | undefined)?.cachedBytes ?? null }));
}

function trainOnce(model: InstanceType<typeof toroid.nn.GPT>, optimizer: InstanceType<typeof toroid.optim.AdamW>): void {
  toroid.tidy(() => {
    const x = toroid.tensor(new Int32Array(4 * 16).map((_, i) => i % 32), { shape: [4, 16], backend: 'cpu' });
    const y = toroid.tensor(new Int32Array(4 * 16).map((_, i) => (i + 1) % 32), { shape: [4, 16], backend: 'cpu' });
    model.forward(x, y).loss!.backward();
  });
  optimizer.step();
}

function newModel(): InstanceType<typeof toroid.nn.GPT> {
  toroid.manualSeed(1);
  return new toroid.nn.GPT({ vocabSize: 32, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 64, dropout: 0.1 }, { backend: 'cpu' });
}

// A raw addon handle dropped without free(): only the binding's own External finalizer frees it.
function dropRawHandles(count: number): void {
  for (let i = 0; i < count; i++) addon!.upload(new Float32Array(256), 'float32');
}

async function externalMode(probePath: string): Promise<void> {
  if (addon === null) throw new Error('no cpu backend');
  const probe = createRequire(import.meta.url)(probePath) as { adjusted(): number };
  adjusted = () => probe.adjusted();
  const at = (): { adjusted: number; native: number; memoryUsageExternal: number } =>
    ({ adjusted: adjusted() - base.adjusted, native: addon!.memory().liveBytes - base.native, memoryUsageExternal: process.memoryUsage().external - base.external });
  // warm up once (module-level caches, lazily created tables), then measure
  { const m = newModel(); const o = new toroid.optim.AdamW(m.parameters()); trainOnce(m, o); o.zeroGrad(); o.dispose(); m.dispose(); }
  for (let i = 0; i < 3; i++) await forcedGc();
  const base = { adjusted: adjusted(), native: addon.memory().liveBytes, external: process.memoryUsage().external };

  // 1) create, train a step, dispose everything explicitly
  let model: InstanceType<typeof toroid.nn.GPT> | null = newModel();
  let optimizer: InstanceType<typeof toroid.optim.AdamW> | null = new toroid.optim.AdamW(model.parameters());
  const created = at();
  trainOnce(model, optimizer);
  const trained = at();
  optimizer.zeroGrad();
  optimizer.dispose();
  model.dispose();
  const disposed = at();
  await forcedGc();
  const disposedGc = at();

  // 2) the same, dropped without dispose(): the FinalizationRegistry path
  model = newModel();
  optimizer = new toroid.optim.AdamW(model.parameters());
  trainOnce(model, optimizer);
  const droppedBefore = at();
  model = null;
  optimizer = null;
  for (let i = 0; i < 3; i++) await forcedGc();
  const dropped = at();

  // 3) raw addon handles dropped: the napi External finalizer path
  dropRawHandles(1000);
  const rawBefore = at();
  for (let i = 0; i < 3; i++) await forcedGc();
  const rawDropped = at();
  console.log(JSON.stringify({ base, created, trained, disposed, disposedGc, droppedBefore, dropped, rawBefore, rawDropped }));
}

const [mode, arg, countArg] = process.argv.slice(2);
if (mode === 'tensors') await tensorsMode(arg!, Number(countArg ?? 10_000));
else if (mode === 'external') await externalMode(arg!);
else throw new Error(`unknown mode ${mode}`);
