// tokenizer.json pre-tokenizers: a Piece becomes the words the model tokenizes one by one.
// ByteLevel (GPT-2's regex split, then every UTF-8 byte as its byte-level character, each
// with the offsets of the character it belongs to), Split (a string or regex with the five
// delimiter behaviours, optionally inverted), Sequence.
import { rangeError } from '../../errors.js';
import { byteLevelChars } from './bytes.js';
import { patternOf } from './normalizers.js';
import { compilePattern, GPT2_PATTERN } from './regex.js';
import { sequenceOf, splitByRegex, type Piece } from './text.js';

export type PreTokenizer = (words: Piece[]) => Piece[];

type Json = Record<string, unknown>;
type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

function concat(a: Piece, b: Piece): Piece {
  return { chars: [...a.chars, ...b.chars], origin: [...a.origin, ...b.origin] };
}

/** Split one piece at the matches of re, the matches handled as `behavior` says. */
export function splitPiece(p: Piece, re: RegExp, behavior: Behavior, invert: boolean): Piece[] {
  const parts = splitByRegex(p, re).map((x) => ({ piece: x.piece, match: invert ? !x.match : x.match }));
  const out: Piece[] = [];
  switch (behavior) {
    case 'Removed':
      for (const x of parts) if (!x.match) out.push(x.piece);
      return out;
    case 'Isolated':
      return parts.map((x) => x.piece);
    case 'MergedWithPrevious': {
      // a match joins the piece before it, unless that piece was a match too (the library's rule)
      let lastMatch = false;
      for (const x of parts) {
        if (x.match && !lastMatch && out.length > 0) out[out.length - 1] = concat(out[out.length - 1]!, x.piece);
        else out.push(x.piece);
        lastMatch = x.match;
      }
      return out;
    }
    case 'MergedWithNext': {
      // the mirror image, from the end: a match joins the piece after it unless that one was a match
      let nextMatch = false;
      for (let i = parts.length - 1; i >= 0; i--) {
        const x = parts[i]!;
        if (x.match && !nextMatch && out.length > 0) out[out.length - 1] = concat(x.piece, out[out.length - 1]!);
        else out.push(x.piece);
        nextMatch = x.match;
      }
      return out.reverse();
    }
    case 'Contiguous': {
      let lastMatch = false;
      for (const x of parts) {
        if (x.match && lastMatch) out[out.length - 1] = concat(out[out.length - 1]!, x.piece);
        else out.push(x.piece);
        lastMatch = x.match;
      }
      return out;
    }
  }
}

/** Every char of a piece as the byte-level chars of its UTF-8 bytes, keeping its offsets. */
export function toByteLevel(p: Piece): Piece {
  const chars: string[] = [], origin: Array<[number, number]> = [];
  p.chars.forEach((c, i) => {
    for (const b of byteLevelChars(c)) { chars.push(b); origin.push(p.origin[i]!); }
  });
  return { chars, origin };
}

export function buildPreTokenizer(fn: string, arg: string, spec: unknown): PreTokenizer | null {
  if (spec === null || spec === undefined) return null;
  const s = spec as Json;
  if (typeof s !== 'object') throw rangeError(fn, arg, 'a pre-tokenizer object or null', JSON.stringify(spec));
  switch (s.type) {
    case 'Sequence':
      return sequenceOf<Piece[]>(fn, arg, s, 'pretokenizers', buildPreTokenizer);
    case 'ByteLevel': {
      const prefixSpace = s.add_prefix_space === true;
      const useRegex = s.use_regex !== false;
      const re = compilePattern(fn, `${arg}`, GPT2_PATTERN);
      return (words) => words.flatMap((w) => {
        let p = w;
        if (prefixSpace && p.chars.length > 0 && p.chars[0] !== ' ') p = { chars: [' ', ...p.chars], origin: [p.origin[0]!, ...p.origin] };
        const pieces = useRegex ? splitPiece(p, re, 'Isolated', false) : [p];
        return pieces.map(toByteLevel);
      });
    }
    case 'Split': {
      const re = patternOf(fn, `${arg}.pattern`, s.pattern);
      const behavior = s.behavior as Behavior;
      if (!['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'].includes(behavior)) {
        throw rangeError(fn, `${arg}.behavior`, "'Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext' or 'Contiguous'", JSON.stringify(s.behavior));
      }
      const invert = s.invert === true;
      return (words) => words.flatMap((w) => splitPiece(w, re, behavior, invert));
    }
    case 'BertPreTokenizer': {
      // whitespace removed, then every punctuation character (ASCII or Unicode P*) its own word
      const ws = /\p{White_Space}+/gu, punct = /[!-/:-@[-`{-~\p{P}]/gu;
      return (words) => words.flatMap((w) => splitPiece(w, ws, 'Removed', false)).flatMap((w) => splitPiece(w, punct, 'Isolated', false));
    }
    case 'Metaspace': {
      // spaces to the replacement, the replacement prepended (always, or for the text's first piece), then split before each
      const rep = typeof s.replacement === 'string' && Array.from(s.replacement).length === 1 ? s.replacement : null;
      if (rep === null) throw rangeError(fn, `${arg}.replacement`, 'one character', JSON.stringify(s.replacement));
      const scheme = s.prepend_scheme ?? (s.add_prefix_space === false ? 'never' : 'always');
      if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') throw rangeError(fn, `${arg}.prepend_scheme`, "'always', 'first' or 'never'", JSON.stringify(scheme));
      const split = s.split !== false;
      const at = new RegExp(rep.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu');
      return (words) => words.flatMap((w) => {
        let p: Piece = { chars: w.chars.map((c) => (c === ' ' ? rep : c)), origin: w.origin };
        const prepend = p.chars.length > 0 && p.chars[0] !== rep && (scheme === 'always' || (scheme === 'first' && p.origin[0]![0] === 0));
        if (prepend) p = { chars: [rep, ...p.chars], origin: [p.origin[0]!, ...p.origin] };
        return split ? splitPiece(p, at, 'MergedWithNext', false) : [p];
      });
    }
    case 'WhitespaceSplit': {
      const ws = /\p{White_Space}+/gu;
      return (words) => words.flatMap((w) => splitPiece(w, ws, 'Removed', false));
    }
    default:
      throw rangeError(fn, `${arg}.type`, "a supported pre-tokenizer ('Sequence', 'ByteLevel', 'Split', 'BertPreTokenizer', 'WhitespaceSplit', 'Metaspace')", JSON.stringify(s.type));
  }
}
