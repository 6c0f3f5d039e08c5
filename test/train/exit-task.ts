// A task whose second step ends the worker thread with exit code 0 and no 'done' message
// (a task that calls process.exit), for the Trainer's failure path.
import type { TrainTask } from '../../src/train/index.js';
import { createTask as tiny } from './tiny-task.js';

export function createTask(): TrainTask {
  const task = tiny({});
  let n = 0;
  return { ...task, trainStep() { if (++n === 2) process.exit(0); return task.trainStep(); } };
}
