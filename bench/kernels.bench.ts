// Kernel benchmark: toroid's native `cpu` backend against the pure-TypeScript `ts`
// backend and PyTorch 1.13 on the CPU (2 threads, OpenMP OpenBLAS), at Transformer shapes.
//
//   npm run bench:kernels                       print the table
//   npm run bench:kernels -- --only layernorm   only cases whose "kernel mode shape" contains it (comma list allowed)
//   npm run bench:kernels -- --record           also append the table to bench/RESULTS.md
//   --no-ts / --no-torch                        leave a column out
//   --dtype bfloat16                            every case in bf16 (toroid's bf16 kernels; PyTorch on bf16
//                                               tensors), AdamW left out (its state is float32)
//
// Equal work is checked before any timing: every case runs once at a small shape on each
// backend (and in PyTorch, on the same input bytes) and the run aborts when the outputs
// and gradients differ by more than 1e-3 relative (max |a-b| / max |ref|).
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as toroid from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { OP_TABLE } from '../test/ops/table/index.js';
import type { AnyOpSpec } from '../test/ops/table/types.js';
import { machineLine, PEAK_GBPS, PEAK_GFLOPS_FP32, today } from './machine.js';
import { relErr } from './compare.js';
import { hostIds, hostRandn } from './host-data.js';

const { F } = toroid;

// ---------------------------------------------------------------- arguments

const argv = process.argv.slice(2);
const RECORD = argv.includes('--record');
const NO_TS = argv.includes('--no-ts');
const NO_TORCH = argv.includes('--no-torch');
const onlyAt = argv.indexOf('--only');
const ONLY = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').toLowerCase().split(',').filter((s) => s.length > 0) : [];
if (onlyAt >= 0 && ONLY.length === 0) fail('--only needs a substring, e.g. --only layernorm');
for (const a of argv) {
  if (a.startsWith('--') && !['--record', '--no-ts', '--no-torch', '--only', '--dtype'].includes(a)) fail(`unknown option ${a}`);
}
const dtypeAt = argv.indexOf('--dtype');
const DTYPE = (dtypeAt >= 0 ? argv[dtypeAt + 1] : 'float32') as 'float32' | 'bfloat16';
if (DTYPE !== 'float32' && DTYPE !== 'bfloat16') fail(`--dtype must be float32 or bfloat16, got ${DTYPE}`);
const BF16 = DTYPE === 'bfloat16';

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = fileURLToPath(new URL('./torch_kernels.py', import.meta.url));
const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-openmp';
const THREADS = 2;
// bf16: inputs and outputs carry 8 significant bits (the products' accumulation orders differ
// between the implementations, and an output rounds to one of two neighbours): 3e-2 of max |ref|
const TOLERANCE = BF16 ? 3e-2 : 1e-3;
/** Timing: warm-up, then until >= MIN_SECONDS and >= MIN_RUNS (or >= 3 runs after 2*MIN_SECONDS+1 s). */
const TIMING = { warmup: 1, minRuns: 5, minSeconds: 1, maxRuns: 1000 };
/** ts: a full-size run estimated longer than this is timed at a reduced shape and scaled by work. */
const TS_LIMIT_MS = 20_000;
/** ts: the reduced shape is chosen to take about this long. */
const TS_TARGET_MS = 4_000;

function fail(message: string): never {
  console.error(`bench:kernels: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------- backends

const HAS_CPU = toroid.listBackends().includes('cpu');
const HAS_TS = !NO_TS && toroid.listBackends().includes('ts');
if (!HAS_CPU) console.log(`note: toroid backend 'cpu' is not registered (backends: ${toroid.listBackends().join(', ')}); its columns are skipped.`);
if (NO_TS) console.log('note: --no-ts, the ts column is skipped.');

// ---------------------------------------------------------------- host data

type P = Record<string, number>;
type Host = Float32Array | Int32Array;
/** randn values are multiplied by scale (default 1); ids are uniform in [0, high). */
interface InputSpec { name: string; shape: number[]; kind: 'randn' | 'ids'; grad: boolean; high?: number; scale?: number }
interface Problem { inputs: InputSpec[]; upstream: number[] | null }

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function makeData(prob: Problem): Map<string, Host> {
  const data = new Map<string, Host>();
  prob.inputs.forEach((s, i) => {
    if (s.kind === 'ids') data.set(s.name, hostIds(numel(s.shape), s.high!, 1000 + i));
    else data.set(s.name, hostRandn(numel(s.shape), 1000 + i).map((x) => x * (s.scale ?? 1)));
  });
  if (prob.upstream !== null) data.set('g', hostRandn(numel(prob.upstream), 999));
  return data;
}

// ---------------------------------------------------------------- cases

type Mode = 'fwd+bwd' | 'fwd' | 'step';

interface CaseDef {
  kernel: string;
  mode: Mode;
  /** the op name bench/torch_kernels.py knows */
  op: string;
  attrs: Record<string, number | boolean>;
  full: P;
  check: P;
  /** the parameter that work is linear in; the ts column reduces it when a full run is too slow */
  scaleKey: string;
  shape(p: P): string;
  problem(p: P): Problem;
  /** floating-point operations, or bytes moved for memory-bound kernels, per iteration */
  work(p: P): { flops: number } | { bytes: number };
  forward?(t: Record<string, Tensor>, p: P): Tensor;
}

const f32 = 4;

/** The op table's bench rows (test/ops/table/), described once with the tests. */
function tableCases(spec: AnyOpSpec): CaseDef[] {
  return (spec.bench ?? []).map((row) => {
    const renamed = (name: string): string => row.torchNames?.[name] ?? name;
    const mode = row.mode ?? 'fwd+bwd', backward = mode === 'fwd+bwd';
    return {
      kernel: row.kernel,
      mode,
      op: row.torchOp,
      attrs: row.attrs,
      full: { ...row.full },
      check: { ...row.check },
      scaleKey: row.scaleKey,
      shape: (p) => row.shape(p),
      problem: (p) => {
        const params = row.params(p), out = spec.outShape(params);
        return {
          inputs: spec.inputs(params).map((def) => (def.kind === 'int32'
            ? { name: renamed(def.name), shape: [...def.shape], kind: 'ids' as const, grad: false, high: def.high! }
            : { name: renamed(def.name), shape: [...def.shape], kind: 'randn' as const, grad: backward })),
          // a scalar output (a loss) is backpropagated from 1
          upstream: backward && out.length > 0 ? [...out] : null,
        };
      },
      work: (p) => row.work(p),
      forward: (t, p) => {
        const params = row.params(p);
        return spec.forward(params, Object.fromEntries(spec.inputs(params).map((def) => [def.name, t[renamed(def.name)]!])));
      },
    };
  });
}

const ADAMW = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

const adamwCase: CaseDef = {
  kernel: 'adamw',
  mode: 'step',
  op: 'adamw',
  attrs: { ...ADAMW, steps: 2 },
  full: { n: 10, size: 1_000_000 },
  check: { n: 3, size: 4097 },
  scaleKey: 'n',
  shape: (p) => `${p.n! * p.size! / 1e6}M params (${p.n} x ${p.size})`,
  problem: (p) => ({
    inputs: Array.from({ length: p.n! }, (_, i) => [
      // small parameters keep the check's p_new - p_old free of float32 cancellation
      { name: `p${i}`, shape: [p.size!], kind: 'randn' as const, grad: false, scale: 0.02 },
      { name: `g${i}`, shape: [p.size!], kind: 'randn' as const, grad: false },
    ]).flat(),
    upstream: null,
  }),
  // read p, g, m, v; write p, m, v
  work: (p) => ({ bytes: 7 * p.n! * p.size! * f32 }),
};

const ALL_CASES: CaseDef[] = [
  ...OP_TABLE.flatMap(tableCases),
  ...(BF16 ? [] : [adamwCase]),
];

const label = (c: CaseDef): string => `${c.kernel} ${c.mode}`;
const CASES = ALL_CASES.filter((c) => ONLY.length === 0 || ONLY.some((s) => `${label(c)} ${c.shape(c.full)}`.toLowerCase().includes(s)));
if (CASES.length === 0) fail(`--only ${ONLY.join(',')} matches no case; kernels: ${[...new Set(ALL_CASES.map((c) => c.kernel))].join(', ')}`);

const workOf = (c: CaseDef, p: P): number => { const w = c.work(p); return 'flops' in w ? w.flops : w.bytes; };

// ---------------------------------------------------------------- toroid instances

interface Instance { run(): void; outputs(): Float32Array[]; dispose(): void }

function build(c: CaseDef, backend: string, p: P, data: Map<string, Host>): Instance {
  const prob = c.problem(p);
  const grad = c.mode === 'fwd+bwd';
  const t: Record<string, Tensor> = {};
  for (const s of prob.inputs) {
    t[s.name] = toroid.tensor(data.get(s.name)!, { shape: s.shape, backend, dtype: s.kind === 'ids' ? 'int32' : DTYPE, requiresGrad: grad && s.grad });
  }
  const all = Object.values(t);
  if (c.op === 'adamw') return adamwInstance(c, backend, p, t);
  const g = prob.upstream === null ? undefined : toroid.tensor(data.get('g')!, { shape: prob.upstream, backend, dtype: DTYPE });
  const leaves = prob.inputs.filter((s) => grad && s.grad).map((s) => t[s.name]!);
  const clearGrads = (): void => { for (const l of leaves) { l.grad?.dispose(); l.grad = null; } };
  const once = (collect: Float32Array[] | null): void => toroid.tidy(() => {
    const y = c.forward!(t, p);
    collect?.push(y.toFloat32Array());
    if (grad) {
      y.backward(g);
      if (collect) for (const l of leaves) collect.push(l.grad!.toFloat32Array());
      clearGrads();
    }
  });
  return {
    run: () => once(null),
    outputs: () => { const out: Float32Array[] = []; once(out); return out; },
    dispose: () => { clearGrads(); for (const x of all) x.dispose(); g?.dispose(); },
  };
}

function adamwInstance(c: CaseDef, backend: string, p: P, t: Record<string, Tensor>): Instance {
  const n = p.n!;
  const params = Array.from({ length: n }, (_, i) => t[`p${i}`]!);
  const grads = Array.from({ length: n }, (_, i) => t[`g${i}`]!);
  const state = { m: params.map((x) => toroid.zeros(x.shape, { backend })), v: params.map((x) => toroid.zeros(x.shape, { backend })) };
  const initial = params.map((x) => x.toFloat32Array());
  let step = 0;
  const run = (): void => toroid.adamwStep(params, grads, state, { ...ADAMW, step: ++step });
  return {
    run,
    outputs: () => {
      for (let s = 0; s < (c.attrs.steps as number); s++) run();
      const deltas = params.map((x, i) => { const a = x.toFloat32Array(); return a.map((v, e) => v - initial[i]![e]!); });
      return [...deltas, ...state.m.map((x) => x.toFloat32Array()), ...state.v.map((x) => x.toFloat32Array())];
    },
    dispose: () => { for (const x of [...params, ...grads, ...state.m, ...state.v]) x.dispose(); },
  };
}

// ---------------------------------------------------------------- equal-work check

function compare(c: CaseDef, what: string, got: Float32Array[], ref: Float32Array[]): string {
  if (got.length !== ref.length) fail(`${label(c)}: ${what} returned ${got.length} outputs, the reference ${ref.length}`);
  const errs = got.map((g, i) => relErr(g, ref[i]!));
  const worst = Math.max(...errs);
  if (!(worst <= TOLERANCE)) {
    fail(`equal-work check failed for ${label(c)} at ${c.shape(c.check)}: ${what} differ by ${errs.map((e) => e.toExponential(2)).join(', ')} relative (tolerance ${TOLERANCE}; outputs in order: forward, then input gradients). Not timing.`);
  }
  return worst.toExponential(1);
}

function outputsOn(c: CaseDef, backend: string, data: Map<string, Host>): Float32Array[] {
  const inst = build(c, backend, c.check, data);
  try {
    return inst.outputs();
  } finally {
    inst.dispose();
  }
}

const toB64 = (a: Host): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const fromB64 = (s: string): Float32Array => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };

// ---------------------------------------------------------------- timing

interface Timing { median: number; min: number; runs: number; approx?: boolean; note?: string }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function timeRuns(fn: () => void, opts: { warmup: number; minRuns: number; minSeconds: number; maxRuns: number }): Timing {
  for (let i = 0; i < opts.warmup; i++) fn();
  const samples: number[] = [];
  const start = performance.now();
  for (;;) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
    const elapsed = (performance.now() - start) / 1000;
    const n = samples.length;
    if (n >= opts.maxRuns || (n >= opts.minRuns && elapsed >= opts.minSeconds) || (n >= 3 && elapsed >= 2 * opts.minSeconds + 1)) break;
  }
  return { median: median(samples), min: Math.min(...samples), runs: samples.length };
}

function timeCpu(c: CaseDef): Timing | string {
  const inst = build(c, 'cpu', c.full, makeData(c.problem(c.full)));
  try {
    return timeRuns(() => inst.run(), TIMING);
  } catch (err) {
    return `error: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    inst.dispose();
  }
}

/** The ts backend: probe a small shape, estimate the full one by work, and extrapolate past TS_LIMIT_MS. */
function timeTs(c: CaseDef): Timing {
  const key = c.scaleKey, fullV = c.full[key]!;
  const at = (v: number): P => ({ ...c.full, [key]: v });
  const runAt = (v: number, runs: number): Timing => {
    const inst = build(c, 'ts', at(v), makeData(c.problem(at(v))));
    try {
      return timeRuns(() => inst.run(), { warmup: 0, minRuns: runs, minSeconds: 0, maxRuns: runs });
    } finally {
      inst.dispose();
    }
  };
  const probeV = Math.max(1, Math.floor(fullV / 16));
  const probe = runAt(probeV, 1);
  const est = probe.median * workOf(c, c.full) / workOf(c, at(probeV));
  const probeNote = `probe ${key}=${probeV}: ${fmtMs(probe.median)} ms, scaled by work -> est. ${(est / 1000).toFixed(1)} s at ${key}=${fullV}`;
  if (est <= TS_LIMIT_MS) {
    const r = runAt(fullV, est < 3000 ? 2 : 1);
    return { ...r, note: `${probeNote}; timed at full shape (${r.runs} run${r.runs > 1 ? 's' : ''})` };
  }
  const v = Math.max(probeV, Math.min(fullV, Math.floor(fullV * TS_TARGET_MS / est)));
  const r = runAt(v, 1);
  const factor = workOf(c, c.full) / workOf(c, at(v));
  return { median: r.median * factor, min: r.min * factor, runs: r.runs, approx: true, note: `${probeNote} > ${TS_LIMIT_MS / 1000} s; timed ${key}=${v} (${fmtMs(r.median)} ms) and scaled x${factor.toFixed(2)} by work (~)` };
}

// ---------------------------------------------------------------- PyTorch

interface TorchResult { median_ms?: number; min_ms?: number; runs?: number; variant?: string; outputs?: string[]; error?: string }
interface TorchReply { torch: string; threads: number; blas: string; results: TorchResult[] }

function torchEnv(): NodeJS.ProcessEnv {
  // OpenBLAS 0.3.21 misdetects this machine's AVX-512 CPU as 'Prescott' (SSE3, ~60 GFLOP/s); PyTorch is
  // measured in its fastest configuration, so its AVX-512 kernels are forced
  // unless the caller chose a core type (bench/blas/run.sh shows both).
  return {
    ...process.env,
    LD_LIBRARY_PATH: existsSync(OPENBLAS) ? OPENBLAS : (process.env.LD_LIBRARY_PATH ?? ''),
    OMP_NUM_THREADS: String(THREADS),
    OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? 'SkylakeX',
  };
}

function torchAvailable(): string | null {
  if (NO_TORCH) return '--no-torch';
  if (!existsSync(PYTHON)) return `${PYTHON} does not exist`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { env: torchEnv(), encoding: 'utf8' });
  if (r.status !== 0) return `${PYTHON} cannot import torch: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  return null;
}

function runTorch(requestCases: object[]): TorchReply {
  const r = spawnSync(PYTHON, [TORCH_SCRIPT], {
    env: torchEnv(),
    input: JSON.stringify({ threads: THREADS, cases: requestCases }),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['pipe', 'pipe', 'inherit'],
    timeout: 15 * 60 * 1000,
  });
  if (r.status !== 0) fail(`${TORCH_SCRIPT} exited with ${r.status ?? r.signal}${r.error ? `: ${r.error.message}` : ''}`);
  return JSON.parse(r.stdout) as TorchReply;
}

function torchCase(c: CaseDef, purpose: 'check' | 'time', data?: Map<string, Host>): object {
  const p = purpose === 'check' ? c.check : c.full;
  const prob = c.problem(p);
  return {
    op: c.op,
    mode: c.mode,
    purpose,
    attrs: { ...c.attrs, ...(c.op === 'adamw' ? { tensors: p.n } : {}) },
    inputs: prob.inputs,
    upstream: prob.upstream,
    dtype: DTYPE,
    data: data ? Object.fromEntries([...data].map(([k, v]) => [k, toB64(v)])) : undefined,
    timing: TIMING,
  };
}

// ---------------------------------------------------------------- formatting

function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

function cell(t: Timing | string | null | undefined): string {
  if (t === null || t === undefined) return '-';
  if (typeof t === 'string') return t;
  return t.approx ? `~${fmtMs(t.median)}` : `${fmtMs(t.median)} (${fmtMs(t.min)})`;
}

function ratio(num: Timing | string | null | undefined, den: Timing | string | null | undefined): string {
  if (!num || !den || typeof num === 'string' || typeof den === 'string') return '-';
  const x = num.median / den.median;
  return `${num.approx || den.approx ? '~' : ''}${x >= 10 ? x.toFixed(0) : x.toFixed(2)}`;
}

function throughput(c: CaseDef, t: Timing | string | null | undefined): string {
  if (!t || typeof t === 'string') return '-';
  const w = c.work(c.full);
  if ('flops' in w) {
    const g = w.flops / (t.median * 1e6);
    return `${g.toFixed(1)} GFLOP/s (${(100 * g / PEAK_GFLOPS_FP32).toFixed(0)}%)`;
  }
  const g = w.bytes / (t.median * 1e6);
  return `${g.toFixed(1)} GB/s (${(100 * g / PEAK_GBPS).toFixed(0)}%)`;
}

// ---------------------------------------------------------------- main

const started = performance.now();
console.log(`bench:kernels on ${machineLine()}${BF16 ? '; every case in bfloat16' : ''}`);
console.log(`cases: ${CASES.map((c) => `${label(c)} ${c.shape(c.full)}`).join('; ')}\n`);

// 1. equal work on toroid: cpu against ts at a small shape
const checkData = CASES.map((c) => makeData(c.problem(c.check)));
const reference: Float32Array[][] = [];
const referenceName: string[] = [];
const checkNotes: string[] = [];
CASES.forEach((c, i) => {
  const tsOut = toroid.listBackends().includes('ts') ? outputsOn(c, 'ts', checkData[i]!) : null;
  let cpuOut: Float32Array[] | null = null;
  if (HAS_CPU) {
    try {
      cpuOut = outputsOn(c, 'cpu', checkData[i]!);
    } catch (err) {
      if (!/not implemented/.test((err as Error).message)) throw err;
      checkNotes.push(`${label(c)} ${c.shape(c.full)}: cpu ${(err as Error).message}`);
    }
  }
  if (cpuOut && tsOut) checkNotes.push(`${label(c)} ${c.shape(c.full)}: cpu vs ts max rel err ${compare(c, 'cpu and ts', cpuOut, tsOut)}`);
  if (!cpuOut && !tsOut) fail(`${label(c)}: no toroid backend ran the check`);
  reference.push(cpuOut ?? tsOut!);
  referenceName.push(cpuOut ? 'cpu' : 'ts');
});

// 2. PyTorch, spawned once: checks on the same bytes first, then the timings
const torchMissing = torchAvailable();
let torchReply: TorchReply | null = null;
const torchTimes: Array<Timing | string | null> = CASES.map(() => null);
if (torchMissing !== null) {
  console.log(`note: PyTorch column skipped (${torchMissing}).`);
} else {
  console.log(`PyTorch: ${CASES.length} checks and ${CASES.length} timings in one ${PYTHON} process (OMP_NUM_THREADS=${THREADS}, LD_LIBRARY_PATH=${OPENBLAS}, OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? 'SkylakeX'}) ...`);
  torchReply = runTorch([...CASES.map((c, i) => torchCase(c, 'check', checkData[i])), ...CASES.map((c) => torchCase(c, 'time'))]);
  CASES.forEach((c, i) => {
    const chk = torchReply!.results[i]!;
    if (chk.error) fail(`PyTorch check for ${label(c)} failed: ${chk.error}`);
    checkNotes.push(`${label(c)} ${c.shape(c.full)}: ${referenceName[i]} vs torch max rel err ${compare(c, 'toroid and PyTorch', chk.outputs!.map(fromB64), reference[i]!)}`);
    const tm = torchReply!.results[CASES.length + i]!;
    torchTimes[i] = tm.error ? `error: ${tm.error}` : { median: tm.median_ms!, min: tm.min_ms!, runs: tm.runs!, ...(tm.variant ? { note: tm.variant } : {}) };
  });
  console.log(`PyTorch ${torchReply.torch}, ${torchReply.threads} threads, BLAS: ${torchReply.blas}`);
}
console.log(`equal-work checks passed (tolerance ${TOLERANCE} relative):\n  ${checkNotes.join('\n  ')}\n`);

// 3. toroid timings
const cpuTimes: Array<Timing | string | null> = CASES.map(() => null);
const tsTimes: Array<Timing | null> = CASES.map(() => null);
const notes: string[] = [];
CASES.forEach((c, i) => {
  if (HAS_CPU) {
    cpuTimes[i] = timeCpu(c);
    console.log(`cpu   ${label(c)} ${c.shape(c.full)}: ${cell(cpuTimes[i])} ms`);
  }
  if (HAS_TS) {
    const t = timeTs(c);
    tsTimes[i] = t;
    console.log(`ts    ${label(c)} ${c.shape(c.full)}: ${cell(t)} ms  [${t.note}]`);
    if (t.approx) notes.push(`ts ${label(c)}: ${t.note}`);
  }
  if (torchTimes[i]) console.log(`torch ${label(c)} ${c.shape(c.full)}: ${cell(torchTimes[i])} ms${typeof torchTimes[i] === 'object' && (torchTimes[i] as Timing).note ? ` [${(torchTimes[i] as Timing).note}]` : ''}`);
});

// 4. the table
const lines = [
  '| kernel | shape | cpu ms | ts ms | torch ms | cpu vs ts (x) | cpu vs torch (x) | cpu throughput (% of peak) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
];
CASES.forEach((c, i) => {
  lines.push(`| ${label(c)} | ${c.shape(c.full)} | ${HAS_CPU ? cell(cpuTimes[i]) : 'n/a'} | ${HAS_TS ? cell(tsTimes[i]) : 'n/a'} | ${torchReply ? cell(torchTimes[i]) : 'n/a'} | ${ratio(tsTimes[i], cpuTimes[i])} | ${ratio(torchTimes[i], cpuTimes[i])} | ${throughput(c, cpuTimes[i])} |`);
});
const legend = [
  `ms per iteration: median (min); ~ = ts timed at a reduced shape and scaled linearly by work (one full run was estimated over ${TS_LIMIT_MS / 1000} s); n/a = backend not available.`,
  `cpu vs ts / cpu vs torch = their time / cpu time (above 1: cpu is faster). Peaks: ${PEAK_GFLOPS_FP32} GFLOP/s FP32, ${PEAK_GBPS} GB/s DRAM (working sets that fit in the last-level cache can exceed it).`,
  'Attention FLOPs: 2 matmuls forward + 4 backward, halved when causal; linear 3 GEMMs fwd+bwd. GB/s counts one read or write per tensor pass (norms, gelu, softmax 5 N*C; cross-entropy 3 N*V; AdamW 7 per parameter).',
  `PyTorch: ${torchReply ? `${torchReply.torch}, ${torchReply.threads} threads, ${torchReply.blas}` : torchMissing}; attention as softmax(q@k^T*scale + causal mask)@v, RMSNorm by hand, AdamW the faster of foreach=False/True${(() => { const i = CASES.findIndex((c) => c.op === 'adamw'); const t = i >= 0 ? torchTimes[i] : null; return t && typeof t === 'object' && t.note ? ` (${t.note})` : ''; })()}.`,
  `toroid timing: ${TIMING.warmup} warm-up, then runs until >= ${TIMING.minSeconds} s and >= ${TIMING.minRuns} runs; ts: a probe at 1/16 of the shape, then 1-2 runs with no warm-up.`,
];
const table = `${lines.join('\n')}\n\n${legend.map((l) => `- ${l}`).join('\n')}\n${notes.length ? `\nExtrapolated ts cells:\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
console.log(`\n${table}`);
console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);

if (RECORD) {
  const command = process.env.npm_lifecycle_event === 'bench:kernels'
    ? `npm run bench:kernels -- ${argv.join(' ')}`
    : `npx tsx bench/kernels.bench.ts ${argv.join(' ')}`;
  const header = `\n## kernels${BF16 ? ' in bfloat16' : ''}: cpu vs ts vs PyTorch, ${today()}\n\n${machineLine()}; backends ${toroid.listBackends().join(', ')}; ${torchReply ? `PyTorch ${torchReply.torch} (${torchReply.threads} threads)` : `no PyTorch (${torchMissing})`}. Command: \`${command.trim()}\`.\n\n`;
  appendFileSync(new URL('./RESULTS.md', import.meta.url), `${header}${table}`);
  console.log('appended to bench/RESULTS.md');
}
