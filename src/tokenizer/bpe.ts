// Byte-pair encoding (Sennrich et al. 2016, as in subword-nmt), character level.
//
// Words come from pretokenize (src/tokenizer/pretokenize.ts): NFC, optional
// lowercase, runs of letters/numbers/marks and single punctuation characters.
// A word starts as its characters, the last one carrying the end-of-word marker
// '</w>' ("low" -> l o w</w>), so a subword that ends a word differs from the
// same letters inside one, and decode knows where words end.
//
// Vocabulary, in id order: the special tokens (PAD=0, BOS=1, EOS=2, UNK=3, then
// any extra ones), '</w>' alone, then for every character of the alphabet (in
// code point order) the pair 'c', 'c</w>', then one token per merge in the
// order learned. The alphabet is every character seen in the corpus at least
// minFrequency times; rarer characters, and characters never seen, encode as
// UNK (a word whose last character is unknown encodes as ... UNK '</w>', so word
// boundaries survive).
//
// Training: count words (one table for all corpora: pass several corpora, or
// use trainShared, for a joint vocabulary), then repeatedly merge the most
// frequent adjacent pair of symbols until the vocabulary has vocabSize tokens
// or no pair occurs minFrequency times. Ties go to the pair whose left token is
// smallest, then whose right token is smallest, by JavaScript string order
// (UTF-16 code units): deterministic whatever the corpus order. Pair counts
// are kept exactly and updated incrementally: an index pair -> words that
// contain it finds the words a merge touches, only those words are rewritten,
// and a max-heap with lazy deletion (an entry is stale when its count no
// longer matches) yields the next pair. Words longer than maxWordLength
// characters (if set) take no part in learning merges (their characters still
// count for the alphabet). Pairs never span UNK.
//
// Encoding applies the merges to each word by rank (lowest rank first, every
// occurrence left to right; src/tokenizer/merge.ts), which reproduces the
// training segmentation, with a cache of word -> ids. Decoding concatenates subwords and ends a word at
// each '</w>'; words are joined by single spaces (or by detokenize's
// punctuation heuristic with { detokenize: true }). The original spacing is not
// recoverable: decode(encode(x)) === pretokenize(x).join(' ') for any x whose
// characters are all in the alphabet.
import { readFile } from 'node:fs/promises';
import { describeValue, rangeError, typeError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { checkBoolean, checkInteger, checkKnownKeys, checkPath, isPlainObject } from '../validate/checks.js';
import { resolveConfig, type Schema } from '../validate/schema.js';
import { applyMerges, PAIR_KEY } from './merge.js';
import { isWordRun, joinWords, splitWords } from './pretokenize.js';

/** The end-of-word marker appended to a word's last symbol. */
export const END_OF_WORD = '</w>';
/** Default special tokens; their ids are PAD=0, BOS=1, EOS=2, UNK=3. */
export const DEFAULT_SPECIAL_TOKENS: readonly string[] = Object.freeze(['<pad>', '<bos>', '<eos>', '<unk>']);

const PAD = 0;
const BOS = 1;
const EOS = 2;
const UNK = 3;
const KEY = PAIR_KEY; // pair key = left * KEY + right (ids < 2^24)
const MAX_VOCAB = 1 << 24;
const CACHE_LIMIT = 200_000;
const FORMAT = 'toroid.BPETokenizer';
const VERSION = 1;
const TRAIN_KEYS = ['vocabSize', 'minFrequency', 'specialTokens', 'lowercase', 'maxWordLength'];

export interface BPETrainOptions {
  /** Target vocabulary size, special tokens and the alphabet included (at most 2^24). */
  vocabSize: number;
  /** Least count of a character to enter the alphabet and of a pair to be merged (default 2). */
  minFrequency?: number;
  /** At least 4: the PAD, BOS, EOS and UNK tokens (ids 0-3), then any extra (ids 4...). */
  specialTokens?: readonly string[];
  /** Lowercase all text, in training and encoding (default false). */
  lowercase?: boolean;
  /** Words longer than this (in characters) are left out of merge learning (default: no limit). */
  maxWordLength?: number;
}

/** The options a tokenizer was trained with, as stored in its JSON. */
export interface BPEOptions {
  vocabSize: number;
  minFrequency: number;
  specialTokens: string[];
  lowercase: boolean;
  maxWordLength: number | null;
}

export interface BPEEncodeOptions {
  /** Prepend BOS (id 1). Default false. */
  addBos?: boolean;
  /** Append EOS (id 2). Default false. */
  addEos?: boolean;
}

export interface BPEDecodeOptions {
  /** Drop PAD, BOS, EOS and extra special tokens (default true). UNK always decodes as its token text. */
  skipSpecial?: boolean;
  /** Attach punctuation to its neighbours (tokenizer.detokenize) instead of single spaces everywhere (default false). */
  detokenize?: boolean;
}

export interface SpecialIds {
  pad: number;
  bos: number;
  eos: number;
  unk: number;
}

export interface BPETokenizerJSON {
  type: 'toroid.BPETokenizer';
  version: 1;
  options: BPEOptions & { normalization: 'NFC'; endOfWord: '</w>' };
  /** token -> id, ids 0..n-1 */
  vocab: Record<string, number>;
  /** merges in rank order: [left, right] */
  merges: [string, string][];
}

/** Lines of text: an array, any iterable, or an async iterable such as toroid.data.readLines(path). */
export type TextCorpus = Iterable<string> | AsyncIterable<string>;

const SPECIAL_IDS: SpecialIds = Object.freeze({ pad: PAD, bos: BOS, eos: EOS, unk: UNK });

export class BPETokenizer {
  private readonly tokens: string[];
  private readonly vocab: Map<string, number>;
  private readonly ranks: Map<number, number>;
  private readonly mergeResult: Int32Array;
  private readonly mergePairs: [string, string][];
  private readonly opts: BPEOptions;
  private readonly numSpecial: number;
  private readonly eowId: number;
  /** per id: the token's text without '</w>', and whether it ends a word */
  private readonly pieces: string[];
  private readonly endsWord: Uint8Array;
  private cache = new Map<string, Int32Array>();

  private constructor(tokens: string[], merges: [number, number, number][], opts: BPEOptions) {
    this.tokens = tokens;
    this.opts = opts;
    this.numSpecial = opts.specialTokens.length;
    this.vocab = new Map();
    for (let i = 0; i < tokens.length; i++) this.vocab.set(tokens[i]!, i);
    this.eowId = this.vocab.get(END_OF_WORD) ?? -1;
    this.ranks = new Map();
    this.mergeResult = new Int32Array(merges.length);
    this.mergePairs = [];
    for (let r = 0; r < merges.length; r++) {
      const [a, b, c] = merges[r]!;
      this.ranks.set(a * KEY + b, r);
      this.mergeResult[r] = c;
      this.mergePairs.push([tokens[a]!, tokens[b]!]);
    }
    this.pieces = new Array<string>(tokens.length);
    this.endsWord = new Uint8Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (i >= this.numSpecial && t.endsWith(END_OF_WORD)) {
        this.pieces[i] = t.slice(0, t.length - END_OF_WORD.length);
        this.endsWord[i] = 1;
      } else {
        this.pieces[i] = t;
      }
    }
  }

  // ---- training -------------------------------------------------------------

  /**
   * Learn a BPE vocabulary from lines of text. Several corpora (e.g. German and
   * English) give a joint vocabulary: see trainShared.
   */
  static async train(corpus: TextCorpus, options: BPETrainOptions): Promise<BPETokenizer> {
    const fn = 'BPETokenizer.train';
    const opts = parseTrainOptions(fn, options);
    checkCorpus(fn, 'corpus', corpus);
    const counts = new Map<string, number>();
    await countWords(fn, 'corpus', corpus, opts.lowercase, counts);
    return learn(fn, counts, opts);
  }

  /**
   * A joint vocabulary for several corpora (e.g. [German lines, English lines]):
   * the word counts of all of them go into one table, exactly as if train were
   * given their concatenation.
   */
  static async trainShared(corpora: readonly TextCorpus[], options: BPETrainOptions): Promise<BPETokenizer> {
    const fn = 'BPETokenizer.trainShared';
    const opts = parseTrainOptions(fn, options);
    if (!Array.isArray(corpora)) throw typeError(fn, 'corpora', 'an array of corpora (iterables of strings)', describeValue(corpora));
    if (corpora.length === 0) throw rangeError(fn, 'corpora', 'a non-empty array of corpora', 'array(0)');
    for (let k = 0; k < corpora.length; k++) checkCorpus(fn, `corpora[${k}]`, corpora[k]);
    const counts = new Map<string, number>();
    for (let k = 0; k < corpora.length; k++) await countWords(fn, `corpora[${k}]`, corpora[k]!, opts.lowercase, counts);
    return learn(fn, counts, opts);
  }

  // ---- encoding ---------------------------------------------------------------

  /** Token ids of `text` (never a special id, except UNK for unknown characters, and BOS/EOS when asked). */
  encode(text: string, options?: BPEEncodeOptions): Int32Array {
    const fn = 'BPETokenizer.encode';
    if (typeof text !== 'string') throw typeError(fn, 'text', 'a string', describeValue(text));
    const { addBos, addEos } = parseEncodeOptions(fn, options);
    return this.encodeText(text, addBos, addEos);
  }

  /** encode for each text. */
  encodeBatch(texts: readonly string[], options?: BPEEncodeOptions): Int32Array[] {
    const fn = 'BPETokenizer.encodeBatch';
    if (!Array.isArray(texts)) throw typeError(fn, 'texts', 'an array of strings', describeValue(texts));
    for (let i = 0; i < texts.length; i++) {
      if (typeof texts[i] !== 'string') throw typeError(fn, `texts[${i}]`, 'a string', describeValue(texts[i]));
    }
    const { addBos, addEos } = parseEncodeOptions(fn, options);
    const out: Int32Array[] = new Array(texts.length);
    for (let i = 0; i < texts.length; i++) out[i] = this.encodeText(texts[i]!, addBos, addEos);
    return out;
  }

  /** The subword strings of `text` ('</w>' marks word ends), for inspection. */
  tokenize(text: string): string[] {
    const fn = 'BPETokenizer.tokenize';
    if (typeof text !== 'string') throw typeError(fn, 'text', 'a string', describeValue(text));
    return Array.from(this.encodeText(text, false, false), (id) => this.tokens[id]!);
  }

  private encodeText(text: string, addBos: boolean, addEos: boolean): Int32Array {
    const words = splitWords(text, this.opts.lowercase);
    const parts: Int32Array[] = new Array(words.length);
    let total = (addBos ? 1 : 0) + (addEos ? 1 : 0);
    for (let i = 0; i < words.length; i++) {
      const ids = this.encodeWord(words[i]!);
      parts[i] = ids;
      total += ids.length;
    }
    const out = new Int32Array(total);
    let o = 0;
    if (addBos) out[o++] = BOS;
    for (const ids of parts) {
      for (let j = 0; j < ids.length; j++) out[o++] = ids[j]!;
    }
    if (addEos) out[o++] = EOS;
    return out;
  }

  private encodeWord(word: string): Int32Array {
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const chars = Array.from(word);
    const n = chars.length;
    const s: number[] = [];
    for (let i = 0; i < n - 1; i++) s.push(this.vocab.get(chars[i]!) ?? UNK);
    const last = this.vocab.get(chars[n - 1]! + END_OF_WORD);
    if (last !== undefined) {
      s.push(last);
    } else {
      s.push(this.vocab.get(chars[n - 1]!) ?? UNK);
      if (this.eowId >= 0) s.push(this.eowId);
    }
    const len = applyMerges(s, this.ranks, this.mergeResult);
    const ids = Int32Array.from(len === s.length ? s : s.slice(0, len));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  // ---- decoding ---------------------------------------------------------------

  /**
   * Text of token ids: subwords concatenated, a word ended by each '</w>',
   * words joined by single spaces (see BPEDecodeOptions).
   */
  decode(ids: ArrayLike<number>, options?: BPEDecodeOptions): string {
    const fn = 'BPETokenizer.decode';
    const { skipSpecial, detokenize } = parseDecodeOptions(fn, options);
    checkIds(fn, 'ids', ids, this.tokens.length);
    return this.decodeIds(ids, skipSpecial, detokenize);
  }

  /** decode for each id sequence. */
  decodeBatch(batch: readonly ArrayLike<number>[], options?: BPEDecodeOptions): string[] {
    const fn = 'BPETokenizer.decodeBatch';
    if (!Array.isArray(batch)) throw typeError(fn, 'batch', 'an array of token-id sequences', describeValue(batch));
    const { skipSpecial, detokenize } = parseDecodeOptions(fn, options);
    for (let i = 0; i < batch.length; i++) checkIds(fn, `batch[${i}]`, batch[i], this.tokens.length);
    return batch.map((ids) => this.decodeIds(ids, skipSpecial, detokenize));
  }

  private decodeIds(ids: ArrayLike<number>, skipSpecial: boolean, detokenize: boolean): string {
    const words: string[] = [];
    let cur = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id < this.numSpecial) {
        if (id === UNK) {
          cur += this.tokens[UNK]!;
          continue;
        }
        if (skipSpecial) continue;
        if (cur.length > 0) words.push(cur);
        cur = '';
        words.push(this.tokens[id]!);
      } else if (id === this.eowId) {
        if (cur.length > 0) words.push(cur);
        cur = '';
      } else {
        cur += this.pieces[id]!;
        if (this.endsWord[id] === 1) {
          words.push(cur);
          cur = '';
        }
      }
    }
    if (cur.length > 0) words.push(cur);
    return detokenize ? joinWords(words) : words.join(' ');
  }

  // ---- vocabulary -------------------------------------------------------------

  /** Number of tokens (special tokens included). */
  get vocabSize(): number {
    return this.tokens.length;
  }

  /** { pad: 0, bos: 1, eos: 2, unk: 3 } */
  get specialIds(): SpecialIds {
    return SPECIAL_IDS;
  }

  /** The special tokens, by id (the first four are PAD, BOS, EOS, UNK). */
  get specialTokens(): readonly string[] {
    return this.opts.specialTokens.slice();
  }

  /** The options it was trained with. */
  get options(): BPEOptions {
    return { ...this.opts, specialTokens: this.opts.specialTokens.slice() };
  }

  /** The merges in rank order. */
  get merges(): [string, string][] {
    return this.mergePairs.map(([l, r]) => [l, r]);
  }

  /** The token string of an id. */
  idToToken(id: number): string {
    const fn = 'BPETokenizer.idToToken';
    if (typeof id !== 'number') throw typeError(fn, 'id', 'a number', describeValue(id));
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) {
      throw rangeError(fn, 'id', `an integer in [0, ${this.tokens.length})`, String(id));
    }
    return this.tokens[id]!;
  }

  /** The id of a token string ('s', 's</w>', '<pad>', ...), or undefined when it is not in the vocabulary. */
  tokenToId(token: string): number | undefined {
    const fn = 'BPETokenizer.tokenToId';
    if (typeof token !== 'string') throw typeError(fn, 'token', 'a string', describeValue(token));
    return this.vocab.get(token);
  }

  // ---- serialization ----------------------------------------------------------

  toJSON(): BPETokenizerJSON {
    // null prototype: a token named '__proto__' is an entry like any other, not the prototype
    const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
    for (let i = 0; i < this.tokens.length; i++) vocab[this.tokens[i]!] = i;
    return {
      type: FORMAT,
      version: VERSION,
      options: { ...this.opts, specialTokens: this.opts.specialTokens.slice(), normalization: 'NFC', endOfWord: END_OF_WORD },
      vocab,
      merges: this.merges,
    };
  }

  static fromJSON(obj: BPETokenizerJSON): BPETokenizer {
    return fromJSONImpl('BPETokenizer.fromJSON', 'obj', obj);
  }

  /** Write the JSON form to `path` atomically (a temp file renamed over it). */
  async save(path: string): Promise<void> {
    const p = checkPath('BPETokenizer.save', 'path', path);
    await writeFileAtomic(p, [Buffer.from(JSON.stringify(this.toJSON()) + '\n', 'utf8')]);
  }

  static async load(path: string): Promise<BPETokenizer> {
    const fn = 'BPETokenizer.load';
    const p = checkPath(fn, 'path', path);
    const text = await readFile(p, 'utf8');
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (err) {
      throw rangeError(fn, 'path', 'a BPE tokenizer JSON file', `${JSON.stringify(p)} (${(err as Error).message})`);
    }
    return fromJSONImpl(fn, 'file', obj);
  }
}

// ---- argument parsing ------------------------------------------------------------

/** True when BPE could produce `t` as a subword, so a special token must differ from it. */
function isPossibleSubword(t: string): boolean {
  const s = t.endsWith(END_OF_WORD) ? t.slice(0, t.length - END_OF_WORD.length) : t;
  if (s.length === 0) return true;
  return Array.from(s).length === 1 || isWordRun(s);
}

function parseSpecialTokens(fn: string, arg: string, value: unknown): string[] {
  if (value === undefined) return DEFAULT_SPECIAL_TOKENS.slice();
  if (!Array.isArray(value)) throw typeError(fn, arg, 'an array of strings', describeValue(value));
  if (value.length < 4) throw rangeError(fn, arg, 'at least 4 tokens (PAD, BOS, EOS, UNK)', `array(${value.length})`);
  const seen = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    const t: unknown = value[i];
    if (typeof t !== 'string') throw typeError(fn, `${arg}[${i}]`, 'a string', describeValue(t));
    if (t.length === 0 || /\s/u.test(t) || isPossibleSubword(t)) {
      throw rangeError(fn, `${arg}[${i}]`, "a token no subword can equal (no whitespace, with punctuation and more than one character, e.g. '<pad>')", JSON.stringify(t));
    }
    if (seen.has(t)) throw rangeError(fn, `${arg}[${i}]`, 'a token not listed before', JSON.stringify(t));
    seen.add(t);
  }
  return value.slice() as string[];
}

function parseOptionFields(fn: string, prefix: string, o: Record<string, unknown>, fromJSON: boolean): BPEOptions {
  const specialTokens = parseSpecialTokens(fn, `${prefix}.specialTokens`, o.specialTokens);
  const vocabSize = checkInteger(fn, `${prefix}.vocabSize`, o.vocabSize, specialTokens.length + 1, MAX_VOCAB);
  const minFrequency = checkInteger(fn, `${prefix}.minFrequency`, o.minFrequency, 1, undefined, 2);
  const lowercase = checkBoolean(fn, `${prefix}.lowercase`, o.lowercase, false);
  let maxWordLength: number | null = null;
  if (o.maxWordLength !== undefined && !(fromJSON && o.maxWordLength === null)) {
    maxWordLength = checkInteger(fn, `${prefix}.maxWordLength`, o.maxWordLength, 1);
  }
  return { vocabSize, minFrequency, specialTokens, lowercase, maxWordLength };
}

function parseTrainOptions(fn: string, options: unknown): BPEOptions {
  if (!isPlainObject(options)) throw typeError(fn, 'options', 'an object with vocabSize', describeValue(options));
  checkKnownKeys(fn, 'options', options, TRAIN_KEYS);
  return parseOptionFields(fn, 'options', options, false);
}

const ENCODE_OPTIONS: Schema<{ addBos: boolean; addEos: boolean }> = {
  addBos: { check: checkBoolean, default: false },
  addEos: { check: checkBoolean, default: false },
};

const DECODE_OPTIONS: Schema<{ skipSpecial: boolean; detokenize: boolean }> = {
  skipSpecial: { check: checkBoolean, default: true },
  detokenize: { check: checkBoolean, default: false },
};

function parseEncodeOptions(fn: string, options: unknown): { addBos: boolean; addEos: boolean } {
  return resolveConfig(fn, 'options', options === undefined ? {} : options, ENCODE_OPTIONS);
}

function parseDecodeOptions(fn: string, options: unknown): { skipSpecial: boolean; detokenize: boolean } {
  return resolveConfig(fn, 'options', options === undefined ? {} : options, DECODE_OPTIONS);
}

function checkIds(fn: string, arg: string, ids: unknown, n: number): void {
  const ok = Array.isArray(ids) || (ArrayBuffer.isView(ids) && !(ids instanceof DataView));
  if (!ok) throw typeError(fn, arg, 'an array or typed array of token ids', describeValue(ids));
  const a = ids as ArrayLike<unknown>;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v !== 'number') throw typeError(fn, `${arg}[${i}]`, 'a number (token id)', describeValue(v));
    if (!Number.isInteger(v) || v < 0 || v >= n) throw rangeError(fn, `${arg}[${i}]`, `a token id in [0, ${n})`, String(v));
  }
}

function checkCorpus(fn: string, arg: string, corpus: unknown): void {
  const ok = typeof corpus === 'object' && corpus !== null && (Symbol.iterator in corpus || Symbol.asyncIterator in corpus);
  if (!ok) throw typeError(fn, arg, 'an iterable or async iterable of strings (lines)', describeValue(corpus));
}

async function countWords(fn: string, arg: string, corpus: TextCorpus, lowercase: boolean, counts: Map<string, number>): Promise<void> {
  let i = 0;
  const add = (line: unknown): void => {
    if (typeof line !== 'string') throw typeError(fn, `${arg}[${i}]`, 'a string', describeValue(line));
    i++;
    const words = splitWords(line, lowercase);
    for (let k = 0; k < words.length; k++) {
      const w = words[k]!;
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  };
  if (Symbol.asyncIterator in corpus) {
    for await (const line of corpus as AsyncIterable<unknown>) add(line);
  } else {
    for (const line of corpus as Iterable<unknown>) add(line);
  }
}

// ---- learning ----------------------------------------------------------------------

/** A binary max-heap of (count, pair key), ordered by count then by the pair's token strings. */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];
  constructor(private readonly tokens: string[]) {}

  get size(): number {
    return this.counts.length;
  }

  /** true when entry (c1, k1) comes out before (c2, k2) */
  private above(c1: number, k1: number, c2: number, k2: number): boolean {
    if (c1 !== c2) return c1 > c2;
    const a1 = Math.floor(k1 / KEY);
    const a2 = Math.floor(k2 / KEY);
    if (a1 !== a2) return this.tokens[a1]! < this.tokens[a2]!;
    return this.tokens[k1 - a1 * KEY]! < this.tokens[k2 - a2 * KEY]!;
  }

  push(count: number, key: number): void {
    const cs = this.counts;
    const ks = this.keys;
    let i = cs.length;
    cs.push(count);
    ks.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(count, key, cs[p]!, ks[p]!)) break;
      cs[i] = cs[p]!;
      ks[i] = ks[p]!;
      i = p;
    }
    cs[i] = count;
    ks[i] = key;
  }

  /** Remove the top; returns [count, key]. */
  pop(): [number, number] {
    const cs = this.counts;
    const ks = this.keys;
    const top: [number, number] = [cs[0]!, ks[0]!];
    const c = cs.pop()!;
    const k = ks.pop()!;
    const n = cs.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const m = r < n && this.above(cs[r]!, ks[r]!, cs[l]!, ks[l]!) ? r : l;
        if (!this.above(cs[m]!, ks[m]!, c, k)) break;
        cs[i] = cs[m]!;
        ks[i] = ks[m]!;
        i = m;
      }
      cs[i] = c;
      ks[i] = k;
    }
    return top;
  }
}

function compareCodePoints(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}

function learn(fn: string, counts: Map<string, number>, opts: BPEOptions): BPETokenizer {
  // the alphabet: characters seen at least minFrequency times
  const charCount = new Map<string, number>();
  for (const [w, f] of counts) {
    for (const ch of w) charCount.set(ch, (charCount.get(ch) ?? 0) + f);
  }
  const alphabet: string[] = [];
  for (const [ch, f] of charCount) if (f >= opts.minFrequency) alphabet.push(ch);
  alphabet.sort(compareCodePoints);

  const tokens: string[] = [...opts.specialTokens, END_OF_WORD];
  for (const ch of alphabet) tokens.push(ch, ch + END_OF_WORD);
  if (tokens.length > opts.vocabSize) {
    throw rangeError(fn, 'options.vocabSize', `at least ${tokens.length} for this corpus (${opts.specialTokens.length} special tokens, '</w>' and 2 tokens for each of ${alphabet.length} characters; raise minFrequency for a smaller alphabet)`, String(opts.vocabSize));
  }
  const vocab = new Map<string, number>();
  for (let i = 0; i < tokens.length; i++) vocab.set(tokens[i]!, i);

  // words as symbol ids, with their counts; single symbols have no pairs
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [w, f] of counts) {
    const chars = Array.from(w);
    const n = chars.length;
    if (n < 2 || (opts.maxWordLength !== null && n > opts.maxWordLength)) continue;
    const s: number[] = new Array(n);
    for (let i = 0; i < n - 1; i++) s[i] = vocab.get(chars[i]!) ?? UNK;
    s[n - 1] = vocab.get(chars[n - 1]! + END_OF_WORD) ?? UNK;
    words.push(s);
    freqs.push(f);
  }

  // pair counts and the index pair -> words (may list a word twice or after it lost the pair)
  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let w = 0; w < words.length; w++) {
    const s = words[w]!;
    const f = freqs[w]!;
    for (let i = 0; i + 1 < s.length; i++) {
      const x = s[i]!;
      const y = s[i + 1]!;
      if (x === UNK || y === UNK) continue;
      const k = x * KEY + y;
      pairCount.set(k, (pairCount.get(k) ?? 0) + f);
      let list = where.get(k);
      if (list === undefined) where.set(k, (list = []));
      if (list[list.length - 1] !== w) list.push(w);
    }
  }
  const heap = new PairHeap(tokens);
  for (const [k, c] of pairCount) heap.push(c, k);

  const merges: [number, number, number][] = [];
  const stamp = new Int32Array(words.length).fill(-1);
  const delta = new Map<number, number>();
  while (tokens.length < opts.vocabSize && heap.size > 0) {
    const [count, key] = heap.pop();
    if (pairCount.get(key) !== count) continue; // stale entry
    if (count < opts.minFrequency) break;
    const a = Math.floor(key / KEY);
    const b = key - a * KEY;
    const text = tokens[a]! + tokens[b]!;
    let c = vocab.get(text);
    if (c === undefined) {
      c = tokens.length;
      tokens.push(text);
      vocab.set(text, c);
    }
    const step = merges.length;
    merges.push([a, b, c]);
    const list = where.get(key) ?? [];
    where.delete(key);
    pairCount.delete(key);
    delta.clear();
    for (let li = 0; li < list.length; li++) {
      const w = list[li]!;
      if (stamp[w] === step) continue;
      stamp[w] = step;
      const s = words[w]!;
      const n = s.length;
      let found = false;
      for (let i = 0; i + 1 < n; i++) {
        if (s[i] === a && s[i + 1] === b) {
          found = true;
          break;
        }
      }
      if (!found) continue;
      const f = freqs[w]!;
      for (let i = 0; i + 1 < n; i++) {
        const x = s[i]!;
        const y = s[i + 1]!;
        if (x === UNK || y === UNK) continue;
        const k = x * KEY + y;
        if (k !== key) delta.set(k, (delta.get(k) ?? 0) - f);
      }
      const out: number[] = [];
      for (let i = 0; i < n;) {
        if (i + 1 < n && s[i] === a && s[i + 1] === b) {
          out.push(c);
          i += 2;
        } else {
          out.push(s[i]!);
          i++;
        }
      }
      for (let i = 0; i + 1 < out.length; i++) {
        const x = out[i]!;
        const y = out[i + 1]!;
        if (x === UNK || y === UNK) continue;
        const k = x * KEY + y;
        delta.set(k, (delta.get(k) ?? 0) + f);
        if (x === c || y === c) {
          let l2 = where.get(k);
          if (l2 === undefined) where.set(k, (l2 = []));
          if (l2[l2.length - 1] !== w) l2.push(w);
        }
      }
      words[w] = out;
    }
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const nc = (pairCount.get(k) ?? 0) + d;
      if (nc > 0) {
        pairCount.set(k, nc);
        heap.push(nc, k);
      } else {
        pairCount.delete(k);
        where.delete(k);
      }
    }
  }
  return makeTokenizer(tokens, merges, opts);
}

// The constructor is private; these two paths build tokenizers through it.
function makeTokenizer(tokens: string[], merges: [number, number, number][], opts: BPEOptions): BPETokenizer {
  const Ctor = BPETokenizer as unknown as new (t: string[], m: [number, number, number][], o: BPEOptions) => BPETokenizer;
  return new Ctor(tokens, merges, opts);
}

function fromJSONImpl(fn: string, root: string, obj: unknown): BPETokenizer {
  if (!isPlainObject(obj)) throw typeError(fn, root, 'a BPE tokenizer JSON object', describeValue(obj));
  if (obj.type !== FORMAT) throw rangeError(fn, `${root}.type`, JSON.stringify(FORMAT), describeValue(obj.type));
  if (obj.version !== VERSION) throw rangeError(fn, `${root}.version`, String(VERSION), describeValue(obj.version));
  if (!isPlainObject(obj.options)) throw typeError(fn, `${root}.options`, 'an object', describeValue(obj.options));
  const o = obj.options;
  if (o.normalization !== undefined && o.normalization !== 'NFC') throw rangeError(fn, `${root}.options.normalization`, '"NFC"', describeValue(o.normalization));
  if (o.endOfWord !== undefined && o.endOfWord !== END_OF_WORD) throw rangeError(fn, `${root}.options.endOfWord`, JSON.stringify(END_OF_WORD), describeValue(o.endOfWord));
  const opts = parseOptionFields(fn, `${root}.options`, o, true);

  if (!isPlainObject(obj.vocab)) throw typeError(fn, `${root}.vocab`, 'an object token -> id', describeValue(obj.vocab));
  const entries = Object.entries(obj.vocab);
  const n = entries.length;
  if (n > MAX_VOCAB) throw rangeError(fn, `${root}.vocab`, `at most ${MAX_VOCAB} tokens`, String(n));
  const tokens: string[] = new Array(n);
  for (const [t, id] of entries) {
    const arg = `${root}.vocab[${JSON.stringify(t)}]`;
    if (typeof id !== 'number') throw typeError(fn, arg, 'a number (token id)', describeValue(id));
    if (!Number.isInteger(id) || id < 0 || id >= n) throw rangeError(fn, arg, `an id in [0, ${n}) (ids are 0..size-1)`, String(id));
    if (tokens[id] !== undefined) throw rangeError(fn, arg, `an id no other token has (${JSON.stringify(tokens[id])} has it)`, String(id));
    if (t.length === 0) throw rangeError(fn, `${root}.vocab`, 'an object without an empty token', '""');
    tokens[id] = t;
  }
  for (let i = 0; i < opts.specialTokens.length; i++) {
    if (tokens[i] !== opts.specialTokens[i]) {
      throw rangeError(fn, `${root}.vocab`, `a vocabulary giving id ${i} to special token ${JSON.stringify(opts.specialTokens[i])}`, `${JSON.stringify(tokens[i])} at id ${i}`);
    }
  }
  const vocab = new Map<string, number>();
  for (let i = 0; i < n; i++) vocab.set(tokens[i]!, i);

  if (!Array.isArray(obj.merges)) throw typeError(fn, `${root}.merges`, 'an array of [left, right] pairs', describeValue(obj.merges));
  const merges: [number, number, number][] = [];
  const seen = new Set<number>();
  const firstMergeable = opts.specialTokens.length;
  const eow = vocab.get(END_OF_WORD);
  for (let r = 0; r < obj.merges.length; r++) {
    const arg = `${root}.merges[${r}]`;
    const m: unknown = obj.merges[r];
    if (!Array.isArray(m) || m.length !== 2 || typeof m[0] !== 'string' || typeof m[1] !== 'string') {
      throw typeError(fn, arg, 'a [left, right] pair of token strings', describeValue(m));
    }
    const a = vocab.get(m[0]);
    const b = vocab.get(m[1]);
    const c = vocab.get(m[0] + m[1]);
    if (a === undefined || b === undefined || c === undefined) {
      throw rangeError(fn, arg, 'a pair whose tokens and concatenation are in the vocabulary', JSON.stringify(m));
    }
    if (a < firstMergeable || b < firstMergeable || a === eow || b === eow) {
      throw rangeError(fn, arg, "a pair of subwords (not special tokens or a lone '</w>')", JSON.stringify(m));
    }
    const k = a * KEY + b;
    if (seen.has(k)) throw rangeError(fn, arg, 'a pair not listed before', JSON.stringify(m));
    seen.add(k);
    merges.push([a, b, c]);
  }
  return makeTokenizer(tokens, merges, opts);
}
