import * as toroid from '../src/index.js';
import { GPTBatch } from '../src/serve/gpt-batch.js';
import { resolveSampling } from '../src/decode/sampling.js';
import { PaddedCache } from '../src/serve/padded-cache.js';
toroid.setNumThreads(1);
const R = Number(process.argv[2] ?? 32);
toroid.manualSeed(7);
const m = new toroid.nn.GPT({ vocabSize: 65, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, bias: true, dropout: 0 });
m.eval();
const timers: Record<string, number> = {};
const wrap = (obj: any, name: string, label: string) => { const f = obj[name]; obj[name] = function (...a: unknown[]) { const t = performance.now(); try { return f.apply(this, a); } finally { timers[label] = (timers[label] ?? 0) + performance.now() - t; } }; };
wrap(GPTBatch.prototype, 'decodeStep', 'decode');
wrap(GPTBatch.prototype, 'prefill', 'prefill');
wrap(GPTBatch.prototype, 'prefillChunk', 'chunk');
wrap(PaddedCache.prototype, 'rebuild', 'rebuild');
wrap(PaddedCache.prototype, 'paddingMask', 'mask');
wrap(PaddedCache.prototype, 'compact', 'compact');
wrap(PaddedCache.prototype, 'update', 'update');
let next = 0;
const req = () => { const c = next++; return { prompt: Int32Array.from({ length: 16 }, (_, t) => (c * 31 + t * 7) % 65), maxNewTokens: 32, eos: null, strategy: 'greedy' as const, sampling: resolveSampling('t', {}) }; };
const b = new GPTBatch(m, { maxBatch: 128 });
for (let c = 0; c < R; c++) b.submit(next, req());
let tokens = 0;
const t0 = performance.now();
for (let s = 0; s < 300; s++) {
  const before = { ...timers }; const ts = performance.now();
  const ev = b.step();
  const dt = performance.now() - ts;
  if (dt > 150) console.log(`step ${s}: ${dt.toFixed(0)} ms`, Object.fromEntries(Object.entries(timers).map(([k, v]) => [k, +(v - (before[k] ?? 0)).toFixed(1)])), 'active', b.active, 'queued', b.queued, 'mem', (toroid.memory().liveBytes / 1e6).toFixed(0), 'MB');
  for (const e of ev) { if (e.token !== null) tokens++; if (e.finish !== null) b.submit(next, req()); }
}
const ms = performance.now() - t0;
console.log(`R=${R}: ${(ms / 300).toFixed(2)} ms/step, ${(tokens / ms * 1000).toFixed(0)} tok/s; per step:`, Object.fromEntries(Object.entries(timers).map(([k, v]) => [k, +(v / 300).toFixed(2)])));
