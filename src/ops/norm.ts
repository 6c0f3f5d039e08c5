// F.layerNorm and F.rmsNorm over the trailing `normalizedShape` dims.
import { needsGrad, record } from '../autograd/tape.js';
import { describeShape, rangeError } from '../errors.js';
import { sameShape, sizeOf } from '../util/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkCompatibleMixed, checkNormalizedShape, checkNumber, checkTensor } from '../validate/checks.js';

/** normalizedShape, which x's trailing dims must equal. */
function checkTrailingShape(fn: string, x: Tensor, normalizedShape: unknown): number[] {
  const shape = checkNormalizedShape(fn, normalizedShape);
  if (shape.length > x.rank || !sameShape(x.shape.slice(x.rank - shape.length), shape)) {
    throw rangeError(fn, 'x', `[..., ${shape.join(',')}] ending in normalizedShape`, `${x.dtype} ${describeShape(x.shape)}`);
  }
  return shape;
}

function checkParam(fn: string, arg: string, p: Tensor | null | undefined, shape: number[]): Tensor | null {
  if (p == null) return null;
  checkTensor(fn, arg, p);
  if (!sameShape(p.shape, shape)) throw rangeError(fn, arg, `${describeShape(shape)} like normalizedShape`, `${p.dtype} ${describeShape(p.shape)}`);
  return p;
}

/** Biased variance, eps inside the square root (PyTorch's F.layer_norm). */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const fn = 'layerNorm';
  checkTensor(fn, 'x', x);
  const shape = checkTrailingShape(fn, x, normalizedShape);
  const w = checkParam(fn, 'weight', weight, shape);
  const b = checkParam(fn, 'bias', bias, shape);
  checkNumber(fn, 'eps', eps, 0, Infinity, 'a non-negative number');
  const backend = checkCompatibleMixed(fn, ['x', x], ['weight', w], ['bias', b]);
  const C = sizeOf(shape);
  const k = backend.kernels;
  const r = k.layernormForward(x, w, b, C, eps);
  const y = Tensor.fromKernel(backend, r.y);
  const mean = Tensor.fromKernel(backend, r.mean);
  const rstd = Tensor.fromKernel(backend, r.rstd);
  if (needsGrad(x, w, b)) {
    // decided now: the user may dispose the inputs before backward(), which unlinks their graph
    const needW = w?.requiresGrad ?? false, needB = b?.requiresGrad ?? false, hasBias = b !== null;
    record(fn, y, [x, w, b], [x, mean, rstd, ...(w ? [w] : [])], (dy, [sx, smean, srstd, sw]) => {
      const g = k.layernormBackward(dy, sx!, sw ?? null, smean!, srstd!, C, hasBias);
      const dweight = g.dweight && needW ? Tensor.fromKernel(backend, { ...g.dweight, shape }) : null;
      const dbias = g.dbias && needB ? Tensor.fromKernel(backend, { ...g.dbias, shape }) : null;
      if (g.dweight && dweight === null) backend.free(g.dweight.data);
      if (g.dbias && dbias === null) backend.free(g.dbias.data);
      return [Tensor.fromKernel(backend, g.dx), dweight, dbias];
    });
  }
  mean.dispose();
  rstd.dispose();
  return y;
}

/** y = x / sqrt(mean(x^2) + eps) * weight. eps defaults to the dtype's machine epsilon (PyTorch's F.rms_norm). */
export function rmsNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null, eps?: number): Tensor {
  const fn = 'rmsNorm';
  checkTensor(fn, 'x', x);
  const shape = checkTrailingShape(fn, x, normalizedShape);
  const w = checkParam(fn, 'weight', weight, shape);
  const epsValue = eps === undefined ? (x.dtype === 'float64' ? 2 ** -52 : 2 ** -23) : checkNumber(fn, 'eps', eps, 0, Infinity, 'a non-negative number');
  const backend = checkCompatibleMixed(fn, ['x', x], ['weight', w]);
  const C = sizeOf(shape);
  const k = backend.kernels;
  const r = k.rmsnormForward(x, w, C, epsValue);
  const y = Tensor.fromKernel(backend, r.y);
  const rstd = Tensor.fromKernel(backend, r.rstd);
  if (needsGrad(x, w)) {
    const needW = w?.requiresGrad ?? false;
    record(fn, y, [x, w], [x, rstd, ...(w ? [w] : [])], (dy, [sx, srstd, sw]) => {
      const g = k.rmsnormBackward(dy, sx!, sw ?? null, srstd!, C);
      const dweight = g.dweight && needW ? Tensor.fromKernel(backend, { ...g.dweight, shape }) : null;
      if (g.dweight && dweight === null) backend.free(g.dweight.data);
      return [Tensor.fromKernel(backend, g.dx), dweight];
    });
  }
  rstd.dispose();
  return y;
}
