// toroid's worker for `npm run bench` (bench/peers/PROTOCOL.md): the Seq2Seq and
// GPT workloads on one backend (cpu, ts or cuda), driven by JSON lines.
//   node_modules/.bin/tsx bench/peers/toroid_worker.ts --workload gpt-train --dir <folder> [--backend cpu] [--threads 2] [--precision fp32|bf16]
// --precision bf16: training runs the forward pass and the loss under toroid.autocast({ dtype: 'bfloat16' })
// (the backward and the optimizer outside, float32 master weights; firstLoss from such a forward), and
// each rep's whole decode runs inside one autocast region (its parameter casts cached: once per rep).
import { createInterface } from 'node:readline';
import path from 'node:path';
import * as toroid from '../../src/index.js';
import { runTokenSearch, argmax, firstCandidate } from '../../src/decode/greedy.js';
import { gptStepper, seq2seqStepper } from '../../src/decode/step.js';
import type { Tensor } from '../../src/index.js';

const { F } = toroid;

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`toroid_worker: ${name} is required`);
  return v;
}

const say = (m: Record<string, unknown>): void => { process.stdout.write(`${JSON.stringify(m)}\n`); };

interface Workload {
  ready: Record<string, unknown>;
  rep(): void;
}

async function build(workload: string, dir: string, backend: string, bf16: boolean): Promise<Workload> {
  const amp = <T>(fn: () => T): T => (bf16 ? toroid.autocast({ dtype: 'bfloat16' }, fn) : fn());
  const sync = backend === 'cuda' ? () => toroid.cuda.synchronize() : () => {};
  const model = workload.startsWith('seq2seq') ? 'seq2seq' : 'gpt';
  const { tensors, metadata } = await toroid.load(path.join(dir, `${model}.safetensors`), { backend });
  const c = JSON.parse(metadata.config!) as Record<string, number & number[]>;
  const batch = (name: string): Tensor => tensors[`batch/${name}`]!;
  const weights = Object.fromEntries(Object.entries(tensors).filter(([k]) => !k.startsWith('batch/')));
  toroid.setBackend(backend);

  if (model === 'seq2seq') {
    const net = new toroid.nn.Seq2SeqTransformer({
      srcVocab: c.srcVocab, tgtVocab: c.tgtVocab, dModel: c.dModel, nhead: c.nhead, numEncoderLayers: c.numEncoderLayers,
      numDecoderLayers: c.numDecoderLayers, dimFeedforward: c.dimFeedforward, dropout: 0, maxLen: c.maxLen, pad: c.pad, normFirst: false,
    });
    net.loadStateDict(weights, { strict: true });
    const src = batch('src'), tgtIn = batch('tgt_in'), tgtOut = batch('tgt_out');
    if (workload === 'seq2seq-train') {
      const opt = new toroid.optim.AdamW(net.parameters(), { lr: c.lr, betas: c.betas as unknown as [number, number], eps: c.eps, weightDecay: 0 });
      const loss = (): Tensor => amp(() => F.crossEntropy(net.forward(src, tgtIn), tgtOut, { ignoreIndex: c.pad, labelSmoothing: c.labelSmoothing }));
      const firstLoss = toroid.noGrad(() => toroid.tidy(() => loss().item()));
      const tokens = (tgtOut.toArray() as number[][]).flat().filter((t) => t !== c.pad).length;
      return {
        ready: { firstLoss, tokens },
        rep: () => {
          toroid.tidy(() => {
            opt.zeroGrad();
            const l = loss();
            l.backward();
            opt.step();
          });
          sync();
        },
      };
    }
    if (workload === 'seq2seq-greedy') {
      net.eval();
      const B = src.shape[0]!;
      // one autocast region per decode (bf16): the encoder, the cross-attention keys/values and every
      // step share its parameter casts, so the weights are cast once per rep
      const decode = (): Int32Array[] => amp(() => {
        const stepper = seq2seqStepper(net, src, null);
        try {
          return runTokenSearch(stepper.step, {
            prefixes: Array.from({ length: B }, () => [c.bos]), vocabSize: c.tgtVocab, maxSteps: c.decodeSteps,
            eos: null, banned: [c.pad, c.bos], pick: (row) => argmax(row), top: { step: stepper.topStep, count: 1, pick: firstCandidate },
          });
        } finally {
          stepper.dispose();
        }
      });
      const first = decode();
      return { ready: { firstIds: Array.from(first[0]!.subarray(0, 8)), tokens: B * c.decodeSteps }, rep: () => { decode(); sync(); } };
    }
    if (workload === 'seq2seq-beam') {
      net.eval();
      const options = { beam: c.beamSize, maxLen: c.decodeSteps, lengthPenalty: c.lengthPenalty, nBest: 1, bos: c.bos, eos: c.eos, pad: c.pad };
      const decode = (): toroid.decode.BeamHypothesis[][] => amp(() => toroid.decode.beamSearch(net, src, options));
      const first = decode();
      // tokens: the best hypotheses' lengths (EOS not counted), the same count the PyTorch worker reports
      const tokens = first.reduce((n, hyps) => n + hyps[0]!.tokens.length, 0);
      return { ready: { firstIds: Array.from(first[0]![0]!.tokens.subarray(0, 8)), tokens }, rep: () => { decode(); sync(); } };
    }
  } else {
    const net = new toroid.nn.GPT({ vocabSize: c.vocabSize, blockSize: c.blockSize, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, dropout: 0, bias: true });
    net.loadStateDict(weights, { strict: true });
    if (workload === 'gpt-train') {
      const idx = batch('idx'), targets = batch('targets');
      const opt = new toroid.optim.AdamW(net.parameters(), { lr: c.lr, betas: c.betas as unknown as [number, number], eps: c.eps, weightDecay: 0 });
      const firstLoss = toroid.noGrad(() => toroid.tidy(() => amp(() => net.forward(idx, targets).loss!).item()));
      return {
        ready: { firstLoss, tokens: idx.size },
        rep: () => {
          toroid.tidy(() => {
            opt.zeroGrad();
            amp(() => net.forward(idx, targets).loss!).backward();
            opt.step();
          });
          sync();
        },
      };
    }
    if (workload === 'gpt-greedy') {
      net.eval();
      const prompt = batch('prompt');
      const rows = (prompt.toArray() as number[][]);
      const decode = (): Int32Array[] => amp(() => {
        const stepper = gptStepper(net);
        try {
          return runTokenSearch(stepper.step, { prefixes: rows, vocabSize: c.vocabSize, maxSteps: c.decodeSteps, eos: null, banned: [], pick: (row) => argmax(row), top: { step: stepper.topStep, count: 1, pick: firstCandidate } });
        } finally {
          stepper.dispose();
        }
      });
      const first = decode();
      return { ready: { firstIds: Array.from(first[0]!.subarray(0, 8)), tokens: rows.length * c.decodeSteps }, rep: () => { decode(); sync(); } };
    }
  }
  throw new Error(`toroid_worker: unknown workload ${workload}`);
}

async function main(): Promise<void> {
  const workload = arg('--workload'), dir = arg('--dir'), backend = arg('--backend', 'cpu');
  const threads = Number(arg('--threads', '2'));
  const precision = arg('--precision', 'fp32');
  if (precision !== 'fp32' && precision !== 'bf16') {
    say({ ready: false, error: `--precision ${precision}: expected fp32 or bf16` });
    return;
  }
  if (!toroid.listBackends().includes(backend)) {
    say({ ready: false, error: `backend '${backend}' is not available here` });
    return;
  }
  if (backend === 'cpu') toroid.setNumThreads(threads);
  let w: Workload;
  try {
    w = await build(workload, dir, backend, precision === 'bf16');
  } catch (err) {
    say({ ready: false, error: (err as Error).message });
    return;
  }
  say({ ready: true, ...w.ready });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const cmd = line.trim();
    if (cmd === 'quit') break;
    if (cmd !== 'rep') continue;
    const t0 = performance.now();
    w.rep();
    say({ ms: performance.now() - t0 });
  }
  lines.close();
}

await main();
