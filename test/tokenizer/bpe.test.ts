// BPETokenizer on small corpora: the hand-checked merges of Sennrich et al.'s
// 'low lower newest widest' example (with this tokenizer's tie-break), encode /
// decode round trips, UNK, special tokens, save/load, determinism, fromJSON,
// pretokenize/detokenize.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BPETokenizer, detokenize, pretokenize, type BPETokenizerJSON } from '../../src/tokenizer/index.js';

const rep = (word: string, n: number): string[] => Array<string>(n).fill(word);
// the classic example: low x5, lower x2, newest x6, widest x3
const CLASSIC = [...rep('low', 5), ...rep('lower', 2), ...rep('newest', 6), ...rep('widest', 3)];

const SENTENCES = [
  'Two young, White males are outside near many bushes.',
  'Several men in hard hats are operating a giant pulley system.',
  'A little girl climbing into a wooden playhouse.',
  'Ein kleines Mädchen klettert in ein Spielhaus aus Holz.',
  'Zwei Männer stehen am Herd und bereiten Essen zu.',
  "A man's T-shirt (blue) costs $5; isn't it cheap?",
  'If a < b and c > d, then [x] {y} #1 @home & 50% / 2 = 25.',
];

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'toroid-bpe-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('BPETokenizer.train: merges', () => {
  it('learns the hand-checked merges of the classic example (ties: smallest left token, then right)', async () => {
    const tok = await BPETokenizer.train(CLASSIC, { vocabSize: 1000 });
    // Initial pair counts: e s 9, s t</w> 9, w e 8, l o 7, n e 6, e w 6, o w</w> 5, ...
    //  1. 'e s' (9; ties with 's t</w>', and 'e' < 's')          2. 'es t</w>' (9)
    //  3. 'l o' (7)                                              4. 'e w' (6; ties n e, w est</w>)
    //  5. 'ew est</w>' (6; 'ew' < 'n')                           6. 'n ewest</w>' (6)
    //  7. 'lo w</w>' (5)                                         8-10. 'd est</w>', 'i dest</w>', 'w idest</w>' (3)
    // 11-13. 'e r</w>', 'lo w', 'low er</w>' (2); then no pair is left.
    expect(tok.merges.map((m) => m.join(' '))).toEqual([
      'e s', 'es t</w>', 'l o', 'e w', 'ew est</w>', 'n ewest</w>', 'lo w</w>',
      'd est</w>', 'i dest</w>', 'w idest</w>', 'e r</w>', 'lo w', 'low er</w>',
    ]);
    // 4 specials + '</w>' + 10 characters x 2 + 13 merges
    expect(tok.vocabSize).toBe(4 + 1 + 20 + 13);
    expect(tok.idToToken(4)).toBe('</w>');
    expect(tok.idToToken(5)).toBe('d');
    expect(tok.idToToken(6)).toBe('d</w>');
    expect(tok.idToToken(25)).toBe('es');
    // training words encode as single tokens; new words reuse the subwords
    for (const w of ['low', 'lower', 'newest', 'widest']) expect(tok.tokenize(w)).toEqual([`${w}</w>`]);
    expect(tok.tokenize('lowest')).toEqual(['low', 'est</w>']);
    expect(tok.tokenize('newer wider')).toEqual(['n', 'ew', 'er</w>', 'w', 'i', 'd', 'er</w>']);
  });

  it('merges stop at vocabSize and at minFrequency', async () => {
    const small = await BPETokenizer.train(CLASSIC, { vocabSize: 4 + 1 + 20 + 3 });
    expect(small.merges.map((m) => m.join(' '))).toEqual(['e s', 'es t</w>', 'l o']);
    expect(small.vocabSize).toBe(28);
    // minFrequency 3: the three merges of count 2 are not learned
    const min3 = await BPETokenizer.train(CLASSIC, { vocabSize: 1000, minFrequency: 3 });
    expect(min3.merges.length).toBe(10);
    // minFrequency 6: 'r' (2 times) leaves the alphabet and 'lower' encodes with UNK
    const min6 = await BPETokenizer.train(CLASSIC, { vocabSize: 1000, minFrequency: 6 });
    expect(min6.tokenToId('r')).toBeUndefined();
    expect(min6.tokenToId('r</w>')).toBeUndefined();
    expect(Array.from(min6.encode('lower')).slice(-2)).toEqual([3, min6.tokenToId('</w>')]);
  });

  it('a vocabSize below the special tokens plus the alphabet is refused with the size needed', async () => {
    await expect(BPETokenizer.train(CLASSIC, { vocabSize: 10 })).rejects.toThrow(/options.vocabSize must be at least 25 for this corpus/);
  });

  it('accepts sync iterables, generators and async iterables alike', async () => {
    const a = await BPETokenizer.train(CLASSIC, { vocabSize: 30 });
    const b = await BPETokenizer.train((function* () { yield* CLASSIC; })(), { vocabSize: 30 });
    const c = await BPETokenizer.train((async function* () { yield* CLASSIC; })(), { vocabSize: 30 });
    expect(JSON.stringify(b.toJSON())).toBe(JSON.stringify(a.toJSON()));
    expect(JSON.stringify(c.toJSON())).toBe(JSON.stringify(a.toJSON()));
  });

  it('maxWordLength leaves long words out of merge learning (their characters stay in the alphabet)', async () => {
    const corpus = [...rep('abcdefgh', 10), ...rep('xy', 3)];
    const tok = await BPETokenizer.train(corpus, { vocabSize: 1000, maxWordLength: 4 });
    expect(tok.merges.map((m) => m.join(' '))).toEqual(['x y</w>']);
    expect(tok.tokenToId('a')).toBeDefined();
    expect(tok.decode(tok.encode('abcdefgh xy'))).toBe('abcdefgh xy');
  });

  it('is deterministic: training twice, or on shuffled lines, gives the identical JSON', async () => {
    const corpus = [...SENTENCES, ...SENTENCES, ...SENTENCES.slice(0, 3)];
    const a = JSON.stringify((await BPETokenizer.train(corpus, { vocabSize: 200 })).toJSON());
    const b = JSON.stringify((await BPETokenizer.train(corpus, { vocabSize: 200 })).toJSON());
    const c = JSON.stringify((await BPETokenizer.train(corpus.slice().reverse(), { vocabSize: 200 })).toJSON());
    expect(b).toBe(a);
    expect(c).toBe(a);
  });

  it('trainShared equals train on the concatenation (a joint vocabulary)', async () => {
    const de = SENTENCES.slice(3, 5);
    const en = SENTENCES.slice(0, 3);
    const shared = await BPETokenizer.trainShared([de, en], { vocabSize: 150, minFrequency: 1 });
    const joint = await BPETokenizer.train([...de, ...en], { vocabSize: 150, minFrequency: 1 });
    expect(JSON.stringify(shared.toJSON())).toBe(JSON.stringify(joint.toJSON()));
    expect(shared.decode(shared.encode(de[0]!))).toBe(pretokenize(de[0]!).join(' '));
    expect(shared.decode(shared.encode(en[0]!))).toBe(pretokenize(en[0]!).join(' '));
  });

  it('lowercase applies in training and encoding', async () => {
    const tok = await BPETokenizer.train(['Hello HELLO hello'], { vocabSize: 100, lowercase: true, minFrequency: 1 });
    expect(tok.tokenToId('H')).toBeUndefined();
    expect(tok.tokenize('HeLLo')).toEqual(['hello</w>']);
    expect(tok.decode(tok.encode('HELLO, World'))).toBe('hello <unk> <unk>o<unk>l<unk>');
    expect(tok.options.lowercase).toBe(true);
  });
});

describe('BPETokenizer: encode and decode', () => {
  let tok: BPETokenizer;
  beforeAll(async () => {
    tok = await BPETokenizer.train(SENTENCES, { vocabSize: 220, minFrequency: 1 });
  });

  it('decode(encode(x)) is the pretokenized x joined by single spaces', () => {
    for (const s of SENTENCES) {
      const ids = tok.encode(s);
      expect(ids).toBeInstanceOf(Int32Array);
      expect(tok.decode(ids)).toBe(pretokenize(s).join(' '));
      expect(tok.decode(Array.from(ids))).toBe(pretokenize(s).join(' '));
    }
    expect(tok.decode(tok.encode('A  man,\tin  a\nhat.'))).toBe('A man , in a hat .');
    expect(tok.encode('').length).toBe(0);
    expect(tok.encode('   \n').length).toBe(0);
    expect(tok.decode([])).toBe('');
  });

  it('detokenize: true attaches punctuation; pretokenize undoes it', () => {
    const s = "A man's T-shirt (blue) costs $5; isn't it cheap?";
    expect(tok.decode(tok.encode(s), { detokenize: true })).toBe(s);
    expect(tok.decode(tok.encode('Two young, White males are outside.'), { detokenize: true })).toBe('Two young, White males are outside.');
    for (const x of SENTENCES) expect(pretokenize(tok.decode(tok.encode(x), { detokenize: true }))).toEqual(pretokenize(x));
  });

  it('unknown characters encode as UNK, and the end of the word survives', () => {
    const unk = tok.specialIds.unk;
    const eow = tok.tokenToId('</w>')!;
    const ids = Array.from(tok.encode('man中'));
    expect(ids.slice(-2)).toEqual([unk, eow]);
    expect(tok.decode(ids)).toBe('man<unk>');
    expect(tok.decode(tok.encode('中a man'))).toBe('<unk>a man');
    expect(tok.decode(tok.encode('man 中 😀😀 boy'))).toBe('man <unk> <unk> <unk> boy');
  });

  it('characters below minFrequency map to UNK', async () => {
    const t2 = await BPETokenizer.train(['aa bb aa bb c'], { vocabSize: 100, minFrequency: 2 });
    expect(t2.tokenToId('c')).toBeUndefined();
    expect(Array.from(t2.encode('c'))).toEqual([3, t2.tokenToId('</w>')]);
    expect(t2.decode(t2.encode('aa c bb'))).toBe('aa <unk> bb');
  });

  it('special ids are fixed, and encode never produces them except BOS/EOS on request', () => {
    expect(tok.specialIds).toEqual({ pad: 0, bos: 1, eos: 2, unk: 3 });
    expect([0, 1, 2, 3].map((i) => tok.idToToken(i))).toEqual(['<pad>', '<bos>', '<eos>', '<unk>']);
    for (const t of ['<pad>', '<bos>', '<eos>', '<unk>']) expect(tok.tokenToId(t)).toBe(tok.specialTokens.indexOf(t));
    const text = 'A man <pad> <bos> <eos> <unk> sits.';
    const ids = Array.from(tok.encode(text));
    expect(ids.every((id) => id >= 4)).toBe(true);
    expect(tok.decode(ids)).toBe('A man < pad > < bos > < eos > < unk > sits .');
    const be = Array.from(tok.encode('A man.', { addBos: true, addEos: true }));
    expect(be[0]).toBe(1);
    expect(be[be.length - 1]).toBe(2);
    expect(be.slice(1, -1)).toEqual(Array.from(tok.encode('A man.')));
    expect(Array.from(tok.encode('A', { addEos: true })).at(-1)).toBe(2);
    expect(tok.decode(be)).toBe('A man .');
    expect(tok.decode(be, { skipSpecial: false })).toBe('<bos> A man . <eos>');
    expect(tok.decode([1, ...Array.from(tok.encode('A man')), 2, 0, 0], { skipSpecial: false })).toBe('<bos> A man <eos> <pad> <pad>');
  });

  it('extra special tokens take ids 4.. and are never produced by encode', async () => {
    const t = await BPETokenizer.train(SENTENCES, { vocabSize: 300, minFrequency: 1, specialTokens: ['[PAD]', '[BOS]', '[EOS]', '[UNK]', '<sep>', '<mask>'] });
    expect(t.tokenToId('<sep>')).toBe(4);
    expect(t.tokenToId('<mask>')).toBe(5);
    expect(t.idToToken(6)).toBe('</w>');
    const ids = Array.from(t.encode('A man <sep> <mask>'));
    expect(ids.every((id) => id >= 6)).toBe(true);
    expect(t.decode([4, ...ids, 5])).toBe('A man < sep > < mask >');
    expect(t.decode([4, ...ids, 5], { skipSpecial: false })).toBe('<sep> A man < sep > < mask > <mask>');
  });

  it('a truncated sequence decodes its last partial word; a lone </w> only ends words', () => {
    const ids = Array.from(tok.encode('houses'));
    expect(ids.length).toBeGreaterThan(1);
    const partial = ids.slice(0, -1).map((id) => tok.idToToken(id)).join('');
    expect(tok.decode(ids.slice(0, -1))).toBe(partial);
    const eow = tok.tokenToId('</w>')!;
    expect(tok.decode([eow, eow])).toBe('');
  });

  it('encodeBatch and decodeBatch match encode and decode', () => {
    const batch = tok.encodeBatch(SENTENCES, { addEos: true });
    expect(batch.length).toBe(SENTENCES.length);
    for (let i = 0; i < SENTENCES.length; i++) expect(Array.from(batch[i]!)).toEqual(Array.from(tok.encode(SENTENCES[i]!, { addEos: true })));
    expect(tok.decodeBatch(batch)).toEqual(SENTENCES.map((s) => tok.decode(tok.encode(s))));
    expect(tok.encodeBatch([])).toEqual([]);
  });

  it('the word cache gives the same ids as a fresh tokenizer', () => {
    const fresh = BPETokenizer.fromJSON(tok.toJSON());
    const text = SENTENCES.join(' ');
    const warm = tok.encode(text);
    expect(Array.from(tok.encode(text))).toEqual(Array.from(warm));
    expect(Array.from(fresh.encode(text))).toEqual(Array.from(warm));
  });
});

describe('BPETokenizer: serialization', () => {
  it('toJSON / fromJSON and save / load give identical encodings', async () => {
    const tok = await BPETokenizer.train(SENTENCES, { vocabSize: 180, maxWordLength: 30 });
    const json = tok.toJSON();
    expect(json.type).toBe('toroid.BPETokenizer');
    expect(json.version).toBe(1);
    expect(json.options).toEqual({ vocabSize: 180, minFrequency: 2, specialTokens: ['<pad>', '<bos>', '<eos>', '<unk>'], lowercase: false, maxWordLength: 30, normalization: 'NFC', endOfWord: '</w>' });
    expect(Object.keys(json.vocab).length).toBe(tok.vocabSize);
    expect(json.merges.length).toBe(tok.merges.length);
    const path = join(dir, 'bpe.json');
    await tok.save(path);
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as BPETokenizerJSON;
    expect(parsed).toEqual(json);
    const loaded = await BPETokenizer.load(path);
    const fromObj = BPETokenizer.fromJSON(JSON.parse(JSON.stringify(json)) as BPETokenizerJSON);
    const probe = [...SENTENCES, 'unseen words: zebra, quokka 中文!'];
    for (const s of probe) {
      const ids = Array.from(tok.encode(s, { addBos: true }));
      expect(Array.from(loaded.encode(s, { addBos: true }))).toEqual(ids);
      expect(Array.from(fromObj.encode(s, { addBos: true }))).toEqual(ids);
      expect(loaded.decode(ids)).toBe(tok.decode(ids));
    }
    expect(JSON.stringify(loaded.toJSON())).toBe(JSON.stringify(json));
    expect(loaded.options).toEqual(tok.options);
    // save replaces an existing file
    const t2 = await BPETokenizer.train(SENTENCES, { vocabSize: 120 });
    await t2.save(path);
    expect((await BPETokenizer.load(path)).vocabSize).toBe(t2.vocabSize);
  });

  it('load reports a file that is not JSON', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{"type": "toroid.BPE');
    await expect(BPETokenizer.load(path)).rejects.toThrow(RangeError);
    await expect(BPETokenizer.load(path)).rejects.toThrow(/toroid.BPETokenizer.load: path must be a BPE tokenizer JSON file/);
    writeFileSync(path, '{"type": "other"}');
    await expect(BPETokenizer.load(path)).rejects.toThrow(/file.type must be "toroid.BPETokenizer"/);
  });
});

describe('pretokenize and detokenize', () => {
  it('splits on whitespace and around every punctuation character, Unicode-aware', () => {
    expect(pretokenize('Two young, White males.')).toEqual(['Two', 'young', ',', 'White', 'males', '.']);
    expect(pretokenize("man's T-shirt...")).toEqual(['man', "'", 's', 'T', '-', 'shirt', '.', '.', '.']);
    expect(pretokenize('Zwei „Männer“ — naïve café 2,5€ 中文😀')).toEqual(['Zwei', '„', 'Männer', '“', '—', 'naïve', 'café', '2', ',', '5', '€', '中文', '😀']);
    expect(pretokenize('  \t\n ')).toEqual([]);
    // NFC: a decomposed ä is one character
    expect(pretokenize('Ma\u0308nner')).toEqual(['M\u00e4nner']);
    expect(pretokenize('ÄRGER Öl', { lowercase: true })).toEqual(['ärger', 'öl']);
  });

  it('detokenize joins words with punctuation-aware spacing', () => {
    expect(detokenize(['A', 'man', "'", 's', 'T', '-', 'shirt', '.'])).toBe("A man's T-shirt.");
    expect(detokenize(['He', 'said', '"', 'hi', '"', '(', 'loudly', ')', '!'])).toBe('He said "hi" (loudly)!');
    expect(detokenize(['Zwei', '„', 'Männer', '“', 'sitzen', '.'])).toBe('Zwei „Männer“ sitzen.');
    expect(detokenize([])).toBe('');
    expect(detokenize(['.', 'a'])).toBe('. a');
  });
});
