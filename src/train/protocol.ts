// Messages between the Trainer (main thread) and its worker.
export interface WorkerConfig {
  taskUrl: string;
  taskOptions: unknown;
  maxSteps: number;
  validateEvery: number;
  checkpointEvery: number;
  checkpointAtEnd: boolean;
  checkpointPath?: string;
  resumeFrom?: string;
  threads?: number;
  /** Int32Array(1) over it: non-zero asks the worker to stop after the current step. */
  abortBuffer: SharedArrayBuffer;
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
}

export type WorkerMessage =
  | ProgressEvent
  | { type: 'validation'; step: number; loss: number }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'resumed'; step: number; path: string }
  | { type: 'done'; step: number; reason: 'finished' | 'aborted' | 'exhausted' }
  | { type: 'error'; name: string; message: string; stack: string };
