// toroid.metrics: sacrebleu-compatible BLEU and chrF, and perplexity.
export {
  corpusBleu, sentenceBleu, computeBleu, BleuScore, SMOOTH_DEFAULTS,
  type BleuOptions, type BleuSmoothMethod,
} from './bleu.js';
export { corpusChrf, sentenceChrf, chrfFScore, ChrfScore, type ChrfOptions } from './chrf.js';
export { perplexity, perplexityFromLogits, nllFromLogits, type NllResult } from './perplexity.js';
export {
  tokenize13a, tokenizeIntl, tokenizeChar, tokenizeNone, tokenizeRegexp, BLEU_TOKENIZERS,
  type BleuTokenizerName,
} from './tokenizer-13a.js';
export { SACREBLEU_VERSION, type References } from './common.js';
