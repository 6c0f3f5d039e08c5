// Tensor's conveniences (backward, add ... transpose) are autograd and ops, the
// layers above tensor/: they install their functions here when they load, as
// tfjs's chained ops attach themselves to its Tensor, so that tensor/ imports
// nothing from above it.
import type { DType } from '../util/dtype.js';
import type { Tensor } from './tensor.js';

export interface TensorMethods {
  backward(root: Tensor, gradOut: Tensor | undefined, retainGraph: boolean): void;
  add(a: Tensor, b: Tensor | number): Tensor;
  sub(a: Tensor, b: Tensor | number): Tensor;
  mul(a: Tensor, b: Tensor | number): Tensor;
  div(a: Tensor, b: Tensor | number): Tensor;
  matmul(a: Tensor, b: Tensor): Tensor;
  sum(x: Tensor, dims: number | number[] | undefined, keepDims: boolean): Tensor;
  mean(x: Tensor, dims: number | number[] | undefined, keepDims: boolean): Tensor;
  reshape(x: Tensor, shape: readonly number[]): Tensor;
  permute(x: Tensor, dims: readonly number[]): Tensor;
  transpose(x: Tensor, dim0: number, dim1: number): Tensor;
  cast(x: Tensor, dtype: DType): Tensor;
}

const installed: Partial<TensorMethods> = {};

export function installTensorMethods(methods: Partial<TensorMethods>): void {
  Object.assign(installed, methods);
}

export function tensorMethod<K extends keyof TensorMethods>(name: K): TensorMethods[K] {
  const fn = installed[name];
  if (fn === undefined) throw new Error(`toroid: Tensor.${name}() comes from ${name === 'backward' ? 'src/autograd/' : 'src/ops/'}, which is not loaded (import toroid)`);
  return fn as TensorMethods[K];
}
