// toroid.nn: PyTorch-shaped modules over the functional ops (F).
// Module (the base class, see module.ts for the registration contract), layers,
// containers, and nn.init (in-place initializers).
export {
  Module,
  type LoadStateDictOptions,
  type LoadStateDictResult,
  type ModuleSaveOptions,
  type RegisterParameterOptions,
  type RegisterBufferOptions,
} from './module.js';
export type { FactoryOptions } from './parameter.js';
export { Linear, type LinearOptions } from './linear.js';
export { Embedding, type EmbeddingOptions } from './embedding.js';
export { LayerNorm, RMSNorm, type LayerNormOptions, type RMSNormOptions } from './norm.js';
export { Dropout } from './dropout.js';
export { ModuleList, Sequential } from './container.js';
export * as init from './init.js';
