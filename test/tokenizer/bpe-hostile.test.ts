// Tokenizer files are untrusted (issue 20): tokens named like Object.prototype's keys round
// trip, and 1,000 seeded mutations of a valid tokenizer JSON either load (and encode) or
// throw a clear toroid error (TypeError/RangeError naming the field), never a raw V8 error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { BPETokenizer } from '../../src/tokenizer/index.js';
import { Rng } from '../helpers/random.js';
import { isClearToroidError, mutateText, mutateValue } from '../hardening/mutate-json.js';

const dir = mkdtempSync(join(tmpdir(), 'toroid-bpe-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WORDS = 'constructors constructor toStringy toString hasOwnPropertyx valueOf __proto__ protos proto';
const CORPUS = Array.from({ length: 20 }, () => WORDS);
const SPECIALS = ['<pad>', '<s>', '</s>', '<unk>', '__proto__', '__constructor__'];

async function trained(): Promise<BPETokenizer> {
  return BPETokenizer.train(CORPUS, { vocabSize: 400, specialTokens: SPECIALS, lowercase: false });
}

it('tokens and merges named __proto__, constructor, toString round trip through toJSON/fromJSON and save/load', async () => {
  const tok = await trained();
  const json = tok.toJSON();
  const tokens = Object.keys(json.vocab);
  for (const t of ['__proto__', '__constructor__', 'constructor', 'toString</w>', 'valueOf</w>']) expect(tokens).toContain(t);
  expect(json.merges.some(([a, b]) => a + b === 'constructor')).toBe(true);
  const back = BPETokenizer.fromJSON(JSON.parse(JSON.stringify(json)));
  expect(back.vocabSize).toBe(tok.vocabSize);
  expect(Array.from(back.encode(WORDS))).toEqual(Array.from(tok.encode(WORDS)));
  expect(back.tokenToId('__proto__')).toBe(4);
  const file = join(dir, 'proto.json');
  await tok.save(file);
  const loaded = await BPETokenizer.load(file);
  expect(Array.from(loaded.encode(WORDS))).toEqual(Array.from(tok.encode(WORDS)));
});

it('1,000 mutated tokenizer files load or throw a clear toroid error', async () => {
  const base = (await trained()).toJSON();
  const text = JSON.stringify(base);
  const baseValue = JSON.parse(text);
  const rng = new Rng(20);
  const counts = { ok: 0, refused: 0 };
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) {
    const viaFile = i % 4 === 3;
    let describe: string;
    let attempt: () => Promise<BPETokenizer>;
    if (viaFile) {
      const m = rng.uniform() < 0.5 ? mutateText(text, rng) : (() => { const v = mutateValue(baseValue, rng); return { text: JSON.stringify(v.value) ?? '', describe: v.describe }; })();
      describe = m.describe;
      const file = join(dir, `m${i}.json`);
      writeFileSync(file, m.text, 'latin1');
      attempt = () => BPETokenizer.load(file);
    } else {
      const m = mutateValue(baseValue, rng);
      describe = m.describe;
      attempt = async () => BPETokenizer.fromJSON(m.value as never);
    }
    try {
      const tok = await attempt();
      const ids = tok.encode(WORDS);
      for (const id of ids) if (!(id >= 0 && id < tok.vocabSize)) throw new Error(`case ${i} (${describe}): id ${id} out of range`);
      tok.decode(ids);
      counts.ok++;
    } catch (err) {
      if (!isClearToroidError(err)) throw new Error(`case ${i} (${describe}): ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
      counts.refused++;
    }
  }
  console.log(`bpe fuzzer: ${counts.ok} loaded, ${counts.refused} refused, ${Math.round(performance.now() - t0)} ms`);
  expect(counts.ok + counts.refused).toBe(1000);
});
