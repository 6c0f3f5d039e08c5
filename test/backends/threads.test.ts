// Thread budgets are per thread: a worker thread that loads the addon (a Trainer does) or
// sets its own count does not change the main thread's, for our kernels (OpenMP's count is
// per thread) nor for the BLAS (the count passed with each GEMM). Before, every addon load
// and every setNumThreads set BLIS's process-wide count, so a Trainer's worker resized the
// main thread's GEMMs and two Trainers oversubscribed the cores.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { addon } from '../../src/backends/native/addon.js';

const require = createRequire(import.meta.url);
const initial = addon?.getNumThreads() ?? 1;

function inWorker(addonPath: string, threads: number): Promise<{ threads: number; blasThreads: number }> {
  const body = `
    const { parentPort, workerData } = require('node:worker_threads');
    const a = require(workerData.addonPath);
    a.setNumThreads(workerData.threads);
    const n = 256, x = a.upload(new Float32Array(n * n).fill(1), 'float32');
    const t = { data: x, shape: [n, n], dtype: 'float32' };
    a.free(a.matmul(t, t, false, false, null));
    a.free(x);
    const info = a.info();
    parentPort.postMessage({ threads: info.threads, blasThreads: info.blasThreads });
  `;
  return new Promise((resolve, reject) => {
    const w = new Worker(body, { eval: true, workerData: { addonPath, threads } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

describe.skipIf(addon === null)('native thread budgets are per thread', () => {
  afterEach(() => addon!.setNumThreads(initial));

  it('a worker loading the addon and setting its own count leaves the main thread\'s kernels and BLAS alone', async () => {
    const addonPath = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(new URL('../..', import.meta.url).pathname);
    const file = process.env.TOROID_ADDON_DIR ? `${process.env.TOROID_ADDON_DIR}/toroid.node` : addonPath;
    addon!.setNumThreads(1);
    expect(addon!.info().blasThreads).toBe(1);
    const worker = await inWorker(file, 3);
    expect(worker).toEqual({ threads: 3, blasThreads: 3 });
    expect(addon!.getNumThreads()).toBe(1);
    expect(addon!.info().blasThreads).toBe(1);
    // and two workers with their own budgets do not see each other's
    const [a, b] = await Promise.all([inWorker(file, 1), inWorker(file, 2)]);
    expect(a).toEqual({ threads: 1, blasThreads: 1 });
    expect(b).toEqual({ threads: 2, blasThreads: 2 });
    expect(addon!.info().blasThreads).toBe(1);
  });
});
