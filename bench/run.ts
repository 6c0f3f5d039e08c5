// npm run bench: toroid against the peers a Node user would pick, in one run on
// one machine: toroid's cpu (and cuda, on a GPU) and ts backends, TensorFlow.js
// (cpu and wasm backends) and PyTorch (Debian's 1.13 CPU build in its fast OpenMP
// configuration), on a Seq2Seq and a GPT training step, greedy decoding of both, and
// Seq2Seq beam search.
// Protocol and workloads: bench/peers/PROTOCOL.md. Every worker loads the same
// weights and batch; training first-batch losses must agree before anything is
// timed; repetitions are interleaved round-robin across the implementations.
//
//   npm run bench [-- --record] [--only gpt-train,...] [--impls toroid-cpu,torch,...]
//                 [--reps 5] [--budget 120] [--ready-timeout 900]
//   --record   append the table to bench/RESULTS.md and write bench/results/peers-<date>.{json,svg,png}
//   --budget   seconds of timed repetitions per worker; slower workers stop early (fewer runs, noted)
//   --out DIR  where the unrecorded table, chart and JSON go (default: the system temp folder)
//   --no-kernels  skip the first part, the per-kernel table (bench/kernels.bench.ts: cpu vs ts vs
//                 PyTorch; with --record it appends its own table to bench/RESULTS.md)
// On a GPU machine add toroid-cuda and torch-cuda (PyTorch on the GPU, fp32, no TF32).
// Mixed precision (workers' --precision bf16): toroid-cpu-bf16 (toroid.autocast({ dtype: 'bfloat16' }))
// and torch-bf16 (torch.autocast('cpu', dtype=torch.bfloat16)) on all five workloads, same weights and
// batches; training runs forward+loss under autocast (backward and optimizer outside), decoding runs each
// rep inside one autocast region. Their equal-work checks are bf16 ones, against the float32 reference
// (toroid-cpu): the first loss within 2% relative (not 1e-4); greedy token counts equal; the share of
// identical first tokens (firstIds) reported, not required; a beam search's token count reported where
// it differs (bf16 can change a hypothesis), not refused. The table's notes show all three.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as toroid from '../src/index.js';
import { machineLine, today } from './machine.js';
import { barChartSvg, svgToPng, type Group } from './peers/chart.js';
import { prepare } from './peers/prepare.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(name);
const value = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const RECORD = flag('--record');
const REPS = Number(value('--reps', '5'));
const BUDGET_MS = Number(value('--budget', '120')) * 1000;
const READY_TIMEOUT_MS = Number(value('--ready-timeout', '900')) * 1000;
const THREADS = value('--threads', '2');
const WORKLOADS = ['seq2seq-train', 'gpt-train', 'seq2seq-greedy', 'gpt-greedy', 'seq2seq-beam'] as const;
type Workload = (typeof WORKLOADS)[number];
const ONLY = value('--only', WORKLOADS.join(',')).split(',') as Workload[];

const TSX = path.join(root, 'node_modules', '.bin', 'tsx');
const PYTHON = '/usr/bin/python3';
// GPU machines have their own PyTorch (with CUDA) as python3 on PATH
const PYTHON_GPU = process.env.TOROID_BENCH_PYTHON_GPU ?? 'python3';
const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

interface Impl {
  name: string;
  workloads: readonly string[];
  command(workload: string, dir: string): { cmd: string; args: string[]; env?: NodeJS.ProcessEnv };
  available(): string | null; // null = yes, else why not
}

const torchEnv = (): NodeJS.ProcessEnv => ({
  ...process.env, OMP_NUM_THREADS: THREADS, OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? 'SkylakeX',
  LD_LIBRARY_PATH: existsSync(OPENBLAS) ? OPENBLAS : (process.env.LD_LIBRARY_PATH ?? ''),
});
let torchCuda: string | null | undefined;
function torchCudaAvailable(): string | null {
  if (torchCuda === undefined) {
    const probe = spawnSync(PYTHON_GPU, ['-c', 'import torch; assert torch.cuda.is_available(); print(torch.__version__, torch.cuda.get_device_name(0))'], { encoding: 'utf8' });
    torchCuda = probe.status === 0 ? probe.stdout.trim() : null;
  }
  return torchCuda === null ? 'PyTorch with CUDA and a GPU are not available' : null;
}
let torchVersion: string | null | undefined;
function torchAvailable(): string | null {
  if (torchVersion === undefined) {
    const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', env: torchEnv() });
    torchVersion = probe.status === 0 ? probe.stdout.trim() : null;
  }
  return torchVersion === null ? `${PYTHON} cannot import torch (apt-get install python3-torch libopenblas0-openmp)` : null;
}
const hasModule = (name: string): boolean => existsSync(path.join(root, 'node_modules', ...name.split('/')));
const TRAIN = ['seq2seq-train', 'gpt-train'];
const ALL = [...WORKLOADS];

const IMPLS: Impl[] = [
  {
    name: 'toroid-cpu', workloads: ALL,
    command: (w, dir) => ({ cmd: process.execPath, args: [TSX, path.join(here, 'peers', 'toroid_worker.ts'), '--workload', w, '--dir', dir, '--backend', 'cpu', '--threads', THREADS] }),
    available: () => (toroid.listBackends().includes('cpu') ? null : 'the native addon is not built'),
  },
  {
    name: 'toroid-cpu-bf16', workloads: ALL,
    command: (w, dir) => ({ cmd: process.execPath, args: [TSX, path.join(here, 'peers', 'toroid_worker.ts'), '--workload', w, '--dir', dir, '--backend', 'cpu', '--threads', THREADS, '--precision', 'bf16'] }),
    available: () => (toroid.listBackends().includes('cpu') ? null : 'the native addon is not built'),
  },
  {
    name: 'toroid-cuda', workloads: ALL,
    command: (w, dir) => ({ cmd: process.execPath, args: [TSX, path.join(here, 'peers', 'toroid_worker.ts'), '--workload', w, '--dir', dir, '--backend', 'cuda'] }),
    available: () => (toroid.cuda.isAvailable() ? null : 'no GPU'),
  },
  {
    name: 'toroid-ts', workloads: TRAIN,
    command: (w, dir) => ({ cmd: process.execPath, args: [TSX, path.join(here, 'peers', 'toroid_worker.ts'), '--workload', w, '--dir', dir, '--backend', 'ts'] }),
    available: () => null,
  },
  ...(['wasm', 'cpu'] as const).map((b): Impl => ({
    name: `tfjs-${b}`, workloads: TRAIN,
    command: (w, dir) => ({ cmd: process.execPath, args: [TSX, path.join(here, 'peers', 'tfjs_worker.ts'), '--workload', w, '--dir', dir, '--backend', b] }),
    available: () => (hasModule(`@tensorflow/tfjs-backend-${b}`) ? null : `@tensorflow/tfjs-backend-${b} is not installed`),
  })),
  {
    name: 'torch', workloads: ALL,
    command: (w, dir) => ({ cmd: PYTHON, args: [path.join(here, 'peers', 'torch_worker.py'), '--workload', w, '--dir', dir, '--threads', THREADS], env: torchEnv() }),
    available: torchAvailable,
  },
  {
    name: 'torch-bf16', workloads: ALL,
    command: (w, dir) => ({ cmd: PYTHON, args: [path.join(here, 'peers', 'torch_worker.py'), '--workload', w, '--dir', dir, '--threads', THREADS, '--precision', 'bf16'], env: torchEnv() }),
    available: torchAvailable,
  },
  {
    name: 'torch-cuda', workloads: ALL,
    command: (w, dir) => ({ cmd: PYTHON_GPU, args: [path.join(here, 'peers', 'torch_worker.py'), '--workload', w, '--dir', dir, '--device', 'cuda'] }),
    available: torchCudaAvailable,
  },
  {
    name: 'torch-nocache', workloads: ['seq2seq-greedy', 'gpt-greedy'],
    command: (w, dir) => ({ cmd: PYTHON, args: [path.join(here, 'peers', 'torch_worker.py'), '--workload', `${w}-nocache`, '--dir', dir, '--threads', THREADS], env: torchEnv() }),
    available: torchAvailable,
  },
];
const SELECTED = value('--impls', IMPLS.map((i) => i.name).join(',')).split(',');
const OUT_DIR = value('--out', os.tmpdir());

interface Result {
  workload: string;
  impl: string;
  status: 'ok' | 'skipped' | 'failed' | 'mismatch';
  note: string;
  firstLoss?: number;
  firstIds?: number[];
  tokens?: number;
  warmupMs?: number;
  times: number[];
}

class Worker {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: ((line: string | null) => void)[] = [];
  private readonly queued: string[] = [];
  private stderr = '';
  private closed = false;

  constructor(cmd: string, args: string[], env?: NodeJS.ProcessEnv) {
    this.child = spawn(cmd, args, { cwd: root, env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => {
      if (!line.startsWith('{')) return;
      const waiter = this.pending.shift();
      if (waiter) waiter(line);
      else this.queued.push(line);
    });
    this.child.stderr.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-4000); });
    this.child.on('close', () => {
      this.closed = true;
      for (const w of this.pending.splice(0)) w(null);
    });
  }

  /** The next JSON message, or null when the worker exited or the timeout passed. */
  next(timeoutMs: number): Promise<Record<string, unknown> | null> {
    const line = this.queued.shift();
    if (line !== undefined) return Promise.resolve(JSON.parse(line) as Record<string, unknown>);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.pending.indexOf(done);
        if (i >= 0) this.pending.splice(i, 1);
        resolve(null);
      }, timeoutMs);
      const done = (l: string | null): void => {
        clearTimeout(timer);
        resolve(l === null ? null : (JSON.parse(l) as Record<string, unknown>));
      };
      this.pending.push(done);
    });
  }

  send(line: string): void {
    if (!this.closed) this.child.stdin.write(`${line}\n`);
  }

  lastError(): string {
    return this.stderr.trim().split('\n').slice(-3).join(' | ');
  }

  stop(): void {
    this.send('quit');
    this.child.stdin.end();
    setTimeout(() => { if (!this.closed) this.child.kill('SIGKILL'); }, 5000).unref();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function runWorkload(workload: Workload, dir: string): Promise<Result[]> {
  const impls = IMPLS.filter((i) => SELECTED.includes(i.name) && i.workloads.includes(workload));
  const results: Result[] = [];
  const live: { worker: Worker; result: Result; spent: number }[] = [];
  for (const impl of impls) {
    const result: Result = { workload, impl: impl.name, status: 'ok', note: '', times: [] };
    results.push(result);
    const why = impl.available();
    if (why !== null) {
      Object.assign(result, { status: 'skipped', note: why });
      continue;
    }
    const { cmd, args, env } = impl.command(workload, dir);
    const worker = new Worker(cmd, args, env);
    process.stderr.write(`[bench] ${workload}: starting ${impl.name} ... `);
    const t0 = performance.now();
    const ready = await worker.next(READY_TIMEOUT_MS);
    process.stderr.write(`${ready === null ? 'no answer' : ready.ready ? 'ready' : 'refused'} after ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    if (ready === null || ready.ready !== true) {
      Object.assign(result, { status: ready === null ? 'failed' : 'skipped', note: ready === null ? `no ready within ${READY_TIMEOUT_MS / 1000} s or exited: ${worker.lastError()}` : String(ready.error) });
      worker.stop();
      continue;
    }
    result.firstLoss = ready.firstLoss as number | undefined;
    result.firstIds = ready.firstIds as number[] | undefined;
    result.tokens = ready.tokens as number;
    live.push({ worker, result, spent: 0 });
  }

  // equal work: the same first-batch loss (training) or the same first tokens (decoding) as the
  // reference, a float32 run: toroid-cpu, else the first float32 worker that started
  const isBf16 = (impl: string): boolean => impl.endsWith('-bf16');
  const ref = live.find((l) => l.result.impl === 'toroid-cpu') ?? live.find((l) => !isBf16(l.result.impl)) ?? live[0];
  // bf16 runs (names ending in -bf16) compute the matrix products in bf16 (8 bits of mantissa):
  // - their first loss must agree with the float32 reference within 2% relative (BF16_LOSS_TOL; a few
  //   bf16 roundings through the network move it by tenths of a percent), not the float32 1e-4;
  // - a decode may pick another token where two logits are close: the share of identical first tokens
  //   (firstIds) against the float32 reference is reported, not required;
  // - greedy token counts are fixed by the protocol and must match; a beam search's count (the best
  //   hypotheses' lengths) is reported where it differs, since bf16 can end a hypothesis elsewhere.
  const BF16_LOSS_TOL = 2e-2, FP32_LOSS_TOL = 1e-4;
  for (const l of live) {
    if (ref === undefined || l === ref) continue;
    const r = l.result, base = ref.result;
    // bf16 rules where either side is bf16 (the reference is one only when no float32 run started)
    const bf16 = isBf16(r.impl) || isBf16(base.impl);
    const refName = `${isBf16(base.impl) ? '' : 'float32 '}${base.impl}`;
    const vs = bf16 ? ` vs ${refName}` : '';
    if (r.firstLoss !== undefined && base.firstLoss !== undefined) {
      const rel = Math.abs(r.firstLoss - base.firstLoss) / Math.abs(base.firstLoss);
      const tol = bf16 ? BF16_LOSS_TOL : FP32_LOSS_TOL;
      r.note = `first loss ${r.firstLoss.toFixed(6)} (rel diff ${rel.toExponential(1)}${vs}${bf16 ? `, bf16 tolerance ${tol * 100}%` : ''})`;
      if (!(rel < tol)) r.status = 'mismatch';
    }
    if (r.firstIds !== undefined && base.firstIds !== undefined) {
      const n = base.firstIds.length;
      const same = r.firstIds.filter((t, i) => t === base.firstIds![i]).length;
      const all = same === n && r.firstIds.length === n;
      r.note = bf16 ? `${same}/${n} first tokens as ${refName}${all ? '' : ` (${r.firstIds.join(',')} vs ${base.firstIds.join(',')})`}`
        : all ? 'same first tokens' : `first tokens differ: ${r.firstIds.join(',')} vs ${base.firstIds.join(',')}`;
      if (!all && !bf16) r.status = 'mismatch';
    }
    if (r.tokens !== base.tokens) {
      // a bf16 beam search may end a hypothesis elsewhere: reported, not refused
      if (!(bf16 && r.workload === 'seq2seq-beam')) r.status = 'mismatch';
      r.note += `; tokens per rep ${r.tokens} vs ${base.tokens}${bf16 && r.workload === 'seq2seq-beam' ? ' (bf16 beam: reported, not required)' : ''}`;
    } else if (bf16 && r.workload === 'seq2seq-beam') {
      r.note += `; same token count (${r.tokens})`;
    }
  }
  if (ref !== undefined) {
    const what = ref.result.firstLoss !== undefined ? `first loss ${ref.result.firstLoss.toFixed(6)} ` : '';
    if (what !== '' || ref.result.firstIds !== undefined) ref.result.note = `${what}(reference${isBf16(ref.result.impl) ? ', bf16: no float32 run to check against' : ''})`;
  }
  const timed = live.filter((l) => l.result.status === 'ok');
  for (const l of live.filter((x) => x.result.status !== 'ok')) l.worker.stop();

  // warm-up round, then interleaved timed rounds
  for (let round = 0; round <= REPS; round++) {
    for (const l of timed) {
      if (round > 0 && l.spent >= BUDGET_MS) continue;
      l.worker.send('rep');
      const m = await l.worker.next(Math.max(READY_TIMEOUT_MS, 4 * BUDGET_MS));
      if (m === null || typeof m.ms !== 'number') {
        l.result.status = 'failed';
        l.result.note = `a repetition failed: ${l.worker.lastError()}`;
        l.spent = Infinity;
        continue;
      }
      if (round === 0) l.result.warmupMs = m.ms;
      else {
        l.result.times.push(m.ms);
        l.spent += m.ms;
      }
      // a worker whose warm-up alone exceeds the budget is timed by that one run
      if (round === 0 && m.ms >= BUDGET_MS) l.spent = Infinity;
    }
    process.stderr.write(`[bench] ${workload}: round ${round} done\n`);
  }
  for (const l of timed) {
    l.worker.stop();
    if (l.result.status === 'ok' && l.result.times.length === 0 && l.result.warmupMs !== undefined) {
      l.result.times.push(l.result.warmupMs);
      l.result.note += `${l.result.note ? '; ' : ''}one run (the warm-up took longer than the ${BUDGET_MS / 1000} s budget)`;
    } else if (l.result.status === 'ok' && l.result.times.length < REPS) {
      l.result.note += `${l.result.note ? '; ' : ''}${l.result.times.length} runs within the ${BUDGET_MS / 1000} s budget`;
    }
  }
  return results;
}

const tokensPerSec = (r: Result): number | null => (r.status === 'ok' && r.times.length > 0 && r.tokens ? r.tokens / (median(r.times) / 1000) : null);

function table(results: Result[]): string {
  // a ratio column per toroid backend that ran: how many times the row's tokens/s it reaches
  const ours = ['toroid-cpu', 'toroid-cuda'].filter((name) => results.some((r) => r.impl === name && tokensPerSec(r) !== null));
  const lines = [
    `| workload | implementation | ms / rep: median (min-max), runs | tokens / s | ${ours.map((o) => `${o} is`).join(' | ')} | equal work / note |`,
    `| --- | --- | --- | --- | ${ours.map(() => '---').join(' | ')} | --- |`,
  ];
  for (const w of WORKLOADS) {
    const rows = results.filter((r) => r.workload === w);
    for (const r of rows) {
      const tps = tokensPerSec(r);
      const timing = r.times.length > 0 ? `${median(r.times).toFixed(1)} (${Math.min(...r.times).toFixed(1)}-${Math.max(...r.times).toFixed(1)}), ${r.times.length}` : '-';
      const ratios = ours.map((o) => {
        const mine = rows.find((x) => x.impl === o);
        const oursTps = mine ? tokensPerSec(mine) : null;
        return tps !== null && oursTps !== null ? `${(oursTps / tps).toFixed(2)}x` : '-';
      });
      lines.push(`| ${w} | ${r.impl} | ${timing} | ${tps === null ? '-' : Math.round(tps)} | ${ratios.join(' | ')} | ${r.status === 'ok' ? r.note : `${r.status}: ${r.note}`} |`);
    }
  }
  return lines.join('\n');
}

function cudaName(): string {
  const info = toroid.cuda.info();
  return info.available ? `; cuda: ${info.name ?? 'a GPU'}` : '';
}

function versions(): string {
  const pkg = (name: string): string => {
    try {
      return (JSON.parse(readFileSync(path.join(root, 'node_modules', ...name.split('/'), 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'not installed';
    }
  };
  const native = toroid.nativeInfo();
  return `toroid ${(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version} (cpu: ${native ? `${native.blas}, ${THREADS} threads` : 'not built'}${cudaName()}), ` +
    `TensorFlow.js ${pkg('@tensorflow/tfjs-core')} (wasm: SIMD, single thread in Node), PyTorch ${torchVersion ?? 'not installed'} (${THREADS} threads, OpenMP OpenBLAS)${torchCuda ? `, PyTorch ${torchCuda} (CUDA, fp32)` : ''}`;
}

/** Part 1: the kernel table, in its own process (it prints and, with --record, records itself). */
function runKernelBench(): void {
  if (flag('--no-kernels') || !ONLY.every((w) => WORKLOADS.includes(w)) || value('--only', '') !== '') return;
  if (!toroid.listBackends().includes('cpu')) {
    console.log('kernels: skipped (the native addon is not built)');
    return;
  }
  process.stderr.write('[bench] part 1: kernels (bench/kernels.bench.ts)\n');
  const r = spawnSync(process.execPath, [TSX, path.join(here, 'kernels.bench.ts'), ...(RECORD ? ['--record'] : [])], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) console.log(`kernels: the kernel benchmark failed (exit ${r.status}); going on with the models`);
  process.stderr.write('[bench] part 2: models\n');
}

async function main(): Promise<void> {
  runKernelBench();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'toroid-bench-'));
  const started = performance.now();
  try {
    process.stderr.write(`[bench] writing the shared weights and batches to ${dir}\n`);
    await prepare(dir);
    torchAvailable();
    const results: Result[] = [];
    for (const w of WORKLOADS.filter((x) => ONLY.includes(x))) results.push(...(await runWorkload(w, dir)));
    const minutes = ((performance.now() - started) / 60000).toFixed(1);
    const header = [
      `Machine: ${machineLine()}; ${versions()}.`,
      `Command: \`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\` (${minutes} min). Workloads (bench/peers/PROTOCOL.md): Seq2Seq 3+3 layers d 256 (vocab 8000) training step on 64 x 24 tokens; GPT 6 layers d 384, 6 heads, T 256, vocab 65 training step at batch 16; greedy decoding of the Seq2Seq batch (24 tokens per sentence) and of 8 GPT prompts (128 tokens each); beam search (beam 4, length penalty 0.6, EOS ends hypotheses) over the Seq2Seq batch, tokens = the best hypotheses' lengths. ${REPS} interleaved timed runs after one warm-up, at most ${BUDGET_MS / 1000} s of timed runs per implementation.`,
      ...(results.some((r) => r.impl.endsWith('-bf16') && r.status !== 'skipped')
        ? ['Mixed precision (-bf16 rows): toroid.autocast / torch.autocast(\'cpu\', bfloat16) around forward+loss (backward and optimizer outside) and around each decode. Their equal work is checked against the float32 toroid-cpu run with bf16 tolerances: first loss within 2% relative (float32 rows: 1e-4), the share of identical first tokens reported (not required), greedy token counts equal, a beam search\'s token count reported where it differs.']
        : []),
    ].join('\n');
    const body = table(results);
    console.log(`\n${header}\n\n${body}\n`);
    const groups: Group[] = WORKLOADS.filter((x) => ONLY.includes(x)).map((w) => ({
      workload: w,
      bars: results.filter((r) => r.workload === w && r.status !== 'skipped').map((r) => ({ impl: r.impl, tokensPerSec: tokensPerSec(r) })),
    }));
    const svg = barChartSvg('toroid vs peers: tokens / s (higher is better)', `${machineLine()}; ${today()}`, groups);
    const outDir = path.join(here, 'results');
    mkdirSync(outDir, { recursive: true });
    mkdirSync(OUT_DIR, { recursive: true });
    // a second record the same day (another machine) gets its own files: peers-<date>-2, -3, ...
    const recordStem = (): string => {
      for (let n = 1; ; n++) {
        const stem = path.join(outDir, `peers-${today()}${n === 1 ? '' : `-${n}`}`);
        if (!existsSync(`${stem}.json`)) return stem;
      }
    };
    const stem = RECORD ? recordStem() : path.join(OUT_DIR, 'toroid-bench-latest');
    writeFileSync(`${stem}.svg`, svg);
    writeFileSync(`${stem}.json`, JSON.stringify({ date: today(), machine: machineLine(), versions: versions(), argv, results }, null, 1));
    const png = svgToPng(svg);
    if (png !== null) writeFileSync(`${stem}.png`, png);
    if (RECORD) {
      copyFileSync(`${stem}.svg`, path.join(outDir, 'peers-latest.svg'));
      if (png !== null) copyFileSync(`${stem}.png`, path.join(outDir, 'peers-latest.png'));
      appendFileSync(path.join(here, 'RESULTS.md'), `\n## toroid vs peers (npm run bench), ${today()}\n\n${header}\n\n${body}\n\nChart: bench/results/${path.basename(stem)}.svg (and .png).\n`);
      console.log(`recorded: bench/RESULTS.md, ${path.relative(root, stem)}.{svg,json${png ? ',png' : ''}}`);
    } else {
      console.log(`chart: ${stem}.svg${png ? ` and ${stem}.png` : ''} (-- --record keeps it in bench/results/)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
