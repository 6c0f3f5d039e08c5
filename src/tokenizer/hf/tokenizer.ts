// toroid.tokenizer.HFTokenizer: a Hugging Face tokenizer.json (the `tokenizers` format)
// encoded and decoded exactly as the `tokenizers` library does, for BPE models (byte-level:
// GPT-2, LLaMA 3, Qwen; SentencePiece style with byte fallback: LLaMA 2, Gemma), WordPiece
// (BERT) and Unigram (T5-style). The pipeline: added tokens are split out of the raw text first (longest match,
// lstrip/rstrip/single_word), the rest is normalized, pre-tokenized into words and each word
// BPE-merged; a post-processor adds the template's special tokens; offsets are code points
// into the input. The file is checked as untrusted input: every error names the field.
import { readFile } from 'node:fs/promises';
import { describeValue, rangeError, typeError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { BPEModel } from './bpe-model.js';
import { UnigramModel } from './unigram-model.js';
import { WordPieceModel } from './wordpiece-model.js';
import { buildDecoder, type Decoder } from './decoders.js';
import { buildNormalizer, type Normalizer } from './normalizers.js';
import { buildPreTokenizer, toByteLevel, type PreTokenizer } from './pretokenizers.js';
import { compilePattern, GPT2_PATTERN } from './regex.js';
import { pieceOf, slice, spanOf, wellFormed, type Piece } from './text.js';

type Json = Record<string, unknown>;

export interface HFEncodeOptions {
  /** Add the post-processor's special tokens (<s>, <bos>...): default true, as the library. */
  addSpecialTokens?: boolean;
}

export interface HFEncoding {
  ids: Int32Array;
  tokens: string[];
  /** Per token: [start, end) in the input, in code points. */
  offsets: Array<[number, number]>;
  /** 1 per token (0 for padding added by encodeBatch). */
  attentionMask: Uint8Array;
  /** 1 for the tokens the post-processor added (as the library: added tokens found in the text are 0). */
  specialTokensMask: Uint8Array;
}

export interface HFDecodeOptions {
  /** Leave out special added tokens (default true). */
  skipSpecialTokens?: boolean;
}

interface AddedToken { id: number; content: string; special: boolean; lstrip: boolean; rstrip: boolean; singleWord: boolean; normalized: boolean }

type TemplatePart = { special: string } | { sequence: 'A' | 'B' };

const MAX_FILE_BYTES = 512 * 1024 * 1024;
const WORD_CACHE = 200_000;

function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { n--; i++; }
    }
  }
  return n;
}

/** A normalizer made only of Prepend and one-character String Replace steps, as those steps; else null. */
function sentencePieceSteps(spec: unknown): Array<{ prepend: string[] } | { from: string; to: string }> | null {
  const s = spec as Json | null;
  if (s === null || typeof s !== 'object') return null;
  const list = s.type === 'Sequence' && Array.isArray(s.normalizers) ? (s.normalizers as Json[]) : [s];
  const steps: Array<{ prepend: string[] } | { from: string; to: string }> = [];
  for (const n of list) {
    if (n?.type === 'Prepend' && typeof n.prepend === 'string') { steps.push({ prepend: Array.from(n.prepend) }); continue; }
    const from = (n?.pattern as Json | undefined)?.String;
    if (n?.type === 'Replace' && typeof from === 'string' && typeof n.content === 'string' && Array.from(from).length === 1 && Array.from(n.content).length === 1) {
      steps.push({ from, to: n.content });
      continue;
    }
    return null;
  }
  return steps;
}

/** The split regex when a pre-tokenizer is one regex split (Isolated) followed by byte-level without its own split, or GPT-2's ByteLevel; else null. */
function byteLevelSplit(fn: string, spec: unknown): RegExp | null {
  const s = spec as Json | null;
  if (s === null || typeof s !== 'object') return null;
  if (s.type === 'ByteLevel' && s.add_prefix_space !== true && s.use_regex !== false) return compilePattern(fn, 'pre_tokenizer', GPT2_PATTERN);
  if (s.type !== 'Sequence' || !Array.isArray(s.pretokenizers) || s.pretokenizers.length !== 2) return null;
  const [a, b] = s.pretokenizers as Json[];
  if (a?.type !== 'Split' || a.behavior !== 'Isolated' || a.invert === true || typeof (a.pattern as Json | undefined)?.Regex !== 'string') return null;
  if (b?.type !== 'ByteLevel' || b.add_prefix_space === true || b.use_regex !== false) return null;
  return compilePattern(fn, 'pre_tokenizer.pretokenizers[0].pattern', (a.pattern as Json).Regex as string);
}

function obj(fn: string, arg: string, v: unknown): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw typeError(fn, arg, 'an object', describeValue(v));
  return v as Json;
}

function parseAdded(fn: string, list: unknown): AddedToken[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw typeError(fn, 'added_tokens', 'an array', describeValue(list));
  return list.map((t, i) => {
    const o = obj(fn, `added_tokens[${i}]`, t);
    if (!Number.isInteger(o.id) || (o.id as number) < 0 || (o.id as number) >= 1 << 24) throw rangeError(fn, `added_tokens[${i}].id`, 'an integer in [0, 2^24)', describeValue(o.id));
    if (typeof o.content !== 'string' || o.content.length === 0) throw rangeError(fn, `added_tokens[${i}].content`, 'a non-empty string', describeValue(o.content));
    return { id: o.id as number, content: o.content, special: o.special === true, lstrip: o.lstrip === true, rstrip: o.rstrip === true, singleWord: o.single_word === true, normalized: o.normalized !== false && o.special !== true };
  });
}

function parseMerges(fn: string, merges: unknown): Array<[string, string]> {
  if (!Array.isArray(merges)) throw typeError(fn, 'model.merges', 'an array of merges ("a b" or ["a", "b"])', describeValue(merges));
  return merges.map((m, i) => {
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length !== 2) throw rangeError(fn, `model.merges[${i}]`, 'two tokens separated by one space', JSON.stringify(m));
      return [parts[0]!, parts[1]!];
    }
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
    throw rangeError(fn, `model.merges[${i}]`, 'a merge "a b" or ["a", "b"]', describeValue(m));
  });
}

function parseTemplate(fn: string, spec: unknown): { single: TemplatePart[]; specials: Map<string, number[]> } | null {
  if (spec === null || spec === undefined) return null;
  const s = obj(fn, 'post_processor', spec);
  if (s.type === 'ByteLevel') return null;  // offsets only (trim_offsets); the ids are unchanged
  if (s.type === 'BertProcessing') {
    // [CLS] A [SEP]
    const pair = (k: 'cls' | 'sep'): [string, number] => {
      const v = s[k];
      if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || !Number.isInteger(v[1]) || (v[1] as number) < 0) throw typeError(fn, `post_processor.${k}`, '[token, id]', describeValue(v));
      return [v[0], v[1] as number];
    };
    const [cls, clsId] = pair('cls'), [sep, sepId] = pair('sep');
    return { single: [{ special: cls }, { sequence: 'A' }, { special: sep }], specials: new Map([[cls, [clsId]], [sep, [sepId]]]) };
  }
  if (s.type !== 'TemplateProcessing') throw rangeError(fn, 'post_processor.type', "'TemplateProcessing', 'BertProcessing', 'ByteLevel' or null", describeValue(s.type));
  if (!Array.isArray(s.single)) throw typeError(fn, 'post_processor.single', 'an array', describeValue(s.single));
  const single = s.single.map((p, i): TemplatePart => {
    const o = obj(fn, `post_processor.single[${i}]`, p);
    if (o.SpecialToken !== undefined) {
      const t = obj(fn, `post_processor.single[${i}].SpecialToken`, o.SpecialToken);
      if (typeof t.id !== 'string') throw typeError(fn, `post_processor.single[${i}].SpecialToken.id`, 'a string', describeValue(t.id));
      return { special: t.id };
    }
    const q = obj(fn, `post_processor.single[${i}].Sequence`, o.Sequence);
    if (q.id !== 'A' && q.id !== 'B') throw rangeError(fn, `post_processor.single[${i}].Sequence.id`, "'A' or 'B'", describeValue(q.id));
    return { sequence: q.id };
  });
  const specials = new Map<string, number[]>();
  for (const [name, v] of Object.entries(obj(fn, 'post_processor.special_tokens', s.special_tokens ?? {}))) {
    const o = obj(fn, `post_processor.special_tokens.${name}`, v);
    if (!Array.isArray(o.ids) || !o.ids.every((x) => Number.isInteger(x) && x >= 0)) throw typeError(fn, `post_processor.special_tokens.${name}.ids`, 'an array of token ids', describeValue(o.ids));
    specials.set(name, o.ids as number[]);
  }
  for (const p of single) if ('special' in p && !specials.has(p.special)) throw rangeError(fn, 'post_processor.single', `special tokens listed in special_tokens`, JSON.stringify(p.special));
  return { single, specials };
}

export class HFTokenizer {
  private readonly json: Json;
  private readonly model: BPEModel | WordPieceModel | UnigramModel;
  private readonly normalizer: Normalizer | null;
  private readonly preTokenizer: PreTokenizer | null;
  private readonly decoder: Decoder | null;
  private readonly added: AddedToken[];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly addedRaw: RegExp | null;
  private readonly addedNormalized: RegExp | null;
  private readonly template: ReturnType<typeof parseTemplate>;
  private readonly idToToken: string[];
  /** No normalizer and "one regex split, then byte-level" (GPT-2, LLaMA 3): words straight from the text, their tokens cached. */
  private readonly fastSplit: RegExp | null;
  private readonly wordCache = new Map<string, { ids: Int32Array; starts: Int32Array; ends: Int32Array }>();
  /** SentencePiece style (LLaMA 2, Gemma): no pre-tokenizer, a normalizer of Prepend and one-character Replace steps, applied to the chars directly. */
  private readonly spSteps: Array<{ prepend: string[] } | { from: string; to: string }> | null;

  private constructor(json: Json) {
    const fn = 'HFTokenizer.fromJSON';
    this.json = json;
    const model = obj(fn, 'model', json.model);
    if (model.type !== 'BPE' && model.type !== 'WordPiece' && model.type !== 'Unigram') throw rangeError(fn, 'model.type', "'BPE', 'WordPiece' or 'Unigram'", describeValue(model.type));
    let unigram: UnigramModel | null = null;
    if (model.type === 'Unigram') {
      if (!Array.isArray(model.vocab)) throw typeError(fn, 'model.vocab', 'an array of [piece, score]', describeValue(model.vocab));
      const pieces = model.vocab.map((e, i): [string, number] => {
        if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !Number.isFinite(e[1])) throw rangeError(fn, `model.vocab[${i}]`, 'a [piece, finite score] pair', describeValue(e));
        return [e[0], e[1]];
      });
      const unk = model.unk_id ?? null;
      if (unk !== null && !Number.isInteger(unk)) throw typeError(fn, 'model.unk_id', 'an integer or null', describeValue(unk));
      unigram = new UnigramModel(pieces, unk as number | null, model.byte_fallback === true, fn);
    }
    const vocabObj = model.type === 'Unigram' ? {} : obj(fn, 'model.vocab', model.vocab);
    const vocab = new Map<string, number>();
    for (const [t, id] of Object.entries(vocabObj)) {
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= 1 << 24) throw rangeError(fn, `model.vocab[${JSON.stringify(t)}]`, 'an id in [0, 2^24)', describeValue(id));
      vocab.set(t, id as number);
    }
    const nullableString = (k: string): string | null => {
      const v = model[k];
      if (v === null || v === undefined) return null;
      if (typeof v !== 'string') throw typeError(fn, `model.${k}`, 'a string or null', describeValue(v));
      return v;
    };
    if (unigram !== null) {
      this.model = unigram;
    } else if (model.type === 'WordPiece') {
      const max = model.max_input_chars_per_word ?? 100;
      if (!Number.isInteger(max) || (max as number) < 1) throw rangeError(fn, 'model.max_input_chars_per_word', 'a positive integer', describeValue(max));
      this.model = new WordPieceModel(vocab, nullableString('unk_token') ?? '[UNK]', nullableString('continuing_subword_prefix') ?? '##', max as number, fn);
    } else {
      if (model.dropout !== null && model.dropout !== undefined && model.dropout !== 0) throw rangeError(fn, 'model.dropout', 'null (BPE dropout is for training)', describeValue(model.dropout));
      this.model = new BPEModel({
        vocab, merges: parseMerges(fn, model.merges), unkToken: nullableString('unk_token'),
        continuingSubwordPrefix: nullableString('continuing_subword_prefix'), endOfWordSuffix: nullableString('end_of_word_suffix'),
        fuseUnk: model.fuse_unk === true, byteFallback: model.byte_fallback === true, ignoreMerges: model.ignore_merges === true,
      }, fn);
    }
    this.normalizer = buildNormalizer(fn, 'normalizer', json.normalizer);
    this.preTokenizer = buildPreTokenizer(fn, 'pre_tokenizer', json.pre_tokenizer);
    this.decoder = buildDecoder(fn, 'decoder', json.decoder);
    this.template = parseTemplate(fn, json.post_processor);
    this.added = parseAdded(fn, json.added_tokens);
    this.idToToken = [...this.model.tokens];
    for (const t of this.added) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      this.idToToken[t.id] = t.content;
    }
    const alternation = (list: AddedToken[]): RegExp | null => {
      if (list.length === 0) return null;
      // longest first: JavaScript alternation takes the first alternative that matches (leftmost-longest then)
      const sorted = [...list].sort((a, b) => b.content.length - a.content.length);
      return new RegExp(sorted.map((t) => t.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gu');
    };
    this.addedRaw = alternation(this.added.filter((t) => !t.normalized));
    this.addedNormalized = alternation(this.added.filter((t) => t.normalized));
    this.fastSplit = json.normalizer == null && this.addedNormalized === null ? byteLevelSplit(fn, json.pre_tokenizer) : null;
    this.spSteps = json.pre_tokenizer == null && this.addedNormalized === null ? sentencePieceSteps(json.normalizer) : null;
  }

  /** One text part (no added tokens in it) the SentencePiece way: normalized char by char, then one word. */
  private encodeSentencePiece(text: string, base: number, push: (id: number, span: [number, number], special: boolean) => void): void {
    let chars = Array.from(text);
    if (chars.length === 0) return;
    let prefix = 0;  // chars prepended: they take the first char's offsets
    for (const step of this.spSteps!) {
      if ('prepend' in step) { chars = [...step.prepend, ...chars]; prefix += step.prepend.length; }
      else for (let i = 0; i < chars.length; i++) if (chars[i] === step.from) chars[i] = step.to;
    }
    const at = (k: number): number => base + Math.max(0, k - prefix);
    for (const t of this.model.tokenize(chars)) push(t.id, [at(t.start), at(t.end - 1) + 1], false);
  }

  /** A word's tokens (ids and code point spans relative to the word), cached by its text. */
  private wordTokens(word: string): { ids: Int32Array; starts: Int32Array; ends: Int32Array } {
    const hit = this.wordCache.get(word);
    if (hit !== undefined) return hit;
    const w = toByteLevel(pieceOf(word));
    const toks = this.model.tokenize(w.chars);
    const out = {
      ids: Int32Array.from(toks, (t) => t.id),
      starts: Int32Array.from(toks, (t) => w.origin[t.start]![0]),
      ends: Int32Array.from(toks, (t) => w.origin[t.end - 1]![1]),
    };
    if (this.wordCache.size >= WORD_CACHE) this.wordCache.clear();
    if (word.length <= 256) this.wordCache.set(word, out);
    return out;
  }

  /** The fast path's tokens of a text with no added tokens in it, `base` its first code point's offset. */
  private encodeWords(text: string, base: number, push: (id: number, span: [number, number], special: boolean) => void): void {
    const re = this.fastSplit!;
    re.lastIndex = 0;
    let unit = 0, cp = base;
    const emit = (word: string): void => {
      const t = this.wordTokens(word);
      for (let i = 0; i < t.ids.length; i++) push(t.ids[i]!, [cp + t.starts[i]!, cp + t.ends[i]!], false);
      cp += codePoints(word);
    };
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0].length === 0) { re.lastIndex++; continue; }
      if (m.index > unit) emit(text.slice(unit, m.index));
      emit(m[0]);
      unit = m.index + m[0].length;
    }
    if (unit < text.length) emit(text.slice(unit));
  }

  /** A tokenizer from a parsed tokenizer.json. */
  static fromJSON(json: unknown): HFTokenizer {
    return new HFTokenizer(obj('HFTokenizer.fromJSON', 'json', json));
  }

  /** A tokenizer from a tokenizer.json file. */
  static async fromFile(path: string): Promise<HFTokenizer> {
    const fn = 'HFTokenizer.fromFile';
    if (typeof path !== 'string') throw typeError(fn, 'path', 'a string', describeValue(path));
    const bytes = await readFile(path);
    if (bytes.length > MAX_FILE_BYTES) throw rangeError(fn, 'path', `a file of at most ${MAX_FILE_BYTES} bytes`, `${bytes.length} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw rangeError(fn, 'path', 'a JSON file', (err as Error).message);
    }
    return HFTokenizer.fromJSON(json);
  }

  /** The tokenizer.json this tokenizer was read from (written back unchanged by save). */
  toJSON(): unknown {
    return this.json;
  }

  /** Write the tokenizer.json (atomically). */
  async save(path: string): Promise<void> {
    await writeFileAtomic(path, [Buffer.from(JSON.stringify(this.json), 'utf8')]);
  }

  get vocabSize(): number {
    return this.idToToken.length;
  }

  tokenToId(token: string): number | undefined {
    return this.model.vocab.get(token) ?? this.addedByContent.get(token)?.id;
  }

  idToTokenString(id: number): string | undefined {
    return this.idToToken[id];
  }

  /** Pieces of `p` split at the added tokens `re` matches, each match an added token. */
  private splitAdded(p: Piece, re: RegExp | null): Array<{ piece: Piece; added: AddedToken | null }> {
    if (re === null) return [{ piece: p, added: null }];
    const text = p.chars.join('');
    const unitToChar: number[] = [];
    p.chars.forEach((c, i) => { for (let k = 0; k < c.length; k++) unitToChar.push(i); });
    unitToChar.push(p.chars.length);
    const out: Array<{ piece: Piece; added: AddedToken | null }> = [];
    let last = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const t = this.addedByContent.get(m[0])!;
      let a = unitToChar[m.index]!, b = unitToChar[m.index + m[0].length]!;
      if (t.singleWord) {
        const before = a > 0 ? p.chars[a - 1]! : '', after = b < p.chars.length ? p.chars[b]! : '';
        if (/[\p{L}\p{N}_]/u.test(before) || /[\p{L}\p{N}_]/u.test(after)) continue;
      }
      if (t.lstrip) while (a > last && /\p{White_Space}/u.test(p.chars[a - 1]!)) a--;
      if (t.rstrip) while (b < p.chars.length && /\p{White_Space}/u.test(p.chars[b]!)) b++;
      if (a > last) out.push({ piece: slice(p, last, a), added: null });
      out.push({ piece: slice(p, a, b), added: t });
      last = b;
      re.lastIndex = b < p.chars.length ? p.chars.slice(0, b).join('').length : text.length;
    }
    if (last < p.chars.length) out.push({ piece: slice(p, last, p.chars.length), added: null });
    return out;
  }

  /** The ids of one text, with its tokens, offsets and masks. */
  encode(text: string, options?: HFEncodeOptions): HFEncoding {
    const fn = 'HFTokenizer.encode';
    if (typeof text !== 'string') throw typeError(fn, 'text', 'a string', describeValue(text));
    const addSpecial = options?.addSpecialTokens !== false;
    const ids: number[] = [], offsets: Array<[number, number]> = [], special: number[] = [];
    const push = (id: number, span: [number, number], isSpecial: boolean): void => { ids.push(id); offsets.push(span); special.push(isSpecial ? 1 : 0); };
    if (this.fastSplit !== null || this.spSteps !== null) {
      this.encodeFastText(text, push);
      return this.finish(ids, offsets, special, addSpecial);
    }
    for (const raw of this.splitAdded(pieceOf(text), this.addedRaw)) {
      if (raw.added !== null) { push(raw.added.id, spanOf(raw.piece), false); continue; }
      const normalized = this.normalizer === null ? raw.piece : this.normalizer(raw.piece);
      for (const part of this.splitAdded(normalized, this.addedNormalized)) {
        if (part.added !== null) { push(part.added.id, spanOf(part.piece), false); continue; }
        const words = this.preTokenizer === null ? [part.piece] : this.preTokenizer([part.piece]);
        for (const w of words) {
          for (const t of this.model.tokenize(w.chars)) push(t.id, spanOf(w, t.start, t.end), false);
        }
      }
    }
    return this.finish(ids, offsets, special, addSpecial);
  }

  /** The fast path: added tokens split out of the raw text, the rest word by word. */
  private encodeFastText(text: string, push: (id: number, span: [number, number], special: boolean) => void): void {
    const clean = wellFormed(text);
    const part = (t: string, base: number): void => (this.fastSplit !== null ? this.encodeWords(t, base, push) : this.encodeSentencePiece(t, base, push));
    const re = this.addedRaw;
    // added tokens matter rarely enough to take the general splitter on the text's Piece
    if (re === null || !re.test(clean)) { part(clean, 0); return; }
    for (const raw of this.splitAdded(pieceOf(clean), re)) {
      if (raw.added !== null) { push(raw.added.id, spanOf(raw.piece), false); continue; }
      if (raw.piece.chars.length > 0) part(raw.piece.chars.join(''), raw.piece.origin[0]![0]);
    }
  }

  private finish(ids: number[], offsets: Array<[number, number]>, special: number[], addSpecial: boolean): HFEncoding {
    let allIds = ids, allOffsets = offsets, allSpecial = special;
    if (addSpecial && this.template !== null) {
      allIds = []; allOffsets = []; allSpecial = [];
      for (const p of this.template.single) {
        if ('sequence' in p) {
          if (p.sequence === 'B') continue;
          for (let i = 0; i < ids.length; i++) { allIds.push(ids[i]!); allOffsets.push(offsets[i]!); allSpecial.push(special[i]!); }
        } else {
          for (const id of this.template.specials.get(p.special)!) { allIds.push(id); allOffsets.push([0, 0]); allSpecial.push(1); }
        }
      }
    }
    return {
      ids: Int32Array.from(allIds),
      tokens: allIds.map((id) => this.idToToken[id] ?? ''),
      offsets: allOffsets,
      attentionMask: new Uint8Array(allIds.length).fill(1),
      specialTokensMask: Uint8Array.from(allSpecial),
    };
  }

  /**
   * encode for each text. With options.padId, every encoding is right-padded to the
   * longest (padding: attention mask 0, offsets [0, 0]).
   */
  encodeBatch(texts: readonly string[], options?: HFEncodeOptions & { padId?: number }): HFEncoding[] {
    const fn = 'HFTokenizer.encodeBatch';
    if (!Array.isArray(texts)) throw typeError(fn, 'texts', 'an array of strings', describeValue(texts));
    const out = texts.map((t, i) => {
      if (typeof t !== 'string') throw typeError(fn, `texts[${i}]`, 'a string', describeValue(t));
      return this.encode(t, options);
    });
    const pad = options?.padId;
    if (pad === undefined) return out;
    if (!Number.isInteger(pad) || pad < 0 || pad >= this.vocabSize) throw rangeError(fn, 'options.padId', `a token id in [0, ${this.vocabSize})`, describeValue(pad));
    const L = Math.max(0, ...out.map((e) => e.ids.length));
    return out.map((e) => {
      const n = e.ids.length;
      const ids = new Int32Array(L).fill(pad); ids.set(e.ids);
      const mask = new Uint8Array(L); mask.fill(1, 0, n);
      const special = new Uint8Array(L).fill(1); special.set(e.specialTokensMask);
      return { ids, tokens: [...e.tokens, ...new Array<string>(L - n).fill(this.idToToken[pad] ?? '')], offsets: [...e.offsets, ...Array.from({ length: L - n }, () => [0, 0] as [number, number])], attentionMask: mask, specialTokensMask: special };
    });
  }

  /** The text of ids (special added tokens left out unless skipSpecialTokens is false). */
  decode(ids: ArrayLike<number>, options?: HFDecodeOptions): string {
    const fn = 'HFTokenizer.decode';
    if (ids === null || typeof ids !== 'object' || typeof (ids as ArrayLike<number>).length !== 'number') throw typeError(fn, 'ids', 'an array of token ids', describeValue(ids));
    const skip = options?.skipSpecialTokens !== false;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || this.idToToken[id] === undefined) throw rangeError(fn, `ids[${i}]`, `a token id of the vocabulary (size ${this.vocabSize})`, describeValue(id));
      if (skip && this.addedById.get(id)?.special === true) continue;
      tokens.push(this.idToToken[id]!);
    }
    return this.decoder === null ? tokens.join(' ') : this.decoder(tokens).join('');
  }

  /** decode for each id list. */
  decodeBatch(batch: readonly ArrayLike<number>[], options?: HFDecodeOptions): string[] {
    return batch.map((ids) => this.decode(ids, options));
  }
}
