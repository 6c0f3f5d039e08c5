// Pre-tokenization for the BPE tokenizer: text -> words, and the reverse.
//
// pretokenize(text) does, in order:
//   1. Unicode NFC normalization (so 'ä' typed as 'a' + U+0308 and as U+00E4 is
//      one character);
//   2. optional lowercasing (String.prototype.toLowerCase, locale-independent);
//   3. splitting into words: a word is a maximal run of letters, numbers and
//      combining marks (\p{L}\p{N}\p{M}), or any single other non-whitespace
//      character (punctuation, symbols, control characters). Whitespace
//      (\s, Unicode-aware) only separates words and is dropped.
// So "Two young, White males." -> ["Two", "young", ",", "White", "males", "."]
// and "man's T-shirt" -> ["man", "'", "s", "T", "-", "shirt"].
//
// The original spacing cannot be recovered after this split ("a,b" and "a , b"
// give the same words). detokenize(words) is a heuristic inverse for display:
// it joins words with single spaces, except that closing punctuation attaches
// to the word before it, opening brackets/quotes to the word after, hyphens
// and slashes to both sides, and an apostrophe followed by a common English
// contraction suffix ("s", "t", "re", "ve", "ll", "d", "m") joins both sides.
// Every space it removes is next to a punctuation character, which
// pretokenize splits off again, so pretokenize(detokenize(words)) equals words
// whenever words came from pretokenize.
import { describeValue, typeError } from '../errors.js';
import { checkBoolean, checkOptions } from '../validate/checks.js';

const WORD_RE = /[\p{L}\p{N}\p{M}]+|[^\s\p{L}\p{N}\p{M}]/gu;
const WORD_ONLY_RE = /^[\p{L}\p{N}\p{M}]+$/u;

export interface PretokenizeOptions {
  /** Lowercase the text before splitting (default false). */
  lowercase?: boolean;
}

/** @internal NFC, optional lowercase, then the word split; no argument checks. */
export function splitWords(text: string, lowercase: boolean): string[] {
  let t = text.normalize('NFC');
  if (lowercase) t = t.toLowerCase();
  return t.match(WORD_RE) ?? [];
}

/** @internal true when `s` is one run of letters/numbers/marks (a word pretokenize keeps whole). */
export function isWordRun(s: string): boolean {
  return WORD_ONLY_RE.test(s);
}

/**
 * Split text into the words the BPE tokenizer sees: NFC, optional lowercase,
 * runs of letters/numbers/marks and single punctuation/symbol characters.
 */
export function pretokenize(text: string, options?: PretokenizeOptions): string[] {
  const fn = 'tokenizer.pretokenize';
  if (typeof text !== 'string') throw typeError(fn, 'text', 'a string', describeValue(text));
  const opts = checkOptions(fn, options);
  return splitWords(text, checkBoolean(fn, 'options.lowercase', opts.lowercase, false));
}

const CLOSING = new Set(['.', ',', ';', ':', '!', '?', ')', ']', '}', '%', '…', '»', '”', '’']);
const OPENING = new Set(['(', '[', '{', '«', '„', '“', '‘', '¿', '¡', '$', '#']);
const JOINING = new Set(['-', '/']);
const CONTRACTIONS = new Set(['s', 't', 're', 've', 'll', 'd', 'm', 'S', 'T', 'RE', 'VE', 'LL', 'D', 'M']);

/**
 * Join words for display (a heuristic inverse of pretokenize; see the file
 * comment): "A man 's T - shirt ." -> "A man's T-shirt."
 */
export function detokenize(words: readonly string[]): string {
  const fn = 'tokenizer.detokenize';
  if (!Array.isArray(words)) throw typeError(fn, 'words', 'an array of strings', describeValue(words));
  for (let i = 0; i < words.length; i++) {
    if (typeof words[i] !== 'string') throw typeError(fn, `words[${i}]`, 'a string', describeValue(words[i]));
  }
  return joinWords(words);
}

/** @internal detokenize without argument checks. */
export function joinWords(words: readonly string[]): string {
  let out = '';
  let glueNext = true; // no space before the next word
  let doubleQuoteOpen = false;
  let lowQuoteOpen = false; // German „ ... “
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.length === 0) continue;
    let before = !glueNext; // space before this word?
    let after = true; // space after it?
    if (w === '"') {
      if (doubleQuoteOpen) before = false;
      else after = false;
      doubleQuoteOpen = !doubleQuoteOpen;
    } else if (w === '“' && lowQuoteOpen) {
      before = false;
      lowQuoteOpen = false;
    } else if (w === '\'' || w === '’') {
      const next = words[i + 1];
      if (out.length > 0 && next !== undefined && CONTRACTIONS.has(next)) {
        before = false;
        after = false;
      } else if (w === '’') {
        before = false;
      }
    } else if (CLOSING.has(w)) {
      before = false;
    } else if (OPENING.has(w)) {
      if (w === '„') lowQuoteOpen = true;
      after = false;
    } else if (JOINING.has(w)) {
      before = false;
      after = false;
    }
    if (out.length > 0 && before) out += ' ';
    out += w;
    glueNext = !after;
  }
  return out;
}
