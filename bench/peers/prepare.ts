// The shared starting point of `npm run bench` (bench/peers/PROTOCOL.md): initial
// weights, batches and configs for the Seq2Seq and GPT workloads, written once as
// safetensors so that every implementation (toroid, tfjs, PyTorch) loads the same
// numbers and must reach the same first-batch loss before it is timed.
//   node_modules/.bin/tsx bench/peers/prepare.ts --dir <folder>
import { seq2seqBatch as raggedBatch } from '../seq2seq-batch.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as toroid from '../../src/index.js';

export const SEQ2SEQ = {
  model: 'seq2seq', srcVocab: 8000, tgtVocab: 8000, dModel: 256, nhead: 4, numEncoderLayers: 3, numDecoderLayers: 3,
  dimFeedforward: 1024, dropout: 0, maxLen: 64, pad: 0, bos: 1, eos: 2, normFirst: false, labelSmoothing: 0.1,
  lr: 1e-4, betas: [0.9, 0.98], eps: 1e-9, weightDecay: 0, decodeSteps: 24, batch: 64, srcLen: 24, tgtLen: 24,
  beamSize: 4, lengthPenalty: 0.6,
} as const;

export const GPT = {
  model: 'gpt', vocabSize: 65, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0, bias: true,
  lr: 1e-4, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0, decodeSteps: 128, batch: 16, promptBatch: 8, promptLen: 32,
} as const;

/** A small LCG: the batches are the same on every run and machine. */
function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

/** Random sentences with ragged lengths (PAD at the end), teacher-forced: BOS + words in, words + EOS out (bench/seq2seq-batch.ts, from this file's LCG). */
export function seq2seqBatch(): { src: Int32Array; tgtIn: Int32Array; tgtOut: Int32Array } {
  const { batch: B, srcLen: S, tgtLen: T, srcVocab, tgtVocab } = SEQ2SEQ;
  return raggedBatch(B, S, T, srcVocab, tgtVocab, lcg(12345));
}

/** Character-level text stand-in: ids in [0, V), targets = inputs shifted by one. */
function gptBatch(): { idx: Int32Array; targets: Int32Array; prompt: Int32Array } {
  const { batch: B, blockSize: T, vocabSize: V, promptBatch: PB, promptLen: PL } = GPT;
  const rand = lcg(777);
  const stream = Int32Array.from({ length: B * T + 1 }, () => rand(V));
  const idx = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    idx[i] = stream[i]!;
    targets[i] = stream[i + 1]!;
  }
  const prompt = Int32Array.from({ length: PB * PL }, () => rand(V));
  return { idx, targets, prompt };
}

export async function prepare(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const previous = toroid.getBackend().name;
  toroid.setBackend(toroid.listBackends().includes('cpu') ? 'cpu' : 'ts');
  try {
    toroid.manualSeed(0);
    const { srcVocab, tgtVocab, dModel, nhead, numEncoderLayers, numDecoderLayers, dimFeedforward, maxLen, pad, normFirst } = SEQ2SEQ;
    const s2s = new toroid.nn.Seq2SeqTransformer({ srcVocab, tgtVocab, dModel, nhead, numEncoderLayers, numDecoderLayers, dimFeedforward, dropout: 0, maxLen, pad, normFirst });
    const sb = seq2seqBatch();
    const { batch: B, srcLen: S, tgtLen: T } = SEQ2SEQ;
    const s2sBatch = {
      'batch/src': toroid.tensor(sb.src, { shape: [B, S] }),
      'batch/tgt_in': toroid.tensor(sb.tgtIn, { shape: [B, T] }),
      'batch/tgt_out': toroid.tensor(sb.tgtOut, { shape: [B, T] }),
    };
    await toroid.save(path.join(dir, 'seq2seq.safetensors'), { ...s2s.stateDict(), ...s2sBatch }, { config: JSON.stringify(SEQ2SEQ) });
    s2s.dispose();
    for (const t of Object.values(s2sBatch)) t.dispose();

    toroid.manualSeed(1);
    const gpt = new toroid.nn.GPT({ vocabSize: GPT.vocabSize, blockSize: GPT.blockSize, nLayer: GPT.nLayer, nHead: GPT.nHead, nEmbd: GPT.nEmbd, dropout: 0, bias: true });
    const gb = gptBatch();
    const gptBatchTensors = {
      'batch/idx': toroid.tensor(gb.idx, { shape: [GPT.batch, GPT.blockSize] }),
      'batch/targets': toroid.tensor(gb.targets, { shape: [GPT.batch, GPT.blockSize] }),
      'batch/prompt': toroid.tensor(gb.prompt, { shape: [GPT.promptBatch, GPT.promptLen] }),
    };
    await toroid.save(path.join(dir, 'gpt.safetensors'), { ...gpt.stateDict(), ...gptBatchTensors }, { config: JSON.stringify(GPT) });
    gpt.dispose();
    for (const t of Object.values(gptBatchTensors)) t.dispose();
  } finally {
    toroid.setBackend(previous);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--dir');
  if (i < 0 || process.argv[i + 1] === undefined) {
    console.error('usage: tsx bench/peers/prepare.ts --dir <folder>');
    process.exit(2);
  }
  await prepare(process.argv[i + 1]!);
  console.error(`wrote seq2seq.safetensors and gpt.safetensors to ${process.argv[i + 1]}`);
}
