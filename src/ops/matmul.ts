// matmul (torch.matmul semantics for rank >= 2) and linear (x W^T + b).
import { needsGrad, record } from '../autograd/tape.js';
import { describeShape, rangeError } from '../errors.js';
import { broadcastShapes, sizeOf } from '../util/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { sumToShape } from '../autograd/grad-helpers.js';
import { checkCompatible, checkTensor, describeTensor } from '../validate/checks.js';
import { underProductCast } from './autocast.js';

/** a [..., M, K] @ b [..., K, N] -> [..., M, N]; leading dims broadcast. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  checkTensor('matmul', 'a', a);
  checkTensor('matmul', 'b', b);
  // autocast: both in the autocast dtype, whatever they were
  const cast = underProductCast([a, b], (ca, cb) => matmul(ca!, cb!));
  if (cast !== null) return cast;
  const backend = checkCompatible('matmul', ['a', a], ['b', b]);
  if (a.rank < 2) throw rangeError('matmul', 'a', 'at least 2-D [..., M, K]', describeTensor(a));
  if (b.rank < 2) throw rangeError('matmul', 'b', 'at least 2-D [..., K, N]', describeTensor(b));
  const K = a.shape[a.rank - 1]!;
  if (b.shape[b.rank - 2] !== K) throw rangeError('matmul', 'b', `[..., K, N] with K=${K} like a's last dim`, describeShape(b.shape));
  if (broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)) === undefined) {
    throw rangeError('matmul', 'b', `batch dims broadcastable with a ${describeShape(a.shape)}`, describeShape(b.shape));
  }
  const k = backend.kernels;
  const y = Tensor.fromKernel(backend, k.matmul(a, b, false, false, null));
  if (!needsGrad(a, b)) return y;
  // decided now: the user may dispose a or b before backward(), which unlinks their graph
  const needA = a.requiresGrad, needB = b.requiresGrad;
  const shapeA = a.shape, shapeB = b.shape;
  // dA needs b, dB needs a: save only what a needed gradient uses
  const save = [needB ? a : null, needA ? b : null].filter((t): t is Tensor => t !== null);
  return record('matmul', y, [a, b], save, (dy, saved) => {
    let next = 0;
    const sa = needB ? saved[next++]! : null;
    const sb = needA ? saved[next++]! : null;
    return [
      sb !== null ? sumToShape(Tensor.fromKernel(backend, k.matmul(dy, sb, false, true, null)), shapeA) : null,
      sa !== null ? sumToShape(Tensor.fromKernel(backend, k.matmul(sa, dy, true, false, null)), shapeB) : null,
    ];
  });
}

/** y = x W^T + b with x [..., in], weight [out, in], bias [out]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  checkTensor('linear', 'x', x);
  checkTensor('linear', 'weight', weight);
  if (bias != null) checkTensor('linear', 'bias', bias);
  const cast = underProductCast([x, weight, bias ?? null], (cx, cw, cb) => linear(cx!, cw!, cb));
  if (cast !== null) return cast;
  const backend = checkCompatible('linear', ['x', x], ['weight', weight], ['bias', bias ?? null]);
  if (x.rank < 1) throw rangeError('linear', 'x', `${x.dtype} [..., in]`, describeTensor(x));
  const inFeatures = x.shape[x.rank - 1]!;
  if (weight.rank !== 2 || weight.shape[1] !== inFeatures) {
    throw rangeError('linear', 'weight', `[out, in] with in=${inFeatures} like x's last dim`, describeShape(weight.shape));
  }
  const outFeatures = weight.shape[0]!;
  if (bias != null && (bias.rank !== 1 || bias.shape[0] !== outFeatures)) {
    throw rangeError('linear', 'bias', `[out] with out=${outFeatures} like weight`, describeShape(bias.shape));
  }
  const k = backend.kernels;
  const rows = sizeOf(x.shape.slice(0, -1));
  const x2 = x.alias([rows, inFeatures], false);
  const y2 = k.matmul(x2, weight, false, true, bias ?? null);
  x2.dispose();
  y2.shape = [...x.shape.slice(0, -1), outFeatures];
  const y = Tensor.fromKernel(backend, y2);
  if (!needsGrad(x, weight, bias)) return y;
  const needX = x.requiresGrad, needW = weight.requiresGrad, needBias = bias?.requiresGrad ?? false;
  const xShape = x.shape;
  // dx needs weight, dW needs x, dbias needs neither
  const save = [needW ? x : null, needX ? weight : null].filter((t): t is Tensor => t !== null);
  return record('linear', y, [x, weight, bias ?? null], save, (dy, saved) => {
    let next = 0;
    const sx = needW ? saved[next++]! : null;
    const sw = needX ? saved[next++]! : null;
    const dy2 = dy.alias([rows, outFeatures], false);
    let dx: Tensor | null = null;
    let dw: Tensor | null = null;
    if (sw !== null) dx = Tensor.fromKernel(backend, k.matmul(dy2, sw, false, false, null));
    if (sx !== null) {
      const xs = sx.alias([rows, inFeatures], false);
      dw = Tensor.fromKernel(backend, k.matmul(dy2, xs, true, false, null));
      xs.dispose();
    }
    const db = needBias ? Tensor.fromKernel(backend, k.sum(dy2, [0], false)) : null;
    dy2.dispose();
    return [dx === null ? null : reshapeOwned(dx, xShape), dw, db];
  });
}

function reshapeOwned(t: Tensor, shape: readonly number[]): Tensor {
  const view = t.alias(shape);
  t.dispose();
  return view;
}
