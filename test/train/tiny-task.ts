// A small, deterministic training task for the Trainer tests: a 2-layer MLP
// language model over synthetic token pairs, AdamW through toroid.adamwStep,
// data position = batch index (so a checkpoint resumes the same batches).
import * as toroid from '../../src/index.js';
import type { TaskContext, TrainTask } from '../../src/train/index.js';

const { F, nn } = toroid;

export interface TinyOptions { vocab?: number; hidden?: number; batch?: number; seed?: number; stepDelayMs?: number }

class MLP extends nn.Module {
  readonly emb: InstanceType<typeof nn.Embedding>;
  readonly fc1: InstanceType<typeof nn.Linear>;
  readonly fc2: InstanceType<typeof nn.Linear>;
  constructor(vocab: number, hidden: number) {
    super();
    this.emb = this.registerModule('emb', new nn.Embedding(vocab, hidden));
    this.fc1 = this.registerModule('fc1', new nn.Linear(hidden, hidden));
    this.fc2 = this.registerModule('fc2', new nn.Linear(hidden, vocab));
  }
  forward(ids: toroid.Tensor): toroid.Tensor {
    return this.fc2.forward(F.gelu(this.fc1.forward(this.emb.forward(ids))));
  }
}

/** AdamW over the model's parameters with its moments as state (a Stateful for checkpoints). */
class TinyAdamW {
  step = 0;
  readonly m: toroid.Tensor[];
  readonly v: toroid.Tensor[];
  constructor(readonly params: toroid.Tensor[], readonly lr = 3e-3) {
    this.m = params.map((p) => toroid.keep(toroid.zeros(p.shape)));
    this.v = params.map((p) => toroid.keep(toroid.zeros(p.shape)));
  }
  update(): void {
    this.step++;
    toroid.adamwStep(this.params, this.params.map((p) => p.grad!), { m: this.m, v: this.v },
      { lr: this.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: this.step });
  }
  stateDict(): unknown {
    return { step: this.step, m: this.m, v: this.v };
  }
  loadStateDict(state: unknown): void {
    const s = state as { step: number; m: toroid.Tensor[]; v: toroid.Tensor[] };
    // copy the saved moments (the loader disposes its tensors), all before replacing ours,
    // so a state it cannot take leaves this optimizer as it was
    const copies: toroid.Tensor[] = [];
    try {
      for (const t of [...s.m, ...s.v]) copies.push(toroid.keep(t.mul(1)));
    } catch (err) {
      for (const t of copies) t.dispose();
      throw err;
    }
    this.step = s.step;
    this.m.forEach((t, i) => { t.dispose(); this.m[i] = copies[i]!; });
    this.v.forEach((t, i) => { t.dispose(); this.v[i] = copies[this.m.length + i]!; });
  }
}

export function createTask(options: TinyOptions = {}, context?: TaskContext): TrainTask {
  const vocab = options.vocab ?? 32, hidden = options.hidden ?? 64, B = options.batch ?? 64;
  toroid.manualSeed(options.seed ?? 0);
  const model = new MLP(vocab, hidden);
  const optimizer = new TinyAdamW(model.parameters());
  const data = {
    index: 0,
    stateDict: () => ({ index: data.index }),
    loadStateDict: (s: unknown) => { data.index = (s as { index: number }).index; },
  };
  const batch = (index: number): { x: Int32Array; y: Int32Array } => {
    // the target is (3 * x + index % 5) mod vocab: learnable, different per batch
    const x = new Int32Array(B), y = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      x[b] = (b * 7 + index * 13) % vocab;
      y[b] = (3 * x[b]! + 1) % vocab;
    }
    return { x, y };
  };
  return {
    parts: { model, optimizer, data },
    trainStep() {
      const { x, y } = batch(data.index++);
      const loss = toroid.tidy(() => {
        const forward = (): toroid.Tensor => F.crossEntropy(model.forward(toroid.tensor(x, { shape: [B] })), toroid.tensor(y, { shape: [B] }), { labelSmoothing: 0.1 });
        const l = context?.precision === 'bf16' ? toroid.autocast({ dtype: 'bfloat16' }, forward) : forward();
        l.backward();
        return l.item();
      });
      optimizer.update();
      model.zeroGrad();
      if (options.stepDelayMs) {
        // a busy step that holds this thread, as a big model would
        const until = performance.now() + options.stepDelayMs;
        while (performance.now() < until) { /* spin */ }
      }
      return { loss, tokens: B, lr: optimizer.lr };
    },
    validate() {
      const { x, y } = batch(999_999);
      return toroid.tidy(() => toroid.noGrad(() => F.crossEntropy(model.forward(toroid.tensor(x, { shape: [B] })), toroid.tensor(y, { shape: [B] })).item()));
    },
    // everything the task holds, so a test that loops over tasks leaves nothing to the GC's
    // finalizers (which would otherwise release storages in the middle of a later measurement)
    dispose() { model.dispose(); for (const t of [...optimizer.m, ...optimizer.v]) t.dispose(); },
  };
}
