// The config file of `toroid train --config <file>` (bin/train.mjs), described once:
//   { "source": "train.de.gz", "target": "train.en.gz", "validSource": "...", "validTarget": "...",
// ("task": "lm", or { "type": "lm", ...lm options }, trains a GPT on the text in "source" instead:
//  src/train/tasks/lm.ts; "target" and "validTarget" are then left out)
//     "checkpoint": "run/model.safetensors", "maxSteps": 10000, "validateEvery": 500,
//     "checkpointEvery": 1000, "resume": false, "threads": 2, "distributed": "mpi", "precision": "bf16",
//     "task": { "vocabSize": 8000, "batchTokens": 2048, "warmup": 4000, "model": { "dModel": 256, ... } } }
// Paths are relative to the config file; `distributed` is checked by the Trainer.
import { describeValue, rangeError, typeError } from '../errors.js';
import { checkBoolean, checkNonNegativeInt, checkPath, checkPositiveInt, isPlainObject } from '../validate/checks.js';
import { checkLMTaskOptions } from './tasks/lm.js';
import { checkTranslationTaskOptions } from './tasks/translation.js';
import { oneOf, resolveConfig, unchecked, type Schema } from '../validate/schema.js';

export interface TrainCliConfig {
  source: string;
  /** The translation task's target side (left out with "task": "lm"). */
  target: string | undefined;
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
  /** The task's options (src/train/tasks/translation.ts, or lm.ts with type 'lm'), type removed. */
  task: Record<string, unknown>;
  /** Which built-in task: 'translation' (default) or 'lm'. */
  taskType: 'translation' | 'lm';
}

/** "lm" or an object: { type: 'lm', ...lm options } or the translation task's options (type 'translation' or left out). */
function checkTask(fn: string, arg: string, value: unknown): Record<string, unknown> {
  if (value === 'lm') return { type: 'lm' };
  if (!isPlainObject(value)) throw typeError(fn, arg, '"lm" or an object of task options', describeValue(value));
  const { type, ...rest } = value as Record<string, unknown>;
  if (type === 'lm') return { type: 'lm', ...checkLMTaskOptions(fn, arg, rest) };
  if (type !== undefined && type !== 'translation') throw rangeError(fn, `${arg}.type`, "'translation' or 'lm'", describeValue(type));
  return checkTranslationTaskOptions(fn, arg, rest);
}

const CONFIG: Schema<Omit<TrainCliConfig, 'taskType'>> = {
  source: { check: checkPath },
  target: { check: checkPath, optional: true },
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
  task: { check: checkTask, default: () => ({}) },
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
  const c = resolveConfig('train', 'config', config, CONFIG);
  const { type, ...task } = c.task;
  const taskType = type === 'lm' ? 'lm' : 'translation';
  if (taskType === 'translation' && c.target === undefined) throw typeError('train', 'config.target', 'a file path string (the translation task\'s target side)', 'undefined');
  if (taskType === 'lm' && (c.target !== undefined || c.validTarget !== undefined)) throw rangeError('train', c.target !== undefined ? 'config.target' : 'config.validTarget', 'left out with "task": "lm" (the text is "source")', 'a path');
  return { ...c, task, taskType };
}
