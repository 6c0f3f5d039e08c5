// `toroid train --config <file>`: a Seq2SeqTransformer on parallel text (or a GPT on plain
// text with "task": "lm"), trained
// by the Trainer on a worker thread with a live progress line, validation,
// checkpoints (resumable: run the same command again with "resume": true), Ctrl-C
// to stop after the current step with a checkpoint, and the loss curve as an SVG
// next to the checkpoint. `--distributed mpi` (or "distributed" in the config)
// trains data-parallel with the other ranks that mpirun started (README: "Training
// on several machines"); only rank 0 prints and writes. The config (JSON) and its
// checks: src/train/cli-config.ts.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

function lossSvg(points) {
  const W = 640, H = 360, L = 60, R = 20, T = 20, B = 40;
  if (points.length < 2) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"/>`;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (x) => L + ((x - x0) / Math.max(x1 - x0, 1)) * (W - L - R);
  const sy = (y) => T + (1 - (y - y0) / Math.max(y1 - y0, 1e-9)) * (H - T - B);
  const line = points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>
<text x="${L}" y="${H - 10}">step ${x0}</text><text x="${W - R}" y="${H - 10}" text-anchor="end">${x1}</text>
<text x="${L - 5}" y="${T + 10}" text-anchor="end">${y1.toFixed(2)}</text><text x="${L - 5}" y="${H - B}" text-anchor="end">${y0.toFixed(2)}</text>
<text x="${(L + W - R) / 2}" y="${T}" text-anchor="middle">training loss</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${line}"/>
</svg>
`;
}

export async function runTrain(argv) {
  const i = argv.indexOf('--config');
  if (i < 0 || argv[i + 1] === undefined) throw new Error('toroid train: --config <file> is required');
  const configPath = path.resolve(argv[i + 1]);
  const { parseTrainCliConfig, resolveTrainCliConfig } = await import('../dist/train/cli-config.js');
  const parsed = parseTrainCliConfig(readFileSync(configPath, 'utf8'), configPath);
  const d = argv.indexOf('--distributed');
  if (d >= 0) {
    if (argv[d + 1] !== 'mpi' && argv[d + 1] !== 'nccl') throw new Error(`toroid train: --distributed must be followed by mpi or nccl, got ${JSON.stringify(argv[d + 1] ?? null)}`);
    parsed.distributed = argv[d + 1];
  }
  const pr = argv.indexOf('--precision');
  if (pr >= 0) {
    if (argv[pr + 1] !== 'fp32' && argv[pr + 1] !== 'bf16') throw new Error(`toroid train: --precision must be followed by fp32 or bf16, got ${JSON.stringify(argv[pr + 1] ?? null)}`);
    parsed.precision = argv[pr + 1];
  }
  const config = resolveTrainCliConfig(parsed);
  const base = path.dirname(configPath);
  const abs = (p) => (p === undefined ? undefined : path.resolve(base, p));
  const checkpoint = abs(config.checkpoint);
  mkdirSync(path.dirname(checkpoint), { recursive: true });
  const { Trainer } = await import('../dist/index.js');
  const controller = new AbortController();
  const stop = () => { process.stderr.write('\nstopping after this step (checkpoint follows)...\n'); controller.abort(); };
  process.once('SIGINT', stop);
  // Distributed: every rank stops after the same step and rank 0 writes the checkpoint.
  // SIGUSR2 is what mpirun forwards to the ranks and leaves them running (its Ctrl-C
  // kills them within a second); SIGTERM is how torchrun asks its workers to stop.
  if (config.distributed !== undefined) {
    process.once('SIGUSR2', stop);
    process.once('SIGTERM', stop);
  }
  const resumeFrom = config.resume && existsSync(checkpoint) ? checkpoint : undefined;
  const trainer = new Trainer({
    task: new URL(`../dist/train/tasks/${config.taskType === 'lm' ? 'lm' : 'translation'}.js`, import.meta.url),
    taskOptions: config.taskType === 'lm'
      ? { ...config.task, source: abs(config.source), ...(config.validSource === undefined ? {} : { validSource: abs(config.validSource) }) }
      : { ...config.task, source: abs(config.source), target: abs(config.target), validSource: abs(config.validSource), validTarget: abs(config.validTarget) },
    maxSteps: config.maxSteps, validateEvery: config.validateEvery, checkpointEvery: config.checkpointEvery,
    checkpointPath: checkpoint, resumeFrom, threads: config.threads, precision: config.precision, signal: controller.signal, distributed: config.distributed,
  });
  const losses = [];
  const tty = process.stdout.isTTY;
  let lastPrint = 0;
  trainer.on('resumed', (m) => console.log(`resumed from ${m.path} at step ${m.step}`));
  trainer.on('joined', (m) => {
    if (m.rank === 0) console.log(`${m.engine} (${m.version}): ${m.worldSize} ranks, ${m.threads} kernel thread(s) each`);
  });
  trainer.on('validation', (v) => console.log(`${tty ? '\n' : ''}step ${v.step}: validation loss ${v.loss.toFixed(4)}`));
  for await (const p of trainer) {
    losses.push([p.step, p.loss]);
    const line = `step ${p.step}/${p.maxSteps}  loss ${p.loss.toFixed(4)}  ${Math.round(p.tokensPerSecond)} tok/s  lr ${p.lr?.toExponential(2) ?? '-'}  ` +
      (p.allReduceWaitMs === null ? '' : `all-reduce wait ${p.allReduceWaitMs.toFixed(1)} ms  `) +
      `grad ${p.gradNorm?.toFixed(2) ?? '-'}  ETA ${p.etaSeconds === null ? '-' : Math.round(p.etaSeconds) + 's'}`;
    if (tty) process.stdout.write(`\r${line}\x1b[K`);
    else if (p.step === p.maxSteps || performance.now() - lastPrint > 10_000) { console.log(line); lastPrint = performance.now(); }
  }
  const result = await trainer.result;
  if ((result.distributed?.rank ?? 0) !== 0) return 0;  // rank 0 prints and writes
  if (tty) process.stdout.write('\n');
  const svg = checkpoint.replace(/\.safetensors$/, '') + '.loss.svg';
  writeFileSync(`${svg}.tmp`, lossSvg(losses));
  renameSync(`${svg}.tmp`, svg);
  console.log(`${result.reason} at step ${result.step}; checkpoint ${checkpoint}; loss curve ${svg}`);
  const use = config.taskType === 'lm' ? `toroid generate --model ${checkpoint} --prompt "..."  or  toroid serve --model ${checkpoint}` : `toroid translate --model ${checkpoint} < input.txt  or  toroid serve --model ${checkpoint}`;
  console.log(`use it: ${use}`);
  return 0;
}
