// Times beam search over Multi30K's 1,014 val sentences with a trained model, as the
// translate example's final evaluation does (issue 21's target: <= 10 s on 2 cores, beam 4):
//   npx tsx bench/multi30k-beam.ts <run folder of examples/translate-multi30k.mjs> [--batch 32] [--beam 4]
// The folder holds model.safetensors and bpe.json; val.de.gz comes from ../shared/data/multi30k.
import path from 'node:path';
import * as toroid from '../src/index.js';

const [dir] = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
if (dir === undefined) throw new Error('usage: npx tsx bench/multi30k-beam.ts <run folder> [--batch 32] [--beam 4]');
const batch = arg('batch', 32), beam = arg('beam', 4);
toroid.setBackend('cpu');
const bpe = await toroid.tokenizer.BPETokenizer.load(path.join(dir, 'bpe.json'));
const model = await toroid.nn.Seq2SeqTransformer.load(path.join(dir, 'model.safetensors'));
model.eval();
const val: string[] = [];
for await (const line of toroid.data.readLines(path.resolve('../shared/data/multi30k/val.de.gz'))) val.push(line);
const src = val.map((s) => bpe.encode(s));
const order = src.map((_, i) => i).sort((a, b) => src[a]!.length - src[b]!.length);
const started = performance.now();
let tokens = 0;
for (let at = 0; at < order.length; at += batch) {
  const rows = order.slice(at, at + batch).map((i) => src[i]!);
  const out = toroid.decode.beamSearch(model, rows, { beam, lengthPenalty: 0.6, maxLen: 64 });
  for (const n of out) tokens += n[0]!.tokens.length;
}
const seconds = (performance.now() - started) / 1000;
console.log(`Multi30K val beam ${beam}, batches of ${batch}: ${val.length} sentences in ${seconds.toFixed(1)} s (${tokens} best-hypothesis tokens, ${(tokens / seconds).toFixed(0)} tok/s)`);
