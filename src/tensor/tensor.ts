import type { Backend, KResult } from '../backends/backend.js';
import { describeShape, rangeError, typeError } from '../errors.js';
import { bytesPerElement, isFloatDType, numbersOf, type DType, type TypedArray } from '../util/dtype.js';
import { sizeOf } from '../util/shape.js';
import { Storage } from './storage.js';
import { trackTensor } from './scope.js';
import { tensorMethod } from './methods.js';

// Backstop only: a tensor that is collected without dispose() releases its
// storage here. dispose() is the deterministic path and unregisters.
const finalizer = new FinalizationRegistry<Storage>((storage) => storage.release());

export type NestedArray = number | NestedArray[];

/** What a tensor holds of the op that produced it (autograd's GradNode, src/autograd/tape.ts). */
export interface GradFn {
  readonly name: string;
  retainRef(): void;
  releaseRef(): void;
  /** Free the saved tensors now. */
  release(): void;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly backend: Backend;
  /** Gradient accumulated by backward() into leaf tensors that require it. */
  grad: Tensor | null = null;
  private _gradFn: GradFn | null = null;
  private _requiresGrad = false;
  private storage: Storage | null;

  /** @internal Use toroid.tensor() and friends to create tensors. */
  constructor(storage: Storage, shape: readonly number[], dtype: DType, track = true) {
    this.storage = storage;
    this.backend = storage.backend;
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    finalizer.register(this, storage, this);
    if (track) trackTensor(this);
  }

  /** @internal Wrap a kernel result as a new tensor owned by `backend`. */
  static fromKernel(backend: Backend, r: KResult): Tensor {
    return new Tensor(new Storage(backend, r.data, sizeOf(r.shape) * bytesPerElement(r.dtype)), r.shape, r.dtype);
  }

  /** @internal Storage handle for kernels; throws once disposed. */
  get data(): unknown {
    if (this.storage === null) throw new Error(`toroid: a disposed tensor (${this.dtype} ${describeShape(this.shape)}) was used`);
    return this.storage.data;
  }

  /** @internal A second tensor over the same storage (for views and saved-for-backward). */
  alias(shape: readonly number[] = this.shape, track = true): Tensor {
    if (this.storage === null) throw new Error(`toroid: a disposed tensor (${this.dtype} ${describeShape(this.shape)}) was used`);
    return new Tensor(this.storage.retain(), shape, this.dtype, track);
  }

  get size(): number { return sizeOf(this.shape); }
  get rank(): number { return this.shape.length; }
  /** Name of the backend holding the storage: 'ts', 'cpu', 'cuda'. */
  get device(): string { return this.backend.name; }
  get isDisposed(): boolean { return this.storage === null; }
  /** @internal */
  get __isTensor(): true { return true; }

  /** The op that produced this tensor, when it was recorded for autograd. */
  get gradFn(): GradFn | null { return this._gradFn; }
  /** @internal Set by the tape; the handle holds a reference on the node until disposed. */
  set gradFn(node: GradFn | null) {
    if (node === this._gradFn) return;
    node?.retainRef();
    const previous = this._gradFn;
    this._gradFn = node;
    previous?.releaseRef();
  }

  /** True for leaves that ask for a gradient and for every tensor computed from one. */
  get requiresGrad(): boolean { return this._requiresGrad || this.gradFn !== null; }
  set requiresGrad(value: boolean) {
    if (typeof value !== 'boolean') throw typeError('Tensor.requiresGrad', 'value', 'a boolean', typeof value);
    if (value && !isFloatDType(this.dtype)) {
      throw typeError('Tensor.requiresGrad', 'tensor', 'float32, float64 or bfloat16 to require a gradient', this.dtype);
    }
    this._requiresGrad = value;
  }

  /** Release the storage now (it is shared with views until the last one goes). Idempotent. */
  dispose(): void {
    if (this.storage === null) return;
    finalizer.unregister(this);
    this.storage.release();
    this.storage = null;
    // drop this handle's reference on its node: the last one frees the node's saved tensors
    this.gradFn = null;
    this.grad?.dispose();
    this.grad = null;
  }

  /** Backpropagate from this tensor; gradOut defaults to 1 for a scalar. */
  backward(gradOut?: Tensor, options: { retainGraph?: boolean } = {}): void {
    tensorMethod('backward')(this, gradOut, options.retainGraph ?? false);
  }

  /** A copy of the values as a Float32Array (any dtype converts; bfloat16 widens exactly). */
  toFloat32Array(): Float32Array {
    const raw = this.toTypedArray();
    if (raw instanceof Float32Array) return raw;
    const values = numbersOf(raw, this.dtype);
    return values instanceof Float32Array ? values : Float32Array.from(values);
  }

  /** A copy of the values in this dtype's array type (bfloat16: a Uint16Array of bf16 bits). */
  toTypedArray(): TypedArray {
    return this.backend.download(this.data, this.dtype, this.size);
  }

  /** Values as nested JS arrays (a number for a scalar). */
  toArray(): NestedArray {
    const flat = Array.from(numbersOf(this.toTypedArray(), this.dtype));
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return flat[offset]!;
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw rangeError('Tensor.item', 'tensor', 'a tensor with one element', describeShape(this.shape));
    return numbersOf(this.toTypedArray(), this.dtype)[0]!;
  }

  toString(): string {
    return `Tensor(${this.dtype} ${describeShape(this.shape)} on ${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // Thin conveniences over the functional ops, so expressions read naturally.
  add(other: Tensor | number): Tensor { return tensorMethod('add')(this, other); }
  sub(other: Tensor | number): Tensor { return tensorMethod('sub')(this, other); }
  mul(other: Tensor | number): Tensor { return tensorMethod('mul')(this, other); }
  div(other: Tensor | number): Tensor { return tensorMethod('div')(this, other); }
  matmul(other: Tensor): Tensor { return tensorMethod('matmul')(this, other); }
  sum(dims?: number | number[], keepDims = false): Tensor { return tensorMethod('sum')(this, dims, keepDims); }
  mean(dims?: number | number[], keepDims = false): Tensor { return tensorMethod('mean')(this, dims, keepDims); }
  reshape(shape: readonly number[]): Tensor { return tensorMethod('reshape')(this, shape); }
  permute(dims: readonly number[]): Tensor { return tensorMethod('permute')(this, dims); }
  transpose(dim0: number, dim1: number): Tensor { return tensorMethod('transpose')(this, dim0, dim1); }
  /** This tensor in another dtype (a copy that autograd follows between float dtypes; itself when the dtype matches). */
  to(dtype: DType): Tensor { return dtype === this.dtype ? this : tensorMethod('cast')(this, dtype); }
  /** A tensor over the same storage that autograd does not track. */
  detach(): Tensor { return this.alias(); }
}
