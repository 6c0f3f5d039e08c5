// Every op described in the table, in the order the drivers run them.
import { gelu, geluTanh, relu, silu, swiglu } from './activation.js';
import { attentionMaskedRows, scaledDotProductAttention } from './attention.js';
import { crossEntropy } from './cross-entropy.js';
import { add, div, mean, mul, sub, sum } from './elementwise.js';
import { embedding } from './embedding.js';
import { dropout, layout } from './layout.js';
import { linear, matmul } from './linear.js';
import { layerNorm, rmsNorm } from './norm.js';
import { logSoftmax, softmax } from './softmax.js';
import { topk } from './topk.js';
import type { AnyOpSpec } from './types.js';

export const OP_TABLE: readonly AnyOpSpec[] = [
  scaledDotProductAttention, attentionMaskedRows,
  linear, matmul,
  layerNorm, rmsNorm,
  relu, gelu, geluTanh, silu, swiglu,
  softmax, logSoftmax,
  topk,
  crossEntropy,
  embedding,
  add, sub, mul, div, sum, mean,
  layout, dropout,
];
