// Tokenizers for BLEU, reimplemented from sacrebleu 2.x (tokenizers/tokenizer_13a.py,
// tokenizer_re.py, tokenizer_intl.py, tokenizer_char.py, tokenizer_none.py) so that
// toroid.metrics.corpusBleu reproduces sacrebleu's scores.
//
// Python semantics that matter and are reproduced here:
// - str.split() / str.rstrip() split on Python's whitespace set (str.isspace), which
//   differs from JS /\s/: it includes U+001C..U+001F and U+0085, and excludes U+FEFF;
// - strings are sequences of code points (regexes use the `u` flag).

/** Python's str.isspace() characters, as a character class body. */
const PY_WS = '\\t\\n\\x0B\\x0C\\r\\x1C-\\x20\\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const PY_WS_RUN = new RegExp(`[${PY_WS}]+`, 'u');
const PY_WS_TRAILING = new RegExp(`[${PY_WS}]+$`, 'u');

/** Python's `s.split()` (no argument): split on runs of whitespace, drop empty ends. */
export function pySplit(s: string): string[] {
  if (s.length === 0) return [];
  const parts = s.split(PY_WS_RUN);
  let start = 0;
  let end = parts.length;
  if (parts[0] === '') start = 1;
  if (end > start && parts[end - 1] === '') end -= 1;
  return parts.slice(start, end);
}

/** Python's `s.rstrip()` (no argument). */
export function pyRstrip(s: string): string {
  return s.replace(PY_WS_TRAILING, '');
}

// tokenizer_re.py (TokenizerRegexp), in order:
//   ([\{-\~\[-\` -\&\(-\+\:-\@\/])  -> ' \1 '   split these ASCII symbols off:
//       { | } ~   [ \ ] ^ _ `   space ! " # $ % &   ( ) * +   : ; < = > ? @   /
//       (so NOT: apostrophe, comma, hyphen, period, letters, digits)
//   ([^0-9])([\.,])                 -> '\1 \2 '  period/comma unless preceded by a digit
//   ([\.,])([^0-9])                 -> ' \1 \2'  period/comma unless followed by a digit
//   ([0-9])(-)                      -> '\1 \2 '  hyphen when preceded by a digit
// then ' '.join(line.split()).
const RE_SYMBOLS = /([\x7B-\x7E\x5B-\x60\x20-\x26\x28-\x2B\x3A-\x40\x2F])/gu;
const RE_PERIOD_COMMA_AFTER_NONDIGIT = /([^0-9])([.,])/gu;
const RE_PERIOD_COMMA_BEFORE_NONDIGIT = /([.,])([^0-9])/gu;
const RE_DASH_AFTER_DIGIT = /([0-9])(-)/gu;

/** sacrebleu's TokenizerRegexp: the language-dependent part of 13a (and zh). */
export function tokenizeRegexp(line: string): string {
  line = line.replace(RE_SYMBOLS, ' $1 ');
  line = line.replace(RE_PERIOD_COMMA_AFTER_NONDIGIT, '$1 $2 ');
  line = line.replace(RE_PERIOD_COMMA_BEFORE_NONDIGIT, ' $1 $2');
  line = line.replace(RE_DASH_AFTER_DIGIT, '$1 $2 ');
  return pySplit(line).join(' ');
}

/**
 * The mteval-v13a tokenizer exactly as sacrebleu's Tokenizer13a: drop `<skipped>`,
 * join `-\n` line breaks, newlines to spaces, unescape &quot; &amp; &lt; &gt; (in
 * that order, only when the line has a `&`), pad with one space on each side and
 * apply tokenizeRegexp.
 */
export function tokenize13a(line: string): string {
  line = line.replaceAll('<skipped>', '');
  line = line.replaceAll('-\n', '');
  line = line.replaceAll('\n', ' ');
  if (line.includes('&')) {
    line = line.replaceAll('&quot;', '"');
    line = line.replaceAll('&amp;', '&');
    line = line.replaceAll('&lt;', '<');
    line = line.replaceAll('&gt;', '>');
  }
  return tokenizeRegexp(` ${line} `);
}

// tokenizer_intl.py (mteval-v14 international), with the `regex` module's Unicode
// properties: punctuation next to a non-number is split off, symbols always are.
const RE_INTL_1 = /(\P{N})(\p{P})/gu;
const RE_INTL_2 = /(\p{P})(\P{N})/gu;
const RE_INTL_3 = /(\p{S})/gu;

/** sacrebleu's TokenizerV14International ('intl'). */
export function tokenizeIntl(line: string): string {
  line = line.replace(RE_INTL_1, '$1 $2 ');
  line = line.replace(RE_INTL_2, ' $1 $2');
  line = line.replace(RE_INTL_3, ' $1 ');
  return pySplit(line).join(' ');
}

/** sacrebleu's TokenizerChar ('char'): code points joined by spaces (whitespace runs vanish on split). */
export function tokenizeChar(line: string): string {
  return Array.from(line).join(' ');
}

/** sacrebleu's NoneTokenizer ('none'): the line unchanged. */
export function tokenizeNone(line: string): string {
  return line;
}

export type BleuTokenizerName = '13a' | 'intl' | 'char' | 'none';

export const BLEU_TOKENIZERS: Readonly<Record<BleuTokenizerName, (line: string) => string>> = Object.freeze({
  '13a': tokenize13a,
  intl: tokenizeIntl,
  char: tokenizeChar,
  none: tokenizeNone,
});
