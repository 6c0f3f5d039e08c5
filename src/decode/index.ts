// toroid.decode: greedy, beam and sampled decoding with KV caches for nn.Seq2SeqTransformer
// and nn.GPT: synchronous functions, non-blocking generate* functions (AbortSignal,
// streaming), beam search over an injected step function, and the KV-cache pieces.
export { greedyDecode, type Seq2SeqDecodeOptions } from './greedy.js';
export {
  beamSearch,
  beamSearchWith,
  lengthPenalty,
  type BeamHypothesis,
  type BeamCoreOptions,
  type BeamSearchWithOptions,
  type BeamSearchOptions,
} from './beam.js';
export { sampleDecode, type SamplingOptions, type Seq2SeqSampleOptions } from './sampling.js';
export {
  generate,
  generateSync,
  generateBeam,
  streamGenerate,
  type GenerateOptions,
  type GenerateBeamOptions,
  type TokenInput,
} from './generate.js';
export type { StepFunction, StepInfo } from './step.js';
export { KVCache, indexSelect, type AttentionKV } from './kv-cache.js';
