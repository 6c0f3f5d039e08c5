// A task whose third step throws, for the Trainer's error path.
import type { TrainTask } from '../../src/train/index.js';
import { createTask as tiny } from './tiny-task.js';

export function createTask(): TrainTask {
  const task = tiny({});
  let n = 0;
  return { ...task, trainStep() { if (++n === 3) throw new RangeError('bad batch 3'); return task.trainStep(); } };
}
