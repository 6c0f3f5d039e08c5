// Messages between toroid.serve's HTTP thread and its decoding worker (serve/worker.ts).
import type { FinishReason, SequenceEvent } from './continuous-batch.js';

export interface ServeWorkerConfig {
  modelPath: string;
  backend?: string;
  threads?: number;
  maxBatch: number;
  prefillBudget: number;
}

/** A sequence as it crosses threads (the seed as a decimal string: bigint does not clone into every structure). */
export interface WireRequest {
  prompt: Int32Array;
  maxNewTokens: number;
  eos: number[];
  strategy: 'greedy' | 'sample';
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  seed: string | null;
}

export type ToWorker =
  | { type: 'submit'; id: number; req: WireRequest }
  | { type: 'cancel'; id: number }
  | { type: 'close' };

export interface ModelInfo {
  family: 'GPT' | 'Seq2SeqTransformer';
  /** Ids a prompt (GPT) or a source (Seq2Seq) may hold. */
  inputVocab: number;
  /** Ids the model generates. */
  vocabSize: number;
  /** GPT: blockSize (prompt + new tokens); Seq2Seq: maxLen (the source, and the new tokens with EOS, each). */
  blockSize: number;
  /** The file's metadata.tokenizer (a BPETokenizer JSON: the target side's, or the shared one), when it has one. */
  tokenizer: string | null;
  /** metadata.sourceTokenizer: a Seq2Seq model's source side, when the vocabularies are separate. */
  sourceTokenizer: string | null;
  backend: string;
}

export type FromWorker =
  | { type: 'ready'; model: ModelInfo }
  | { type: 'events'; events: SequenceEvent[]; active: number; queued: number; stepMs: number }
  /** The step failed: these sequences are gone (the batch starts afresh). */
  | { type: 'failed'; ids: number[]; message: string }
  | { type: 'fatal'; message: string };

export type { FinishReason, SequenceEvent };
