// toroid.metrics tokenizers: sacrebleu's 13a (mteval-v13a) and intl rules on tricky
// strings, spelled out by hand, plus Python whitespace semantics.
import { describe, expect, it } from 'vitest';
import { tokenize13a, tokenizeChar, tokenizeIntl, tokenizeNone, tokenizeRegexp } from '../../src/metrics/index.js';
import { pyRstrip, pySplit } from '../../src/metrics/tokenizer-13a.js';

describe('tokenize13a (sacrebleu Tokenizer13a)', () => {
  const cases: [string, string, string][] = [
    // [why, input, expected]
    ['punctuation split off, sentence-final period too', 'Hello, world!', 'Hello , world !'],
    ['period/comma between digits kept; $ split off; comma before space split',
      'It costs $1,000.50, or 1.000,50 EUR.', 'It costs $ 1,000.50 , or 1.000,50 EUR .'],
    ['hyphen after a digit split, parentheses split', 'The 3-day event (2019-2020) ended.',
      'The 3 - day event ( 2019 - 2020 ) ended .'],
    ['hyphen between letters kept', 'state-of-the-art', 'state-of-the-art'],
    ['apostrophes are never split', "don't won't it's", "don't won't it's"],
    // " & < > from &quot; &amp; &lt; &gt; (in that order); &apos; is not unescaped, & and ; split
    ['entities', '&quot;Quoted&quot; &amp; &lt;tag&gt; &apos;x&apos;', '" Quoted " & < tag > & apos ; x & apos ;'],
    // the line is padded with spaces, so a final period after a digit is split (unlike intl)
    ['trailing period after a number', 'Number at end 42.', 'Number at end 42 .'],
    // '.5': period preceded by a space (non-digit) -> split; '5.' followed by space -> split; '5.5' kept
    ['periods next to digits', 'Decimal .5 and 5. and 5.5', 'Decimal . 5 and 5 . and 5.5'],
    ['comma/period between letters split', 'a,b.c ,d. e', 'a , b . c , d . e'],
    ['runs of whitespace, tab and NBSP collapse (Python str.split)', 'Multiple   spaces\there\u00a0nbsp',
      'Multiple spaces here nbsp'],
    ['<skipped> removed', '<skipped> text with skipped', 'text with skipped'],
    ['"-\\n" joins, "\\n" becomes a space', 'line-\nbreak and\nnewline', 'linebreak and newline'],
    ['the ASCII symbol class', 'x+y=z; a/b; c@d; e#f; 50% ~ok~ {a|b} [c\\d] `e` ^f_g',
      'x + y = z ; a / b ; c @ d ; e # f ; 50 % ~ ok ~ { a | b } [ c \\ d ] ` e ` ^ f _ g'],
    // quotes split, single quotes and "--" kept, each period of "..." split
    ['quotes, dashes, ellipsis', "\"double\" 'single' --dash-- ...", "\" double \" 'single' --dash-- . . ."],
    ['abbreviations', 'U.S.A. e.g. i.e.', 'U . S . A . e . g . i . e .'],
    ['digit-hyphen-digit', '3.14-2.71 = 0.43', '3.14 - 2.71 = 0.43'],
    ['non-ASCII punctuation untouched by 13a', 'Über café — naïve… «quoted» 1,5 €', 'Über café — naïve… «quoted» 1,5 €'],
    ['empty', '', ''],
    ['only spaces', '   ', ''],
  ];
  for (const [why, input, expected] of cases) {
    it(why, () => {
      expect(tokenize13a(input)).toBe(expected);
    });
  }

  it('the regex part alone does not pad: a final "42." stays (no following char)', () => {
    // ([\.,])([^0-9]) needs a following character; tokenize13a adds ' ' around the line
    expect(tokenizeRegexp('42.')).toBe('42.');
    expect(tokenize13a('42.')).toBe('42 .');
  });

  it('entities are only unescaped once, in sacrebleu order', () => {
    // &amp;quot; -> (quot pass: no match) -> &quot; after the amp pass; not unescaped again
    expect(tokenize13a('&amp;quot;')).toBe('& quot ;');
    expect(tokenize13a('a &lt; b')).toBe('a < b');
  });
});

describe('tokenizeIntl (sacrebleu TokenizerV14International)', () => {
  it('splits Unicode punctuation and symbols, keeps number separators', () => {
    expect(tokenizeIntl('state-of-the-art')).toBe('state - of - the - art');
    expect(tokenizeIntl("don't")).toBe("don ' t");
    expect(tokenizeIntl('Über café — naïve… «quoted» 1,5 €')).toBe('Über café — naïve … « quoted » 1,5 €');
    // mteval-v14 quirk kept by sacrebleu: a final period after a digit is not split
    expect(tokenizeIntl('Number at end 42.')).toBe('Number at end 42.');
    expect(tokenizeIntl('The 3-day event (2019-2020) ended.')).toBe('The 3 - day event ( 2019-2020 ) ended .');
  });
});

describe('char and none tokenizers', () => {
  it('char puts a space between code points (astral characters stay whole)', () => {
    expect(tokenizeChar('ab c😀')).toBe('a b   c 😀');
    expect(pySplit(tokenizeChar('ab c😀'))).toEqual(['a', 'b', 'c', '😀']);
  });
  it('none returns the line', () => {
    expect(tokenizeNone(' a  b ')).toBe(' a  b ');
  });
});

describe('Python whitespace semantics', () => {
  it('str.split() splits on U+001C..U+001F and U+0085 but not on U+FEFF', () => {
    expect(pySplit('a\u001cb\u0085c\ufeffd')).toEqual(['a', 'b', 'c\ufeffd']);
    expect(pySplit('  a \t b\n')).toEqual(['a', 'b']);
    expect(pySplit('')).toEqual([]);
    expect(pySplit(' \u3000 ')).toEqual([]);
  });
  it('str.rstrip()', () => {
    expect(pyRstrip('a b \n\u2028')).toBe('a b');
    expect(pyRstrip('a\ufeff')).toBe('a\ufeff');
  });
});
