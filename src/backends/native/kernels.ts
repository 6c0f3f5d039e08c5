// Kernels over a toroid addon, shared by the cpu backend (toroid.node) and the
// cuda backend (toroid_cuda.node): both addons export the same functions from the
// same binding (typed in exports.ts), so one adapter serves both. Each export has
// its kernel's name and argument order; shapes are computed here (cheaply, in JS),
// and the addon re-validates every argument at its boundary, allocates outputs
// and runs its kernels.
import type { AdamWAttrs, AttentionAttrs, AttentionMasks, CrossEntropyAttrs, KResult, KTensor, KernelName, Kernels } from '../backend.js';
import { widenBFloat16 } from '../bf16-widen.js';
import { registerBackend, registerKernel } from '../registry.js';
import type { DType, TypedArray } from '../../util/dtype.js';
import { bytesPerElement } from '../../util/dtype.js';
import { broadcastShapes, sizeOf } from '../../util/shape.js';
import type { Addon, Handle } from './exports.js';

const CAUSAL = { none: 0, 'top-left': 1, 'bottom-right': 2 } as const;
const ACTIVATION = { relu: 0, gelu: 1, gelu_tanh: 2, silu: 3, tanh: 4 } as const;
const BINARY = { add: 0, sub: 1, mul: 2, div: 3 } as const;
const REDUCTION = { mean: 0, sum: 1, none: 2 } as const;

function f32(data: Handle, shape: readonly number[]): KResult {
  return { data, shape: shape.slice(), dtype: 'float32' };
}

/** A result in the dtype of the kernel's input (the kernels that run on bf16 natively). */
function like(x: KTensor, data: Handle, shape: readonly number[]): KResult {
  return { data, shape: shape.slice(), dtype: x.dtype };
}

// the exports' tail after q, k, v (and the backward's out, lse)
function attentionArgs(masks: AttentionMasks, attrs: AttentionAttrs) {
  return [masks.attnMask, masks.keyPadding, attrs.scale, CAUSAL[attrs.causal], attrs.dropoutP, attrs.rng.seed, attrs.rng.offset] as const;
}

function ceArgs(attrs: CrossEntropyAttrs) {
  return [attrs.ignoreIndex, attrs.labelSmoothing, REDUCTION[attrs.reduction]] as const;
}

export function makeKernels(n: Addon): Kernels {
  return {
    matmul(a, b, transA, transB, bias) {
      const ra = a.shape.length, rb = b.shape.length;
      const M = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
      const N = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
      const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)) ?? [];
      // float32, or bf16 on the cpu's matrix units (the result takes a's dtype)
      return { data: n.matmul(a, b, transA, transB, bias), shape: [...batch, M, N], dtype: a.dtype };
    },
    attentionForward(q, k, v, masks, attrs) {
      const [out, lse] = n.attentionForward(q, k, v, ...attentionArgs(masks, attrs), attrs.kvLength);
      return { out: like(q, out, q.shape), lse: f32(lse, q.shape.slice(0, 3)) };
    },
    attentionBackward(dout, q, k, v, out, lse, masks, attrs) {
      const [dq, dk, dv] = n.attentionBackward(dout, q, k, v, out, lse, ...attentionArgs(masks, attrs));
      return { dq: like(q, dq, q.shape), dk: like(k, dk, k.shape), dv: like(v, dv, v.shape) };
    },
    layernormForward(x, weight, bias, C, eps) {
      const [y, mean, rstd] = n.layernormForward(x, weight, bias, C, eps);
      const rows = [sizeOf(x.shape) / C];
      return { y: f32(y, x.shape), mean: f32(mean, rows), rstd: f32(rstd, rows) };
    },
    layernormBackward(dy, x, weight, mean, rstd, C, hasBias) {
      const [dx, dw, db] = n.layernormBackward(dy, x, weight, mean, rstd, C, hasBias);
      return { dx: f32(dx, x.shape), dweight: dw === null ? null : f32(dw, [C]), dbias: db === null ? null : f32(db, [C]) };
    },
    rmsnormForward(x, weight, C, eps) {
      const [y, rstd] = n.rmsnormForward(x, weight, C, eps);
      return { y: f32(y, x.shape), rstd: f32(rstd, [sizeOf(x.shape) / C]) };
    },
    rmsnormBackward(dy, x, weight, rstd, C) {
      const [dx, dw] = n.rmsnormBackward(dy, x, weight, rstd, C);
      return { dx: f32(dx, x.shape), dweight: dw === null ? null : f32(dw, [C]) };
    },
    activationForward: (x, kind) => like(x, n.activationForward(x, ACTIVATION[kind]), x.shape),
    activationBackward: (dy, x, kind) => like(x, n.activationBackward(dy, x, ACTIVATION[kind]), x.shape),
    swigluForward: (x) => f32(n.swigluForward(x), [...x.shape.slice(0, -1), x.shape[x.shape.length - 1]! / 2]),
    swigluBackward: (dy, x) => f32(n.swigluBackward(dy, x), x.shape),
    softmaxForward: (x, axis, log) => f32(n.softmaxForward(x, axis, log), x.shape),
    softmaxBackward: (dy, y, axis, log) => f32(n.softmaxBackward(dy, y, axis, log), y.shape),
    topk(x, k) {
      const [values, indices] = n.topk(x, k);
      const shape = [...x.shape.slice(0, -1), k];
      return { values: f32(values, shape), indices: { data: indices, shape, dtype: 'int32' } };
    },
    crossEntropyForward(logits, target, attrs) {
      const [loss, lse] = n.crossEntropyForward(logits, target, ...ceArgs(attrs));
      return { loss: f32(loss, attrs.reduction === 'none' ? [logits.shape[0]!] : []), lse: f32(lse, [logits.shape[0]!]) };
    },
    crossEntropyBackward: (dloss, logits, target, lse, attrs) => f32(n.crossEntropyBackward(dloss, logits, target, lse, ...ceArgs(attrs)), logits.shape),
    embeddingForward: (weight, ids) => like(weight, n.embeddingForward(weight, ids), [...ids.shape, weight.shape[1]!]),
    embeddingBackward: (dy, ids, V, paddingIdx) => f32(n.embeddingBackward(dy, ids, V, paddingIdx ?? -1), [V, dy.shape[dy.shape.length - 1]!]),
    dropoutForward: (x, p, rng) => like(x, n.dropoutForward(x, p, rng.seed, rng.offset), x.shape),
    dropoutBackward: (dy, p, rng) => like(dy, n.dropoutBackward(dy, p, rng.seed, rng.offset), dy.shape),
    binary(a, b, op) {
      const shape = broadcastShapes(a.shape, b.shape) ?? [];
      return f32(n.binary(a, b, BINARY[op], shape), shape);
    },
    scale: (x, factor) => like(x, n.scale(x, factor), x.shape),
    sum(x, axes, keepDims) {
      const shape = keepDims ? x.shape.map((s, i) => (axes.includes(i) ? 1 : s)) : x.shape.filter((_, i) => !axes.includes(i));
      return like(x, n.sum(x, axes), shape);
    },
    broadcastTo: (x, shape) => ({ data: n.broadcastTo(x, shape), shape: shape.slice(), dtype: x.dtype }),
    permute: (x, dims) => ({ data: n.permute(x, dims), shape: dims.map((d) => x.shape[d]!), dtype: x.dtype }),
    cast: (x, dtype) => ({ data: n.cast(x, dtype), shape: x.shape.slice(), dtype }),
    narrow(x, axis, start, length) {
      const shape = x.shape.slice();
      shape[axis] = length;
      return { data: n.narrow(x, axis, start, length), shape, dtype: x.dtype };
    },
    cat(xs, axis) {
      const shape = xs[0]!.shape.slice();
      shape[axis] = xs.reduce((s, x) => s + x.shape[axis]!, 0);
      return { data: n.cat(xs, axis), shape, dtype: xs[0]!.dtype };
    },
    writeNarrow(dst, src, axis, start) {
      n.writeNarrow(dst, src, axis, start);
    },
    fill: (shape, dtype, value) => ({ data: n.fill(shape, dtype, value), shape: shape.slice(), dtype }),
    adamwStep(params, grads, m, v, attrs: AdamWAttrs) {
      n.adamwStep(params, grads, m, v, attrs.lr, attrs.beta1, attrs.beta2, attrs.eps, attrs.weightDecay, attrs.step);
    },
  };
}

const BF16_NATIVE: readonly KernelName[] = ['matmul', 'activationForward', 'activationBackward', 'dropoutForward', 'dropoutBackward', 'scale', 'sum', 'embeddingForward'];

const sameDType = (...ts: KTensor[]): boolean => ts.every((t) => t.dtype === ts[0]!.dtype);

/**
 * Attention runs natively when q, k, v (and the backward's dout, out) share one dtype,
 * float32 or bf16 (native/cpu/attention_bf16.cc); the addon takes a float mask in
 * float32, so a bf16 mask (autocast casts float masks with q) widens first. Mixed
 * dtypes take the widening path.
 */
function bf16Attention(native: Kernels, widened: Kernels, free: (data: unknown) => void): Pick<Kernels, 'attentionForward' | 'attentionBackward'> {
  const withFloat32Mask = <T>(masks: AttentionMasks, body: (m: AttentionMasks) => T): T => {
    if (masks.attnMask === null || masks.attnMask.dtype !== 'bfloat16') return body(masks);
    const wide = native.cast(masks.attnMask, 'float32');
    try {
      return body({ attnMask: wide, keyPadding: masks.keyPadding });
    } finally {
      free(wide.data);
    }
  };
  return {
    attentionForward: (q, k, v, masks, attrs) => !sameDType(q, k, v) ? widened.attentionForward(q, k, v, masks, attrs)
      : withFloat32Mask(masks, (m) => native.attentionForward(q, k, v, m, attrs)),
    attentionBackward: (dout, q, k, v, out, lse, masks, attrs) => !sameDType(dout, q, k, v, out)
      ? widened.attentionBackward(dout, q, k, v, out, lse, masks, attrs)
      : withFloat32Mask(masks, (m) => native.attentionBackward(dout, q, k, v, out, lse, m, attrs)),
  };
}

/**
 * Register backend `name` over an addon (storage primitives plus every kernel); float64 stays
 * on ts. With `bfloat16`, the kernels the addon does not run on bf16 itself widen (bf16-widen.ts).
 */
export function registerAddonBackend(name: string, n: Addon, priority: number, bfloat16: boolean): void {
  registerBackend({
    name,
    upload: (array: TypedArray, dtype: DType) => n.upload(array as Float32Array, dtype),
    download: (data: unknown, dtype: DType, size: number) => n.download(data, dtype, size) as TypedArray,
    free: (data: unknown) => n.free(data),
    supportsDType: (dtype: DType) => dtype !== 'float64' && (bfloat16 || dtype !== 'bfloat16'),
    // the addon's own limit (native/binding/storage.cc new_storage): 2^40 bytes
    maxElements: (dtype: DType) => 2 ** 40 / bytesPerElement(dtype),
  }, priority);
  // bf16 products run natively (AMX / AVX512-BF16), so do attention, the elementwise kernels,
  // the embedding gather and sums (float32 in cache-sized chunks, native/cpu/bf16_elementwise.cc); the others widen
  const free = (data: unknown): void => n.free(data);
  const native = makeKernels(n);
  const widened = bfloat16 ? widenBFloat16(native, free, BF16_NATIVE) : native;  // attention among the widened
  const kernels = bfloat16 ? { ...widened, ...bf16Attention(native, widened, free) } : native;
  for (const [kernel, impl] of Object.entries(kernels)) registerKernel(name, kernel as keyof Kernels, impl as never);
}
