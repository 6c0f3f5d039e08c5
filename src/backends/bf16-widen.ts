// bfloat16 for every kernel by widening: bf16 inputs are cast to float32, the
// float32 kernel runs, and each output rounds once to the dtype its op gives it
// (PyTorch's rule: compute in float32, round the result). The ts backend takes
// all its bf16 kernels from here (the reference semantics); the cpu and cuda
// backends take those they do not run natively on bf16 (a pass over the data
// each way, no new numerics). Statistics (lse, mean, rstd) stay float32.
//
// Output dtypes: an op's result takes the dtype of its main input (matmul: a,
// attention: q/k/v, norms: x, softmax: x, cross-entropy's loss: logits,
// embedding: weight); a gradient takes the dtype of what it is the gradient of.
import type { AttentionMasks, KResult, KTensor, KernelName, Kernels } from './backend.js';
import type { DType } from '../util/dtype.js';

/** The layout kernels move bits and never compute: each backend runs them on bf16 itself. */
export const BF16_LAYOUT_KERNELS: readonly KernelName[] = ['broadcastTo', 'permute', 'cast', 'narrow', 'cat', 'writeNarrow', 'fill'];

/**
 * `kernels` with every non-layout kernel accepting bfloat16 inputs, except those
 * named in `native` (the backend runs them on bf16 itself). `free` releases the
 * float32 temporaries the moment each call returns.
 */
export function widenBFloat16(kernels: Kernels, free: (data: unknown) => void, native: readonly KernelName[] = []): Kernels {
  const k = kernels;
  /** Runs `body` with w() widening bf16 inputs; temporaries are freed after. */
  function call<T>(body: (w: <X extends KTensor | null>(t: X) => X) => T): T {
    const temps: unknown[] = [];
    const w = <X extends KTensor | null>(t: X): X => {
      if (t === null || t.dtype !== 'bfloat16') return t;
      const wide = k.cast(t, 'float32');
      temps.push(wide.data);
      return wide as unknown as X;
    };
    try {
      return body(w);
    } finally {
      for (const data of temps) free(data);
    }
  }
  /** Round a float32 result to `dtype` (freeing the float32 one); other results pass. */
  const to = (r: KResult, dtype: DType): KResult => {
    if (dtype !== 'bfloat16' || r.dtype !== 'float32') return r;
    const narrow = k.cast(r, 'bfloat16');
    free(r.data);
    return narrow;
  };
  const toOrNull = (r: KResult | null, dtype: DType): KResult | null => (r === null ? null : to(r, dtype));
  const anyBf16 = (...ts: Array<KTensor | null | undefined>): boolean => ts.some((t) => t != null && t.dtype === 'bfloat16');
  const masksOf = (m: AttentionMasks, w: <X extends KTensor | null>(t: X) => X): AttentionMasks => ({ attnMask: w(m.attnMask), keyPadding: m.keyPadding });

  const widened: Partial<Kernels> = {
    matmul: (a, b, transA, transB, bias) => !anyBf16(a, b, bias) ? k.matmul(a, b, transA, transB, bias)
      : call((w) => to(k.matmul(w(a), w(b), transA, transB, w(bias)), a.dtype)),
    attentionForward: (q, kk, v, masks, attrs) => !anyBf16(q, kk, v, masks.attnMask) ? k.attentionForward(q, kk, v, masks, attrs)
      : call((w) => {
        const r = k.attentionForward(w(q), w(kk), w(v), masksOf(masks, w), attrs);
        return { out: to(r.out, q.dtype), lse: r.lse };
      }),
    attentionBackward: (dout, q, kk, v, out, lse, masks, attrs) => !anyBf16(dout, q, kk, v, out, masks.attnMask)
      ? k.attentionBackward(dout, q, kk, v, out, lse, masks, attrs)
      : call((w) => {
        const r = k.attentionBackward(w(dout), w(q), w(kk), w(v), w(out), lse, masksOf(masks, w), attrs);
        return { dq: to(r.dq, q.dtype), dk: to(r.dk, kk.dtype), dv: to(r.dv, v.dtype) };
      }),
    layernormForward: (x, weight, bias, C, eps) => !anyBf16(x, weight, bias) ? k.layernormForward(x, weight, bias, C, eps)
      : call((w) => {
        const r = k.layernormForward(w(x), w(weight), w(bias), C, eps);
        return { y: to(r.y, x.dtype), mean: r.mean, rstd: r.rstd };
      }),
    layernormBackward: (dy, x, weight, mean, rstd, C, hasBias) => !anyBf16(dy, x, weight) ? k.layernormBackward(dy, x, weight, mean, rstd, C, hasBias)
      : call((w) => {
        const r = k.layernormBackward(w(dy), w(x), w(weight), mean, rstd, C, hasBias);
        const paramDType = weight?.dtype ?? x.dtype;
        return { dx: to(r.dx, x.dtype), dweight: toOrNull(r.dweight, paramDType), dbias: toOrNull(r.dbias, paramDType) };
      }),
    rmsnormForward: (x, weight, C, eps) => !anyBf16(x, weight) ? k.rmsnormForward(x, weight, C, eps)
      : call((w) => {
        const r = k.rmsnormForward(w(x), w(weight), C, eps);
        return { y: to(r.y, x.dtype), rstd: r.rstd };
      }),
    rmsnormBackward: (dy, x, weight, rstd, C) => !anyBf16(dy, x, weight) ? k.rmsnormBackward(dy, x, weight, rstd, C)
      : call((w) => {
        const r = k.rmsnormBackward(w(dy), w(x), w(weight), rstd, C);
        return { dx: to(r.dx, x.dtype), dweight: toOrNull(r.dweight, weight?.dtype ?? x.dtype) };
      }),
    activationForward: (x, kind) => !anyBf16(x) ? k.activationForward(x, kind) : call((w) => to(k.activationForward(w(x), kind), x.dtype)),
    activationBackward: (dy, x, kind) => !anyBf16(dy, x) ? k.activationBackward(dy, x, kind) : call((w) => to(k.activationBackward(w(dy), w(x), kind), x.dtype)),
    swigluForward: (x) => !anyBf16(x) ? k.swigluForward(x) : call((w) => to(k.swigluForward(w(x)), x.dtype)),
    swigluBackward: (dy, x) => !anyBf16(dy, x) ? k.swigluBackward(dy, x) : call((w) => to(k.swigluBackward(w(dy), w(x)), x.dtype)),
    softmaxForward: (x, axis, log) => !anyBf16(x) ? k.softmaxForward(x, axis, log) : call((w) => to(k.softmaxForward(w(x), axis, log), x.dtype)),
    softmaxBackward: (dy, y, axis, log) => !anyBf16(dy, y) ? k.softmaxBackward(dy, y, axis, log) : call((w) => to(k.softmaxBackward(w(dy), w(y), axis, log), y.dtype)),
    topk: (x, kk) => !anyBf16(x) ? k.topk(x, kk) : call((w) => {
      const r = k.topk(w(x), kk);
      return { values: to(r.values, x.dtype), indices: r.indices };
    }),
    crossEntropyForward: (logits, target, attrs) => !anyBf16(logits) ? k.crossEntropyForward(logits, target, attrs)
      : call((w) => {
        const r = k.crossEntropyForward(w(logits), target, attrs);
        return { loss: to(r.loss, logits.dtype), lse: r.lse };
      }),
    crossEntropyBackward: (dloss, logits, target, lse, attrs) => !anyBf16(dloss, logits) ? k.crossEntropyBackward(dloss, logits, target, lse, attrs)
      : call((w) => to(k.crossEntropyBackward(w(dloss), w(logits), target, lse, attrs), logits.dtype)),
    embeddingForward: (weight, ids) => !anyBf16(weight) ? k.embeddingForward(weight, ids) : call((w) => to(k.embeddingForward(w(weight), ids), weight.dtype)),
    embeddingBackward: (dy, ids, V, paddingIdx) => !anyBf16(dy) ? k.embeddingBackward(dy, ids, V, paddingIdx)
      : call((w) => to(k.embeddingBackward(w(dy), ids, V, paddingIdx), dy.dtype)),
    dropoutForward: (x, p, rng) => !anyBf16(x) ? k.dropoutForward(x, p, rng) : call((w) => to(k.dropoutForward(w(x), p, rng), x.dtype)),
    dropoutBackward: (dy, p, rng) => !anyBf16(dy) ? k.dropoutBackward(dy, p, rng) : call((w) => to(k.dropoutBackward(w(dy), p, rng), dy.dtype)),
    binary: (a, b, op) => !anyBf16(a, b) ? k.binary(a, b, op) : call((w) => to(k.binary(w(a), w(b), op), a.dtype)),
    scale: (x, factor) => !anyBf16(x) ? k.scale(x, factor) : call((w) => to(k.scale(w(x), factor), x.dtype)),
    sum: (x, axes, keepDims) => !anyBf16(x) ? k.sum(x, axes, keepDims) : call((w) => to(k.sum(w(x), axes, keepDims), x.dtype)),
    adamwStep: (params, grads, m, v, attrs) => {
      if (anyBf16(...params, ...grads, ...m, ...v)) throw new TypeError('toroid.adamwStep: params, grads and moments must be float32 (bfloat16 training keeps float32 master weights), got a bfloat16 tensor');
      k.adamwStep(params, grads, m, v, attrs);
    },
  };
  const out = { ...kernels };
  for (const [name, impl] of Object.entries(widened) as Array<[KernelName, never]>) {
    if (!native.includes(name)) (out as Record<KernelName, unknown>)[name] = impl;
  }
  return out;
}
