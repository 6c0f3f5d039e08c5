// The load test of `toroid serve` (loopback only, bounded in count and time): 1, 8, 32 and
// 128 concurrent streaming clients against the continuous-batching server, beside the same
// model served one request at a time (maxBatch 1). Reports aggregate tokens/s, p50/p99 time
// to first token and between tokens (client side, bench/serve-load-client.mjs in its own
// process) and the server thread's event-loop delay p99 under the load.
//
//   npx tsx bench/serve-load.ts [--clients 1,8,32,128] [--rounds 2] [--max-tokens 32] [--threads 2]
// The model is the `npm run bench` GPT (6 layers, d 384, vocab 65, block 256), random weights.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import * as toroid from '../src/index.js';
import { GPT as GPT_CONFIG } from './peers/prepare.js';
import { machineLine, today } from './machine.js';

const run = promisify(execFile);
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const clientsList = arg('clients', '1,8,32,128').split(',').map(Number);
const rounds = Number(arg('rounds', '2'));
const maxTokens = Number(arg('max-tokens', '32'));
const threads = Number(arg('threads', '1'));
const promptLen = 16;
const limitS = 60;

interface Load { clients: number; requests: number; failed: number; tokens: number; wallS: number; tokensPerSecond: number; ttftP50: number; ttftP99: number; tbtP50: number; tbtP99: number; loopP99Ms: number }

async function load(url: string, clients: number): Promise<Load> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const { stdout } = await run(process.execPath, [path.join(import.meta.dirname, 'serve-load-client.mjs'), url, String(clients), String(rounds), String(maxTokens), String(promptLen), String(GPT_CONFIG.vocabSize), String(limitS)], { maxBuffer: 1 << 20 });
  h.disable();
  return { ...(JSON.parse(stdout) as Omit<Load, 'loopP99Ms'>), loopP99Ms: h.percentile(99) / 1e6 };
}

const dir = mkdtempSync(path.join(tmpdir(), 'toroid-serve-load-'));
try {
  const file = path.join(dir, 'gpt.safetensors');
  toroid.manualSeed(7);
  const { vocabSize, blockSize, nLayer, nHead, nEmbd, bias } = GPT_CONFIG;
  const m = new toroid.nn.GPT({ vocabSize, blockSize, nLayer, nHead, nEmbd, bias, dropout: 0 });
  await m.save(file);
  m.dispose();
  console.log(`# toroid serve load test: ${machineLine()}, ${today()}; GPT ${nLayer}x${nEmbd}, prompt ${promptLen}, ${maxTokens} new tokens, ${rounds} request(s) per client, worker threads ${threads}`);
  const rows: Array<{ mode: string } & Load> = [];
  for (const [mode, maxBatch] of [['one at a time', 1], ['continuous batching', 128]] as const) {
    const server = await toroid.serve({ model: file, port: 0, maxBatch, maxQueue: 256, threads });
    try {
      await load(server.url, 1); // warm-up
      for (const clients of clientsList) {
        const r = await load(server.url, clients);
        rows.push({ mode, ...r });
        console.log(`${mode.padEnd(20)} ${String(clients).padStart(4)} clients: ${r.tokensPerSecond.toFixed(0).padStart(6)} tok/s  TTFT p50 ${r.ttftP50.toFixed(1)} p99 ${r.ttftP99.toFixed(1)} ms  between tokens p50 ${r.tbtP50.toFixed(1)} p99 ${r.tbtP99.toFixed(1)} ms  event loop p99 ${r.loopP99Ms.toFixed(1)} ms  (${r.requests} requests, ${r.failed} failed, ${r.wallS.toFixed(1)} s)`);
      }
    } finally {
      await server.close();
    }
  }
  const single = rows.find((r) => r.mode === 'continuous batching' && r.clients === 1);
  for (const c of clientsList) {
    const b = rows.find((r) => r.mode === 'continuous batching' && r.clients === c)!;
    const s = rows.find((r) => r.mode === 'one at a time' && r.clients === c)!;
    console.log(`${c} clients: batching ${(b.tokensPerSecond / s.tokensPerSecond).toFixed(2)}x one-at-a-time tokens/s; between-token p99 ${single ? (b.tbtP99 / single.tbtP99).toFixed(2) : '-'}x the single client's`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
