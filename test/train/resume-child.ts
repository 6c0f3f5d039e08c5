// Run by trainer.test.ts in a separate process: resume a checkpoint and train on.
import { Trainer } from '../../src/train/index.js';

const [from, to, maxSteps, precision] = process.argv.slice(2);
const trainer = new Trainer({ task: new URL('./tiny-task.ts', import.meta.url), maxSteps: Number(maxSteps), resumeFrom: from, checkpointPath: to, threads: 2, precision: (precision ?? 'fp32') as 'fp32' | 'bf16' });
const result = await trainer.result;
console.log(JSON.stringify({ step: result.step, reason: result.reason }));
