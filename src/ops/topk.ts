// topk: the k largest along the last axis, best first, as torch.topk(x, k) (largest, sorted).
// Order: larger first, NaN above every number, ties by lower index (PyTorch leaves the tie
// order unspecified; toroid's is this one on every backend). The values' gradient goes back
// to the positions they came from (a scatter-add through the embedding backward kernel).
import { needsGrad, record } from '../autograd/tape.js';
import { describeValue, rangeError, typeError } from '../errors.js';
import { tensor } from '../tensor/create.js';
import { Tensor } from '../tensor/tensor.js';
import { checkTensor } from '../validate/checks.js';

export interface TopK {
  /** The k largest of each row [..., k], x's dtype. */
  values: Tensor;
  /** Their positions along the last axis, int32 [..., k]. */
  indices: Tensor;
}

export function topk(x: Tensor, k: number): TopK {
  const fn = 'topk';
  checkTensor(fn, 'x', x);
  if (x.rank === 0) throw rangeError(fn, 'x', 'at least 1-D', 'a scalar');
  const n = x.shape[x.rank - 1]!;
  if (typeof k !== 'number') throw typeError(fn, 'k', `an integer in [0, ${n}] (the last axis)`, describeValue(k));
  if (!Number.isInteger(k) || k < 0 || k > n) throw rangeError(fn, 'k', `an integer in [0, ${n}] (the last axis)`, describeValue(k));
  const backend = x.backend;
  const r = backend.kernels.topk(x, k);
  const values = Tensor.fromKernel(backend, r.values);
  const indices = Tensor.fromKernel(backend, r.indices);
  if (!needsGrad(x)) return { values, indices };
  const shape = x.shape.slice();
  const rows = n === 0 ? 0 : x.size / n;
  const recorded = record(fn, values, [x], [indices], (dy, [saved]) => {
    // flat positions row * n + index, then dy scattered there (each position at most once)
    const flat = Int32Array.from(saved!.toTypedArray() as Int32Array, (index, i) => Math.floor(i / k) * n + index);
    const ids = tensor(flat, { shape: [flat.length], dtype: 'int32', backend: backend.name });
    const column = dy.alias([rows * k, 1], false);
    try {
      const dx = Tensor.fromKernel(backend, backend.kernels.embeddingBackward(column, ids, rows * n, null));
      const out = dx.alias(shape);
      dx.dispose();
      return [out];
    } finally {
      column.dispose();
      ids.dispose();
    }
  });
  return { values: recorded, indices };
}
