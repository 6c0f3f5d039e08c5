// The pure-TypeScript backend: the numerical reference every other backend is
// tested against, and the "pure JS" baseline in benchmarks. Storage is a typed array.
import type { DType, TypedArray } from '../../util/dtype.js';
import { allocArray, MAX_HOST_ELEMENTS } from '../../util/dtype.js';
import { KERNEL_NAMES, type Kernels } from '../backend.js';
import { widenBFloat16 } from '../bf16-widen.js';
import { registerBackend, registerKernel } from '../registry.js';
import { activationBackward, activationForward, swigluBackward, swigluForward } from './activation.js';
import { adamwStep } from './adamw.js';
import { attentionBackward, attentionForward } from './attention.js';
import { crossEntropyBackward, crossEntropyForward } from './cross-entropy.js';
import { dropoutBackward, dropoutForward } from './dropout.js';
import { binary, cast, fill, scale } from './elementwise.js';
import { cat, narrow, writeNarrow } from './concat.js';
import { embeddingBackward, embeddingForward } from './embedding.js';
import { topk } from './topk.js';
import { matmul } from './matmul.js';
import { layernormBackward, layernormForward, rmsnormBackward, rmsnormForward } from './norm.js';
import { broadcastTo, permute, sum } from './reduce.js';
import { softmaxBackward, softmaxForward } from './softmax.js';

export const TS_BACKEND = 'ts';

const backend = registerBackend({
  name: TS_BACKEND,
  upload(array: TypedArray, dtype: DType, copy: boolean): TypedArray {
    if (!copy) return array;
    const owned = allocArray(dtype, array.length);
    owned.set(array);
    return owned;
  },
  download(data: unknown, dtype: DType): TypedArray {
    const owned = allocArray(dtype, (data as TypedArray).length);
    owned.set(data as TypedArray);
    return owned;
  },
  // typed arrays are returned to the garbage collector
  free(): void {},
  supportsDType(): boolean {
    return true;
  },
  maxElements: () => MAX_HOST_ELEMENTS,
});

registerKernel(TS_BACKEND, 'matmul', matmul);
registerKernel(TS_BACKEND, 'attentionForward', attentionForward);
registerKernel(TS_BACKEND, 'attentionBackward', attentionBackward);
registerKernel(TS_BACKEND, 'layernormForward', layernormForward);
registerKernel(TS_BACKEND, 'layernormBackward', layernormBackward);
registerKernel(TS_BACKEND, 'rmsnormForward', rmsnormForward);
registerKernel(TS_BACKEND, 'rmsnormBackward', rmsnormBackward);
registerKernel(TS_BACKEND, 'activationForward', activationForward);
registerKernel(TS_BACKEND, 'activationBackward', activationBackward);
registerKernel(TS_BACKEND, 'swigluForward', swigluForward);
registerKernel(TS_BACKEND, 'swigluBackward', swigluBackward);
registerKernel(TS_BACKEND, 'softmaxForward', softmaxForward);
registerKernel(TS_BACKEND, 'softmaxBackward', softmaxBackward);
registerKernel(TS_BACKEND, 'topk', topk);
registerKernel(TS_BACKEND, 'crossEntropyForward', crossEntropyForward);
registerKernel(TS_BACKEND, 'crossEntropyBackward', crossEntropyBackward);
registerKernel(TS_BACKEND, 'embeddingForward', embeddingForward);
registerKernel(TS_BACKEND, 'embeddingBackward', embeddingBackward);
registerKernel(TS_BACKEND, 'dropoutForward', dropoutForward);
registerKernel(TS_BACKEND, 'dropoutBackward', dropoutBackward);
registerKernel(TS_BACKEND, 'binary', binary);
registerKernel(TS_BACKEND, 'scale', scale);
registerKernel(TS_BACKEND, 'narrow', narrow);
registerKernel(TS_BACKEND, 'writeNarrow', writeNarrow);
registerKernel(TS_BACKEND, 'cat', cat);
registerKernel(TS_BACKEND, 'sum', sum);
registerKernel(TS_BACKEND, 'broadcastTo', broadcastTo);
registerKernel(TS_BACKEND, 'permute', permute);
registerKernel(TS_BACKEND, 'cast', cast);
registerKernel(TS_BACKEND, 'fill', fill);
registerKernel(TS_BACKEND, 'adamwStep', adamwStep);

// bfloat16: every computing kernel widens to float32 and rounds its result once (the reference semantics)
const bf16 = widenBFloat16({ ...backend.kernels } as Kernels, () => {});
for (const name of KERNEL_NAMES) registerKernel(TS_BACKEND, name, bf16[name] as never);
