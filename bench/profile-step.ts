// Where a training step's time goes, kernel by kernel: the GPT or Seq2Seq benchmark model
// (bench/peers/PROTOCOL.md's configs, random weights) trains a few steps on the cpu backend
// (or, seq2seq-greedy, greedy-decodes 64 sentences for 24 steps as npm run bench does),
// float32 or under bf16 autocast, with every kernel of the backend wrapped in a timer (the cpu
// kernels are synchronous, so a kernel's wall time is its cost). Matrix products are split by
// shape, so a slow GEMM shape shows by itself; the rest of the step (JS, autograd) is reported
// as the remainder.
//   npx tsx bench/profile-step.ts [gpt|seq2seq|seq2seq-greedy] [fp32|bf16] [steps=5]
import * as toroid from '../src/index.js';
import { argmax, runTokenSearch } from '../src/decode/greedy.js';
import { seq2seqStepper } from '../src/decode/step.js';
import type { KTensor, KernelName } from '../src/index.js';

const { F } = toroid;
const model = process.argv[2] ?? 'gpt';
const bf16 = (process.argv[3] ?? 'bf16') === 'bf16';
const steps = Number(process.argv[4] ?? '5');

toroid.setBackend('cpu');
const backend = toroid.getBackend('cpu');
const totals = new Map<string, { ms: number; calls: number }>();
let timing = false;

const describe = (t: KTensor | null): string => (t === null ? '-' : `${t.shape.join('x')}${t.dtype === 'bfloat16' ? 'b' : ''}`);
const kernels = backend.kernels as unknown as Record<KernelName, (...args: unknown[]) => unknown>;
for (const name of toroid.KERNEL_NAMES) {
  const impl = kernels[name];
  kernels[name] = (...args: unknown[]) => {
    if (!timing) return impl(...args);
    const t0 = performance.now();
    const out = impl(...args);
    const ms = performance.now() - t0;
    // matmul(a, b, transA, transB, bias): one row per shape and transposes
    // matmul(a, b, transA, transB, bias): one row per shape and transposes; casts and
    // permutes per shape and target
    const key = name === 'matmul'
      ? `matmul ${describe(args[0] as KTensor)} ${args[2] ? 'T' : 'N'}${args[3] ? 'T' : 'N'} ${describe(args[1] as KTensor)}`
      : name === 'cast' || name === 'permute' ? `${name} ${describe(args[0] as KTensor)} -> ${String(args[1])}` : name;
    const entry = totals.get(key) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls += 1;
    totals.set(key, entry);
    return out;
  };
}

const ids = (rows: number, cols: number, vocab: number): toroid.Tensor =>
  toroid.tensor(Array.from({ length: rows }, () => Array.from({ length: cols }, () => 1 + Math.floor(Math.random() * (vocab - 1)))), { dtype: 'int32' });
const amp = <T>(fn: () => T): T => (bf16 ? toroid.autocast({ dtype: 'bfloat16' }, fn) : fn());

toroid.manualSeed(0);
let net: toroid.nn.Module;
let loss: () => toroid.Tensor;
if (model === 'gpt') {
  const gpt = new toroid.nn.GPT({ vocabSize: 65, blockSize: 256, nLayer: 6, nHead: 6, nEmbd: 384, dropout: 0, bias: true });
  const x = ids(16, 256, 65), y = ids(16, 256, 65);
  net = gpt;
  loss = () => gpt.forward(x, y).loss!;
} else {
  const s2s = new toroid.nn.Seq2SeqTransformer({ srcVocab: 8000, tgtVocab: 8000, dModel: 256, nhead: 4, numEncoderLayers: 3, numDecoderLayers: 3, dimFeedforward: 1024, dropout: 0, maxLen: 64, pad: 0 });
  const src = ids(64, 24, 8000), tgtIn = ids(64, 24, 8000), tgtOut = ids(64, 24, 8000);
  net = s2s;
  loss = () => F.crossEntropy(s2s.forward(src, tgtIn), tgtOut, { ignoreIndex: 0, labelSmoothing: 0.1 });
}
const opt = new toroid.optim.AdamW(net.parameters(), { lr: 1e-4 });
const train = (): void => toroid.tidy(() => {
  opt.zeroGrad();
  const l = amp(loss);
  l.backward();
  opt.step();
});
const greedy = (): void => {
  net.eval();
  const src = ids(64, 24, 8000);
  amp(() => {
    const stepper = seq2seqStepper(net as toroid.nn.Seq2SeqTransformer, src, null);
    try {
      runTokenSearch(stepper.step, { prefixes: Array.from({ length: 64 }, () => [1]), vocabSize: 8000, maxSteps: 24, eos: null, banned: [0, 1], pick: (row) => argmax(row) });
    } finally {
      stepper.dispose();
    }
  });
  src.dispose();
};
const step = model === 'seq2seq-greedy' ? greedy : train;

step();  // warm-up: packing buffers, thread pool
timing = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const wall = (performance.now() - t0) / steps;
timing = false;

const rows = [...totals.entries()].map(([k, v]) => ({ k, ms: v.ms / steps, calls: v.calls / steps })).sort((a, b) => b.ms - a.ms);
const inKernels = rows.reduce((s, r) => s + r.ms, 0);
console.log(`${model}${model === 'seq2seq-greedy' ? '' : ' training step'}, ${bf16 ? 'bf16 autocast' : 'float32'}, cpu (${toroid.nativeInfo()?.bf16 ?? ''}): ${wall.toFixed(1)} ms per step (${steps} steps)`);
console.log(`| kernel (matmul: a op b) | ms / step | share | calls |\n| --- | --- | --- | --- |`);
for (const r of rows.filter((r) => r.ms >= 0.5)) console.log(`| ${r.k} | ${r.ms.toFixed(1)} | ${(100 * r.ms / wall).toFixed(1)}% | ${r.calls} |`);
const grouped = (prefix: string): number => rows.filter((r) => r.k.startsWith(prefix)).reduce((s, r) => s + r.ms, 0);
console.log(`matmul total ${grouped('matmul').toFixed(1)} ms, attention ${grouped('attention').toFixed(1)} ms, other kernels ${(inKernels - grouped('matmul') - grouped('attention')).toFixed(1)} ms, outside kernels (JS, autograd) ${(wall - inKernels).toFixed(1)} ms`);
net.dispose();
