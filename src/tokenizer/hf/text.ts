// Text with an offset per character: what normalizers and pre-tokenizers pass along, so a
// token can say where in the input it came from. Offsets count code points (as the
// `tokenizers` binding reports them); chars[i] is one code point, origin[i] its offset in
// the original input (a character a normalizer inserted takes the offset of the one it
// stands next to).
import { rangeError } from '../../errors.js';

export interface Piece {
  chars: string[];
  /** Per char: [start, end) in the original input, in code points. */
  origin: Array<[number, number]>;
}

/** Lone surrogates as U+FFFD (the reference sees the text as UTF-8). */
export function wellFormed(s: string): string {
  // Array.from splits by code point; a lone surrogate comes out alone
  return /[\uD800-\uDFFF]/.test(s) ? Array.from(s, (c) => (c.length === 1 && c >= '\uD800' && c <= '\uDFFF' ? '\uFFFD' : c)).join('') : s;
}

/** The input as a piece (well-formed first). */
export function pieceOf(text: string): Piece {
  const chars = Array.from(wellFormed(text));
  return { chars, origin: chars.map((_, i) => [i, i + 1] as [number, number]) };
}

/**
 * A tokenizer.json "Sequence" component: spec[key] is a list of components built by `build`
 * (null ones left out), applied one after another.
 */
export function sequenceOf<T>(fn: string, arg: string, spec: Record<string, unknown>, key: string, build: (fn: string, arg: string, spec: unknown) => ((x: T) => T) | null): (x: T) => T {
  const list = spec[key];
  if (!Array.isArray(list)) throw rangeError(fn, `${arg}.${key}`, 'an array', JSON.stringify(list) ?? String(list));
  const parts = list.map((n, i) => build(fn, `${arg}.${key}[${i}]`, n)).filter((f): f is (x: T) => T => f !== null);
  return (x) => parts.reduce((y, f) => f(y), x);
}

export function textOf(p: Piece): string {
  return p.chars.join('');
}

/** Chars [from, to) of a piece. */
export function slice(p: Piece, from: number, to: number): Piece {
  return { chars: p.chars.slice(from, to), origin: p.origin.slice(from, to) };
}

/** The span a run of chars covers in the original input. */
export function spanOf(p: Piece, from = 0, to = p.chars.length): [number, number] {
  if (to <= from) {
    const at = p.origin[Math.min(from, p.origin.length - 1)];
    return at === undefined ? [0, 0] : [at[0], at[0]];
  }
  return [p.origin[from]![0], p.origin[to - 1]![1]];
}

/**
 * Split a piece by a regex over its text: the matches and the gaps between them, each
 * tagged. `re` must have the g and u flags; indices come back in UTF-16 units and are
 * mapped to chars.
 */
export function splitByRegex(p: Piece, re: RegExp): Array<{ piece: Piece; match: boolean }> {
  const text = textOf(p);
  // UTF-16 unit index -> char index
  const unitToChar = new Int32Array(text.length + 1);
  let unit = 0;
  p.chars.forEach((c, i) => {
    for (let k = 0; k < c.length; k++) unitToChar[unit + k] = i;
    unit += c.length;
  });
  unitToChar[text.length] = p.chars.length;
  const out: Array<{ piece: Piece; match: boolean }> = [];
  let last = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    const a = unitToChar[m.index]!, b = unitToChar[m.index + m[0].length]!;
    if (a > last) out.push({ piece: slice(p, last, a), match: false });
    out.push({ piece: slice(p, a, b), match: true });
    last = b;
  }
  if (last < p.chars.length) out.push({ piece: slice(p, last, p.chars.length), match: false });
  return out;
}
