// BPETokenizer on Multi30K (../shared/data/multi30k next to the repository, see
// its README; read at run time, never copied): a shared de+en vocabulary
// trained from the streamed training files, exact round trips on val, and
// logged training and encoding speed (logged only: speed is not asserted).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readLines } from '../../src/data/line-reader.js';
import { BPETokenizer, pretokenize } from '../../src/tokenizer/index.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const multi30k = join(repoRoot, '..', 'shared', 'data', 'multi30k');
const files = ['train.de.gz', 'train.en.gz', 'val.de.gz', 'val.en.gz'].map((f) => join(multi30k, f));
const haveMulti30k = files.every((f) => existsSync(f));
const skipNote = haveMulti30k ? '' : ' [skipped: ../shared/data/multi30k/{train,val}.{de,en}.gz not found]';

async function lines(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const line of readLines(path)) out.push(line);
  return out;
}

let dir = '';
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('BPETokenizer on Multi30K (../shared/data/multi30k)', () => {
  it.skipIf(!haveMulti30k)(`shared de+en vocabulary: val round trips exactly; speeds logged${skipNote}`, async () => {
    const [trainDe, trainEn, valDe, valEn] = files as [string, string, string, string];
    let t0 = performance.now();
    const tok = await BPETokenizer.trainShared([readLines(trainDe), readLines(trainEn)], { vocabSize: 10000 });
    const trainMs = performance.now() - t0;
    expect(tok.vocabSize).toBe(10000);

    const de = await lines(trainDe);
    const en = await lines(trainEn);
    expect(de.length).toBe(29000);
    t0 = performance.now();
    const again = await BPETokenizer.trainShared([de, en], { vocabSize: 10000 });
    const trainMemMs = performance.now() - t0;
    expect(JSON.stringify(again.toJSON())).toBe(JSON.stringify(tok.toJSON()));

    // encode throughput on the whole training set (both languages), cold cache then warm
    const fresh = BPETokenizer.fromJSON(tok.toJSON());
    t0 = performance.now();
    let tokens = 0;
    for (const s of de) tokens += fresh.encode(s).length;
    for (const s of en) tokens += fresh.encode(s).length;
    const encodeMs = performance.now() - t0;
    t0 = performance.now();
    for (const s of de) fresh.encode(s);
    for (const s of en) fresh.encode(s);
    const warmMs = performance.now() - t0;
    let words = 0;
    for (const s of de) words += pretokenize(s).length;
    for (const s of en) words += pretokenize(s).length;
    console.log(
      `[bpe multi30k] trainShared(de+en, vocab 10k, ${tok.merges.length} merges): ${trainMs.toFixed(0)} ms streamed from .gz, ` +
      `${trainMemMs.toFixed(0)} ms from memory; encode ${de.length + en.length} sentences (${words} words -> ${tokens} tokens, ` +
      `${(tokens / words).toFixed(3)} tokens/word): ${encodeMs.toFixed(0)} ms cold cache, ${warmMs.toFixed(0)} ms warm ` +
      `(${(((de.length + en.length) / encodeMs) * 1000).toFixed(0)} sentences/s cold)`,
    );

    // round trip on val: every sentence decodes to its pretokenized words
    const valLines = [...(await lines(valDe)), ...(await lines(valEn))];
    expect(valLines.length).toBe(2028);
    const ids = tok.encodeBatch(valLines, { addBos: true, addEos: true });
    let unk = 0;
    let mismatches = 0;
    for (let i = 0; i < valLines.length; i++) {
      const seq = ids[i]!;
      expect(seq[0]).toBe(1);
      expect(seq[seq.length - 1]).toBe(2);
      for (let j = 1; j < seq.length - 1; j++) {
        if (seq[j]! < 4 && seq[j] !== 3) throw new Error(`special id ${seq[j]} inside sentence ${i}`);
        if (seq[j] === 3) unk++;
      }
      const words = pretokenize(valLines[i]!);
      if (tok.decode(seq) !== words.join(' ')) mismatches++;
      if (pretokenize(tok.decode(seq, { detokenize: true })).join(' ') !== words.join(' ')) mismatches++;
    }
    // characters of val outside the alphabet (unseen in train, or seen once) are UNK and break their sentence's round trip
    const unseen = [...new Set(valLines.join('').normalize('NFC'))].filter((c) => !/\s/u.test(c) && tok.tokenToId(c) === undefined);
    console.log(`[bpe multi30k] val: ${valLines.length} sentences, ${unk} UNK, characters outside the alphabet: ${JSON.stringify(unseen)}`);
    if (unseen.length === 0) {
      expect(unk).toBe(0);
      expect(mismatches).toBe(0);
    }

    // save / load keeps the encodings
    dir = mkdtempSync(join(tmpdir(), 'toroid-bpe-m30k-'));
    await tok.save(join(dir, 'bpe.json'));
    const loaded = await BPETokenizer.load(join(dir, 'bpe.json'));
    const sample = valLines.slice(0, 200);
    expect(loaded.encodeBatch(sample).map((a) => Array.from(a))).toEqual(tok.encodeBatch(sample).map((a) => Array.from(a)));
  }, 60_000);
});
