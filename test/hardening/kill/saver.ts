// Child process for test/hardening/checkpoint-kill.test.ts: saves checkpoint
// after checkpoint over the same file until it is killed. Usage:
//   saver <file> <firstStep>
// It reports on stdout with synchronous writes (they reach the pipe before a
// SIGKILL can land): "begin <step>" before a save starts, "done <step> <ms>"
// after it returned.
import fs from 'node:fs';
import '../../../src/backends/ts/index.js';
import { save } from '../../../src/io/checkpoint.js';
import { tensor } from '../../../src/tensor/create.js';
import type { Tensor } from '../../../src/tensor/tensor.js';
import { saveTrainingState } from '../../../src/train/state.js';
import { contentOf } from './content.js';

const [file, first] = process.argv.slice(2);
if (file === undefined || first === undefined) throw new Error('usage: saver <file> <firstStep>');

for (let step = Number(first); ; step++) {
  const { mode, tensors: content } = contentOf(step);
  const tensors: Record<string, Tensor> = {};
  for (const [name, c] of content) tensors[name] = tensor(c.values, { shape: c.shape, backend: 'ts', copy: false });
  fs.writeSync(1, `begin ${step}\n`);
  const t0 = performance.now();
  if (mode === 'save') {
    await save(file, tensors, { step: String(step) });
  } else {
    const model: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(tensors)) if (name.startsWith('model/')) model[name.slice('model/'.length)] = t;
    const optimizer = {
      stateDict: () => ({ state: { 0: { exp_avg_sq_ids: tensors['optimizer/state/0/exp_avg_sq_ids'] } }, step }),
      loadStateDict: () => {},
    };
    await saveTrainingState(file, { model: { stateDict: () => model, loadStateDict: () => {} }, optimizer }, { step });
  }
  fs.writeSync(1, `done ${step} ${(performance.now() - t0).toFixed(1)}\n`);
  for (const t of Object.values(tensors)) t.dispose();
}
