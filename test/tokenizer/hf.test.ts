// HFTokenizer (src/tokenizer/hf/) against the Hugging Face `tokenizers` library's own Node
// binding on real tokenizer.json files (GPT-2 and LLaMA 3: byte-level BPE; LLaMA 2:
// SentencePiece-style BPE with byte fallback, shipped by the @lenml/tokenizer-* packages;
// BERT-style WordPiece files the library itself builds and saves in the test):
// identical ids, tokens, offsets, special-token masks and decoded text on a corpus of
// Unicode edge cases (combining marks, emoji and ZWJ sequences, CJK, RTL, lone surrogates,
// NUL, BOM, a 3,000-letter word, whitespace runs, special tokens inside text) and on 400
// seeded random strings per file. Then the file checks: every refusal names its field.
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HFTokenizer } from '../../src/tokenizer/hf/tokenizer.js';
import { thrown } from '../helpers/expect-error.js';

/** A TypeError or RangeError in toroid's format whose message matches. */
function refused(call: () => unknown, message: RegExp, fn = 'HFTokenizer.fromJSON'): void {
  const e = thrown(call) as Error;
  expect(e instanceof TypeError || e instanceof RangeError, String(e)).toBe(true);
  expect(e.message.startsWith(`toroid.${fn}: `), e.message).toBe(true);
  expect(e.message).toMatch(message);
}

const require = createRequire(import.meta.url);
const hf = require('tokenizers') as any;
const { Tokenizer } = hf as { Tokenizer: { fromFile(p: string): any } };
const fileOf = (name: string): string => require.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`);

const CORPUS = [
  'Hello world!', "I'll don't WE'RE you've it's rock'n'roll", '  leading and trailing  ', 'tabs\tand\nnewlines\r\n\n', 'a😀b 👨‍👩‍👧 family 🇩🇪',
  'e\u0301 café naïve Å', '日本語のテキスト、中文。한국어', 'x\uD800y\uDC00z', 'nul\u0000char', '\uFEFFbom first', 'x'.repeat(3000),
  'numbers 1234567890 3.14159 ١٢٣', '<|endoftext|> special <|endoftext|>', '<s> hi </s> <unk>', 'Ünïcödé   spaces\u3000ideographic\u00a0nbsp\u0085nel',
  'mixed123abc!!!???', '', ' ', '\n\n\n', 'Здравствуй мир', 'مرحبا بالعالم', '🎉🎉🎉', 'a\u200db', 'ﬁ ligature ＡＢＣ fullwidth',
  'http://example.com/path?x=1&y=2', '    indented code()\n\treturn x;', 'ŉ ǅ ẞ ß', '\u2028line\u2029para',
];
const POOL = ['abc', 'ABC', ' ', '  ', '\t', '\n', "'", "'s", '1', '23', '!', '?', '.', 'é', 'e\u0301', '日', '本', '😀', '👨‍👩‍👧', '\u0000', '\u3000',
  '\u00a0', '\u0085', '\uFEFF', 'Ω', 'ß', 'ﬁ', '<|endoftext|>', '<s>', '</s>', '<', '|', 'll', 've', 'Ġ', '▁', '\u2028', 'ä', 'ñ', '\uD83D'];

function randomTexts(seed: number, n: number): string[] {
  let s = seed;
  const rnd = (): number => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  return Array.from({ length: n }, () => Array.from({ length: Math.floor(rnd() * 30) }, () => POOL[Math.floor(rnd() * POOL.length)]).join(''));
}

/** ours against the library on every text: ids, offsets, special-token mask and decoded text. */
async function expectIdentical(ref: any, ours: HFTokenizer, texts: readonly string[], label: string): Promise<void> {
  for (const text of texts) {
    const e = await ref.encode(text);
    const m = ours.encode(text);
    const what = `${label} ${JSON.stringify(text.slice(0, 50))}`;
    expect(Array.from(m.ids), what).toEqual(e.getIds());
    expect(m.offsets, what).toEqual(e.getOffsets());
    expect(Array.from(m.specialTokensMask), what).toEqual(e.getSpecialTokensMask());
    expect(ours.decode(m.ids), `${what} decode`).toBe(await ref.decode(e.getIds(), true));
  }
}

/** Run body with a fresh temporary folder, removed afterwards. */
async function withTempDir(prefix: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('HFTokenizer: identical to the tokenizers library', { timeout: 120_000 }, () => {
  for (const name of ['gpt2', 'llama3', 'llama2']) {
    it(`${name}: ids, tokens, offsets, special-token mask and decoded text`, async () => {
      const ref = Tokenizer.fromFile(fileOf(name));
      const ours = await HFTokenizer.fromFile(fileOf(name));
      const texts = [...CORPUS, ...randomTexts(name.length * 7919, 400)];
      for (const text of texts) {
        for (const addSpecialTokens of [true, false]) {
          const e = await ref.encode(text, null, { addSpecialTokens });
          const m = ours.encode(text, { addSpecialTokens });
          const what = `${name} ${JSON.stringify(text.slice(0, 60))} addSpecialTokens=${addSpecialTokens}`;
          expect(Array.from(m.ids), what).toEqual(e.getIds());
          expect(m.tokens, what).toEqual(e.getTokens());
          expect(m.offsets, what).toEqual(e.getOffsets());
          expect(Array.from(m.specialTokensMask), what).toEqual(e.getSpecialTokensMask());
          expect(Array.from(m.attentionMask), what).toEqual(e.getAttentionMask());
          for (const skipSpecialTokens of [true, false]) {
            expect(ours.decode(m.ids, { skipSpecialTokens }), `${what} decode skip=${skipSpecialTokens}`).toBe(await ref.decode(e.getIds(), skipSpecialTokens));
          }
        }
      }
      // encodeBatch with padding: each row as encode, padded to the longest with mask 0
      const batch = ours.encodeBatch(['hello world', 'a', ''], { padId: 0 });
      expect(new Set(batch.map((b) => b.ids.length)).size).toBe(1);
      const alone = ours.encode('a');
      expect(Array.from(batch[1]!.ids.subarray(0, alone.ids.length))).toEqual(Array.from(alone.ids));
      expect(Array.from(batch[1]!.attentionMask)).toEqual([...Array(alone.ids.length).fill(1), ...Array(batch[1]!.ids.length - alone.ids.length).fill(0)]);
    });
  }

  it('WordPiece (BERT: BertNormalizer, BertPreTokenizer, BertProcessing, WordPiece decoder), built and saved by the library', async () => {
    // a WordPiece vocabulary from English sentences: the specials, every character alone and as ##c, the words and some ##suffixes
    const lines = [
      'Two young guys with shaggy hair look at their hands while hanging out in the yard.', 'Several men in hard hats are operating a giant pulley system.',
      'A little girl climbing into a wooden playhouse.', 'A man in a blue shirt is standing on a ladder cleaning windows.', 'Two men are at the stove preparing food.',
      'A man in green holds a guitar while the other man observes his shirt.', 'A man is smiling at a stuffed lion.', 'A trendy girl talking on her cellphone while gliding slowly down the street.',
      'A woman with a large purse is walking by a gate.', 'Boys dancing on poles in the middle of the night.', "The children's choir sings; it's loud!", 'People are fixing the roof of a house.',
      'A man wearing glasses, sitting in a café, reads a newspaper about naïve résumés.', 'Un homme très âgé marche dans la rue.', '日本語の文もある。',
    ];
    for (let i = 0; i < 200; i++) lines.push(`${lines[i % 15]!.split(' ').reverse().join(' ')} ${i}`);
    const counts = new Map<string, number>();
    for (const l of lines) for (const w of l.toLowerCase().split(/[^\p{L}\p{N}]+/u)) if (w) counts.set(w, (counts.get(w) ?? 0) + 1);
    const vocab: Record<string, number> = {};
    const add = (t: string): void => { if (!(t in vocab)) vocab[t] = Object.keys(vocab).length; };
    for (const t of ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']) add(t);
    for (const c of new Set(lines.join('').toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, ''))) { if (!/\s/.test(c)) { add(c); add(`##${c}`); } }
    for (const c of '.,!?\'"-:;()日本語') { add(c); add(`##${c}`); }
    for (const [w] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 60)) add(w);
    for (const suffix of ['ing', 's', 'ed', 'er', 'ly', 'ion', 'es']) add(`##${suffix}`);
    await withTempDir('toroid-bert-', async (dir) => {
      for (const lowercase of [true, false]) {
        const tok = new hf.Tokenizer(hf.WordPiece.init(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 20 }));
        tok.setNormalizer(hf.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase }));
        tok.setPreTokenizer(hf.bertPreTokenizer());
        tok.setPostProcessor(hf.bertProcessing(['[SEP]', vocab['[SEP]']], ['[CLS]', vocab['[CLS]']]));
        tok.setDecoder(hf.wordPieceDecoder('##', true));
        tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
        const file = path.join(dir, `bert-${lowercase}.json`);
        tok.save(file);
        const ref = Tokenizer.fromFile(file);
        const ours = await HFTokenizer.fromFile(file);
        const saved = JSON.parse(readFileSync(file, 'utf8'));
        expect([saved.model.type, saved.normalizer.type, saved.pre_tokenizer.type, saved.post_processor.type, saved.decoder.type]).toEqual(['WordPiece', 'BertNormalizer', 'BertPreTokenizer', 'BertProcessing', 'WordPiece']);
        // the vocabulary covers real words (not everything is [UNK]) and some words split into ## pieces
        const sample = ours.encode(lines[0]!);
        expect(sample.tokens.filter((t) => t === '[UNK]').length).toBeLessThan(sample.tokens.length / 4);
        const texts = [...CORPUS, ...lines.slice(0, 300), 'A man [MASK] a [SEP] dog.', "Don't do not it's", 'Ça ÉTÉ façade Über', 'x'.repeat(25), ...randomTexts(5, 300)];
        await expectIdentical(ref, ours, texts, `bert lowercase=${lowercase}`);
      }
    });
  });

  it('Metaspace (SentencePiece files without a normalizer: prepend_scheme always/first/never, split on and off), rewritten from the LLaMA 2 file', async () => {
    await withTempDir('toroid-metaspace-', async (dir) => {
      const base = JSON.parse(readFileSync(fileOf('llama2'), 'utf8'));
      for (const [scheme, split] of [['always', true], ['first', true], ['never', true], ['always', false]] as const) {
        const spec = { type: 'Metaspace', replacement: '▁', prepend_scheme: scheme, split };
        const file = path.join(dir, `${scheme}-${split}.json`);
        writeFileSync(file, JSON.stringify({ ...base, normalizer: null, pre_tokenizer: spec, decoder: { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Metaspace', replacement: '▁', prepend_scheme: scheme, split }] } }));
        const ref = Tokenizer.fromFile(file);
        const ours = await HFTokenizer.fromFile(file);
        await expectIdentical(ref, ours, [...CORPUS.filter((t) => t.length < 200), ...randomTexts(11, 150)], `metaspace ${scheme} split=${split}`);
      }
    });
  });

  it('Unigram (Viterbi over scored pieces, fused UNKs, byte fallback on and off), built and saved by the library from LLaMA 2\'s pieces', async () => {
    await withTempDir('toroid-unigram-', async (dir) => {
      const base = JSON.parse(readFileSync(fileOf('llama2'), 'utf8')) as { model: { vocab: Record<string, number> } };
      // scores: longer pieces a little better, with seeded noise, so segmentations are not just greedy
      let seed = 17;
      const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
      const pieces = Object.entries(base.model.vocab).sort((a, b) => a[1] - b[1]).map(([p]): [string, number] => [p, -8 + 0.7 * Array.from(p).length - 2 * rnd()]);
      for (const byteFallback of [true, false]) {
        // without byte fallback, drop the byte pieces and some letters so that UNKs (and their fusing) happen
        const kept = byteFallback ? pieces : pieces.filter(([p], i) => i < 3 || (!/^<0x/.test(p) && !/^[qxzé日😀]$/.test(p) && !/^▁?[qxz]/.test(p)));
        const tok = new hf.Tokenizer(hf.Unigram.init(kept, { unkId: 0, byteFallback }));
        tok.setPreTokenizer(hf.metaspacePreTokenizer('▁', 'always', true));
        tok.setDecoder(hf.sequenceDecoder([hf.byteFallbackDecoder(), hf.metaspaceDecoder('▁', 'always', true)]));
        const file = path.join(dir, `unigram-${byteFallback}.json`);
        tok.save(file);
        const ref = Tokenizer.fromFile(file);
        const ours = await HFTokenizer.fromFile(file);
        expect(JSON.parse(readFileSync(file, 'utf8')).model.type).toBe('Unigram');
        // the pruned vocabulary really leaves characters to UNK (fused), and the full one to byte pieces
        const probe = Array.from(ours.encode('quiz xyz ꙮ𓀀').ids);
        if (byteFallback) expect(probe.some((id) => id >= 3 && id < 3 + 256)).toBe(true);
        else expect(probe.includes(0)).toBe(true);
        await expectIdentical(ref, ours, [...CORPUS.filter((t) => t.length < 200), 'quiz xyz zebra quixotic', 'ꙮ𓀀 rare ꙮꙮ', ...randomTexts(23, 200)], `unigram byteFallback=${byteFallback}`);
      }
    });
  });

  it('save writes the tokenizer.json back: the reloaded tokenizer is the same', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'toroid-hf-'));
    try {
      const a = await HFTokenizer.fromFile(fileOf('gpt2'));
      await a.save(path.join(dir, 'tokenizer.json'));
      const b = await HFTokenizer.fromFile(path.join(dir, 'tokenizer.json'));
      const ref = Tokenizer.fromFile(path.join(dir, 'tokenizer.json'));
      for (const text of CORPUS.slice(0, 8)) {
        expect(Array.from(b.encode(text).ids)).toEqual(Array.from(a.encode(text).ids));
        expect(Array.from(b.encode(text).ids)).toEqual((await ref.encode(text)).getIds());
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('HFTokenizer: a hostile tokenizer.json is refused naming the field', () => {
  const base = (): Record<string, any> => ({
    version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true }, post_processor: null, decoder: { type: 'ByteLevel' },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'] },
  });
  it('a small valid file works', () => {
    const t = HFTokenizer.fromJSON(base());
    expect(Array.from(t.encode('abab').ids)).toEqual([2, 2]);
    expect(t.decode([2, 0])).toBe('aba');
  });
  const cases: Array<[string, (j: Record<string, any>) => void, RegExp]> = [
    ['model.type', (j) => { j.model.type = 'WordLevel'; }, /model\.type must be 'BPE', 'WordPiece' or 'Unigram'/],
    ['model.vocab (Unigram)', (j) => { j.model.type = 'Unigram'; j.model.vocab = [['a', 'x']]; }, /model\.vocab\[0\] must be a \[piece, finite score\] pair/],
    ['model.vocab', (j) => { j.model.vocab = [1, 2]; }, /model\.vocab must be an object/],
    ['model.vocab id', (j) => { j.model.vocab.a = -1; }, /model\.vocab\["a"\] must be an id in \[0, 2\^24\)/],
    ['model.merges', (j) => { j.model.merges = 'a b'; }, /model\.merges must be an array/],
    ['model.merges[0]', (j) => { j.model.merges = ['a b c']; }, /model\.merges\[0\] must be two tokens separated by one space/],
    ['model.merges[0] unknown', (j) => { j.model.merges = ['a z']; }, /model\.merges\[0\] must be a merge of two vocabulary tokens/],
    ['model.unk_token', (j) => { j.model.unk_token = '<unk>'; }, /model\.unk_token must be a token of the vocabulary/],
    ['model.dropout', (j) => { j.model.dropout = 0.1; }, /model\.dropout must be null/],
    ['normalizer.type', (j) => { j.normalizer = { type: 'Precompiled' }; }, /normalizer\.type must be a supported normalizer/],
    ['pre_tokenizer.type', (j) => { j.pre_tokenizer = { type: 'Digits' }; }, /pre_tokenizer\.type must be a supported pre-tokenizer/],
    ['pre_tokenizer regex', (j) => { j.pre_tokenizer = { type: 'Split', pattern: { Regex: '(' }, behavior: 'Isolated' }; }, /pre_tokenizer\.pattern must be a regular expression JavaScript can run/],
    ['pre_tokenizer.behavior', (j) => { j.pre_tokenizer = { type: 'Split', pattern: { String: ' ' }, behavior: 'Sideways' }; }, /pre_tokenizer\.behavior must be 'Removed'/],
    ['decoder.type', (j) => { j.decoder = { type: 'CTC' }; }, /decoder\.type must be a supported decoder/],
    ['added_tokens[0].id', (j) => { j.added_tokens = [{ id: 'x', content: '<x>' }]; }, /added_tokens\[0\]\.id must be an integer/],
    ['post_processor.type', (j) => { j.post_processor = { type: 'RobertaProcessing' }; }, /post_processor\.type must be 'TemplateProcessing', 'BertProcessing', 'ByteLevel' or null/],
    ['post_processor special', (j) => { j.post_processor = { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>' } }, { Sequence: { id: 'A' } }], special_tokens: {} }; }, /post_processor\.single must be special tokens listed in special_tokens/],
  ];
  for (const [what, mutate, message] of cases) {
    it(what, () => {
      const j = base();
      mutate(j);
      refused(() => HFTokenizer.fromJSON(j), message);
    });
  }
  it('decode refuses ids outside the vocabulary; encode refuses a non-string', () => {
    const t = HFTokenizer.fromJSON(base());
    refused(() => t.decode([7]), /ids\[0\] must be a token id of the vocabulary \(size 3\), got number 7/, 'HFTokenizer.decode');
    refused(() => t.encode(5 as unknown as string), /text must be a string, got/, 'HFTokenizer.encode');
  });
});
