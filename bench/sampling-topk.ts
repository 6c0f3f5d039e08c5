// Top-k sampling, candidates from the backend (sampleDecode) against the same draws over the
// full logits (runTokenSearch with samplingPicker, the path before F.topk), on the bench's
// Seq2Seq (3+3 layers, d 256, vocab 8000), 64 sentences x 24 tokens:
//   npx tsx bench/sampling-topk.ts [topK=50]
import * as toroid from '../src/index.js';
import { runTokenSearch } from '../src/decode/greedy.js';
import { resolveSampling, samplingPicker } from '../src/decode/sampling.js';
import { seq2seqStepper } from '../src/decode/step.js';

const topK = Number(process.argv[2] ?? 50);
toroid.setBackend('cpu');
toroid.manualSeed(0);
const model = new toroid.nn.Seq2SeqTransformer({ srcVocab: 8000, tgtVocab: 8000, dModel: 256, nhead: 4, numEncoderLayers: 3, numDecoderLayers: 3, dimFeedforward: 1024, dropout: 0, maxLen: 64, pad: 0 });
model.eval();
const src = toroid.tensor(Array.from({ length: 64 }, () => Array.from({ length: 24 }, () => 3 + Math.floor(Math.random() * 7990))), { dtype: 'int32' });
const options = { topK, temperature: 0.9, seed: 5, maxLen: 25, eos: 2 };
const full = (): Int32Array[] => {
  const stepper = seq2seqStepper(model, src, null);
  try {
    return runTokenSearch(stepper.step, { prefixes: Array.from({ length: 64 }, () => [1]), vocabSize: 8000, maxSteps: 25, eos: 2, banned: [0, 1], pick: samplingPicker(resolveSampling('bench', options)) });
  } finally {
    stepper.dispose();
  }
};
const fast = (): Int32Array[] => toroid.decode.sampleDecode(model, src, options);
const time = (f: () => Int32Array[]): { ms: number; out: Int32Array[] } => {
  const times: number[] = [];
  let out: Int32Array[] = [];
  for (let i = 0; i < 5; i++) { const t0 = performance.now(); out = f(); times.push(performance.now() - t0); }
  return { ms: times.sort((a, b) => a - b)[2]!, out };
};
fast(); full();
const a = time(fast), b = time(full);
const same = a.out.every((r, i) => r.join() === b.out[i]!.join());
console.log(`top-k ${topK} sampling, 64 x 25 tokens: candidates from the backend ${a.ms.toFixed(0)} ms, full logits in JS ${b.ms.toFixed(0)} ms (${(b.ms / a.ms).toFixed(2)}x); same tokens: ${same}`);
