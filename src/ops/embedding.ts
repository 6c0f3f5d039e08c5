import { needsGrad, record } from '../autograd/tape.js';
import { describeShape, rangeError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { checkCompatible, checkInteger, checkOptions, checkTensor } from '../validate/checks.js';

const FN = 'embedding';

/** ids int32 [...], weight [V,C] -> [..., C]. Rows of paddingIdx receive no gradient. */
export function embedding(ids: Tensor, weight: Tensor, options?: { paddingIdx?: number | null }): Tensor {
  const opts = checkOptions(FN, options, ['paddingIdx']);
  checkTensor(FN, 'ids', ids, ['int32']);
  checkTensor(FN, 'weight', weight);
  if (weight.rank !== 2) throw rangeError(FN, 'weight', `${weight.dtype} [V,C]`, `${weight.dtype} ${describeShape(weight.shape)}`);
  const V = weight.shape[0]!;
  let paddingIdx = opts.paddingIdx == null ? null : checkInteger(FN, 'paddingIdx', opts.paddingIdx, -V, V - 1);
  if (paddingIdx !== null && paddingIdx < 0) paddingIdx += V;
  const backend = checkCompatible(FN, ['weight', weight], ['ids', ids]);
  const k = backend.kernels;
  const y = Tensor.fromKernel(backend, k.embeddingForward(weight, ids));
  if (!needsGrad(weight)) return y;
  return record(FN, y, [null, weight], [ids], (dy, [sids]) => [null, Tensor.fromKernel(backend, k.embeddingBackward(dy, sids!, V, paddingIdx))]);
}
