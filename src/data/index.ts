// toroid.data: batches for training. Teacher forcing, token-budget batching with
// length bucketing and exact resume, and streaming readers (lines, parallel text,
// language-modelling blocks, bucketed stream batches) that never load a corpus.
export { teacherForcingBatch, DEFAULT_SPECIAL_IDS, type SpecialIds, type TeacherForcingOptions, type Seq2SeqBatch } from './teacher-forcing.js';
export {
  TokenBudgetSampler, paddingStats,
  type ExampleLength, type BudgetOptions, type SamplerOptions, type SamplerState, type PaddingStats,
} from './batching.js';
export { readLines, LineReader, type LinePosition, type ReadLinesOptions } from './line-reader.js';
export { parallelText, ParallelTextReader, type ParallelPosition, type ParallelPair, type ParallelTextOptions } from './parallel-text.js';
export { lmText, LMTextReader, type LMTextPosition, type LMTextOptions } from './lm-text.js';
export { streamBatches, StreamBatcher, type StreamBatchOptions, type StreamState, type PositionedSource } from './stream-batcher.js';
export type { TokenIds } from '../validate/checks.js';
