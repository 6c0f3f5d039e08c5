// toroid.tokenizer: subword tokenization for the Transformer examples.
// BPETokenizer (character-level BPE with an end-of-word marker, as in
// subword-nmt): train from lines of text (arrays or streamed files), encode,
// decode, save/load as JSON. pretokenize/detokenize are the word split it uses
// and its display inverse.
export {
  BPETokenizer, END_OF_WORD, DEFAULT_SPECIAL_TOKENS,
  type BPETrainOptions, type BPEOptions, type BPEEncodeOptions, type BPEDecodeOptions,
  type BPETokenizerJSON, type SpecialIds, type TextCorpus,
} from './bpe.js';
export { pretokenize, detokenize, type PretokenizeOptions } from './pretokenize.js';
export { HFTokenizer, type HFEncoding, type HFEncodeOptions, type HFDecodeOptions } from './hf/tokenizer.js';
