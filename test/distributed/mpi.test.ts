// Data-parallel training with Open MPI on one machine: 2 ranks over loopback.
// - `mpirun -np 2 toroid train --distributed mpi` ends with the parameters of one
//   process trained on the combined batches, and resumes with another rank count;
// - a rank that dies, stalls, throws or diverges ends the job with a clear error
//   instead of a hang.
// Needs mpirun (Debian: openmpi-bin libopenmpi-dev; .ci/run installs them): the
// file is skipped without it, except where TOROID_REQUIRE_MPI=1 (.ci/run sets it):
// there a missing mpirun fails it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { load } from '../../src/index.js';
import { Rng } from '../helpers/random.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const hasMpirun = spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status === 0;
const built = existsSync(path.join(root, 'dist', 'index.js'));
// mpirun refuses to run as root without these (CI runs as root)
const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1' };

// Under npm run test:asan, the sanitizer runtime is preloaded into the ranks (our
// addon runs there) but not into mpirun itself, which is not our code. In the ranks,
// address and undefined-behaviour checks stay on and the leak check is off: Open
// MPI dlcloses its plugins in MPI_Finalize, and what they left allocated reaches
// LeakSanitizer as one frame of an unknown module, which no suppression can name.
const preload = process.env.LD_PRELOAD;
const launcherEnv: NodeJS.ProcessEnv = { ...env };
delete launcherEnv.LD_PRELOAD;

// mpirun's arguments up to the program: the rank count and what the ranks need from the environment
const mpirunArgs = (ranks: number): string[] => ['-np', String(ranks),
  ...(preload ? ['-x', `LD_PRELOAD=${preload}`, '-x', `ASAN_OPTIONS=${[process.env.ASAN_OPTIONS, 'detect_leaks=0'].filter(Boolean).join(':')}`] : [])];

function mpirun(ranks: number, args: string[], cwd = root, timeoutMs = 120_000) {
  const started = performance.now();
  const r = spawnSync('mpirun', [...mpirunArgs(ranks), process.execPath, ...args], { encoding: 'utf8', cwd, env: launcherEnv, timeout: timeoutMs });
  return { status: r.status, signal: r.signal, out: `${r.stdout}\n${r.stderr}`, seconds: (performance.now() - started) / 1000 };
}

it.runIf(process.env.TOROID_REQUIRE_MPI === '1')('mpirun is there (TOROID_REQUIRE_MPI=1: Open MPI, installed by .ci/run)', () => {
  expect(hasMpirun).toBe(true);
});

describe.skipIf(!hasMpirun)('distributed mpi: failures end the job with a clear error', { timeout: 120_000 }, () => {
  const child = (options: object) => mpirun(2, ['--import', 'tsx', path.join(here, 'rank-child.ts'), JSON.stringify(options)]);

  it('trains on both ranks, with the parameter hash check every step', () => {
    const r = child({ maxSteps: 4, distributed: { engine: 'mpi', checkEvery: 1 } });
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('done 4 rank 0');
    expect(r.out).toContain('done 4 rank 1');
  });

  it('a rank that stops calling the collective: the other fails after the timeout, naming it', () => {
    const r = child({ maxSteps: 8, distributed: { engine: 'mpi', timeoutSeconds: 3 }, taskOptions: { fault: 'stall', faultRank: 1, faultStep: 3 } });
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/rank error: toroid\.distributed \(mpi\): all-reduce #\d+ \([\d.]+ kB\) did not complete within 3 s on rank 0 of 2: another rank died or stopped/);
    expect(r.seconds).toBeLessThan(40);  // the stalled rank sleeps 60 s: MPI_Abort ended it
  });

  // mpirun's own notices ("process rank 1 ... exited on signal 9", "MPI_ABORT was
  // invoked on rank 1") go through its show_help channel, which Open MPI 4.1.4
  // sometimes drops (ORTE_ERROR_LOG: Data unpack had inadequate space): the tests
  // check the exit status, the time and our own messages, not that text.
  it('a rank killed by SIGKILL: mpirun ends the others', () => {
    const r = child({ maxSteps: 50, distributed: { engine: 'mpi', timeoutSeconds: 100 }, taskOptions: { fault: 'kill', faultRank: 1, faultStep: 3 } });
    expect(r.status).not.toBe(0);
    expect(r.out).not.toContain('done 50');
    expect(r.seconds).toBeLessThan(40);  // not the 100 s timeout: mpirun saw the death
  });

  it('a task error on one rank ends the job at once (not after the timeout)', () => {
    const r = child({ maxSteps: 50, distributed: { engine: 'mpi', timeoutSeconds: 100 }, taskOptions: { fault: 'throw', faultRank: 1, faultStep: 3 } });
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('rank error: faulty-task: injected failure on rank 1 at step 3');
    expect(r.out).not.toContain('done 50');
    expect(r.seconds).toBeLessThan(40);  // not the 100 s timeout: rank 1's MPI_Abort ended the job
  });

  it('ranks whose parameters diverge fail the hash check, naming the step and the rank', () => {
    const r = child({ maxSteps: 8, distributed: { engine: 'mpi', checkEvery: 2 }, taskOptions: { fault: 'perturb', faultRank: 1, faultStep: 3 } });
    expect(r.status).not.toBe(0);
    expect(r.out).toContain("after step 4 the parameters of rank(s) 1 differ from rank 0's");
  });
});

describe.skipIf(!hasMpirun || !built)('mpirun -np 2 toroid train --distributed mpi (needs dist/)', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'toroid-mpi-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // a small parallel corpus: German-like words, English words in reverse order
  const rng = new Rng(11);
  const de = ['ein', 'mann', 'frau', 'hund', 'läuft', 'sitzt', 'auf', 'der', 'straße', 'im', 'park', 'kind', 'spielt', 'mit', 'ball', 'rot'];
  const en = ['a', 'man', 'woman', 'dog', 'runs', 'sits', 'on', 'the', 'street', 'in', 'park', 'child', 'plays', 'with', 'ball', 'red'];
  const src: string[] = [], tgt: string[] = [];
  for (let i = 0; i < 300; i++) {
    const ids = Array.from({ length: 3 + Math.floor(rng.uniform() * 10) }, () => Math.floor(rng.uniform() * de.length));
    src.push(ids.map((j) => de[j]).join(' '));
    tgt.push(ids.reverse().map((j) => en[j]).join(' '));
  }
  writeFileSync(path.join(dir, 'train.de'), `${src.join('\n')}\n`);
  writeFileSync(path.join(dir, 'train.en'), `${tgt.join('\n')}\n`);
  const config = (name: string, maxSteps: number, resume = false) => {
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({
      source: 'train.de', target: 'train.en', checkpoint: `${name}/model.safetensors`, maxSteps, checkpointEvery: 0, resume, threads: 1,
      task: { vocabSize: 80, batchTokens: 192, warmup: 8, lrFactor: 0.1, model: { dModel: 32, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 64, dropout: 0 } },
    }));
    return file;
  };
  const cli = path.join(root, 'bin', 'toroid.mjs');
  const single = (file: string) => spawnSync(process.execPath, [cli, 'train', '--config', file], { encoding: 'utf8', cwd: dir, env });

  // The parameters of two runs, compared entry by entry. The key projection's bias
  // (in_proj_bias[d, 2d)) is left out: softmax ignores it, so its true gradient is 0
  // and Adam turns the float32 rounding noise there into full-size steps, which differ
  // for any two summation orders (one process vs two ranks, or two thread counts).
  // Adam divides by sqrt(v), which magnifies rounding where a gradient changes sign,
  // so the runs use a tenth of the schedule's learning rate (lrFactor 0.1): the
  // differences left (~4e-7) are those of the sums, not Adam's magnification of them.
  async function maxDifference(a: string, b: string): Promise<number> {
    const [x, y] = await Promise.all([load(path.join(dir, a)), load(path.join(dir, b))]);
    let worst = 0;
    for (const [name, t] of Object.entries(x.tensors)) {
      if (!name.startsWith('model/')) continue;
      const u = t.toFloat32Array(), w = y.tensors[name]!.toFloat32Array();
      expect(w.length).toBe(u.length);
      for (let i = 0; i < u.length; i++) {
        if (name.endsWith('in_proj_bias') && i >= u.length / 3 && i < (2 * u.length) / 3) continue;
        worst = Math.max(worst, Math.abs(u[i]! - w[i]!));
      }
    }
    for (const t of [...Object.values(x.tensors), ...Object.values(y.tensors)]) t.dispose();
    return worst;
  }

  it('2 ranks equal one process trained on the combined batches (float32 tolerance)', async () => {
    const one = single(config('one', 6));
    expect(one.status, one.stderr).toBe(0);
    const two = mpirun(2, [cli, 'train', '--config', config('two', 6), '--distributed', 'mpi'], dir);
    expect(two.status, two.out).toBe(0);
    expect(two.out).toContain('mpi (Open MPI');
    expect(two.out).toContain('2 ranks, 1 kernel thread(s) each');
    expect(two.out.match(/finished at step 6/g)?.length).toBe(1);  // only rank 0 reports
    expect(await maxDifference('one/model.safetensors', 'two/model.safetensors')).toBeLessThan(5e-6);
  });

  it('SIGUSR2 to mpirun stops every rank after the same step, with rank 0 writing the checkpoint', async () => {
    const file = config('stopped', 100_000);
    const child = spawn('mpirun', [...mpirunArgs(2), process.execPath, cli, 'train', '--config', file, '--distributed', 'mpi'], { cwd: dir, env: launcherEnv });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (/step [3-9]\d*\//.test(out)) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    });
    child.kill('SIGUSR2');
    expect(await exited, out).toBe(0);
    const stoppedAt = Number(/aborted at step (\d+)/.exec(out)?.[1]);
    expect(stoppedAt).toBeGreaterThan(2);
    const saved = await load(path.join(dir, 'stopped', 'model.safetensors'));
    expect(JSON.parse(saved.metadata.training!).step).toBe(stoppedAt);
    for (const t of Object.values(saved.tensors)) t.dispose();
  });

  it('resumes with a different number of ranks: 1 -> 2 -> 1 ranks equal one uninterrupted run', async () => {
    const straight = single(config('straight', 9));
    expect(straight.status, straight.stderr).toBe(0);
    expect(single(config('chain', 3)).status).toBe(0);
    const two = mpirun(2, [cli, 'train', '--config', config('chain', 6, true), '--distributed', 'mpi'], dir);
    expect(two.status, two.out).toBe(0);
    expect(two.out).toContain('resumed from');
    const back = single(config('chain', 9, true));
    expect(back.status, back.stderr).toBe(0);
    expect(await maxDifference('straight/model.safetensors', 'chain/model.safetensors')).toBeLessThan(5e-6);
  });
});
