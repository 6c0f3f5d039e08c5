// Installs the ops that Tensor's convenience methods call (src/tensor/methods.ts).
import { installTensorMethods } from '../tensor/methods.js';
import { add, sub, mul, div } from './elementwise.js';
import { sum, mean } from './reduce.js';
import { cast, reshape, permute, transpose } from './layout.js';
import { matmul } from './matmul.js';

installTensorMethods({ add, sub, mul, div, sum, mean, reshape, permute, transpose, matmul, cast });
