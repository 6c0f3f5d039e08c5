// One rank of the data-parallel scaling benchmark (bench/distributed/run.ts starts
// it under mpirun): the Seq2Seq workload of `npm run bench` (d 256, 3+3 layers,
// vocab 8000, AdamW, label smoothing) trained through the DistributedContext on
// this rank's shard of each global batch, one kernel thread per rank.
//   mpirun -np 2 node --import tsx bench/distributed/rank.ts --steps 8 [--weak] [--detail]
// --weak: every rank trains a whole batch of 64 sentences (the global batch grows
// with the ranks); default: one global batch of 64 split over the ranks.
// Rank 0 prints one JSON line: step times, the all-reduce time left after the
// backward, and a standalone all-reduce of the whole gradient.
import * as toroid from '../../src/index.js';
import { initCollective } from '../../src/distributed/collective.js';
import { DistributedContext } from '../../src/distributed/context.js';
import { SEQ2SEQ, seq2seqBatch } from '../peers/prepare.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const steps = arg('--steps', 8), warmup = arg('--warmup', 2), bucketMiB = arg('--bucket-mib', 4);
const weak = process.argv.includes('--weak');
const detail = process.argv.includes('--detail');  // every rank prints each step: compute, all-reduce wait, optimizer

toroid.setBackend('cpu');
toroid.setNumThreads(1);
const collective = await initCollective('mpi', { timeoutSeconds: 600 });
const ctx = new DistributedContext(collective, { bucketBytes: bucketMiB * 1024 * 1024 });
const c = SEQ2SEQ;
toroid.manualSeed(0);
const model = new toroid.nn.Seq2SeqTransformer({
  srcVocab: c.srcVocab, tgtVocab: c.tgtVocab, dModel: c.dModel, nhead: c.nhead, numEncoderLayers: c.numEncoderLayers,
  numDecoderLayers: c.numDecoderLayers, dimFeedforward: c.dimFeedforward, dropout: 0, maxLen: c.maxLen, pad: c.pad, normFirst: false,
});
const optimizer = new toroid.optim.AdamW(model.parameters(), { lr: c.lr, betas: [...c.betas], eps: c.eps, weightDecay: 0 });
ctx.attach(model);

// this rank's rows of the global batch (or the whole batch, --weak)
const { src, tgtIn, tgtOut } = seq2seqBatch();
const B = c.batch, S = c.srcLen, T = c.tgtLen;
const rows = weak ? Array.from({ length: B }, (_, i) => i) : ctx.shard(Array.from({ length: B }, (_, i) => i));
const pick = (a: Int32Array, L: number) => toroid.keep(toroid.tensor(Int32Array.from(rows.flatMap((r) => Array.from(a.subarray(r * L, (r + 1) * L)))), { dtype: 'int32', shape: [rows.length, L] }));
const srcT = pick(src, S), tgtInT = pick(tgtIn, T), tgtOutT = pick(tgtOut, T);
const count = (a: Int32Array, from: number, to: number) => a.subarray(from * T, to * T).reduce((n, t) => n + (t !== c.pad ? 1 : 0), 0);
const localTokens = rows.reduce((n, r) => n + count(tgtOut, r, r + 1), 0);
const globalTokens = weak ? localTokens * ctx.worldSize : count(tgtOut, 0, B);

const stepMs: number[] = [], waitMs: number[] = [];
let loss = 0;
for (let s = 0; s < warmup + steps; s++) {
  ctx.collective.barrier();  // every rank starts the step together: the times are the job's
  const t0 = performance.now();
  let tb = 0, to = 0;
  toroid.tidy(() => {
    optimizer.zeroGrad();
    const l = toroid.F.crossEntropy(model.forward(srcT, tgtInT), tgtOutT, { ignoreIndex: c.pad, labelSmoothing: c.labelSmoothing });
    ctx.backward(l, { weight: localTokens / globalTokens });
    tb = performance.now();
    optimizer.step();
    to = performance.now();
    loss = l.item();
  });
  if (s >= warmup && detail) console.error(`rank ${ctx.rank} step ${s} compute ${(tb - t0 - ctx.lastReduceWaitMs).toFixed(0)} wait ${ctx.lastReduceWaitMs.toFixed(0)} opt ${(to - tb).toFixed(0)} total ${(performance.now() - t0).toFixed(0)}`);
  if (s >= warmup) {
    stepMs.push(performance.now() - t0);
    waitMs.push(ctx.lastReduceWaitMs);
  }
}

// the whole gradient, all-reduced on its own in the same buckets (no backward to hide
// behind): a backward with no loss starts every bucket with the gradients already there
const reduceMs: number[] = [];
for (let r = 0; r < 6; r++) {
  collective.barrier();
  const t0 = performance.now();
  ctx.backward(null);
  reduceMs.push(performance.now() - t0);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const gradientBytes = model.parameters().reduce((n, p) => n + p.size * 4, 0);
if (ctx.rank === 0) {
  console.log(JSON.stringify({
    ranks: ctx.worldSize, weak, rowsPerRank: rows.length, globalTokens, loss, stepMs: median(stepMs), stepMinMs: Math.min(...stepMs), stepMaxMs: Math.max(...stepMs),
    tokensPerSecond: globalTokens / (median(stepMs) / 1000), allReduceWaitMs: median(waitMs), fullAllReduceMs: median(reduceMs.slice(1)),
    gradientBytes, buckets: ctx.bucketCount, mpi: collective.version, threadsPerRank: toroid.nativeInfo()?.threads,
  }));
}
ctx.dispose();
