// Bad arguments to every public function of toroid.tokenizer: TypeError for
// wrong types, RangeError for wrong values, in the one error format
// `toroid.<fn>: <arg> must be <expected>, got <actual>`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BPETokenizer, detokenize, pretokenize, type BPETokenizerJSON } from '../../src/tokenizer/index.js';

type Case = [label: string, run: () => unknown, error: typeof TypeError | typeof RangeError, message: RegExp];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const bad = (x: unknown): any => x;
const CORPUS = ['a man in a hat .', 'a woman in a car .', 'two men , a dog .'];

let tok: BPETokenizer;
let json: BPETokenizerJSON;
let dir = '';
beforeAll(async () => {
  tok = await BPETokenizer.train(CORPUS, { vocabSize: 60 });
  json = tok.toJSON();
  dir = mkdtempSync(join(tmpdir(), 'toroid-bpe-bad-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function runSync(cases: () => Case[]): void {
  it.each(cases().map((c) => [c[0], c] as const))('%s', (_label, [, run, error, message]) => {
    expect(run).toThrow(error);
    expect(run).toThrow(message);
  });
}

function runAsync(cases: () => Case[]): void {
  it.each(cases().map((c) => [c[0], c] as const))('%s', async (_label, [, run, error, message]) => {
    await expect((async () => run())()).rejects.toThrow(error);
    await expect((async () => run())()).rejects.toThrow(message);
  });
}

const patched = (edit: (j: Record<string, any>) => void): unknown => {
  const j = JSON.parse(JSON.stringify(json)) as Record<string, any>;
  edit(j);
  return j;
};

describe('BPETokenizer.train', () => {
  const train = (corpus: unknown, options: unknown) => () => BPETokenizer.train(bad(corpus), bad(options));
  runAsync(() => [
    ['corpus is a string', train('a man', { vocabSize: 50 }), TypeError, /toroid.BPETokenizer.train: corpus must be an iterable or async iterable of strings/],
    ['corpus is null', train(null, { vocabSize: 50 }), TypeError, /corpus must be an iterable/],
    ['corpus holds a number', train(['a b', 5], { vocabSize: 50 }), TypeError, /corpus\[1\] must be a string, got number 5/],
    ['options missing', train(CORPUS, undefined), TypeError, /options must be an object with vocabSize, got undefined/],
    ['vocabSize missing', train(CORPUS, {}), TypeError, /options.vocabSize must be an integer, got undefined/],
    ['vocabSize not an integer', train(CORPUS, { vocabSize: 50.5 }), RangeError, /options.vocabSize must be an integer in \[5, 16777216\], got 50.5/],
    ['vocabSize too small for the alphabet', train(CORPUS, { vocabSize: 12 }), RangeError, /options.vocabSize must be at least \d+ for this corpus/],
    ['vocabSize too large', train(CORPUS, { vocabSize: 2 ** 25 }), RangeError, /options.vocabSize must be an integer/],
    ['minFrequency 0', train(CORPUS, { vocabSize: 50, minFrequency: 0 }), RangeError, /options.minFrequency must be an integer >= 1, got 0/],
    ['lowercase a string', train(CORPUS, { vocabSize: 50, lowercase: 'yes' }), TypeError, /options.lowercase must be a boolean, got "yes"/],
    ['maxWordLength 0', train(CORPUS, { vocabSize: 50, maxWordLength: 0 }), RangeError, /options.maxWordLength must be an integer >= 1, got 0/],
    ['unknown option', train(CORPUS, { vocab_size: 50 }), RangeError, /options must be an object with keys among .*, got unknown key 'vocab_size'/],
    ['specialTokens too few', train(CORPUS, { vocabSize: 50, specialTokens: ['<a>', '<b>', '<c>'] }), RangeError, /options.specialTokens must be at least 4 tokens/],
    ['specialTokens not strings', train(CORPUS, { vocabSize: 50, specialTokens: ['<a>', '<b>', '<c>', 4] }), TypeError, /options.specialTokens\[3\] must be a string, got number 4/],
    ['specialTokens a possible subword', train(CORPUS, { vocabSize: 50, specialTokens: ['PAD', '<b>', '<c>', '<d>'] }), RangeError, /options.specialTokens\[0\] must be a token no subword can equal.*got "PAD"/],
    ['specialTokens a single character', train(CORPUS, { vocabSize: 50, specialTokens: ['<a>', '#', '<c>', '<d>'] }), RangeError, /options.specialTokens\[1\] must be a token no subword can equal/],
    ['specialTokens with whitespace', train(CORPUS, { vocabSize: 50, specialTokens: ['<a>', '<b>', '< c>', '<d>'] }), RangeError, /options.specialTokens\[2\] must be a token no subword can equal/],
    ['specialTokens repeated', train(CORPUS, { vocabSize: 50, specialTokens: ['<a>', '<b>', '<a>', '<d>'] }), RangeError, /options.specialTokens\[2\] must be a token not listed before, got "<a>"/],
  ]);
});

describe('BPETokenizer.trainShared', () => {
  const trainShared = (corpora: unknown, options: unknown) => () => BPETokenizer.trainShared(bad(corpora), bad(options));
  runAsync(() => [
    ['corpora not an array', trainShared(CORPUS[0], { vocabSize: 50 }), TypeError, /toroid.BPETokenizer.trainShared: corpora must be an array of corpora/],
    ['corpora empty', trainShared([], { vocabSize: 50 }), RangeError, /corpora must be a non-empty array of corpora, got array\(0\)/],
    ['a corpus is a string', trainShared([CORPUS, 'a man'], { vocabSize: 50 }), TypeError, /corpora\[1\] must be an iterable or async iterable of strings \(lines\), got "a man"/],
    ['a corpus holds null', trainShared([CORPUS, ['ok', null]], { vocabSize: 50 }), TypeError, /corpora\[1\]\[1\] must be a string, got null/],
    ['options not an object', trainShared([CORPUS], 50), TypeError, /options must be an object with vocabSize, got number 50/],
    ['vocabSize negative', trainShared([CORPUS], { vocabSize: -1 }), RangeError, /options.vocabSize must be an integer/],
  ]);
});

describe('BPETokenizer.encode', () => {
  runSync(() => [
    ['text a number', () => tok.encode(bad(5)), TypeError, /toroid.BPETokenizer.encode: text must be a string, got number 5/],
    ['text null', () => tok.encode(bad(null)), TypeError, /text must be a string, got null/],
    ['text an array', () => tok.encode(bad(['a'])), TypeError, /text must be a string, got array\(1\)/],
    ['options a boolean', () => tok.encode('a', bad(true)), TypeError, /options must be an object, got boolean true/],
    ['addBos a number', () => tok.encode('a', bad({ addBos: 1 })), TypeError, /options.addBos must be a boolean, got number 1/],
    ['addEos a string', () => tok.encode('a', bad({ addEos: 'yes' })), TypeError, /options.addEos must be a boolean, got "yes"/],
    ['a misspelled option', () => tok.encode('a', bad({ addBOS: true })), RangeError, /options must be an object with keys among \{ addBos, addEos \}, got unknown key 'addBOS'/],
  ]);
});

describe('BPETokenizer.encodeBatch', () => {
  runSync(() => [
    ['texts a string', () => tok.encodeBatch(bad('a man')), TypeError, /toroid.BPETokenizer.encodeBatch: texts must be an array of strings, got "a man"/],
    ['texts null', () => tok.encodeBatch(bad(null)), TypeError, /texts must be an array of strings, got null/],
    ['texts holds a number', () => tok.encodeBatch(bad(['a', 3])), TypeError, /texts\[1\] must be a string, got number 3/],
    ['texts holds undefined', () => tok.encodeBatch(bad([undefined])), TypeError, /texts\[0\] must be a string, got undefined/],
    ['options an array', () => tok.encodeBatch(['a'], bad([])), TypeError, /options must be an object, got array\(0\)/],
    ['addEos null', () => tok.encodeBatch(['a'], bad({ addEos: null })), TypeError, /options.addEos must be a boolean, got null/],
  ]);
});

describe('BPETokenizer.tokenize', () => {
  runSync(() => [
    ['number', () => tok.tokenize(bad(1)), TypeError, /toroid.BPETokenizer.tokenize: text must be a string, got number 1/],
    ['null', () => tok.tokenize(bad(null)), TypeError, /text must be a string, got null/],
    ['undefined', () => tok.tokenize(bad(undefined)), TypeError, /text must be a string, got undefined/],
    ['array', () => tok.tokenize(bad(['a'])), TypeError, /text must be a string, got array\(1\)/],
    ['object', () => tok.tokenize(bad({})), TypeError, /text must be a string, got Object/],
  ]);
});

describe('BPETokenizer.decode', () => {
  runSync(() => [
    ['ids a string', () => tok.decode(bad('1 2')), TypeError, /toroid.BPETokenizer.decode: ids must be an array or typed array of token ids, got "1 2"/],
    ['ids null', () => tok.decode(bad(null)), TypeError, /ids must be an array or typed array of token ids, got null/],
    ['id a string', () => tok.decode(bad([5, '6'])), TypeError, /ids\[1\] must be a number \(token id\), got "6"/],
    ['id negative', () => tok.decode([5, -1]), RangeError, /ids\[1\] must be a token id in \[0, \d+\), got -1/],
    ['id past the vocabulary', () => tok.decode(Int32Array.of(tok.vocabSize)), RangeError, /ids\[0\] must be a token id in \[0, (\d+)\), got \1/],
    ['id fractional', () => tok.decode(Float32Array.of(4.5)), RangeError, /ids\[0\] must be a token id in \[0, \d+\), got 4.5/],
    ['id NaN', () => tok.decode([NaN]), RangeError, /ids\[0\] must be a token id .*got NaN/],
    ['bigint ids', () => tok.decode(bad(BigInt64Array.of(5n))), TypeError, /ids\[0\] must be a number \(token id\), got bigint 5/],
    ['options a string', () => tok.decode([5], bad('raw')), TypeError, /options must be an object, got "raw"/],
    ['skipSpecial a number', () => tok.decode([5], bad({ skipSpecial: 0 })), TypeError, /options.skipSpecial must be a boolean, got number 0/],
    ['detokenize a string', () => tok.decode([5], bad({ detokenize: 'yes' })), TypeError, /options.detokenize must be a boolean, got "yes"/],
    ['a misspelled option', () => tok.decode([5], bad({ skipSpecials: false })), RangeError, /options must be an object with keys among \{ skipSpecial, detokenize \}, got unknown key 'skipSpecials'/],
  ]);
});

describe('BPETokenizer.decodeBatch', () => {
  runSync(() => [
    ['batch an Int32Array', () => tok.decodeBatch(bad(Int32Array.of(5))), TypeError, /toroid.BPETokenizer.decodeBatch: batch must be an array of token-id sequences, got Int32Array\(1\)/],
    ['batch null', () => tok.decodeBatch(bad(null)), TypeError, /batch must be an array of token-id sequences, got null/],
    ['an entry a number', () => tok.decodeBatch(bad([[5], 6])), TypeError, /batch\[1\] must be an array or typed array of token ids, got number 6/],
    ['an id out of range', () => tok.decodeBatch([[5], [5, 1e6]]), RangeError, /batch\[1\]\[1\] must be a token id in \[0, \d+\), got 1000000/],
    ['an id a string', () => tok.decodeBatch(bad([['5']])), TypeError, /batch\[0\]\[0\] must be a number \(token id\), got "5"/],
    ['options a number', () => tok.decodeBatch([[5]], bad(1)), TypeError, /options must be an object, got number 1/],
  ]);
});

describe('BPETokenizer.idToToken / tokenToId', () => {
  runSync(() => [
    ['idToToken a string', () => tok.idToToken(bad('5')), TypeError, /toroid.BPETokenizer.idToToken: id must be a number, got "5"/],
    ['idToToken undefined', () => tok.idToToken(bad(undefined)), TypeError, /id must be a number, got undefined/],
    ['idToToken negative', () => tok.idToToken(-1), RangeError, /id must be an integer in \[0, \d+\), got -1/],
    ['idToToken past the end', () => tok.idToToken(tok.vocabSize), RangeError, /id must be an integer in \[0, \d+\)/],
    ['idToToken fractional', () => tok.idToToken(1.5), RangeError, /got 1.5/],
    ['idToToken NaN', () => tok.idToToken(NaN), RangeError, /got NaN/],
    ['tokenToId a number', () => tok.tokenToId(bad(5)), TypeError, /toroid.BPETokenizer.tokenToId: token must be a string, got number 5/],
    ['tokenToId null', () => tok.tokenToId(bad(null)), TypeError, /token must be a string, got null/],
    ['tokenToId undefined', () => tok.tokenToId(bad(undefined)), TypeError, /token must be a string, got undefined/],
    ['tokenToId an array', () => tok.tokenToId(bad(['a'])), TypeError, /token must be a string, got array\(1\)/],
    ['tokenToId an object', () => tok.tokenToId(bad({})), TypeError, /token must be a string, got Object/],
  ]);
  it('tokenToId of an absent token is undefined', () => {
    expect(tok.tokenToId('zzz')).toBeUndefined();
    expect(tok.tokenToId('')).toBeUndefined();
  });
});

describe('BPETokenizer.fromJSON', () => {
  const from = (obj: unknown) => () => BPETokenizer.fromJSON(bad(obj));
  const edit = (f: (j: Record<string, any>) => void) => () => BPETokenizer.fromJSON(bad(patched(f)));
  runSync(() => [
    ['not an object', from('{}'), TypeError, /toroid.BPETokenizer.fromJSON: obj must be a BPE tokenizer JSON object, got "\{\}"/],
    ['null', from(null), TypeError, /obj must be a BPE tokenizer JSON object, got null/],
    ['wrong type', edit((j) => { j.type = 'tokenizers.BPE'; }), RangeError, /obj.type must be "toroid.BPETokenizer", got "tokenizers.BPE"/],
    ['wrong version', edit((j) => { j.version = 2; }), RangeError, /obj.version must be 1, got number 2/],
    ['options missing', edit((j) => { delete j.options; }), TypeError, /obj.options must be an object, got undefined/],
    ['options.lowercase a string', edit((j) => { j.options.lowercase = 'no'; }), TypeError, /obj.options.lowercase must be a boolean/],
    ['other normalization', edit((j) => { j.options.normalization = 'NFKC'; }), RangeError, /obj.options.normalization must be "NFC", got "NFKC"/],
    ['vocab an array', edit((j) => { j.vocab = []; }), TypeError, /obj.vocab must be an object token -> id, got array\(0\)/],
    ['vocab id a string', edit((j) => { j.vocab['a'] = '7'; }), TypeError, /obj.vocab\["a"\] must be a number \(token id\), got "7"/],
    ['vocab id repeated', edit((j) => { j.vocab['a'] = j.vocab['m']; }), RangeError, /must be an id no other token has/],
    ['vocab id out of range', edit((j) => { j.vocab['a'] = 1000; }), RangeError, /obj.vocab\["a"\] must be an id in \[0, \d+\)/],
    ['specials moved', edit((j) => { j.vocab['<pad>'] = 1; j.vocab['<bos>'] = 0; }), RangeError, /obj.vocab must be a vocabulary giving id 0 to special token "<pad>", got "<bos>" at id 0/],
    ['merges not an array', edit((j) => { j.merges = {}; }), TypeError, /obj.merges must be an array of \[left, right\] pairs, got Object/],
    ['a merge of three', edit((j) => { j.merges[0] = ['a', 'b', 'c']; }), TypeError, /obj.merges\[0\] must be a \[left, right\] pair of token strings, got array\(3\)/],
    ['a merge of unknown tokens', edit((j) => { j.merges.push(['q', 'z']); }), RangeError, /obj.merges\[\d+\] must be a pair whose tokens and concatenation are in the vocabulary/],
    ['a merge repeated', edit((j) => { j.merges.push(j.merges[0]); }), RangeError, /obj.merges\[\d+\] must be a pair not listed before/],
  ]);
});

describe('BPETokenizer.save / load', () => {
  runAsync(() => [
    ['save: path a number', () => tok.save(bad(5)), TypeError, /toroid.BPETokenizer.save: path must be a file path string, got number 5/],
    ['save: path empty', () => tok.save(''), RangeError, /toroid.BPETokenizer.save: path must be a non-empty file path, got ""/],
    ['save: path undefined', () => tok.save(bad(undefined)), TypeError, /path must be a file path string, got undefined/],
    ['save: path an object', () => tok.save(bad({ path: 'x' })), TypeError, /path must be a file path string, got Object/],
    ['save: path null', () => tok.save(bad(null)), TypeError, /path must be a file path string, got null/],
    ['load: path a number', () => BPETokenizer.load(bad(5)), TypeError, /toroid.BPETokenizer.load: path must be a file path string, got number 5/],
    ['load: path empty', () => BPETokenizer.load(''), RangeError, /toroid.BPETokenizer.load: path must be a non-empty file path, got ""/],
    ['load: path null', () => BPETokenizer.load(bad(null)), TypeError, /path must be a file path string, got null/],
    ['load: not JSON', () => { writeFileSync(join(dir, 'x.json'), 'not json'); return BPETokenizer.load(join(dir, 'x.json')); }, RangeError, /path must be a BPE tokenizer JSON file/],
    ['load: JSON of something else', () => { writeFileSync(join(dir, 'y.json'), '[1,2]'); return BPETokenizer.load(join(dir, 'y.json')); }, TypeError, /toroid.BPETokenizer.load: file must be a BPE tokenizer JSON object, got array\(2\)/],
    ['load: a bad vocabulary', () => { writeFileSync(join(dir, 'z.json'), JSON.stringify(patched((j) => { j.vocab['<unk>'] = 99; }))); return BPETokenizer.load(join(dir, 'z.json')); }, RangeError, /file.vocab\["<unk>"\] must be an id in/],
  ]);
  it('save into a missing folder and load of a missing file reject with the file system error', async () => {
    await expect(tok.save(join(dir, 'no', 'such', 'dir', 'bpe.json'))).rejects.toThrow(/ENOENT/);
    await expect(BPETokenizer.load(join(dir, 'absent.json'))).rejects.toThrow(/ENOENT/);
  });
});

describe('pretokenize / detokenize', () => {
  runSync(() => [
    ['pretokenize: text a number', () => pretokenize(bad(5)), TypeError, /toroid.tokenizer.pretokenize: text must be a string, got number 5/],
    ['pretokenize: text null', () => pretokenize(bad(null)), TypeError, /text must be a string, got null/],
    ['pretokenize: text an array', () => pretokenize(bad(['a'])), TypeError, /text must be a string, got array\(1\)/],
    ['pretokenize: options a string', () => pretokenize('a', bad('lower')), TypeError, /options must be an object, got "lower"/],
    ['pretokenize: options null', () => pretokenize('a', bad(null)), TypeError, /options must be an object, got null/],
    ['pretokenize: lowercase a number', () => pretokenize('a', bad({ lowercase: 1 })), TypeError, /options.lowercase must be a boolean, got number 1/],
    ['detokenize: a string', () => detokenize(bad('a b')), TypeError, /toroid.tokenizer.detokenize: words must be an array of strings, got "a b"/],
    ['detokenize: null', () => detokenize(bad(null)), TypeError, /words must be an array of strings, got null/],
    ['detokenize: a number inside', () => detokenize(bad(['a', 1])), TypeError, /words\[1\] must be a string, got number 1/],
    ['detokenize: undefined inside', () => detokenize(bad([undefined])), TypeError, /words\[0\] must be a string, got undefined/],
    ['detokenize: a typed array', () => detokenize(bad(Int32Array.of(1))), TypeError, /words must be an array of strings, got Int32Array\(1\)/],
  ]);
});
