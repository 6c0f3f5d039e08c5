// Resuming training from a checkpoint over 2 GiB, bit for bit, in under 4 GiB of memory
// (TOROID_BIG_TESTS=1; ~2.3 GiB of disk in os.tmpdir()). The model is a fine-tune's shape:
// 2.27 GiB of frozen weights (five buffers) and a small trained head with AdamW. Before,
// loadTrainingState read every tensor of the file before copying any, so resuming took the
// model's size twice; now the model's tensors are read, copied and freed one at a time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { loadTrainingState, saveTrainingState } from '../../src/train/state.js';

const { F, nn, optim } = toroid;
const BIG = process.env.TOROID_BIG_TESTS === '1';
const FROZEN = 5;
const ELEMENTS = 116 * 1024 * 1024; // 464 MiB of float32 each, 2.27 GiB in all
const ROWS = ELEMENTS / 1024, CHECK_ROWS = 4096; // checked 16 MiB at a time
const VOCAB = 16, HIDDEN = 32, BATCH = 64;

/** Frozen buffer k's words: a bit pattern that differs per buffer and per position (finite floats). */
function word(i: number, k: number): number {
  return (Math.imul(i, 2654435761) ^ (k << 24)) & 0x3fffffff;
}

class FrozenBaseWithHead extends nn.Module {
  readonly emb: InstanceType<typeof nn.Embedding>;
  readonly head: InstanceType<typeof nn.Linear>;
  constructor(fill: 'pattern' | 'zeros') {
    super();
    this.emb = this.registerModule('emb', new nn.Embedding(VOCAB, HIDDEN));
    this.head = this.registerModule('head', new nn.Linear(HIDDEN, VOCAB));
    // one host array for every buffer (toroid.tensor copies it): the test's own garbage stays small
    const words = fill === 'pattern' ? new Uint32Array(ELEMENTS) : undefined;
    for (let k = 0; k < FROZEN; k++) {
      let t: toroid.Tensor;
      if (words === undefined) t = toroid.zeros([ROWS, 1024]);
      else {
        for (let i = 0; i < ELEMENTS; i++) words[i] = word(i, k);
        t = toroid.tensor(new Float32Array(words.buffer), { shape: [ROWS, 1024] });
      }
      this.registerBuffer(`frozen${k}`, toroid.keep(t));
    }
  }
  forward(ids: toroid.Tensor): toroid.Tensor {
    return this.head.forward(F.gelu(this.emb.forward(ids)));
  }
}

function step(model: FrozenBaseWithHead, optimizer: InstanceType<typeof optim.AdamW>, index: number): number {
  const x = new Int32Array(BATCH), y = new Int32Array(BATCH);
  for (let b = 0; b < BATCH; b++) { x[b] = (b * 7 + index * 13) % VOCAB; y[b] = (3 * x[b]! + 1) % VOCAB; }
  const loss = toroid.tidy(() => {
    const l = F.crossEntropy(model.forward(toroid.tensor(x, { shape: [BATCH] })), toroid.tensor(y, { shape: [BATCH] }));
    l.backward();
    return l.item();
  });
  optimizer.step();
  optimizer.zeroGrad();
  return loss;
}

const trained = (model: FrozenBaseWithHead): Float32Array[] => model.parameters().map((p) => p.toFloat32Array());

/** The process's peak resident memory (Linux VmHWM), bytes. */
function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

describe.skipIf(!BIG)('resuming from checkpoints over 2 GiB', () => {
  it('3 steps, a 2.27 GiB training checkpoint, 3 more in a fresh model equal 6 straight steps, bit for bit, memory below 4 GiB', { timeout: 600_000 }, async () => {
    const file = path.join(os.tmpdir(), `toroid-big-resume-${process.pid}.safetensors`);
    const started = performance.now();
    try {
      toroid.manualSeed(1);
      const a = new FrozenBaseWithHead('pattern');
      const optA = new optim.AdamW(a.parameters(), { lr: 1e-2 });
      for (let i = 0; i < 3; i++) step(a, optA, i);
      await saveTrainingState(file, { model: a, optimizer: optA }, { step: 3 });
      const size = fs.statSync(file).size;
      expect(size).toBeGreaterThan(2 ** 31);
      const saved = performance.now();
      const lossesA: number[] = [];
      for (let i = 3; i < 6; i++) lossesA.push(step(a, optA, i));
      const straight = trained(a);
      a.dispose();

      toroid.manualSeed(99); // other trained weights: the checkpoint must overwrite them
      const b = new FrozenBaseWithHead('zeros');
      const optB = new optim.AdamW(b.parameters(), { lr: 1e-2 });
      const loadStarted = performance.now();
      const state = await loadTrainingState(file, { model: b, optimizer: optB });
      const loaded = performance.now();
      expect(state.step).toBe(3);
      const buffers = b.stateDict();
      for (let k = 0; k < FROZEN; k++) {
        let mismatches = 0;
        for (let row = 0; row < ROWS; row += CHECK_ROWS) {
          const part = F.narrow(buffers[`frozen${k}`]!, 0, row, CHECK_ROWS);
          const got = new Uint32Array(part.toFloat32Array().buffer);
          part.dispose();
          for (let j = 0, i = row * 1024; j < got.length; j++, i++) if (got[j] !== word(i, k)) mismatches++;
        }
        expect(mismatches, `frozen${k}`).toBe(0);
      }
      const lossesB: number[] = [];
      for (let i = 3; i < 6; i++) lossesB.push(step(b, optB, i));
      expect(lossesB).toEqual(lossesA);
      const resumed = trained(b);
      resumed.forEach((w, i) => expect(Buffer.from(w.buffer).equals(Buffer.from(straight[i]!.buffer)), `parameter ${i}`).toBe(true));
      b.dispose();
      const peak = peakRss();
      console.log(`big resume: ${(size / 2 ** 30).toFixed(2)} GiB checkpoint, build+save ${((saved - started) / 1000).toFixed(1)} s, resume ${((loaded - loadStarted) / 1000).toFixed(1)} s, peak RSS ${(peak / 2 ** 30).toFixed(2)} GiB`);
      expect(peak).toBeLessThan(4 * 2 ** 30);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
