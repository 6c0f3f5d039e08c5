// The pre-tokenizers' regular expressions (Oniguruma/Rust syntax in tokenizer.json) as
// JavaScript ones with the same matches:
//   - `\s` / `\S` are Unicode White_Space there; JavaScript's `\s` also takes U+FEFF and
//     leaves out U+0085, so both become \p{White_Space} / \P{White_Space};
//   - `(?i:...)` groups (LLaMA 3's contractions) are not JavaScript before Node 23: their
//     letters become [xX] classes;
//   - GPT-2's default pattern (the ByteLevel pre-tokenizer's) is written once here.
import { typeError } from '../../errors.js';

/** GPT-2's split pattern (tokenizers' ByteLevel use_regex). */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

function caseless(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      out += c + (body[i + 1] ?? '');
      i++;
    } else if (c.toLowerCase() !== c.toUpperCase()) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
    } else {
      out += c;
    }
  }
  return `(?:${out})`;
}

/** An Oniguruma pattern as a JavaScript RegExp (flags gu). */
export function compilePattern(fn: string, arg: string, pattern: string): RegExp {
  let src = pattern.replace(/\(\?i:((?:[^()\\]|\\.)*)\)/g, (_, body: string) => caseless(body));
  // \s and \S, outside and inside classes (an escaped backslash is skipped over)
  src = src.replace(/\\(.)/g, (m, c: string) => (c === 's' ? '\\p{White_Space}' : c === 'S' ? '\\P{White_Space}' : m));
  try {
    return new RegExp(src, 'gu');
  } catch (err) {
    throw typeError(fn, arg, 'a regular expression JavaScript can run', `${JSON.stringify(pattern)} (${(err as Error).message})`);
  }
}

/** A literal string as a RegExp that matches it. */
export function literalPattern(text: string): RegExp {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu');
}
