// LayerNorm and RMSNorm over rows of C elements. Statistics are two-pass in
// float64, so rows like 1000 +- 1 keep their precision.
// x [N,C] (any leading shape), weight/bias [C], mean/rstd [N]
import type { KResult, KTensor } from '../backend.js';
import { output, values } from './util.js';

export function layernormForward(x: KTensor, weight: KTensor | null, bias: KTensor | null, C: number, eps: number): { y: KResult; mean: KResult; rstd: KResult } {
  const X = values(x), W = weight && values(weight), Bv = bias && values(bias);
  const N = C === 0 ? 0 : X.length / C;
  const y = output(x.shape, x.dtype), mean = output([N], x.dtype), rstd = output([N], x.dtype);
  for (let n = 0; n < N; n++) {
    const off = n * C;
    let sum = 0;
    for (let c = 0; c < C; c++) sum += X[off + c]!;
    const mu = sum / C;
    let sq = 0;
    for (let c = 0; c < C; c++) sq += (X[off + c]! - mu) ** 2;
    const r = 1 / Math.sqrt(sq / C + eps);
    for (let c = 0; c < C; c++) {
      y.data[off + c] = (X[off + c]! - mu) * r * (W ? W[c]! : 1) + (Bv ? Bv[c]! : 0);
    }
    mean.data[n] = mu;
    rstd.data[n] = r;
  }
  return { y: y.result, mean: mean.result, rstd: rstd.result };
}

// The saved mean is float32: at 1000 +- 1 its rounding (6e-5) would shift every xhat,
// so the backward recomputes the row mean from x in float64 (one cheap pass).
export function layernormBackward(dy: KTensor, x: KTensor, weight: KTensor | null, _mean: KTensor, rstd: KTensor, C: number, hasBias: boolean): { dx: KResult; dweight: KResult | null; dbias: KResult | null } {
  const X = values(x), dY = values(dy), W = weight && values(weight), R = values(rstd);
  const N = C === 0 ? 0 : X.length / C;
  const dx = output(x.shape, x.dtype);
  const dW = new Float64Array(C), dB = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const off = n * C, r = R[n]!;
    let mu = 0;
    for (let c = 0; c < C; c++) mu += X[off + c]!;
    mu /= C;
    // dx = r * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w
    let gMean = 0, gxMean = 0;
    for (let c = 0; c < C; c++) {
      const xhat = (X[off + c]! - mu) * r;
      const g = dY[off + c]! * (W ? W[c]! : 1);
      gMean += g;
      gxMean += g * xhat;
      dW[c] += dY[off + c]! * xhat;
      dB[c] += dY[off + c]!;
    }
    gMean /= C;
    gxMean /= C;
    for (let c = 0; c < C; c++) {
      const xhat = (X[off + c]! - mu) * r;
      dx.data[off + c] = r * (dY[off + c]! * (W ? W[c]! : 1) - gMean - xhat * gxMean);
    }
  }
  return { dx: dx.result, dweight: weight ? fromF64(dW, x.dtype) : null, dbias: hasBias ? fromF64(dB, x.dtype) : null };
}

export function rmsnormForward(x: KTensor, weight: KTensor | null, C: number, eps: number): { y: KResult; rstd: KResult } {
  const X = values(x), W = weight && values(weight);
  const N = C === 0 ? 0 : X.length / C;
  const y = output(x.shape, x.dtype), rstd = output([N], x.dtype);
  for (let n = 0; n < N; n++) {
    const off = n * C;
    let sq = 0;
    for (let c = 0; c < C; c++) sq += X[off + c]! ** 2;
    const r = 1 / Math.sqrt(sq / C + eps);
    for (let c = 0; c < C; c++) y.data[off + c] = X[off + c]! * r * (W ? W[c]! : 1);
    rstd.data[n] = r;
  }
  return { y: y.result, rstd: rstd.result };
}

export function rmsnormBackward(dy: KTensor, x: KTensor, weight: KTensor | null, rstd: KTensor, C: number): { dx: KResult; dweight: KResult | null } {
  const X = values(x), dY = values(dy), W = weight && values(weight), R = values(rstd);
  const N = C === 0 ? 0 : X.length / C;
  const dx = output(x.shape, x.dtype);
  const dW = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const off = n * C, r = R[n]!;
    // dx = r * (g - xhat * mean(g * xhat)) with g = dy * w
    let gxMean = 0;
    for (let c = 0; c < C; c++) {
      const xhat = X[off + c]! * r;
      gxMean += dY[off + c]! * (W ? W[c]! : 1) * xhat;
      dW[c] += dY[off + c]! * xhat;
    }
    gxMean /= C;
    for (let c = 0; c < C; c++) {
      dx.data[off + c] = r * (dY[off + c]! * (W ? W[c]! : 1) - X[off + c]! * r * gxMean);
    }
  }
  return { dx: dx.result, dweight: weight ? fromF64(dW, x.dtype) : null };
}

function fromF64(acc: Float64Array, dtype: KTensor['dtype']): KResult {
  const o = output([acc.length], dtype);
  o.data.set(acc);
  return o.result;
}
