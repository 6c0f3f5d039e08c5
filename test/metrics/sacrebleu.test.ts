// toroid.metrics against sacrebleu 2.6.0 itself: the corpora and option sets are read
// from test/metrics/sacrebleu_check.py (between its BEGIN/END CORPORA markers), the
// expected values from sacrebleu-expected.json, which is that script's `--json`
// output under sacrebleu 2.6.0. Scores agree to 1e-9 and the printed lines exactly.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  corpusBleu, corpusChrf, sentenceBleu, sentenceChrf, tokenize13a, tokenizeIntl,
  type BleuOptions, type ChrfOptions,
} from '../../src/metrics/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = readFileSync(join(here, 'sacrebleu_check.py'), 'utf8');
const block = /# BEGIN CORPORA\nCORPORA = json\.loads\(r'''([\s\S]*?)'''\)\n# END CORPORA/.exec(script);
if (!block) throw new Error('sacrebleu_check.py: CORPORA block not found');

interface Corpus { hyps: string[]; refs: (string | null)[][] }
const DATA = JSON.parse(block[1]!) as {
  corpora: Record<string, Corpus>;
  bleu_configs: Record<string, BleuOptions>;
  chrf_configs: Record<string, ChrfOptions>;
  tokenizer_cases: string[];
};

interface BleuExp {
  score: number; counts: number[]; totals: number[]; precisions: number[]; bp: number; ratio: number;
  sys_len: number; ref_len: number; format: string; signature: string;
}
const EXPECTED = JSON.parse(readFileSync(join(here, 'sacrebleu-expected.json'), 'utf8')) as {
  sacrebleu_version: string;
  corpora: Record<string, {
    bleu: Record<string, BleuExp>;
    chrf: Record<string, { score: number; format: string; signature: string }>;
    sentence_bleu: { score: number; format: string }[];
    sentence_chrf: { score: number; format: string }[];
  }>;
  tokenizers: { '13a': string[]; intl: string[] };
};

const ourSig = (sig: string): string => sig.replace(/version:[^|]*$/, 'version:2.6.0 (toroid)');
const TOL = 1e-9;

describe(`against sacrebleu ${EXPECTED.sacrebleu_version}`, () => {
  it('the fixture covers every corpus of the script', () => {
    expect(Object.keys(EXPECTED.corpora).sort()).toEqual(Object.keys(DATA.corpora).sort());
  });

  for (const [name, corpus] of Object.entries(DATA.corpora)) {
    const exp = EXPECTED.corpora[name]!;
    describe(name, () => {
      for (const [key, cfg] of Object.entries(DATA.bleu_configs)) {
        it(`corpusBleu ${key}`, () => {
          const e = exp.bleu[key]!;
          const b = corpusBleu(corpus.hyps, corpus.refs, cfg);
          expect(Math.abs(b.score - e.score)).toBeLessThan(TOL);
          expect(b.counts).toEqual(e.counts);
          expect(b.totals).toEqual(e.totals);
          expect(b.sysLen).toBe(e.sys_len);
          expect(b.refLen).toBe(e.ref_len);
          expect(Math.abs(b.bp - e.bp)).toBeLessThan(TOL);
          expect(Math.abs(b.ratio - e.ratio)).toBeLessThan(TOL);
          b.precisions.forEach((p, i) => expect(Math.abs(p - e.precisions[i]!)).toBeLessThan(TOL));
          expect(b.format()).toBe(e.format);
          expect(b.signature).toBe(ourSig(e.signature));
        });
      }
      for (const [key, cfg] of Object.entries(DATA.chrf_configs)) {
        it(`corpusChrf ${key}`, () => {
          const e = exp.chrf[key]!;
          const c = corpusChrf(corpus.hyps, corpus.refs, cfg);
          expect(Math.abs(c.score - e.score)).toBeLessThan(TOL);
          expect(c.format()).toBe(e.format);
          expect(c.signature).toBe(ourSig(e.signature));
        });
      }
      it('sentenceBleu and sentenceChrf per segment', () => {
        corpus.hyps.forEach((h, i) => {
          const refs = corpus.refs.map((s) => s[i]).filter((r): r is string => r !== null);
          const b = sentenceBleu(h, refs);
          const c = sentenceChrf(h, refs);
          expect(Math.abs(b.score - exp.sentence_bleu[i]!.score)).toBeLessThan(TOL);
          expect(b.format()).toBe(exp.sentence_bleu[i]!.format);
          expect(Math.abs(c.score - exp.sentence_chrf[i]!.score)).toBeLessThan(TOL);
          expect(c.format()).toBe(exp.sentence_chrf[i]!.format);
        });
      });
    });
  }

  it('tokenizers on the tricky strings', () => {
    expect(DATA.tokenizer_cases.map(tokenize13a)).toEqual(EXPECTED.tokenizers['13a']);
    expect(DATA.tokenizer_cases.map(tokenizeIntl)).toEqual(EXPECTED.tokenizers.intl);
  });

  it('README example: BLEU 48.53, chrF2 59.73', () => {
    expect(EXPECTED.corpora.readme!.bleu.default!.format).toBe(
      'BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)',
    );
    expect(EXPECTED.corpora.readme!.chrf.default!.format).toBe('chrF2 = 59.73');
  });
});
