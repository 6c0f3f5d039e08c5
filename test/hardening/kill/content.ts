// The deterministic contents of checkpoint number `step`, shared by the killed
// writer (saver.ts) and the test that checks what survived. Every element
// depends on the step, so a torn mix of two checkpoints can never pass as one.
// Even steps go through toroid.save, odd ones through saveTrainingState (the
// Trainer's checkpoint writer), over the same file.

export type Mode = 'save' | 'training';

export interface Content {
  mode: Mode;
  /** name -> [shape, values]; float32 values are integers below 2^24 (exact). */
  tensors: Map<string, { shape: number[]; dtype: 'float32' | 'int32'; values: Float32Array | Int32Array }>;
}

export const modeOf = (step: number): Mode => (step % 2 === 0 ? 'save' : 'training');

// About 4 MiB per checkpoint: big enough that a kill often lands while the temp file is written.
const LAYOUT: Array<[string, number[], 'float32' | 'int32']> = [
  ['w0', [512, 512], 'float32'],
  ['w1', [256, 1024], 'float32'],
  ['w2', [1024, 256], 'float32'],
  ['b', [1024], 'float32'],
  ['ids', [256, 1024], 'int32'],
];

export function contentOf(step: number): Content {
  const mode = modeOf(step);
  const tensors: Content['tensors'] = new Map();
  let salt = 0;
  for (const [base, shape, dtype] of LAYOUT) {
    salt++;
    const n = shape.reduce((a, b) => a * b, 1);
    const values = dtype === 'float32' ? new Float32Array(n) : new Int32Array(n);
    // consecutive steps differ at every element (1000003 * d is never 0 mod 2^24 for small d)
    const k = Math.imul(step, 1000003) + Math.imul(salt, 7919);
    for (let i = 0; i < n; i++) values[i] = ((Math.imul(i, 40503) + k) & 0xffffff) - 8388608;
    // saveTrainingState stores the model under model/ and optimizer tensors under their state path
    const name = mode === 'save' ? base : base === 'ids' ? 'optimizer/state/0/exp_avg_sq_ids' : `model/${base}`;
    tensors.set(name, { shape, dtype, values });
  }
  return { mode, tensors };
}
