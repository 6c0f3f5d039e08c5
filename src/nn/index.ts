// toroid.nn: PyTorch-shaped modules over the functional ops (F).
// Module (the base class, see module.ts for the registration contract), layers,
// containers, and nn.init (in-place initializers).
export {
  Module,
  type LoadStateDictOptions,
  type LoadStateDictResult,
  type ModuleSaveOptions,
  type RegisterParameterOptions,
  type RegisterBufferOptions,
} from './module.js';
export type { FactoryOptions } from './parameter.js';
export { Linear, type LinearOptions } from './linear.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { LayerNorm, RMSNorm, type LayerNormOptions, type RMSNormOptions } from './norm.js';
export { Dropout } from './dropout.js';
export { ModuleList, Sequential } from './container.js';
export * as init from './init.js';
export {
  MultiheadAttention,
  type MultiheadAttentionOptions,
  type MultiheadAttentionForwardOptions,
  type MultiheadAttentionOutput,
} from './attention.js';
export { FeedForward, type FeedForwardOptions, type FeedForwardActivation } from './feedforward.js';
export {
  SinusoidalPositionalEncoding,
  LearnedPositionalEmbedding,
  ALiBi,
  alibiSlopes,
  alibiBias,
  type SinusoidalPositionalEncodingOptions,
  type LearnedPositionalEmbeddingOptions,
  type PositionForwardOptions,
  type AlibiOptions,
  type ALiBiOptions,
} from './positions.js';
export {
  TransformerEncoderLayer,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerDecoder,
  Transformer,
  type TransformerLayerOptions,
  type TransformerOptions,
  type TransformerForwardOptions,
  type TransformerActivation,
} from './transformer.js';
export { RotaryEmbedding, rotaryTables, type RotaryEmbeddingOptions } from './rotary.js';
export {
  GPT,
  GPTAttention,
  GPTMLP,
  GPTBlock,
  gpt2StateDictToNanoGPT,
  resolveGPTConfig,
  type GPTConfig,
  type ResolvedGPTConfig,
  type GPTOutput,
  type GPTForwardOptions,
  type GPT2ConversionOptions,
} from './gpt.js';
export { Seq2SeqTransformer, resolveSeq2SeqConfig, type Seq2SeqConfig, type Seq2SeqForwardOptions } from './seq2seq.js';
export {
  BertEncoder,
  BertLayer,
  BertModel,
  bertStateDictFromHuggingFace,
  resolveBertConfig,
  type BertConfig,
  type ResolvedBertConfig,
  type BertForwardOptions,
  type BertOutput,
  type BertActivation,
} from './bert.js';
export { fromPretrained, savePretrained, type SavePretrainedOptions } from './pretrained.js';
