// GPU benchmark of toroid's cuda backend, in three parts:
//   a. fused attention (F.scaledDotProductAttention) forward, and forward + backward, float32,
//      B=16 h=16, T 1024/2048, d 64/128, causal off and on: ms and TFLOP/s
//      (FlashAttention's count: 4*B*h*T*T*d forward, 2.5x that backward, halved when causal);
//   b. a GPT training step (forward, backward, AdamW; float32) at nanoGPT's gpt2-small shape
//      (12 layers, d 768, 12 heads, T 1024, vocab 50304, batch 8): tokens/s and model-FLOPs
//      utilisation ((6 * params + 12*L*T*d) * tokens/s, nanoGPT's estimate_mfu, over a peak);
//   c. the Seq2Seq Transformer of bench/seq2seq.bench.ts (3+3 layers, d 256, batch 64 x 24)
//      training step on cuda and on the cpu backend in the same run: tokens/s and the ratio.
// Kernels are asynchronous: every timed call ends with toroid.cuda.synchronize(). Timing: warm-up,
// then runs until >= --min-runs (5) and >= 1 s; the median is reported (min in brackets).
// Before the attention timings, each (d, causal) is checked against the cpu backend at a
// small shape (outputs and gradients, max |a-b| / max |ref|); a mismatch is reported, not fatal.
// The PyTorch counterpart is bench/torch_cuda.py (same shapes and FLOP counts).
//
//   node_modules/.bin/tsx bench/cuda.bench.ts [--quick] [--json FILE]
//     --quick               attention at T=1024 d=64 only; GPT with 4 layers, batch 4
//     --json FILE           also write every figure as JSON (directories are created), after each part
//     --peak-tflops N       the peak for MFU (default 67: H100 SXM FP32 without tensor cores);
//                           MFU against the 989 TFLOP/s BF16 dense peak is printed as well
//     --precision P         matmul precision on cuda: highest (fp32, default), high (TF32), medium (bf16), fp16
//                           (toroid.cuda.setMatmulPrecision); --tf32 is --precision high
//     --only a,b            parts to run among attention, gpt, seq2seq (default all)
//     --cpu-threads N       threads of the cpu backend for part c (default: every core here)
//     --min-runs N          timed repeats at least (default 5)
//   Smoke test without a GPU (never calls toroid.cuda.*): --backend cpu --tiny (tiny shapes).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as toroid from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { Seq2SeqTransformer, type Seq2SeqConfig } from '../src/nn/seq2seq.js';
import { machineLine, today } from './machine.js';
import { relErr } from './compare.js';
import { hostIds, hostRandn, mulberry32 } from './host-data.js';
import { PAD, seq2seqBatch } from './seq2seq-batch.js';

const { F } = toroid;

// ---------------------------------------------------------------- arguments

function fail(message: string): never {
  console.error(`bench/cuda.bench.ts: ${message}`);
  process.exit(1);
}

const argv = process.argv.slice(2);
const FLAGS = ['--quick', '--tiny', '--tf32'];
const VALUED = ['--json', '--peak-tflops', '--backend', '--only', '--cpu-threads', '--min-runs', '--precision'];
const flags = new Set<string>();
const values = new Map<string, string>();
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  const eq = a.indexOf('=');
  const name = eq > 0 ? a.slice(0, eq) : a;
  if (FLAGS.includes(a)) flags.add(a);
  else if (VALUED.includes(name)) {
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined || v === '') fail(`${name} needs a value`);
    values.set(name, v);
  } else fail(`unknown argument ${a} (known: ${[...FLAGS, ...VALUED].join(' ')})`);
}
function numberArg(name: string, fallback: number, ok: (v: number) => boolean): number {
  const raw = values.get(name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || !ok(v)) fail(`${name} ${raw} is not valid`);
  return v;
}

const QUICK = flags.has('--quick');
const TINY = flags.has('--tiny');
const TF32 = flags.has('--tf32');
const PRECISION = (values.get('--precision') ?? (TF32 ? 'high' : 'highest')) as toroid.cuda.MatmulPrecision;
if (!['highest', 'high', 'medium', 'fp16'].includes(PRECISION)) fail(`--precision must be highest, high, medium or fp16, got ${PRECISION}`);
const BACKEND = values.get('--backend') ?? 'cuda';
if (BACKEND !== 'cuda' && BACKEND !== 'cpu') fail(`--backend must be cuda or cpu, got ${BACKEND}`);
const IS_CUDA = BACKEND === 'cuda';
const JSON_PATH = values.get('--json') ?? null;
const PEAK_TFLOPS = numberArg('--peak-tflops', 67, (v) => v > 0);
const BF16_PEAK_TFLOPS = 989;
const CORES = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
const CPU_THREADS = numberArg('--cpu-threads', CORES, (v) => Number.isInteger(v) && v >= 1);
const MIN_RUNS = numberArg('--min-runs', 5, (v) => Number.isInteger(v) && v >= 1);
const PARTS = ['attention', 'gpt', 'seq2seq'] as const;
type Part = typeof PARTS[number];
const ONLY = (values.get('--only') ?? PARTS.join(',')).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
for (const p of ONLY) if (!(PARTS as readonly string[]).includes(p)) fail(`--only: unknown part ${p} (parts: ${PARTS.join(', ')})`);
const run = (p: Part): boolean => ONLY.includes(p);

// ---------------------------------------------------------------- backend and device

if (!toroid.listBackends().includes(BACKEND)) {
  const why = IS_CUDA ? toroid.cuda.info() : null;
  fail(`backend '${BACKEND}' is not available${why && !why.available ? `: ${why.reason}` : ` (backends: ${toroid.listBackends().join(', ')})`}`);
}
const HAS_CPU = toroid.listBackends().includes('cpu');
if (HAS_CPU) toroid.setNumThreads(CPU_THREADS);
if (IS_CUDA) toroid.cuda.setMatmulPrecision(PRECISION);
toroid.setBackend(BACKEND);

/** Wait for queued kernels (cuda); the cpu backend runs synchronously. */
const sync: () => void = IS_CUDA ? () => toroid.cuda.synchronize() : () => {};

type CudaInfo = ReturnType<typeof toroid.cuda.info>;
function cudaInfo(): CudaInfo | null {
  return IS_CUDA ? toroid.cuda.info() : null;
}
const GiB = 2 ** 30;
function deviceLine(): string {
  const info = cudaInfo();
  if (info === null) return `backend ${BACKEND} (smoke test: no GPU used), ${toroid.nativeInfo()?.threads ?? '?'} threads`;
  if (!info.available) return `cuda unavailable: ${info.reason}`;
  const mem = info.totalBytes === undefined ? '' : `, ${(info.totalBytes / GiB).toFixed(1)} GiB`;
  return `${info.name ?? 'GPU'} (sm ${info.computeCapability ?? '?'}, ${info.multiprocessors ?? '?'} SMs${mem}), driver ${info.driverVersion ?? '?'}, runtime ${info.runtimeVersion ?? '?'}, ` +
    `GEMM: ${info.cublas ? `cuBLAS (${info.blas ?? ''})` : `toroid's own kernels (${info.blas ?? 'no cuBLAS'})`}, matmul precision ${info.matmulPrecision}`;
}

// ---------------------------------------------------------------- timing

interface Timing { median: number; min: number; max: number; runs: number }
interface TimingOptions { warmup: number; minRuns: number; minSeconds: number; maxRuns: number }
const TIMING: TimingOptions = { warmup: 1, minRuns: MIN_RUNS, minSeconds: TINY ? 0 : 1, maxRuns: Math.max(MIN_RUNS, 50) };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** ms per call: warm-up, then timed calls (each followed by a device synchronize) until >= minRuns and >= minSeconds. */
function measure(fn: () => void, opts: TimingOptions = TIMING): Timing {
  for (let i = 0; i < opts.warmup; i++) { fn(); sync(); }
  sync();
  const samples: number[] = [];
  const start = performance.now();
  for (;;) {
    const t0 = performance.now();
    fn();
    sync();
    samples.push(performance.now() - t0);
    const n = samples.length;
    if (n >= opts.maxRuns || (n >= opts.minRuns && (performance.now() - start) / 1000 >= opts.minSeconds)) break;
  }
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), runs: samples.length };
}

function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}
const fmtT = (t: Timing): string => `${fmtMs(t.median)} (${fmtMs(t.min)})`;
const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);

// ---------------------------------------------------------------- host data

/** N(0,1) values fast at any size: 4096-value chunks of a 1M-value pool at random offsets (timing data, not statistics). */
const POOL = hostRandn(1 << 20, 7);
function randomHost(n: number, seed: number): Float32Array {
  if (n <= POOL.length / 2) return hostRandn(n, seed);
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  const CHUNK = 4096;
  for (let i = 0; i < n; i += CHUNK) {
    const len = Math.min(CHUNK, n - i);
    const off = Math.floor(r() * (POOL.length - len));
    out.set(POOL.subarray(off, off + len), i);
  }
  return out;
}

// ---------------------------------------------------------------- results (JSON)

interface AttentionRow {
  B: number; h: number; T: number; d: number; causal: boolean;
  fwdFlops: number; bwdFlops: number;
  fwd?: Timing; fwdBwd?: Timing;
  fwdTflops?: number; fwdBwdTflops?: number;
  /** fwdBwd median - fwd median, and its TFLOP/s (derived). */
  bwdMs?: number; bwdTflops?: number;
  error?: string;
}
interface AttentionCheck { d: number; causal: boolean; shape: string; reference: string; maxRelErr?: number; ok?: boolean; error?: string }

const results: Record<string, unknown> = {
  date: today(),
  isoTime: new Date().toISOString(),
  command: `node_modules/.bin/tsx bench/cuda.bench.ts ${argv.join(' ')}`.trim(),
  machine: machineLine(),
  backend: BACKEND,
  options: { quick: QUICK, tiny: TINY, precision: PRECISION, peakTflops: PEAK_TFLOPS, bf16PeakTflops: BF16_PEAK_TFLOPS, minRuns: MIN_RUNS, timing: TIMING, only: ONLY },
  cuda: cudaInfo(),
  native: toroid.nativeInfo(),
};

function writeJson(): void {
  if (JSON_PATH === null) return;
  try {
    mkdirSync(path.dirname(path.resolve(JSON_PATH)), { recursive: true });
    writeFileSync(JSON_PATH, `${JSON.stringify(results, null, 2)}\n`);
  } catch (err) {
    console.error(`could not write ${JSON_PATH}: ${errText(err)}`);
  }
}

function memoryNote(): { liveBytes: number; cachedBytes: number } | null {
  const info = cudaInfo();
  return info !== null && info.available ? { liveBytes: info.liveBytes, cachedBytes: info.cachedBytes } : null;
}

function freeCache(): void {
  if (IS_CUDA) toroid.cuda.emptyCache();
}

// ---------------------------------------------------------------- a. attention

/** Output and dq, dk, dv of one attention call on `backend`, from host data. */
function attentionOutputs(backend: string, data: Float32Array[], shape: number[], causal: boolean): Float32Array[] {
  return toroid.tidy(() => {
    const [q, k, v] = data.slice(0, 3).map((x) => toroid.tensor(x, { shape, backend, requiresGrad: true })) as [Tensor, Tensor, Tensor];
    const g = toroid.tensor(data[3]!, { shape, backend });
    const y = F.scaledDotProductAttention(q, k, v, { isCausal: causal });
    y.backward(g);
    const out = [y.toFloat32Array(), q.grad!.toFloat32Array(), k.grad!.toFloat32Array(), v.grad!.toFloat32Array()];
    for (const t of [q, k, v]) { t.grad?.dispose(); t.grad = null; }
    return out;
  });
}

function checkAttention(d: number, causal: boolean): AttentionCheck {
  const reference = IS_CUDA ? 'cpu' : 'ts';
  const shape = [2, 3, 77, d];
  const row: AttentionCheck = { d, causal, shape: `[${shape.join(',')}]`, reference };
  if (!toroid.listBackends().includes(reference)) return { ...row, error: `reference backend ${reference} not available` };
  try {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = [0, 1, 2, 3].map((i) => hostRandn(n, 100 + 10 * d + i));
    const ours = attentionOutputs(BACKEND, data, shape, causal);
    const ref = attentionOutputs(reference, data, shape, causal);
    const err = Math.max(...ours.map((o, i) => relErr(o, ref[i]!)));
    return { ...row, maxRelErr: err, ok: err <= 1e-3 };
  } catch (err) {
    return { ...row, error: errText(err) };
  }
}

function attentionPart(): void {
  const B = TINY ? 2 : 16, h = TINY ? 2 : 16;
  const Ts = TINY ? [64, 128] : QUICK ? [1024] : [1024, 2048];
  const ds = TINY ? [32, 64] : QUICK ? [64] : [64, 128];
  const rows: AttentionRow[] = [];
  const checks: AttentionCheck[] = [];
  results.attention = { B, h, Ts, ds, dtype: 'float32', flops: 'forward 4*B*h*T*T*d, backward 2.5x forward, halved when causal', checks, rows };

  console.log(`\n== a. attention: F.scaledDotProductAttention float32, B=${B} h=${h}, T ${Ts.join('/')}, d ${ds.join('/')}, causal off/on`);
  for (const d of ds) {
    for (const causal of [false, true]) {
      const c = checkAttention(d, causal);
      checks.push(c);
      console.log(`check d=${d} causal=${causal} ${c.shape} vs ${c.reference}: ${c.error !== undefined ? `ERROR ${c.error}` : `max rel err ${c.maxRelErr!.toExponential(2)}${c.ok ? '' : '  <-- MISMATCH (> 1e-3): timings below may not be of correct results'}`}`);
    }
  }
  writeJson();

  for (const T of Ts) {
    for (const d of ds) {
      const shape = [B, h, T, d];
      const n = B * h * T * d;
      let q: Tensor | null = null, k: Tensor | null = null, v: Tensor | null = null, g: Tensor | null = null;
      let setupError: string | null = null;
      try {
        q = toroid.tensor(randomHost(n, 1), { shape, backend: BACKEND, requiresGrad: true });
        k = toroid.tensor(randomHost(n, 2), { shape, backend: BACKEND, requiresGrad: true });
        v = toroid.tensor(randomHost(n, 3), { shape, backend: BACKEND, requiresGrad: true });
        g = toroid.tensor(randomHost(n, 4), { shape, backend: BACKEND });
      } catch (err) {
        setupError = errText(err);
      }
      for (const causal of [false, true]) {
        const fwdFlops = 4 * B * h * T * T * d * (causal ? 0.5 : 1);
        const row: AttentionRow = { B, h, T, d, causal, fwdFlops, bwdFlops: 2.5 * fwdFlops };
        rows.push(row);
        const label = `attention B=${B} h=${h} T=${T} d=${d}${causal ? ' causal' : ''}`;
        if (setupError !== null) {
          row.error = setupError;
          console.log(`${label}: ERROR ${setupError}`);
          continue;
        }
        const qq = q!, kk = k!, vv = v!, gg = g!;
        const opts = { isCausal: causal };
        try {
          row.fwd = measure(() => toroid.noGrad(() => toroid.tidy(() => { F.scaledDotProductAttention(qq, kk, vv, opts); })));
          row.fwdTflops = fwdFlops / (row.fwd.median * 1e9);
          row.fwdBwd = measure(() => toroid.tidy(() => {
            F.scaledDotProductAttention(qq, kk, vv, opts).backward(gg);
            for (const t of [qq, kk, vv]) { t.grad?.dispose(); t.grad = null; }
          }));
          row.fwdBwdTflops = 3.5 * fwdFlops / (row.fwdBwd.median * 1e9);
          row.bwdMs = row.fwdBwd.median - row.fwd.median;
          row.bwdTflops = row.bwdMs > 0 ? 2.5 * fwdFlops / (row.bwdMs * 1e9) : undefined;
          console.log(`${label}: fwd ${fmtT(row.fwd)} ms ${row.fwdTflops.toFixed(2)} TFLOP/s; fwd+bwd ${fmtT(row.fwdBwd)} ms ${row.fwdBwdTflops.toFixed(2)} TFLOP/s; bwd ~${fmtMs(row.bwdMs)} ms${row.bwdTflops === undefined ? '' : ` ${row.bwdTflops.toFixed(2)} TFLOP/s`}`);
        } catch (err) {
          row.error = errText(err);
          console.log(`${label}: ERROR ${row.error}`);
          for (const t of [qq, kk, vv]) { t.grad?.dispose(); t.grad = null; }
        }
        writeJson();
      }
      for (const t of [q, k, v, g]) t?.dispose();
      freeCache();
    }
  }

  const lines = [
    '| T | d | causal | fwd ms | fwd TFLOP/s | fwd+bwd ms | fwd+bwd TFLOP/s | bwd ms (derived) | bwd TFLOP/s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => r.error !== undefined
      ? `| ${r.T} | ${r.d} | ${r.causal ? 'yes' : 'no'} | error: ${r.error} | | | | | |`
      : `| ${r.T} | ${r.d} | ${r.causal ? 'yes' : 'no'} | ${fmtT(r.fwd!)} | ${r.fwdTflops!.toFixed(2)} | ${fmtT(r.fwdBwd!)} | ${r.fwdBwdTflops!.toFixed(2)} | ${fmtMs(r.bwdMs!)} | ${r.bwdTflops === undefined ? '-' : r.bwdTflops.toFixed(2)} |`),
  ];
  console.log(`\ntoroid ${BACKEND} attention, float32, B=${B} h=${h}; ms: median (min) of >= ${TIMING.minRuns} runs; FLOPs 4BhT^2d forward, 2.5x backward, halved when causal:\n${lines.join('\n')}`);
}

// ---------------------------------------------------------------- b. GPT training step

function gptPart(): void {
  const config = TINY
    ? { vocabSize: 256, blockSize: 32, nLayer: 2, nHead: 4, nEmbd: 64 }
    : { vocabSize: 50304, blockSize: 1024, nLayer: QUICK ? 4 : 12, nHead: 12, nEmbd: 768 };
  const B = TINY ? 2 : QUICK ? 4 : 8;
  const T = config.blockSize;
  const full = { ...config, dropout: 0, bias: true, norm: 'layernorm' as const, mlp: 'gelu' as const, geluApproximate: 'none' as const, tieWeights: true };
  const out: Record<string, unknown> = { config: full, batch: B, seqLen: T, tokensPerStep: B * T, dtype: 'float32', optimizer: 'AdamW lr 6e-4 betas (0.9, 0.95) eps 1e-8 weight decay 0.1, all parameters' };
  results.gpt = out;
  console.log(`\n== b. GPT training step (forward + backward + AdamW), float32: ${config.nLayer} layers, d ${config.nEmbd}, ${config.nHead} heads, T ${T}, vocab ${config.vocabSize}, batch ${B}`);

  let model: InstanceType<typeof toroid.nn.GPT> | null = null;
  let opt: InstanceType<typeof toroid.optim.AdamW> | null = null;
  let idx: Tensor | null = null, tgt: Tensor | null = null;
  try {
    toroid.manualSeed(0);
    const t0 = performance.now();
    model = new toroid.nn.GPT(full, { backend: BACKEND });
    const m = model;
    const params = m.numParameters({ nonEmbedding: true });
    out.params = params;
    out.paramsTotal = m.numParameters();
    console.log(`model built in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${(params / 1e6).toFixed(2)}M parameters (nanoGPT's count: without wpe; ${(m.numParameters() / 1e6).toFixed(2)}M in all)`);
    const o = new toroid.optim.AdamW(m.parameters(), { lr: 6e-4, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1 });
    opt = o;
    idx = toroid.tensor(hostIds(B * T, config.vocabSize, 11), { shape: [B, T], backend: BACKEND });
    tgt = toroid.tensor(hostIds(B * T, config.vocabSize, 12), { shape: [B, T], backend: BACKEND });
    const x = idx, y = tgt;
    const step = (withLoss: boolean): number => toroid.tidy(() => {
      o.zeroGrad();
      const { loss } = m.forward(x, y);
      loss!.backward();
      o.step();
      return withLoss ? loss!.item() : NaN;
    });
    const t1 = performance.now();
    const firstLoss = step(true);
    sync();
    out.firstLoss = firstLoss;
    out.firstStepMs = performance.now() - t1;
    console.log(`first step ${fmtMs(performance.now() - t1)} ms, loss ${firstLoss.toFixed(4)} (ln V = ${Math.log(config.vocabSize).toFixed(4)})`);
    if (!Number.isFinite(firstLoss)) console.log('  <-- the loss is not finite');
    const t = measure(() => { step(false); }, { ...TIMING, minSeconds: TINY ? 0 : 2, maxRuns: Math.max(MIN_RUNS, 20) });
    const lastLoss = step(true);
    sync();
    if (IS_CUDA) {
      // where one step's GPU time goes, per kernel entry point
      const wall0 = performance.now();
      const { kernels, totalMs } = toroid.cuda.profile(() => step(false));
      sync();
      const wallMs = performance.now() - wall0;
      out.profile = { wallMs, gpuMs: totalMs, kernels };
      console.log(`profiled step: wall ${fmtMs(wallMs)} ms, GPU time in kernels ${fmtMs(totalMs)} ms; top entries:`);
      for (const k of kernels.slice(0, 30)) console.log(`  ${k.name.padEnd(48)} ${String(k.calls).padStart(5)} calls ${fmtMs(k.ms).padStart(9)} ms ${(100 * k.ms / totalMs).toFixed(1).padStart(5)}%`);
    }
    const tokensPerSec = (B * T) / (t.median / 1000);
    const flopsPerToken = 6 * params + 12 * config.nLayer * T * config.nEmbd;
    const achieved = flopsPerToken * tokensPerSec / 1e12;
    Object.assign(out, {
      step: t, lastLoss, tokensPerSec, flopsPerToken, achievedTflops: achieved,
      mfu: achieved / PEAK_TFLOPS, mfuVsBf16Peak: achieved / BF16_PEAK_TFLOPS, memory: memoryNote(),
    });
    const mem = memoryNote();
    console.log(`step ${fmtT(t)} ms over ${t.runs} runs, loss after ${t.runs + 2} steps ${lastLoss.toFixed(4)}${mem ? `; device memory held ${(mem.cachedBytes / GiB).toFixed(2)} GiB (live ${(mem.liveBytes / GiB).toFixed(2)} GiB)` : ''}`);
    const lines = [
      '| model | batch x T | ms / step | tokens / s | model TFLOP/s | MFU vs peak | MFU vs 989 BF16 dense |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      `| GPT ${config.nLayer}L d${config.nEmbd} ${config.nHead}h V${config.vocabSize}, ${(params / 1e6).toFixed(1)}M | ${B} x ${T} | ${fmtT(t)} | ${Math.round(tokensPerSec)} | ${achieved.toFixed(2)} | ${(100 * achieved / PEAK_TFLOPS).toFixed(1)}% of ${PEAK_TFLOPS} | ${(100 * achieved / BF16_PEAK_TFLOPS).toFixed(2)}% |`,
    ];
    console.log(`\ntoroid ${BACKEND} GPT training step, float32 tensors${IS_CUDA ? `, matmul precision ${PRECISION}` : ''}; FLOPs per token 6N + 12*L*T*d = ${(flopsPerToken / 1e9).toFixed(3)} GFLOP (N = ${params}):\n${lines.join('\n')}`);
  } catch (err) {
    out.error = errText(err);
    console.log(`GPT: ERROR ${out.error}`);
  } finally {
    opt?.dispose();
    model?.dispose();
    idx?.dispose();
    tgt?.dispose();
    freeCache();
  }
  writeJson();
}

// ---------------------------------------------------------------- c. Seq2Seq, cuda vs cpu

interface Seq2SeqRun { backend: string; threads?: number; firstLoss?: number; step?: Timing; tokensPerSec?: number; error?: string }

function seq2seqRun(backend: string, config: Seq2SeqConfig, host: ReturnType<typeof seq2seqBatch>, B: number, S: number, T: number, tokens: number): Seq2SeqRun {
  const r: Seq2SeqRun = { backend };
  if (backend === 'cpu') r.threads = toroid.nativeInfo()?.threads;
  let model: Seq2SeqTransformer | null = null;
  let opt: InstanceType<typeof toroid.optim.AdamW> | null = null;
  const tensors: Tensor[] = [];
  try {
    toroid.manualSeed(0);
    const m = new Seq2SeqTransformer(config, { backend });
    model = m;
    const o = new toroid.optim.AdamW(m.parameters(), { lr: 1e-4, betas: [0.9, 0.98], eps: 1e-9, weightDecay: 0.01 });
    opt = o;
    const src = toroid.tensor(host.src, { shape: [B, S], backend });
    const tgtIn = toroid.tensor(host.tgtIn, { shape: [B, T], backend });
    const tgtOut = toroid.tensor(host.tgtOut, { shape: [B, T], backend });
    tensors.push(src, tgtIn, tgtOut);
    const step = (withLoss: boolean): number => toroid.tidy(() => {
      o.zeroGrad();
      const logits = m.forward(src, tgtIn);
      const loss = F.crossEntropy(logits, tgtOut, { ignoreIndex: PAD, labelSmoothing: 0.1 });
      loss.backward();
      o.step();
      return withLoss ? loss.item() : NaN;
    });
    r.firstLoss = step(true);
    const t = measure(() => { step(false); }, { ...TIMING, minSeconds: TINY ? 0 : 2, maxRuns: 30 });
    r.step = t;
    r.tokensPerSec = tokens / (t.median / 1000);
  } catch (err) {
    r.error = errText(err);
  } finally {
    opt?.dispose();
    model?.dispose();
    for (const t of tensors) t.dispose();
  }
  return r;
}

function seq2seqPart(): void {
  const B = TINY ? 8 : 64, S = 24, T = 24;
  const config: Seq2SeqConfig = TINY
    ? { srcVocab: 500, tgtVocab: 500, dModel: 64, nhead: 4, numEncoderLayers: 3, numDecoderLayers: 3, dimFeedforward: 128, dropout: 0, maxLen: 64, pad: PAD }
    : { srcVocab: 8000, tgtVocab: 8000, dModel: 256, nhead: 4, numEncoderLayers: 3, numDecoderLayers: 3, dimFeedforward: 1024, dropout: 0, maxLen: 64, pad: PAD };
  const host = seq2seqBatch(B, S, T, config.srcVocab, config.tgtVocab);
  const tokens = host.tgtOut.filter((t) => t !== PAD).length;
  const out: Record<string, unknown> = { config, batch: B, srcLen: S, tgtLen: T, targetTokens: tokens, labelSmoothing: 0.1, optimizer: 'AdamW lr 1e-4 betas (0.9, 0.98) eps 1e-9 weight decay 0.01' };
  results.seq2seq = out;
  console.log(`\n== c. Seq2Seq Transformer ${config.numEncoderLayers}+${config.numDecoderLayers} layers, d ${config.dModel}, ${config.nhead} heads, FFN ${config.dimFeedforward}, vocab ${config.srcVocab}; batch ${B} x ${S}/${T} (${tokens} target tokens); ${BACKEND} vs cpu`);
  const main = seq2seqRun(BACKEND, config, host, B, S, T, tokens);
  freeCache();
  console.log(`${BACKEND}: ${main.error !== undefined ? `ERROR ${main.error}` : `${fmtT(main.step!)} ms/step, ${Math.round(main.tokensPerSec!)} target tokens/s, first loss ${main.firstLoss!.toFixed(6)}`}`);
  const cpu: Seq2SeqRun = HAS_CPU ? seq2seqRun('cpu', config, host, B, S, T, tokens) : { backend: 'cpu', error: 'cpu backend not available' };
  console.log(`cpu (${cpu.threads ?? '?'} threads): ${cpu.error !== undefined ? `ERROR ${cpu.error}` : `${fmtT(cpu.step!)} ms/step, ${Math.round(cpu.tokensPerSec!)} target tokens/s, first loss ${cpu.firstLoss!.toFixed(6)}`}`);
  out.runs = [main, cpu];
  let speedup: number | null = null;
  if (main.step && cpu.step) {
    speedup = cpu.step.median / main.step.median;
    out.speedup = speedup;
    const rel = Math.abs(main.firstLoss! - cpu.firstLoss!) / Math.abs(cpu.firstLoss!);
    out.firstLossRelDiff = rel;
    console.log(`first-batch loss ${BACKEND} vs cpu: rel diff ${rel.toExponential(1)}${rel > 1e-4 ? '  <-- more than 1e-4: not the same computation?' : ''}`);
  }
  const lines = [
    `| backend | ms / step | target tokens / s | vs cpu |`,
    '| --- | --- | --- | --- |',
    ...[main, cpu].map((r, i) => r.error !== undefined
      ? `| ${r.backend} | error: ${r.error} | | |`
      : `| ${r.backend}${r.threads !== undefined ? ` (${r.threads} threads)` : ''} | ${fmtT(r.step!)} | ${Math.round(r.tokensPerSec!)} | ${i === 1 ? '1.00x' : speedup === null ? '-' : `${speedup.toFixed(2)}x`} |`),
  ];
  console.log(`\nSeq2Seq training step (forward, label-smoothed cross-entropy, backward, AdamW):\n${lines.join('\n')}`);
  writeJson();
}

// ---------------------------------------------------------------- main

const started = performance.now();
console.log(`bench/cuda.bench.ts ${argv.join(' ')}`.trim());
console.log(`host: ${machineLine()}; cpu backend threads: ${toroid.nativeInfo()?.threads ?? 'n/a'}`);
console.log(`device: ${deviceLine()}`);
console.log(`date: ${today()}; MFU peak ${PEAK_TFLOPS} TFLOP/s (and ${BF16_PEAK_TFLOPS} BF16 dense)${TINY ? '; --tiny shapes' : QUICK ? '; --quick' : ''}`);
writeJson();

const parts: Array<[Part, () => void]> = [['attention', attentionPart], ['gpt', gptPart], ['seq2seq', seq2seqPart]];
for (const [name, fn] of parts) {
  if (!run(name)) continue;
  try {
    fn();
  } catch (err) {
    // every part catches its own errors; this is the last resort
    results[`${name}Error`] = errText(err);
    console.log(`${name}: ERROR ${errText(err)}`);
  }
  writeJson();
}

results.cudaAfter = cudaInfo();
results.totalSeconds = (performance.now() - started) / 1000;
writeJson();
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s${JSON_PATH !== null ? `; JSON written to ${JSON_PATH}` : ''}`);
