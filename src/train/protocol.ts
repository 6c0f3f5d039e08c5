// Messages between the Trainer (main thread) and its worker.

/** 'fp32' trains in float32; 'bf16' runs matrix products in bfloat16 (autocast), master weights float32. */
export type Precision = 'fp32' | 'bf16';
export interface WorkerConfig {
  taskUrl: string;
  taskOptions: unknown;
  maxSteps: number;
  validateEvery: number;
  checkpointEvery: number;
  checkpointAtEnd: boolean;
  checkpointPath?: string;
  /** 'warn': a failed checkpoint write is reported ('checkpointError') and training goes on. */
  onCheckpointError: 'warn' | 'stop';
  resumeFrom?: string;
  threads?: number;
  /** 'bf16': the task runs its forward passes under toroid.autocast (TaskContext.precision). */
  precision: Precision;
  /** Data-parallel training across processes (see TrainerOptions.distributed). */
  distributed?: DistributedConfig;
  /** Int32Array(1) over it: non-zero asks the worker to stop after the current step. */
  abortBuffer: SharedArrayBuffer;
}

export interface DistributedConfig {
  engine: 'mpi' | 'nccl';
  timeoutSeconds: number;
  bucketBytes: number;
  /** Compare a hash of the parameters across ranks every N steps (0: never). */
  checkEvery: number;
}

export interface ProgressEvent {
  type: 'progress';
  step: number;
  maxSteps: number;
  loss: number;
  tokens: number;
  lr: number | null;
  gradNorm: number | null;
  stepMs: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
  etaSeconds: number | null;
  /** Native bytes live in the worker's backend (null on ts). */
  liveBytes: number | null;
  rssBytes: number;
  /** Processes training together (1 without `distributed`); loss and tokens are over all of them. */
  worldSize: number;
  /** Milliseconds rank 0 waited for the gradient all-reduce after its backward (null without `distributed`). */
  allReduceWaitMs: number | null;
}

export type WorkerMessage =
  | ProgressEvent
  | { type: 'validation'; step: number; loss: number }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'checkpointError'; step: number; path: string; name: string; message: string; code?: string }
  | { type: 'resumed'; step: number; path: string }
  | { type: 'joined'; engine: string; version: string; rank: number; worldSize: number; localRank: number; threads: number }
  | { type: 'done'; step: number; reason: 'finished' | 'aborted' | 'exhausted' }
  | { type: 'error'; name: string; message: string; stack: string; code?: string };
