// Multi30K German -> English, end to end on the cpu backend: a shared BPE
// vocabulary, the paper's Seq2Seq Transformer (3+3 layers, d_model 256),
// trained for a time budget with AdamW + the paper's schedule, evaluated on the
// 1,014 val sentences with greedy decoding during training (the BLEU curve) and
// beam search at the end. Writes the tokenizer, the checkpoint, the val
// hypotheses, the BLEU score with its sacrebleu-style signature and the curve.
//
//   npm run build:ts
//   node examples/translate-multi30k.mjs --data ../shared/data/multi30k --minutes 60 --out ./multi30k-run
//
// --data is a folder with train.{de,en}.gz and val.{de,en}.gz (read directly; the
// corpus is never copied). Options: --minutes N (training budget, default 60),
// --eval-every M (minutes between greedy BLEU points, default 10), --vocab N
// (shared BPE size, default 8000), --beam N (default 4), --alpha A (length
// penalty, default 0.6), --seed N, --precision bf16 (the forward passes under
// toroid.autocast: matrix products in bfloat16, float32 master weights; default fp32).
import fs from 'node:fs';
import path from 'node:path';
import * as toroid from '../dist/index.js';

const { F, nn, optim, data, decode, metrics, tokenizer } = toroid;

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const dataDir = arg('data');
if (!dataDir) {
  console.error('usage: node examples/translate-multi30k.mjs --data <folder with train.{de,en}.gz, val.{de,en}.gz> [--minutes 60] [--out DIR]');
  process.exit(2);
}
const minutes = Number(arg('minutes', 60)), evalEvery = Number(arg('eval-every', 10)), vocabSize = Number(arg('vocab', 8000));
const beam = Number(arg('beam', 4)), alpha = Number(arg('alpha', 0.6)), seed = Number(arg('seed', 0));
const precision = arg('precision', 'fp32');
if (precision !== 'fp32' && precision !== 'bf16') {
  console.error(`--precision must be fp32 or bf16, got ${precision}`);
  process.exit(2);
}
// bf16: forward passes (training loss and decoding) under autocast; everything else float32
const amp = (fn) => (precision === 'bf16' ? toroid.autocast({ dtype: 'bfloat16' }, fn) : fn());
const out = path.resolve(arg('out', './multi30k-run'));
fs.mkdirSync(out, { recursive: true });
const PAD = 0, BOS = 1, EOS = 2, MAX_TOKENS = 64;

async function lines(file) {
  const all = [];
  for await (const line of data.readLines(path.join(dataDir, file))) all.push(line);
  return all;
}

const t0 = performance.now();
const [trainDe, trainEn, valDe, valEn] = await Promise.all(['train.de.gz', 'train.en.gz', 'val.de.gz', 'val.en.gz'].map(lines));
console.log(`Multi30K: ${trainDe.length} train pairs, ${valDe.length} val pairs`);

const bpe = await tokenizer.BPETokenizer.trainShared([trainDe, trainEn], { vocabSize });
await bpe.save(path.join(out, 'bpe.json'));
const enc = (s) => bpe.encode(s);
const pairs = [];
for (let i = 0; i < trainDe.length; i++) {
  const src = enc(trainDe[i]), tgt = enc(trainEn[i]);
  if (src.length > 0 && tgt.length > 0 && src.length <= MAX_TOKENS && tgt.length < MAX_TOKENS) pairs.push({ src, tgt });
}
const valSrc = valDe.map(enc);
console.log(`BPE: shared vocabulary of ${bpe.vocabSize} in ${((performance.now() - t0) / 1000).toFixed(1)} s (with reading and encoding); ${pairs.length} pairs kept`);

toroid.manualSeed(seed);
const model = new nn.Seq2SeqTransformer({
  srcVocab: bpe.vocabSize, tgtVocab: bpe.vocabSize, dModel: 256, nhead: 4, numEncoderLayers: 3, numDecoderLayers: 3,
  dimFeedforward: 1024, dropout: 0.1, maxLen: MAX_TOKENS + 2, pad: PAD, shareEmbeddings: true, tieGenerator: true,
});
// the shared embedding is also the output projection: initialise it at d^-0.5 (as
// the paper's weight sharing implies), not nn.Embedding's N(0, 1), or the first
// logits are ~16x too large
nn.init.normal_(model.srcTokEmb.weight, 0, 256 ** -0.5);
const optimizer = new optim.AdamW(optim.decayGroups(model, { weightDecay: 0.01 }), { lr: 1, betas: [0.9, 0.98], eps: 1e-9 });
const scheduler = new optim.LRScheduler(optimizer, optim.noam(256, 800, 1));
const sampler = new data.TokenBudgetSampler(pairs.map((p) => ({ src: p.src.length, tgt: p.tgt.length + 1 })), { maxTokens: 3072, seed });
console.log(`model: ${model.numParameters().toLocaleString()} parameters; training for ${minutes} min in ${precision}`);

// val in length order, in batches: greedy for the curve, beam at the end
const order = valSrc.map((_, i) => i).sort((a, b) => valSrc[a].length - valSrc[b].length);
function translate(strategy) {
  const hyps = new Array(valSrc.length);
  const size = strategy === 'beam' ? 32 : 128;
  for (let at = 0; at < order.length; at += size) {
    const idx = order.slice(at, at + size);
    const rows = idx.map((i) => valSrc[i]);
    const outRows = amp(() => (strategy === 'beam'
      ? decode.beamSearch(model, rows, { beam, lengthPenalty: alpha, maxLen: MAX_TOKENS }).map((n) => n[0].tokens)
      : decode.greedyDecode(model, rows, { maxLen: MAX_TOKENS })));
    idx.forEach((i, k) => { hyps[i] = bpe.decode(outRows[k], { detokenize: true }); });
  }
  return hyps;
}
function bleuOf(strategy) {
  const start = performance.now();
  const hyps = translate(strategy);
  const seconds = (performance.now() - start) / 1000;
  return { hyps, bleu: metrics.corpusBleu(hyps, valEn), seconds };
}

const curve = [];
const trainStart = performance.now();
const elapsedMin = () => (performance.now() - trainStart) / 60000;
let step = 0, tokens = 0, nextEval = evalEvery, lastLog = 0, lossAvg = null;
while (elapsedMin() < minutes) {
  const batchIdx = sampler.next() ?? sampler.next();
  const loss = toroid.tidy(() => {
    const b = data.teacherForcingBatch(batchIdx.map((i) => pairs[i].src), batchIdx.map((i) => pairs[i].tgt), { pad: PAD, bos: BOS, eos: EOS });
    tokens += b.tgtTokens;
    optimizer.zeroGrad();
    const l = amp(() => F.crossEntropy(model.forward(b.src, b.tgtIn), b.tgtOut, { ignoreIndex: PAD, labelSmoothing: 0.1 }));
    l.backward();
    optim.clipGradNorm(model.parameters(), 1.0);
    optimizer.step();
    scheduler.step();
    return l.item();
  });
  step++;
  lossAvg = lossAvg === null ? loss : 0.98 * lossAvg + 0.02 * loss;
  if (performance.now() - lastLog > 30000) {
    lastLog = performance.now();
    console.log(`${elapsedMin().toFixed(1)} min  step ${step}  epoch ${sampler.state().epoch}  loss ${lossAvg.toFixed(3)}  ${Math.round(tokens / ((performance.now() - trainStart) / 1000))} tok/s`);
  }
  if (elapsedMin() >= nextEval) {
    nextEval += evalEvery;
    const g = bleuOf('greedy');
    curve.push({ minutes: Number(elapsedMin().toFixed(2)), step, greedyBleu: Number(g.bleu.score.toFixed(2)) });
    console.log(`  val BLEU (greedy) ${g.bleu.score.toFixed(2)} after ${elapsedMin().toFixed(1)} min (decoded in ${g.seconds.toFixed(1)} s)`);
  }
}
const trainMinutes = elapsedMin();
const tokensPerSecond = tokens / (trainMinutes * 60);
await model.save(path.join(out, 'model.safetensors'));

const greedy = bleuOf('greedy');
const beamed = bleuOf('beam');
fs.writeFileSync(path.join(out, 'val.hyp.en'), beamed.hyps.join('\n') + '\n');
fs.writeFileSync(path.join(out, 'val.greedy.hyp.en'), greedy.hyps.join('\n') + '\n');
curve.push({ minutes: Number(trainMinutes.toFixed(2)), step, greedyBleu: Number(greedy.bleu.score.toFixed(2)), beamBleu: Number(beamed.bleu.score.toFixed(2)) });
const summary = {
  trainMinutes: Number(trainMinutes.toFixed(2)), steps: step, targetTokensPerSecond: Math.round(tokensPerSecond),
  greedy: { bleu: greedy.bleu.score, line: greedy.bleu.format(), decodeSeconds: greedy.seconds },
  beam: { bleu: beamed.bleu.score, line: beamed.bleu.format(), signature: beamed.bleu.signature, decodeSeconds: beamed.seconds, beam, alpha },
  curve, vocabSize: bpe.vocabSize, parameters: model.numParameters(), seed, precision,
};
fs.writeFileSync(path.join(out, 'bleu.json'), JSON.stringify(summary, null, 2) + '\n');
console.log(`\ntrained ${trainMinutes.toFixed(1)} min, ${step} steps, ${Math.round(tokensPerSecond)} target tokens/s`);
console.log(`greedy: ${greedy.bleu.format()}  (decoded in ${greedy.seconds.toFixed(1)} s)`);
console.log(`beam ${beam}, alpha ${alpha}: ${beamed.bleu.format()}  (decoded in ${beamed.seconds.toFixed(1)} s)`);
console.log(`signature: ${beamed.bleu.signature}`);
console.log(`outputs: ${out}/{bpe.json, model.safetensors, val.hyp.en, val.greedy.hyp.en, bleu.json}`);
