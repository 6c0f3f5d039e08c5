// The built-in language-modelling task (`toroid train` with "task": "lm"): a GPT on plain
// text (plain or .gz), tokenized with the package's BPE learnt from the training file. The
// lines run on as one stream of ids (each followed by EOS), cut into blocks of
// blockSize + 1 ids; each step trains on `batchSize` blocks drawn without replacement in a
// seeded order per epoch (input block[:-1], target block[1:]). AdamW with linear warmup and
// a cosine decay, gradient clipping. Resumes bit for bit (the sampler's position is in the
// checkpoint), and the checkpoint holds the GPT's config and the tokenizer in its metadata,
// so GPT.load, `toroid generate` and `toroid serve` take it as it is.
import { noGrad } from '../../autograd/tape.js';
// the ops behind Tensor's methods (the worker imports this task before anything else)
import '../../ops/tensor-methods.js';
import { readLines } from '../../data/index.js';
import { DataRng, PURPOSE_EXAMPLES } from '../../data/rng.js';
import * as nn from '../../nn/index.js';
import * as optim from '../../optim/index.js';
import { autocast } from '../../ops/autocast.js';
import { manualSeed } from '../../random/generator.js';
import { tensor } from '../../tensor/create.js';
import { tidy } from '../../tensor/scope.js';
import type { Tensor } from '../../tensor/tensor.js';
import { BPETokenizer } from '../../tokenizer/bpe.js';
import { checkInteger, checkNonNegativeFinite, checkNonNegativeInt, checkObject, checkPath, checkPositiveFinite, checkPositiveInt } from '../../validate/checks.js';
import { resolveConfig, type Schema } from '../../validate/schema.js';
import type { TaskContext, TrainTask } from '../task.js';

export interface LMTaskOptions {
  /** The training text, one document or paragraph per line. */
  source: string;
  validSource?: string;
  /** BPE vocabulary size (PAD, BOS, EOS, UNK included). Default 8000. */
  vocabSize?: number;
  /** Context length of the model and of every training block. Default 128. */
  blockSize?: number;
  /** Blocks per step. Default 16. */
  batchSize?: number;
  model?: Partial<nn.GPTConfig>;
  /** Peak learning rate. Default 3e-4. */
  lr?: number;
  warmup?: number;
  /** Steps over which the learning rate decays (cosine) to lr / 10. Default 10000. */
  decaySteps?: number;
  clip?: number;
  weightDecay?: number;
  seed?: number;
}

type ResolvedOptions = Required<Omit<LMTaskOptions, 'validSource'>> & Pick<LMTaskOptions, 'validSource'>;

const OPTIONS: Schema<ResolvedOptions> = {
  source: { check: checkPath },
  validSource: { check: checkPath, optional: true },
  vocabSize: { check: (fn, arg, v) => checkInteger(fn, arg, v, 8, 1 << 24), default: 8000 },
  blockSize: { check: checkPositiveInt, default: 128 },
  batchSize: { check: checkPositiveInt, default: 16 },
  model: { check: checkObject, default: () => ({}) },
  lr: { check: checkPositiveFinite, default: 3e-4 },
  warmup: { check: checkNonNegativeInt, default: 100 },
  decaySteps: { check: checkPositiveInt, default: 10000 },
  clip: { check: checkNonNegativeFinite, default: 1 },
  weightDecay: { check: checkNonNegativeFinite, default: 0.1 },
  seed: { check: checkNonNegativeInt, default: 0 },
};

const EOS = 2;

function modelConfig(o: ResolvedOptions, vocabSize: number): nn.GPTConfig {
  return { nLayer: 4, nHead: 4, nEmbd: 256, dropout: 0.1, ...o.model, vocabSize, blockSize: o.blockSize };
}

/** Check an "lm" task object of `toroid train`'s config before anything runs (the CLI fills in source). */
export function checkLMTaskOptions(fn: string, arg: string, value: unknown): Record<string, unknown> {
  const task = checkObject(fn, arg, value);
  const o = resolveConfig(fn, arg, { ...task, source: 'source' }, OPTIONS);
  nn.resolveGPTConfig(modelConfig(o, o.vocabSize));  // errors name the GPT config field
  return task;
}

async function readAll(path: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of readLines(path)) lines.push(line);
  return lines;
}

/** The text as blocks of blockSize + 1 ids (the lines run on, each followed by EOS; the last partial block is dropped). */
function blocksOf(lines: readonly string[], tok: BPETokenizer, blockSize: number): Int32Array[] {
  const ids: number[] = [];
  for (const line of lines) {
    if (line.trim().length === 0) continue;
    for (const id of tok.encode(line)) ids.push(id);
    ids.push(EOS);
  }
  const out: Int32Array[] = [];
  for (let at = 0; at + blockSize + 1 <= ids.length; at += blockSize) out.push(Int32Array.from(ids.slice(at, at + blockSize + 1)));
  return out;
}

/** Blocks in a seeded order per epoch, batchSize at a time; its state is (epoch, next). */
class BlockSampler {
  private epoch = 0;
  private next = 0;
  private order: Int32Array;

  constructor(private readonly count: number, private readonly batchSize: number, private readonly seed: number) {
    this.order = this.shuffle(0);
  }

  private shuffle(epoch: number): Int32Array {
    const rng = new DataRng(this.seed, epoch, 0, PURPOSE_EXAMPLES);
    const order = Int32Array.from({ length: this.count }, (_, i) => i);
    for (let i = this.count - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    return order;
  }

  take(): number[] {
    if (this.next + this.batchSize > this.count) {
      this.epoch++;
      this.next = 0;
      this.order = this.shuffle(this.epoch);
    }
    const out = Array.from(this.order.subarray(this.next, this.next + this.batchSize));
    this.next += this.batchSize;
    return out;
  }

  state(): { epoch: number; next: number } {
    return { epoch: this.epoch, next: this.next };
  }

  restore(s: unknown): void {
    const st = s as { epoch?: unknown; next?: unknown } | null;
    if (st === null || typeof st !== 'object' || !Number.isSafeInteger(st.epoch) || !Number.isSafeInteger(st.next) || (st.epoch as number) < 0 || (st.next as number) < 0 || (st.next as number) > this.count) {
      throw new RangeError(`toroid.train: the lm task's data state must be { epoch, next } with next in [0, ${this.count}], got ${JSON.stringify(s)}`);
    }
    this.epoch = st.epoch as number;
    this.next = st.next as number;
    this.order = this.shuffle(this.epoch);
  }
}

export async function createTask(options: LMTaskOptions, context?: TaskContext): Promise<TrainTask> {
  const o = resolveConfig('train', 'task', options, OPTIONS);
  if (context?.distributed) throw new RangeError('toroid train: the lm task trains on one process (distributed is for the translation task for now)');
  const bf16 = context?.precision === 'bf16';
  manualSeed(o.seed);
  const lines = await readAll(o.source);
  const tok = await BPETokenizer.train(lines, { vocabSize: o.vocabSize });
  const blocks = blocksOf(lines, tok, o.blockSize);
  if (blocks.length < o.batchSize) {
    throw new RangeError(`toroid train: task.batchSize must be at most the ${blocks.length} blocks of ${o.blockSize + 1} tokens the training text makes, got ${o.batchSize}`);
  }
  const valid = o.validSource === undefined ? [] : blocksOf(await readAll(o.validSource), tok, o.blockSize);
  const model = new nn.GPT(modelConfig(o, tok.vocabSize));
  const optimizer = new optim.AdamW(optim.decayGroups(model, { weightDecay: o.weightDecay }), { lr: o.lr, betas: [0.9, 0.95] });
  const total = Math.max(o.decaySteps, o.warmup);
  const scheduler = new optim.LRScheduler(optimizer, optim.warmupCosine({ warmup: o.warmup, total, maxLr: o.lr, minLr: o.lr / 10 }));
  const sampler = new BlockSampler(blocks.length, o.batchSize, o.seed);
  const data = { stateDict: () => sampler.state(), loadStateDict: (s: unknown) => sampler.restore(s) };
  const T = o.blockSize;
  const batchOf = (picked: readonly Int32Array[]): { idx: Tensor; targets: Tensor } => {
    const idx = new Int32Array(picked.length * T), targets = new Int32Array(picked.length * T);
    picked.forEach((b, i) => { idx.set(b.subarray(0, T), i * T); targets.set(b.subarray(1), i * T); });
    return { idx: tensor(idx, { shape: [picked.length, T], dtype: 'int32' }), targets: tensor(targets, { shape: [picked.length, T], dtype: 'int32' }) };
  };
  const lossOf = (picked: readonly Int32Array[]): Tensor => {
    const { idx, targets } = batchOf(picked);
    const run = (): Tensor => model.forward(idx, targets).loss!;
    return bf16 ? autocast({ dtype: 'bfloat16' }, run) : run();
  };
  const metadata = { model: 'GPT', config: JSON.stringify(model.config), tokenizer: JSON.stringify(tok.toJSON()) };
  return {
    parts: { model, optimizer, scheduler, data, metadata },
    trainStep() {
      model.train();
      const lr = optimizer.paramGroups[0]!.lr;
      const picked = sampler.take().map((i) => blocks[i]!);
      return tidy(() => {
        optimizer.zeroGrad();
        const loss = lossOf(picked);
        loss.backward();
        const value = loss.item();
        const gradNorm = o.clip > 0 ? optim.clipGradNorm(model.parameters(), o.clip) : undefined;
        optimizer.step();
        scheduler.step();
        return { loss: value, tokens: picked.length * T, lr, gradNorm };
      });
    },
    validate() {
      if (valid.length === 0) return NaN;
      model.eval();
      let total = 0;
      for (let at = 0; at < valid.length; at += o.batchSize) {
        const part = valid.slice(at, at + o.batchSize);
        tidy(() => noGrad(() => { total += lossOf(part).item() * part.length; }));
      }
      model.train();
      return total / valid.length;
    },
    dispose() {
      optimizer.dispose();
      model.dispose();
    },
  };
}
