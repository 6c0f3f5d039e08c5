// F: the functional API, shaped like torch.nn.functional.
// Loading it also installs Tensor's convenience methods (add, sum, reshape ...).
import './ops/tensor-methods.js';
export { attentionWithWeights, scaledDotProductAttention, type AttentionOptions, type AttentionWithWeights, type CausalOption } from './ops/attention.js';
export { linear, matmul } from './ops/matmul.js';
export { layerNorm, rmsNorm } from './ops/norm.js';
export { relu, gelu, silu, tanh, swiglu } from './ops/activation.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { topk, type TopK } from './ops/topk.js';
export { dropout } from './ops/dropout.js';
export { embedding } from './ops/embedding.js';
export { crossEntropy, type CrossEntropyOptions } from './ops/loss.js';
export { add, sub, mul, div, scale } from './ops/elementwise.js';
export { sum, mean } from './ops/reduce.js';
export { reshape, permute, transpose, cast, narrow, split, cat, writeNarrow } from './ops/layout.js';
