// Fuzzes every export of the native cpu addon (toroid.node), and of the cuda
// addon (toroid_cuda.node, without a GPU: see the second describe), at the N-API
// boundary: random and adversarial arguments (wrong JS types and dtypes,
// negative/zero/huge/mismatched dims, shapes larger than their storage, freed
// storages, getters that free storages or throw, detached buffers, NaN/Inf,
// out-of-range ids, > 2^31 and > 2^40 element requests, missing/extra
// arguments) mixed with valid calls on real storages so the deep checks are
// reached. The calls run in child processes (under a 2 GiB address-space
// limit) so that a crash is a test failure rather than the end of vitest.
// Contract: no signal exit or abort, and every throw is an Error whose message
// names one of the function's arguments ("toroid.<fn>: <arg> must be ...") or
// reports running out of memory. And the fuzzer can fail both ways (fuzz/expect.ts):
// a valid call (a generator's unmutated base) must return, and every export must
// have returned at least MIN_VALID times, so a fuzzer whose calls all stop at the
// first argument check fails; a call given a freed storage, a storage shorter than
// its shape or out-of-range ids must throw, a TypeError (freed) or RangeError naming
// that argument when it is the only one changed from the base.
//
// Replay a failure (the report gives the seed and path):
//   FUZZ_SEED=<seed> FUZZ_PATH=<path> OMP_NUM_THREADS=1 \
//     node --disable-wasm-trap-handler --import tsx test/hardening/fuzz/runner.ts
// add FUZZ_VERBOSE=1 to print each plan before it runs. Run the whole test with
// another base seed: FUZZ_SEED=<seed> npx vitest run test/hardening/fuzz-boundary.test.ts
// (FUZZ_RUNS=<n> changes the total number of calls, 10000 by default).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { addon } from '../../src/backends/native/addon.js';
import { CUDA_GENERATORS, GENERATORS } from './fuzz/generators.js';
import { cudaAddonFile } from '../../src/backends/cuda/addon.js';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const runner = path.join(here, 'fuzz', 'runner.ts');

const TOTAL = Number(process.env.FUZZ_RUNS ?? 10_000);
const CHILDREN = 4;
const PARALLEL = 2;
const BASE_SEED = Number(process.env.FUZZ_SEED ?? 20_251_126);
const CHILD_TIMEOUT_MS = 100_000;
const ADDRESS_SPACE_KB = 2 * 1024 * 1024;
// per export, valid calls that returned (about 20 for the rarest export in 10,000 calls)
const MIN_VALID = Math.max(1, Math.floor(TOTAL / 2000));
// calls that had to throw (about 6% of all)
const MIN_MUST_THROW = Math.floor(TOTAL * 0.02);
// exports whose valid call needs a joined collective (mpirun): they must refuse cleanly here
const NEEDS_SETUP = ['distributedInit', 'distributedUniqueId', 'allReduceStart', 'broadcastStart', 'collectiveWait', 'allReduceHost', 'collectiveBarrier'];

interface ChildReport {
  seed: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  result: Record<string, unknown> | null;
  stderr: string;
  lastRun: string | null;
  failLine: string | null;
  ms: number;
}

function replay(seed: number, p: string | number, target: Target): string {
  return `${target === 'cuda' ? 'FUZZ_ADDON=cuda ' : ''}FUZZ_SEED=${seed} FUZZ_PATH=${p} OMP_NUM_THREADS=1 node --disable-wasm-trap-handler --import tsx test/hardening/fuzz/runner.ts`;
}

type Target = 'cpu' | 'cuda';

function runChild(seed: number, runs: number, dir: string, target: Target = 'cpu'): Promise<ChildReport> {
  const progress = path.join(dir, `progress-${seed}.txt`);
  const started = Date.now();
  return new Promise((resolve) => {
    // ulimit -v: a request that would really allocate gigabytes fails inside the child instead of
    // taking the machine's memory; the wasm trap handler would reserve more than that limit.
    const child = spawn(
      '/bin/sh',
      ['-c', `ulimit -v ${ADDRESS_SPACE_KB} && exec "$0" "$@"`, process.execPath, '--disable-wasm-trap-handler', '--import', 'tsx', runner],
      {
        cwd: root,
        env: { ...process.env, OMP_NUM_THREADS: '1', FUZZ_SEED: String(seed), FUZZ_RUNS: String(runs), FUZZ_PROGRESS: progress, FUZZ_PATH: '', FUZZ_ADDON: target },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CHILD_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let lines: string[] = [];
      try {
        lines = readFileSync(progress, 'utf8').split('\n');
      } catch {
        // never started
      }
      const lastRun = [...lines].reverse().find((l) => l.startsWith('RUN\t')) ?? null;
      const failLine = lines.find((l) => l.startsWith('FAIL\t')) ?? null;
      const line = stdout.split('\n').find((l) => l.startsWith('FUZZ_RESULT '));
      resolve({
        seed, code, signal, timedOut, stderr, lastRun, failLine, ms: Date.now() - started,
        result: line ? (JSON.parse(line.slice('FUZZ_RESULT '.length)) as Record<string, unknown>) : null,
      });
    });
  });
}

function explain(r: ChildReport, target: Target = 'cpu'): string {
  if (r.result !== null && r.result.ok === false) {
    return [
      `seed ${r.seed}: property failed at run ${String(r.result.firstFailure)}: ${String(r.result.error)}`,
      `  counterexample (shrunk): ${String(r.result.counterexample)}`,
      `  replay: ${replay(r.seed, String(r.result.path), target)}`,
    ].join('\n');
  }
  // a crash, abort or hang: the progress file names the run that was under way
  const run = r.lastRun?.split('\t') ?? [];
  const failedRun = r.failLine?.split('\t')[1];
  const at = failedRun ?? run[1] ?? '?';
  return [
    `seed ${r.seed}: child ${r.timedOut ? 'timed out' : `exited with code ${r.code} signal ${r.signal}`}` +
      (failedRun !== undefined ? ` while shrinking the failure of run ${failedRun}` : ` during run ${run[1] ?? '?'}`),
    `  plan: ${(run[2] ?? '').slice(0, 4000)}`,
    `  replay: ${replay(r.seed, at, target)}`,
    `  stderr: ${r.stderr.slice(-2000)}`,
  ].join('\n');
}

describe('native addon boundary fuzzing', () => {
  it.skipIf(addon === null)('every export has an argument generator in the fuzzer', () => {
    const exported = Object.keys(addon!).sort();
    const missing = exported.filter((k) => !(k in GENERATORS));
    const stale = Object.keys(GENERATORS).filter((k) => !exported.includes(k));
    expect(missing, `addon exports without a fuzzer entry in test/hardening/fuzz/generators.ts`).toEqual([]);
    expect(stale, `fuzzer entries for functions the addon does not export`).toEqual([]);
  });

  it.skipIf(addon === null)(
    `${TOTAL} seeded calls: no crash, every throw an Error naming its argument`,
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'toroid-fuzz-'));
      try {
        const seeds = Array.from({ length: CHILDREN }, (_, i) => BASE_SEED + i);
        const per = Math.ceil(TOTAL / CHILDREN);
        const reports: ChildReport[] = [];
        for (let i = 0; i < seeds.length; i += PARALLEL) {
          reports.push(...(await Promise.all(seeds.slice(i, i + PARALLEL).map((s) => runChild(s, per, dir)))));
        }
        const bad = reports.filter((r) => r.result === null || r.result.ok !== true || r.signal !== null || r.code !== 0);
        const calls = reports.reduce((n, r) => n + Number(r.result?.numRuns ?? 0), 0);
        expect(bad.map((r) => explain(r)).join('\n\n'), 'fuzzer failures').toBe('');
        expect(calls).toBeGreaterThanOrEqual(TOTAL);
        const validOk: Record<string, number> = {};
        let mustThrow = 0;
        for (const r of reports) {
          for (const [fn, n] of Object.entries((r.result?.validOk ?? {}) as Record<string, number>)) validOk[fn] = (validOk[fn] ?? 0) + n;
          for (const n of Object.values((r.result?.mustThrowSeen ?? {}) as Record<string, number>)) mustThrow += n;
        }
        const starved = Object.keys(GENERATORS).filter((fn) => !NEEDS_SETUP.includes(fn) && (validOk[fn] ?? 0) < MIN_VALID);
        expect(starved.map((fn) => `${fn}: ${validOk[fn] ?? 0}`), `exports with fewer than ${MIN_VALID} valid calls that returned`).toEqual([]);
        expect(mustThrow, 'calls that had to throw').toBeGreaterThanOrEqual(MIN_MUST_THROW);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    4 * 100_000,
  );
});

// toroid_cuda.node validates its arguments before it touches a device, so it is fuzzed here
// without a GPU: every storage it is given is a cpu one (foreign to it) and the device refuses
// work, so a valid call may return (the calls that need no device) or be refused by the device,
// a foreign storage or its missing bfloat16; anything else must be a clean error naming an
// argument, and nothing may crash. With a GPU, the cuda suites call it with real storages.
const cudaFile = cudaAddonFile();
const cudaExports = (): string[] => Object.keys(createRequire(import.meta.url)(cudaFile!) as object).sort();

describe('cuda addon boundary fuzzing (no GPU needed)', () => {
  it.skipIf(addon === null || cudaFile === undefined)('every cuda export has an argument generator in the fuzzer', () => {
    const exported = cudaExports();
    const known = new Set([...Object.keys(GENERATORS), ...Object.keys(CUDA_GENERATORS)]);
    expect(exported.filter((k) => !known.has(k)), 'cuda exports without a fuzzer entry').toEqual([]);
    expect(Object.keys(CUDA_GENERATORS).filter((k) => !exported.includes(k)), 'cuda fuzzer entries for functions it does not export').toEqual([]);
  });

  it.skipIf(addon === null || cudaFile === undefined)(
    `${TOTAL} seeded calls of toroid_cuda.node: no crash, every throw an Error naming its argument or the missing device`,
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'toroid-fuzz-cuda-'));
      try {
        const seeds = Array.from({ length: CHILDREN }, (_, i) => BASE_SEED + 100 + i);
        const per = Math.ceil(TOTAL / CHILDREN);
        const reports: ChildReport[] = [];
        for (let i = 0; i < seeds.length; i += PARALLEL) {
          reports.push(...(await Promise.all(seeds.slice(i, i + PARALLEL).map((s) => runChild(s, per, dir, 'cuda')))));
        }
        const bad = reports.filter((r) => r.result === null || r.result.ok !== true || r.signal !== null || r.code !== 0);
        expect(bad.map((r) => explain(r, 'cuda')).join('\n\n'), 'fuzzer failures').toBe('');
        const calls = reports.reduce((n, r) => n + Number(r.result?.numRuns ?? 0), 0);
        expect(calls).toBeGreaterThanOrEqual(TOTAL);
        // every export's valid calls got past its argument checks: returned or refused by the device
        const reached: Record<string, number> = {};
        let mustThrow = 0;
        for (const r of reports) {
          for (const key of ['validOk', 'validRefused']) {
            for (const [fn, n] of Object.entries((r.result?.[key] ?? {}) as Record<string, number>)) reached[fn] = (reached[fn] ?? 0) + n;
          }
          for (const n of Object.values((r.result?.mustThrowSeen ?? {}) as Record<string, number>)) mustThrow += n;
        }
        const starved = cudaExports().filter((fn) => !NEEDS_SETUP.includes(fn) && (reached[fn] ?? 0) < MIN_VALID);
        expect(starved.map((fn) => `${fn}: ${reached[fn] ?? 0}`), `cuda exports with fewer than ${MIN_VALID} valid calls that passed their checks`).toEqual([]);
        expect(mustThrow, 'calls that had to throw').toBeGreaterThanOrEqual(MIN_MUST_THROW);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    4 * 100_000,
  );
});

// The collective exports past initialisation: under mpirun, both ranks join, then make the
// same seeded calls (same plans, so the valid collectives pair up across ranks): valid
// all-reduces, broadcasts, host sums and barriers must return, everything else must be a clean
// error naming its argument, and no rank may crash or hang. Needs mpirun (TOROID_REQUIRE_MPI=1,
// set by .ci/run, makes a missing one fail test/distributed/mpi.test.ts).
const hasMpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0;
const MPI_RUNS = Math.ceil(TOTAL / 4);
const JOINED = ['allReduceStart', 'broadcastStart', 'allReduceHost', 'collectiveBarrier'];

describe('distributed exports past initialisation (mpirun, 2 ranks)', () => {
  it.skipIf(addon === null || !hasMpirun)(`${MPI_RUNS} seeded calls on each rank: valid collectives return, the rest refuse cleanly`, { timeout: 200_000 }, () => {
    // as in test/distributed/mpi.test.ts: the sanitizer runtime goes to the ranks, not to mpirun
    const preload = process.env.LD_PRELOAD;
    const env: NodeJS.ProcessEnv = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1', OMP_NUM_THREADS: '1', FUZZ_MPI: '1', FUZZ_RUNS: String(MPI_RUNS), FUZZ_SEED: String(BASE_SEED + 200), FUZZ_PATH: '' };
    delete env.LD_PRELOAD;
    const forward = preload ? ['-x', `LD_PRELOAD=${preload}`, '-x', `ASAN_OPTIONS=${[process.env.ASAN_OPTIONS, 'detect_leaks=0'].filter(Boolean).join(':')}`] : [];
    const r = spawnSync('mpirun', ['-np', '2', ...forward, process.execPath, '--disable-wasm-trap-handler', '--import', 'tsx', runner], { cwd: root, env, encoding: 'utf8', timeout: 180_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    const results = r.stdout.split('\n').filter((l) => l.startsWith('FUZZ_RESULT ')).map((l) => JSON.parse(l.slice('FUZZ_RESULT '.length)) as Record<string, unknown>);
    const replayCmd = `FUZZ_MPI=1 FUZZ_SEED=${BASE_SEED + 200} FUZZ_RUNS=${MPI_RUNS} mpirun -np 2 node --disable-wasm-trap-handler --import tsx test/hardening/fuzz/runner.ts`;
    expect(r.status, `${out.slice(-3000)}\nreplay: ${replayCmd}`).toBe(0);
    expect(results.length, out.slice(-3000)).toBe(2);
    for (const result of results) {
      expect(result.ok, `${String(result.error)}\n  counterexample: ${String(result.counterexample)}\n  replay: ${replayCmd}`).toBe(true);
      expect(result.numRuns).toBe(MPI_RUNS);
      expect(result.reinit).toMatch(/^RangeError: toroid\.distributedInit: rank must be rank [01] of worldSize 2 \(this process joined the collective as that\), got rank [01] of worldSize 2$/);
      const validOk = result.validOk as Record<string, number>;
      expect(JOINED.filter((fn) => (validOk[fn] ?? 0) < MIN_VALID).map((fn) => `${fn}: ${validOk[fn] ?? 0}`), 'collectives with too few valid calls that returned').toEqual([]);
    }
  });
});
