// A short training run for `npm run test:valgrind` (scripts/test-valgrind.mjs runs it
// under valgrind memcheck): a tiny GPT on the cpu backend, a few AdamW steps,
// then everything disposed and the addon's block cache emptied, so that at exit
// nothing of toroid's is still owned: a block of ours that valgrind then calls
// "definitely lost" is a leak, not a tensor the process was still holding.
// Not a vitest file (it is a plain script): node --import tsx test/hardening/valgrind-train.mjs
import * as toroid from '../../src/index.ts';
import { addon } from '../../src/backends/native/addon.ts';

const steps = Number(process.env.TOROID_VALGRIND_STEPS ?? 3);
toroid.setBackend('cpu');
if (toroid.getBackend().name !== 'cpu') throw new Error('valgrind-train: the cpu backend did not load');

const V = 16, T = 8, B = 2;
toroid.manualSeed(0);
const model = new toroid.nn.GPT({ vocabSize: V, blockSize: T, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0.1 }, { backend: 'cpu' });
model.train();
const optimizer = new toroid.optim.AdamW(model.parameters(), { lr: 1e-2 });
const losses = [];
for (let s = 0; s < steps; s++) {
  const x = new Int32Array(B * T), y = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    x[i] = (i * 3 + s) % V;
    y[i] = (i * 3 + s + 3) % V;
  }
  losses.push(toroid.tidy(() => {
    const out = model.forward(toroid.tensor(x, { shape: [B, T] }), toroid.tensor(y, { shape: [B, T] }));
    out.loss.backward();
    return out.loss.item();
  }));
  optimizer.step();
  optimizer.zeroGrad();
}
// a state-dict round trip (stateDict() hands out the module's own tensors: no copies to free)
model.loadStateDict(model.stateDict());
optimizer.dispose();
model.dispose();
const live = toroid.memory().liveStorages;
addon?.emptyCache?.();
const native = addon?.memory();
console.log(`valgrind-train: ${steps} steps on cpu, losses ${losses.map((l) => l.toFixed(4)).join(' ')}; live storages after dispose: ${live}; addon ${JSON.stringify(native)}`);
if (!losses.every(Number.isFinite)) throw new Error('valgrind-train: a loss is not finite');
