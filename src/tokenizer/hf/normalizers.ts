// tokenizer.json normalizers, each a function of a Piece (text with offsets): Sequence,
// Prepend, Replace (a string or a regex), Lowercase, NFC/NFKC/NFD/NFKD, Strip. A character
// a normalizer produces keeps the offsets of the character(s) it came from.
import { rangeError } from '../../errors.js';
import { compilePattern, literalPattern } from './regex.js';
import { sequenceOf, splitByRegex, spanOf, type Piece } from './text.js';

export type Normalizer = (p: Piece) => Piece;

type Json = Record<string, unknown>;

function str(fn: string, arg: string, v: unknown): string {
  if (typeof v !== 'string') throw rangeError(fn, arg, 'a string', JSON.stringify(v) ?? String(v));
  return v;
}

/** A pattern field: { String: "..." } or { Regex: "..." }. */
export function patternOf(fn: string, arg: string, v: unknown): RegExp {
  const p = v as Json | null;
  if (p !== null && typeof p === 'object' && typeof p.String === 'string') return literalPattern(p.String);
  if (p !== null && typeof p === 'object' && typeof p.Regex === 'string') return compilePattern(fn, arg, p.Regex);
  throw rangeError(fn, arg, 'a pattern { "String": ... } or { "Regex": ... }', JSON.stringify(v) ?? String(v));
}

/** Every char of `p` mapped to zero or more chars that keep its offsets. */
function perChar(p: Piece, f: (c: string) => string): Piece {
  const chars: string[] = [], origin: Array<[number, number]> = [];
  p.chars.forEach((c, i) => {
    for (const d of Array.from(f(c))) { chars.push(d); origin.push(p.origin[i]!); }
  });
  return { chars, origin };
}

/** A Unicode normalization form over the whole text; each output char takes the span of the input run it came from (grapheme-sized runs). */
function unicodeForm(form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD'): Normalizer {
  return (p) => {
    const chars: string[] = [], origin: Array<[number, number]> = [];
    // normalize runs that start at a character with no combining mark (a base): marks attach to it
    let i = 0;
    while (i < p.chars.length) {
      let j = i + 1;
      while (j < p.chars.length && /\p{M}/u.test(p.chars[j]!)) j++;
      const run = p.chars.slice(i, j).join('').normalize(form);
      const span = spanOf(p, i, j);
      const out = Array.from(run);
      out.forEach((c, k) => {
        chars.push(c);
        // one-to-one runs keep per-char offsets
        origin.push(out.length === j - i ? p.origin[i + k]! : span);
      });
      i = j;
    }
    return { chars, origin };
  };
}

/** The CJK ideograph blocks BERT puts spaces around. */
function isChineseChar(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f)
    || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

export function buildNormalizer(fn: string, arg: string, spec: unknown): Normalizer | null {
  if (spec === null || spec === undefined) return null;
  const s = spec as Json;
  if (typeof s !== 'object') throw rangeError(fn, arg, 'a normalizer object or null', JSON.stringify(spec));
  switch (s.type) {
    case 'Sequence':
      return sequenceOf<Piece>(fn, arg, s, 'normalizers', buildNormalizer);
    case 'Prepend': {
      const text = str(fn, `${arg}.prepend`, s.prepend);
      return (p) => {
        if (p.chars.length === 0) return p;
        const add = Array.from(text);
        return { chars: [...add, ...p.chars], origin: [...add.map(() => p.origin[0]!), ...p.origin] };
      };
    }
    case 'Replace': {
      const re = patternOf(fn, `${arg}.pattern`, s.pattern);
      const content = Array.from(str(fn, `${arg}.content`, s.content));
      return (p) => {
        const chars: string[] = [], origin: Array<[number, number]> = [];
        for (const part of splitByRegex(p, re)) {
          if (!part.match) { chars.push(...part.piece.chars); origin.push(...part.piece.origin); continue; }
          // one-to-one replacements keep per-char offsets; otherwise the matched span
          content.forEach((c, k) => { chars.push(c); origin.push(content.length === part.piece.chars.length ? part.piece.origin[k]! : spanOf(part.piece)); });
        }
        return { chars, origin };
      };
    }
    case 'Lowercase':
      return (p) => perChar(p, (c) => c.toLowerCase());
    case 'NFC': case 'NFD': case 'NFKC': case 'NFKD':
      return unicodeForm(s.type);
    case 'BertNormalizer': {
      const lowercase = s.lowercase !== false;
      const strip = s.strip_accents === null || s.strip_accents === undefined ? lowercase : s.strip_accents === true;
      const clean = s.clean_text !== false, chinese = s.handle_chinese_chars !== false;
      return (p) => {
        let q = p;
        // BERT's text cleaning: NUL, U+FFFD and control/format/unassigned/private characters out, whitespace to ' '
        if (clean) q = perChar(q, (c) => (c === '\u0000' || c === '\uFFFD' || (!/[\t\n\r]/.test(c) && /[\p{Cc}\p{Cf}\p{Cn}\p{Co}]/u.test(c)) ? '' : /[\t\n\r]|\p{White_Space}/u.test(c) ? ' ' : c));
        if (chinese) q = perChar(q, (c) => (isChineseChar(c.codePointAt(0)!) ? ` ${c} ` : c));
        if (strip) q = perChar(q, (c) => c.normalize('NFD').replace(/\p{Mn}/gu, ''));
        if (lowercase) q = perChar(q, (c) => c.toLowerCase());
        return q;
      };
    }
    case 'Strip': {
      const left = s.strip_left !== false, right = s.strip_right !== false;
      return (p) => {
        let a = 0, b = p.chars.length;
        if (left) while (a < b && /\p{White_Space}/u.test(p.chars[a]!)) a++;
        if (right) while (b > a && /\p{White_Space}/u.test(p.chars[b - 1]!)) b--;
        return { chars: p.chars.slice(a, b), origin: p.origin.slice(a, b) };
      };
    }
    default:
      throw rangeError(fn, `${arg}.type`, "a supported normalizer ('Sequence', 'Prepend', 'Replace', 'Lowercase', 'NFC', 'NFD', 'NFKC', 'NFKD', 'Strip', 'BertNormalizer')", JSON.stringify(s.type));
  }
}
