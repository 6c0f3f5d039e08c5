// The built-in task behind `toroid train --config <file>`: a Seq2SeqTransformer
// on line-aligned parallel text (plain or .gz), tokenized with the package's BPE
// (learnt from the training files: one shared vocabulary, or one per language),
// token-budget batches with length bucketing, AdamW with the paper's schedule,
// gradient clipping and label smoothing. Everything the Trainer checkpoints
// (model, optimizer, schedule, sampler position) resumes bit for bit, and the
// checkpoint also holds the model's config and the tokenizer(s) in its metadata, so
// `toroid translate --model <checkpoint>` and Seq2SeqTransformer.load need nothing else.
// Distributed (Trainer({ distributed })): every rank draws the same global batch
// and trains on its shard; the gradients are those of the global batch's mean
// loss, so a checkpoint resumes with any number of ranks.
import { noGrad } from '../../autograd/tape.js';
import { readLines, teacherForcingBatch, TokenBudgetSampler, type Seq2SeqBatch } from '../../data/index.js';
import * as F from '../../functional.js';
import * as nn from '../../nn/index.js';
import * as optim from '../../optim/index.js';
import { autocast } from '../../ops/autocast.js';
import { manualSeed } from '../../random/generator.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { checkBoolean, checkInteger, checkNonNegativeFinite, checkNonNegativeInt, checkNumber, checkObject, checkPath, checkPositiveFinite, checkPositiveInt } from '../../validate/checks.js';
import { BPETokenizer } from '../../tokenizer/bpe.js';
import { resolveConfig, type Schema } from '../../validate/schema.js';
import type { TaskContext, TrainTask } from '../task.js';

export interface TranslationTaskOptions {
  source: string;
  target: string;
  validSource?: string;
  validTarget?: string;
  /** BPE vocabulary size (PAD, BOS, EOS, UNK included), per language unless sharedVocab. Default 8000. */
  vocabSize?: number;
  /** One BPE vocabulary learnt from both languages (default true), or one per language. */
  sharedVocab?: boolean;
  /** Sentence pairs with a side longer than this many BPE tokens are skipped. Default 64. */
  maxLen?: number;
  /** Padded tokens per batch (source and target each). Default 2048. */
  batchTokens?: number;
  model?: Partial<nn.Seq2SeqConfig>;
  /** Peak-scaling factor of the paper's schedule (lr = factor * d^-0.5 * min(s^-0.5, s * warmup^-1.5)). Default 1. */
  lrFactor?: number;
  warmup?: number;
  clip?: number;
  labelSmoothing?: number;
  weightDecay?: number;
  seed?: number;
}

const PAD = 0, BOS = 1, EOS = 2;

/** TranslationTaskOptions with the defaults filled in. */
type ResolvedOptions = Required<Omit<TranslationTaskOptions, 'validSource' | 'validTarget'>> & Pick<TranslationTaskOptions, 'validSource' | 'validTarget'>;

// the `task` object of `toroid train`'s config (src/train/cli-config.ts); model is checked by Seq2SeqTransformer
const OPTIONS: Schema<ResolvedOptions> = {
  source: { check: checkPath },
  target: { check: checkPath },
  validSource: { check: checkPath, optional: true },
  validTarget: { check: checkPath, optional: true },
  vocabSize: { check: (fn, arg, v) => checkInteger(fn, arg, v, 8, 1 << 24), default: 8000 },
  sharedVocab: { check: checkBoolean, default: true },
  maxLen: { check: checkPositiveInt, default: 64 },
  batchTokens: { check: checkPositiveInt, default: 2048 },
  model: { check: checkObject, default: () => ({}) },
  lrFactor: { check: checkPositiveFinite, default: 1 },
  warmup: { check: checkPositiveInt, default: 4000 },
  clip: { check: checkNonNegativeFinite, default: 1 },
  labelSmoothing: { check: (fn, arg, value) => checkNumber(fn, arg, value, 0, 1), default: 0.1 },
  weightDecay: { check: checkNonNegativeFinite, default: 0.01 },
  seed: { check: checkNonNegativeInt, default: 0 },
};

function modelConfig(o: ResolvedOptions, srcVocab: number, tgtVocab: number): nn.Seq2SeqConfig {
  return {
    dModel: 256, nhead: 4, numEncoderLayers: 3, numDecoderLayers: 3, dimFeedforward: 1024, dropout: 0.1, maxLen: o.maxLen + 2,
    ...o.model, srcVocab, tgtVocab, pad: PAD,
  };
}

/**
 * Check a `task` object of `toroid train`'s config before anything runs (the CLI fills in
 * source and target): every option, and the model config at the largest vocabularies
 * vocabSize allows. Errors: `toroid.train: task.<key> must be ..., got ...`.
 */
export function checkTranslationTaskOptions(fn: string, arg: string, value: unknown): Record<string, unknown> {
  const task = checkObject(fn, arg, value);
  const o = resolveConfig(fn, arg, { ...task, source: 'source', target: 'target' }, OPTIONS);
  nn.resolveSeq2SeqConfig(modelConfig(o, o.vocabSize, o.vocabSize), fn, `${arg}.model`);
  return task;
}

async function readAll(path: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of readLines(path)) lines.push(line);
  return lines;
}

export async function createTask(options: TranslationTaskOptions, context?: TaskContext): Promise<TrainTask> {
  const o = resolveConfig('train', 'task', options, OPTIONS);
  const dist = context?.distributed ?? null;
  const bf16 = context?.precision === 'bf16';
  const { vocabSize, maxLen } = o;
  manualSeed(o.seed);
  const [srcLines, tgtLines] = await Promise.all([readAll(o.source), readAll(o.target)]);
  if (srcLines.length !== tgtLines.length) throw new RangeError(`toroid train: source and target must have the same number of lines, got ${srcLines.length} and ${tgtLines.length}`);
  // BPE learnt from the training text (deterministic: a resumed run learns the same merges)
  const bpe = { vocabSize };
  const srcTok = o.sharedVocab ? await BPETokenizer.trainShared([srcLines, tgtLines], bpe) : await BPETokenizer.train(srcLines, bpe);
  const tgtTok = o.sharedVocab ? srcTok : await BPETokenizer.train(tgtLines, bpe);
  const pairs = (src: string[], tgt: string[]): Array<{ src: Int32Array; tgt: Int32Array }> => {
    const out: Array<{ src: Int32Array; tgt: Int32Array }> = [];
    src.forEach((line, i) => {
      const s = srcTok.encode(line), t = tgtTok.encode(tgt[i] ?? '');
      if (s.length > 0 && t.length > 0 && s.length <= maxLen && t.length <= maxLen) out.push({ src: s, tgt: t });
    });
    return out;
  };
  const examples = pairs(srcLines, tgtLines);
  const valid = o.validSource && o.validTarget ? pairs(...(await Promise.all([readAll(o.validSource), readAll(o.validTarget)]))) : [];
  const config = modelConfig(o, srcTok.vocabSize, tgtTok.vocabSize);
  const model = new nn.Seq2SeqTransformer(config);
  const dModel = model.config.dModel;
  const optimizer = new optim.AdamW(optim.decayGroups(model, { weightDecay: o.weightDecay }), { lr: 1, betas: [0.9, 0.98], eps: 1e-9 });
  const scheduler = new optim.LRScheduler(optimizer, optim.noam(dModel, o.warmup, o.lrFactor));
  const sampler = new TokenBudgetSampler(examples.map((e) => ({ src: e.src.length, tgt: e.tgt.length + 1 })), { maxTokens: o.batchTokens, seed: o.seed });
  const data = { stateDict: () => sampler.state(), loadStateDict: (s: unknown) => sampler.restore(s as ReturnType<typeof sampler.state>) };
  const loss32 = (batch: Seq2SeqBatch): Tensor =>
    F.crossEntropy(model.forward(batch.src, batch.tgtIn), batch.tgtOut, { ignoreIndex: PAD, labelSmoothing: o.labelSmoothing });
  // bf16: the forward and the loss under autocast (the backward, clipping and the optimizer outside, in float32)
  const lossOf = (batch: Seq2SeqBatch): Tensor => (bf16 ? autocast({ dtype: 'bfloat16' }, () => loss32(batch)) : loss32(batch));
  const clip = o.clip;
  // the checkpoint is a servable model too: Seq2SeqTransformer.load and `toroid translate` read these
  const metadata: Record<string, string> = {
    model: 'Seq2SeqTransformer', config: JSON.stringify(model.config), tokenizer: JSON.stringify(tgtTok.toJSON()),
    ...(o.sharedVocab ? {} : { sourceTokenizer: JSON.stringify(srcTok.toJSON()) }),
  };
  return {
    parts: { model, optimizer, scheduler, data, metadata },
    trainStep() {
      model.train();
      const indices = sampler.next() ?? sampler.next();  // null ends an epoch; the next call starts the next one
      if (indices === null) return null;
      const lr = optimizer.paramGroups[0]!.lr;
      const mine = dist === null ? indices : dist.shard(indices);
      // the global batch's target tokens (each sentence + EOS): this rank's loss weighs tokens / globalTokens
      const globalTokens = indices.reduce((n, i) => n + examples[i]!.tgt.length + 1, 0);
      return tidy(() => {
        optimizer.zeroGrad();
        let value = 0, tokens = 0;
        if (mine.length > 0) {
          const batch = teacherForcingBatch(mine.map((i) => examples[i]!.src), mine.map((i) => examples[i]!.tgt), { pad: PAD, bos: BOS, eos: EOS });
          const loss = lossOf(batch);
          if (dist === null) loss.backward();
          else dist.backward(loss, { weight: batch.tgtTokens / globalTokens });
          value = loss.item();
          tokens = batch.tgtTokens;
        } else {
          dist!.backward(null);  // more ranks than sentences: this one still takes part in the all-reduce
        }
        const gradNorm = clip > 0 ? optim.clipGradNorm(model.parameters(), clip) : undefined;
        optimizer.step();
        scheduler.step();
        return { loss: value, tokens, lr, gradNorm };
      });
    },
    validate() {
      if (valid.length === 0) return NaN;
      model.eval();
      let total = 0, tokens = 0;
      for (let at = 0; at < valid.length; at += 64) {
        const part = valid.slice(at, at + 64);
        tidy(() => noGrad(() => {
          const batch = teacherForcingBatch(part.map((e) => e.src), part.map((e) => e.tgt), { pad: PAD, bos: BOS, eos: EOS });
          total += lossOf(batch).item() * batch.tgtTokens;
          tokens += batch.tgtTokens;
        }));
      }
      model.train();
      return total / tokens;
    },
    dispose() {
      optimizer.dispose();
      model.dispose();
    },
  };
}
