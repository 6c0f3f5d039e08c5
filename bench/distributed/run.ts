// `npm run bench:distributed`: data-parallel scaling on this machine with Open MPI.
// The Seq2Seq workload of `npm run bench` (bench/distributed/rank.ts), 1 rank x 1
// core against 2 ranks x 1 core (mpirun --bind-to core, one kernel thread per
// rank), in alternating runs so that both see the same machine; medians over runs.
//   npm run bench:distributed [-- --runs 5 --steps 8 --record]
// Strong scaling: one global batch of 64 sentences, split over the ranks. Weak
// scaling (--weak too): 64 sentences per rank. Needs mpirun (openmpi-bin).
// The ceiling: two independent 1-rank runs at once, one per core (no all-reduce):
// what the two cores deliver together when both are busy (shared cache and
// memory bandwidth, no turbo headroom), so that 2 ranks can be judged against it.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineLine, today } from '../machine.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const runs = arg('--runs', 5), steps = arg('--steps', 8);
const record = process.argv.includes('--record');
const modes: Array<'strong' | 'weak'> = process.argv.includes('--weak') ? ['strong', 'weak'] : ['strong'];

interface RankReport {
  ranks: number; rowsPerRank: number; globalTokens: number; stepMs: number; tokensPerSecond: number;
  allReduceWaitMs: number; fullAllReduceMs: number; gradientBytes: number; buckets: number; mpi: string;
}

// mpirun refuses to run as root without these
const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };

function once(ranks: number, weak: boolean): RankReport {
  const args = ['-np', String(ranks), '--bind-to', 'core', process.execPath, '--import', 'tsx', path.join(here, 'rank.ts'), '--steps', String(steps), ...(weak ? ['--weak'] : [])];
  const r = spawnSync('mpirun', args, { encoding: 'utf8', cwd: root, env, timeout: 600_000 });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || line === undefined) throw new Error(`mpirun -np ${ranks} failed (${r.error?.message ?? `status ${r.status}`}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(line) as RankReport;
}

// Two 1-rank jobs at once, pinned to cores 0 and 1; their tokens/s summed.
async function pair(weak: boolean): Promise<number> {
  const job = (core: number) => new Promise<RankReport>((resolve, reject) => {
    const args = ['-c', String(core), 'mpirun', '-np', '1', '--bind-to', 'none', process.execPath, '--import', 'tsx', path.join(here, 'rank.ts'), '--steps', String(steps), ...(weak ? ['--weak'] : [])];
    const child = spawn('taskset', args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || line === undefined) reject(new Error(`taskset -c ${core} mpirun -np 1 failed:\n${out}`));
      else resolve(JSON.parse(line) as RankReport);
    });
  });
  const [a, b] = await Promise.all([job(0), job(1)]);
  return a.tokensPerSecond + b.tokensPerSecond;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: string[] = [];
for (const mode of modes) {
  const one: RankReport[] = [], two: RankReport[] = [], ceiling: number[] = [];
  for (let r = 0; r < runs; r++) {
    one.push(once(1, mode === 'weak'));
    two.push(once(2, mode === 'weak'));
    ceiling.push(await pair(mode === 'weak'));
    process.stderr.write(`${mode} run ${r + 1}/${runs}: 1 rank ${one[r]!.stepMs.toFixed(0)} ms, 2 ranks ${two[r]!.stepMs.toFixed(0)} ms per step, ` +
      `two separate 1-rank jobs ${ceiling[r]!.toFixed(0)} tokens/s together\n`);
  }
  const t1 = median(one.map((x) => x.tokensPerSecond)), t2 = median(two.map((x) => x.tokensPerSecond)), tc = median(ceiling);
  const s2 = two.map((x) => x.stepMs), s1 = one.map((x) => x.stepMs);
  const w = two[0]!;
  rows.push(
    `| ${mode} (${one[0]!.rowsPerRank} / ${w.rowsPerRank} sentences per rank) | ${median(s1).toFixed(0)} (${Math.min(...s1).toFixed(0)}-${Math.max(...s1).toFixed(0)}) | ` +
    `${t1.toFixed(0)} | ${median(s2).toFixed(0)} (${Math.min(...s2).toFixed(0)}-${Math.max(...s2).toFixed(0)}) | ${t2.toFixed(0)} | **${(t2 / t1).toFixed(2)}x** | ` +
    `${(tc / t1).toFixed(2)}x | ${median(two.map((x) => x.allReduceWaitMs)).toFixed(1)} | ${median(two.map((x) => x.fullAllReduceMs)).toFixed(1)} |`,
  );
}
const sample = once(2, false);
const table = [
  `Data-parallel scaling, Seq2Seq d 256 (3+3 layers, vocab 8000, AdamW), ${(sample.gradientBytes / 1e6).toFixed(1)} MB of gradients in ${sample.buckets} buckets, ${sample.mpi}, mpirun --bind-to core, 1 kernel thread per rank; medians of ${runs} alternating runs of ${steps} steps:`,
  '',
  '| batch | 1 rank: ms/step | tokens/s | 2 ranks: ms/step | tokens/s | scaling | ceiling: two 1-rank jobs at once | all-reduce wait after backward, ms/step | whole-gradient all-reduce alone, ms |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows,
].join('\n');
console.log(table);
if (record) {
  appendFileSync(path.join(root, 'bench', 'RESULTS.md'), `\n## Distributed (npm run bench:distributed), ${today()}\n\n${machineLine()}\n\n${table}\n`);
  console.log('appended to bench/RESULTS.md');
}
