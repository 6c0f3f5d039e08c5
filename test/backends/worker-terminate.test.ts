// Regression: a worker thread terminated while it calls the addon (the Trainer
// terminates its worker when it finishes or fails) used to abort the whole
// process: a native argument error thrown while the worker's environment was
// shutting down could not become a JS exception, and node-addon-api then threw
// a C++ exception out of its callback wrapper ("terminate called after throwing
// an instance of 'Napi::Error'"). The child process must survive every try.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { nativeInfo } from '../../src/index.js';

const require = createRequire(import.meta.url);

const child = `
const { Worker } = require('node:worker_threads');
const addonPath = process.argv[1];
const body = \`
  const addon = require(\${JSON.stringify(addonPath)});
  const data = new Float32Array(1000);
  for (;;) {
    const s = addon.upload(data, 'float32');
    try { addon.fill(s, 1); } catch {}   // wrong arity: a native error on every call
  }
\`;
(async () => {
  for (let i = 0; i < 150; i++) {
    const w = new Worker(body, { eval: true });
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 30));
    await w.terminate();
  }
  console.log('survived');
})();
`;

describe('native addon under worker termination', () => {
  it.skipIf(nativeInfo() === null)('terminating workers in the middle of native calls never aborts the process', () => {
    const addonPath = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(new URL('../..', import.meta.url).pathname);
    const r = spawnSync(process.execPath, ['-e', child, addonPath], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toContain('terminate called');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('survived');
  }, 90_000);
});
