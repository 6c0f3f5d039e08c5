// Training-step throughput of the paper's model at 3+3 layers, d_model 256 (the
// Multi30K-sized Seq2Seq Transformer), batch 64 x 24 tokens: a training step
// (teacher forcing, label-smoothed cross-entropy, AdamW) on toroid's cpu backend next to
// PyTorch 1.13 CPU with 2 threads, in one run. Equal work is checked, not assumed:
// PyTorch loads toroid's initial weights and batch from one safetensors file and
// must reach the same first-batch loss before anything is timed.
// Run: npm run bench:seq2seq  (-- --record appends to bench/RESULTS.md)
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as toroid from '../src/index.js';
import { Seq2SeqTransformer, type Seq2SeqConfig } from '../src/nn/seq2seq.js';
import { machineLine, today } from './machine.js';
import { PAD, seq2seqBatch } from './seq2seq-batch.js';

const { F } = toroid;
const here = path.dirname(fileURLToPath(import.meta.url));
const record = process.argv.includes('--record');
const B = 64, S = 24, T = 24;
const config: Required<Pick<Seq2SeqConfig, 'srcVocab' | 'tgtVocab' | 'dModel' | 'nhead' | 'numEncoderLayers' | 'numDecoderLayers' | 'dimFeedforward' | 'dropout' | 'maxLen' | 'pad'>> = {
  srcVocab: 8000, tgtVocab: 8000, dModel: 256, nhead: 4, numEncoderLayers: 3, numDecoderLayers: 3, dimFeedforward: 1024, dropout: 0, maxLen: 64, pad: PAD,
};
const labelSmoothing = 0.1;
const OPENBLAS = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  toroid.manualSeed(0);
  const backend = toroid.listBackends().includes('cpu') ? 'cpu' : 'ts';
  toroid.setBackend(backend);
  const model = new Seq2SeqTransformer(config);
  const host = seq2seqBatch(B, S, T, config.srcVocab, config.tgtVocab);
  const src = toroid.tensor(host.src, { shape: [B, S] });
  const tgtIn = toroid.tensor(host.tgtIn, { shape: [B, T] });
  const tgtOut = toroid.tensor(host.tgtOut, { shape: [B, T] });
  const tokens = host.tgtOut.filter((t) => t !== PAD).length;

  // a full training step: forward, backward, AdamW (lr 1e-4: the equal-work check is the first loss)
  const optimizer = new toroid.optim.AdamW(model.parameters(), { lr: 1e-4, betas: [0.9, 0.98], eps: 1e-9, weightDecay: 0.01 });
  const step = (): number => toroid.tidy(() => {
    optimizer.zeroGrad();
    const logits = model.forward(src, tgtIn);
    const loss = F.crossEntropy(logits, tgtOut, { ignoreIndex: PAD, labelSmoothing });
    loss.backward();
    optimizer.step();
    return loss.item();
  });

  // the shared starting point: weights and batch in one file
  const dir = mkdtempSync(path.join(os.tmpdir(), 'toroid-seq2seq-'));
  const file = path.join(dir, 'model.safetensors');
  await toroid.save(file, { ...model.stateDict(), 'batch/src': src, 'batch/tgt_in': tgtIn, 'batch/tgt_out': tgtOut },
    { config: JSON.stringify({ ...config, labelSmoothing }) });

  // the first step's loss is computed before any update: the equal-work check
  const first = step();
  const times: number[] = [];
  const end = performance.now() + 8000;
  while (times.length < 5 || (performance.now() < end && times.length < 30)) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const ours = median(times);

  let torchLine = 'PyTorch: skipped (/usr/bin/python3 cannot import torch)';
  let torchMs: number | null = null;
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status === 0) {
    const env = { ...process.env, OMP_NUM_THREADS: '2', OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? 'SkylakeX', LD_LIBRARY_PATH: existsSync(OPENBLAS) ? OPENBLAS : (process.env.LD_LIBRARY_PATH ?? '') };
    const run = spawnSync('/usr/bin/python3', [path.join(here, 'torch_seq2seq.py')], { input: JSON.stringify({ file, threads: 2, seconds: 8 }), encoding: 'utf8', env, maxBuffer: 1 << 20 });
    if (run.status !== 0) throw new Error(`torch_seq2seq.py failed: ${run.stderr}`);
    const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as { loss: number; median_ms: number; runs: number; torch: string };
    const rel = Math.abs(r.loss - first) / Math.abs(r.loss);
    if (!(rel < 1e-4)) throw new Error(`equal-work check failed: first-batch loss toroid ${first} vs PyTorch ${r.loss}`);
    torchMs = r.median_ms;
    torchLine = `PyTorch ${r.torch}: ${r.median_ms.toFixed(1)} ms/step (${r.runs} runs), first-batch loss ${r.loss.toFixed(6)} (toroid ${first.toFixed(6)}, rel diff ${rel.toExponential(1)})`;
  }
  rmSync(dir, { recursive: true, force: true });

  const rows = [
    '| implementation | ms / step (median) | target tokens / s | vs PyTorch |',
    '| --- | --- | --- | --- |',
    `| toroid ${backend} | ${ours.toFixed(1)} | ${Math.round(tokens / (ours / 1000))} | ${torchMs === null ? '-' : (torchMs / ours).toFixed(2) + 'x'} |`,
    ...(torchMs === null ? [] : [`| PyTorch 1.13 CPU, 2 threads | ${torchMs.toFixed(1)} | ${Math.round(tokens / (torchMs / 1000))} | 1.00x |`]),
  ];
  const lines = [
    `Seq2Seq Transformer ${config.numEncoderLayers}+${config.numDecoderLayers} layers, d_model ${config.dModel}, ${config.nhead} heads, FFN ${config.dimFeedforward}, vocab ${config.srcVocab}/${config.tgtVocab}; batch ${B} x ${S}/${T} tokens (${tokens} target tokens); forward + backward with label smoothing ${labelSmoothing} + AdamW step.`,
    `toroid ${backend}: ${ours.toFixed(1)} ms/step over ${times.length} runs, first-batch loss ${first.toFixed(6)}`,
    torchLine,
    '',
    ...rows,
  ];
  console.log(lines.join('\n'));
  if (record) {
    appendFileSync(path.join(here, 'RESULTS.md'), `\n## Seq2Seq training step, ${today()}\n\nMachine: ${machineLine()}. Command: \`npm run bench:seq2seq -- --record\`.\n\n${lines.join('\n')}\n`);
  }
  optimizer.dispose();
  model.dispose();
  for (const t of [src, tgtIn, tgtOut]) t.dispose();
}

await main();
