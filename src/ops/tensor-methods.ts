// The ops Tensor's convenience methods call (kept apart to make the import graph obvious).
export { add, sub, mul, div } from './elementwise.js';
export { sum, mean } from './reduce.js';
export { reshape, permute, transpose } from './layout.js';
export { matmul } from './matmul.js';
