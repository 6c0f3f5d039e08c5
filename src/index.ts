// toroid: Transformers in Node.js. The public API.
import './backends/load.js';

export { Tensor, type NestedArray } from './tensor/tensor.js';
export type { DType, TypedArray } from './util/dtype.js';
export type { CausalOption } from './ops/attention.js';
export { tensor, zeros, ones, full, rand, randn, type TensorOptions, type FromArrayOptions } from './tensor/create.js';
export { tidy, keep } from './tensor/scope.js';
export { autocast, autocastDType, type AutocastOptions } from './ops/autocast.js';
export { memory, type MemoryInfo } from './tensor/storage.js';
export { noGrad, isGradEnabled } from './autograd/tape.js';
export { getBackend, setBackend, listBackends, registerBackend, registerKernel } from './backends/registry.js';
export type { Backend, Kernels, KernelName, KTensor, KResult } from './backends/backend.js';
export { KERNEL_NAMES } from './backends/backend.js';
export { manualSeed, initialSeed, getRngState, setRngState } from './random/generator.js';
export { adamwStep, type AdamWState } from './optim/adamw-step.js';
export * as F from './functional.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export { load, save, type Loaded, type LoadOptions, type SaveOptions } from './io/checkpoint.js';
export { nativeInfo, setNumThreads } from './backends/native/index.js';
export * as data from './data/index.js';
export * as train from './train/index.js';
export { Trainer } from './train/index.js';
export * as metrics from './metrics/index.js';
export * as tokenizer from './tokenizer/index.js';
export * as decode from './decode/index.js';
export * as cuda from './backends/cuda/index.js';
