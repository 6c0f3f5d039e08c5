// The config file of `toroid train --config <file>` (bin/train.mjs), described once:
//   { "source": "train.de.gz", "target": "train.en.gz", "validSource": "...", "validTarget": "...",
//     "checkpoint": "run/model.safetensors", "maxSteps": 10000, "validateEvery": 500,
//     "checkpointEvery": 1000, "resume": false, "threads": 2, "distributed": "mpi", "precision": "bf16",
//     "task": { "vocabSize": 8000, "batchTokens": 2048, "warmup": 4000, "model": { "dModel": 256, ... } } }
// Paths are relative to the config file; `distributed` is checked by the Trainer.
import { describeValue, rangeError, typeError } from '../errors.js';
import { checkBoolean, checkNonNegativeInt, checkPath, checkPositiveInt, isPlainObject } from '../validate/checks.js';
import { checkTranslationTaskOptions } from './tasks/translation.js';
import { oneOf, resolveConfig, unchecked, type Schema } from '../validate/schema.js';

export interface TrainCliConfig {
  source: string;
  target: string;
  validSource: string | undefined;
  validTarget: string | undefined;
  checkpoint: string;
  maxSteps: number;
  validateEvery: number;
  checkpointEvery: number;
  /** Continue from the checkpoint when it exists. */
  resume: boolean;
  threads: number | undefined;
  /** 'fp32' (default) or 'bf16' (mixed precision: TrainerOptions.precision). */
  precision: 'fp32' | 'bf16';
  distributed: unknown;
  /** The translation task's options (src/train/tasks/translation.ts). */
  task: Record<string, unknown>;
}

const CONFIG: Schema<TrainCliConfig> = {
  source: { check: checkPath },
  target: { check: checkPath },
  validSource: { check: checkPath, optional: true },
  validTarget: { check: checkPath, optional: true },
  checkpoint: { check: checkPath },
  maxSteps: { check: checkNonNegativeInt, default: 10000 },
  validateEvery: { check: checkNonNegativeInt, default: 0 },
  checkpointEvery: { check: checkNonNegativeInt, default: 1000 },
  resume: { check: checkBoolean, default: false },
  threads: { check: checkPositiveInt, optional: true },
  precision: { check: oneOf(['fp32', 'bf16'] as const), default: 'fp32' },
  distributed: { check: unchecked, optional: true },
  task: { check: checkTranslationTaskOptions, default: () => ({}) },
};

/**
 * The text of a config file as a JSON object (not yet checked): a file that is not JSON, or
 * whose top level is not an object, is refused naming the file.
 */
export function parseTrainCliConfig(text: string, source: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw rangeError('train', 'config', `a JSON file (${JSON.stringify(source)})`, (err as Error).message);
  }
  if (!isPlainObject(parsed)) throw typeError('train', 'config', `a JSON object (${JSON.stringify(source)})`, describeValue(parsed));
  return parsed;
}

/** Check a parsed config file and fill in the defaults: `toroid.train: config.<key> must be ..., got ...`. */
export function resolveTrainCliConfig(config: unknown): TrainCliConfig {
  return resolveConfig('train', 'config', config, CONFIG);
}
