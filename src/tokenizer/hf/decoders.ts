// tokenizer.json decoders: a list of token strings becomes text. Each decoder maps the list
// to a new list (as the library's decode_chain) and the result is joined: ByteLevel (the
// byte-level characters back to bytes, UTF-8 with U+FFFD for invalid sequences), Replace,
// ByteFallback (<0xXX> tokens to bytes; a run that is not valid UTF-8 becomes one U+FFFD
// per byte), Fuse (one string), Strip (leading/trailing copies of a character per token),
// Sequence.
import { rangeError } from '../../errors.js';
import { byteOfChar, utf8, utf8Lossy } from './bytes.js';
import { patternOf } from './normalizers.js';
import { sequenceOf } from './text.js';

export type Decoder = (tokens: string[]) => string[];

type Json = Record<string, unknown>;

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

/** The WordPiece decoder's cleanup of tokenization spaces (the library's list, in its order). */
function cleanupSpaces(t: string): string {
  return t.replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',').replaceAll(" ' ", "'").replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m").replaceAll(' do not', " don't").replaceAll(" 's", "'s").replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}

export function buildDecoder(fn: string, arg: string, spec: unknown): Decoder | null {
  if (spec === null || spec === undefined) return null;
  const s = spec as Json;
  if (typeof s !== 'object') throw rangeError(fn, arg, 'a decoder object or null', JSON.stringify(spec));
  switch (s.type) {
    case 'Sequence':
      return sequenceOf<string[]>(fn, arg, s, 'decoders', buildDecoder);
    case 'ByteLevel':
      return (tokens) => {
        const bytes: number[] = [];
        for (const t of tokens) {
          // a token with any character outside the byte table (an added token) contributes its own UTF-8
          const own = Array.from(t, (c) => byteOfChar(c));
          if (own.every((b) => b !== undefined)) bytes.push(...(own as number[]));
          else bytes.push(...utf8(t));
        }
        return [utf8Lossy(Uint8Array.from(bytes))];
      };
    case 'Replace': {
      const re = patternOf(fn, `${arg}.pattern`, s.pattern);
      if (typeof s.content !== 'string') throw rangeError(fn, `${arg}.content`, 'a string', JSON.stringify(s.content));
      const content = s.content;
      return (tokens) => tokens.map((t) => t.replace(re, () => content));
    }
    case 'ByteFallback':
      return (tokens) => {
        const out: string[] = [];
        let run: number[] = [];
        const flush = (): void => {
          if (run.length === 0) return;
          const bytes = Uint8Array.from(run);
          try {
            out.push(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
          } catch {
            for (let i = 0; i < run.length; i++) out.push('\uFFFD');
          }
          run = [];
        };
        for (const t of tokens) {
          const m = BYTE_TOKEN.exec(t);
          if (m !== null) run.push(parseInt(m[1]!, 16));
          else { flush(); out.push(t); }
        }
        flush();
        return out;
      };
    case 'Fuse':
      return (tokens) => [tokens.join('')];
    case 'Strip': {
      if (typeof s.content !== 'string' || Array.from(s.content).length !== 1) throw rangeError(fn, `${arg}.content`, 'one character', JSON.stringify(s.content));
      const c = s.content;
      const start = Number(s.start ?? 0), stop = Number(s.stop ?? 0);
      return (tokens) => tokens.map((t) => {
        const chars = Array.from(t);
        let a = 0, b = chars.length;
        while (a < start && a < b && chars[a] === c) a++;
        while (chars.length - b < stop && b > a && chars[b - 1] === c) b--;
        return chars.slice(a, b).join('');
      });
    }
    case 'Metaspace': {
      const rep = typeof s.replacement === 'string' ? s.replacement : '▁';
      const scheme = s.prepend_scheme ?? (s.add_prefix_space === false ? 'never' : 'always');
      // the library drops every replacement character of the first token unless the scheme is 'never'
      return (tokens) => tokens.map((t, i) => Array.from(t, (c) => (c === rep ? (i === 0 && scheme !== 'never' ? '' : ' ') : c)).join(''));
    }
    case 'WordPiece': {
      const prefix = typeof s.prefix === 'string' ? s.prefix : '##';
      const cleanup = s.cleanup !== false;
      return (tokens) => tokens.map((t, i) => {
        let u = t;
        if (i !== 0) u = u.startsWith(prefix) ? u.replace(prefix, '') : ` ${u}`;
        return cleanup ? cleanupSpaces(u) : u;
      });
    }
    default:
      throw rangeError(fn, `${arg}.type`, "a supported decoder ('Sequence', 'ByteLevel', 'Replace', 'ByteFallback', 'Fuse', 'Strip', 'WordPiece', 'Metaspace')", JSON.stringify(s.type));
  }
}
