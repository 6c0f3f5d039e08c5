// Scaled dot-product attention, reference version: one query row at a time,
// the scores of that row in a scratch vector, everything accumulated in float64.
//
// q [B,h,Tq,d], k/v [B,hkv,Tk,d], out [B,h,Tq,d], lse [B,h,Tq]
// attnMask [1|B,1|h,Tq,Tk] (bool: 1 = masked, or float: added), keyPadding [B,Tk] bool
import type { AttentionAttrs, AttentionMasks, KResult, KTensor } from '../backend.js';
import { PhiloxStream } from '../../random/philox.js';
import { output, values } from './util.js';

// kvStride: elements between kv heads (Tk * d, or more when k/v are the first Tk = kvLength
// positions of a KV-cache buffer)
interface Geometry { B: number; h: number; hkv: number; Tq: number; Tk: number; d: number; kvStride: number }

function geometry(q: KTensor, k: KTensor, kvLength?: number): Geometry {
  const [B, h, Tq, d] = q.shape as [number, number, number, number];
  return { B, h, hkv: k.shape[1]!, Tq, Tk: kvLength ?? k.shape[2]!, d, kvStride: k.shape[2]! * d };
}

/** Scaled, masked scores of query row (b, head, i) into s; returns the row max (-inf if all masked). */
function rowScores(s: Float64Array, g: Geometry, q: Float32Array | Float64Array, k: Float32Array | Float64Array,
  masks: AttentionMasks, attrs: AttentionAttrs, b: number, head: number, i: number): number {
  const { h, hkv, Tq, Tk, d } = g;
  const kvHead = Math.floor(head / (h / hkv));
  const qOff = ((b * h + head) * Tq + i) * d;
  const kBase = (b * hkv + kvHead) * g.kvStride;
  // the last key query i may see under the causal modes
  const lastKey = attrs.causal === 'top-left' ? i : attrs.causal === 'bottom-right' ? i + Tk - Tq : Tk - 1;
  const mask = masks.attnMask, pad = masks.keyPadding;
  const maskData = mask === null ? null : values(mask);
  const maskBool = mask?.dtype === 'bool';
  const maskRow = mask === null ? 0
    : (((mask.shape[0] === 1 ? 0 : b) * mask.shape[1]! + (mask.shape[1] === 1 ? 0 : head)) * Tq + i) * Tk;
  const padData = pad === null ? null : values<Uint8Array>(pad);
  let max = -Infinity;
  for (let j = 0; j < Tk; j++) {
    let score = -Infinity;
    if (j <= lastKey && (padData === null || padData[b * Tk + j] === 0) && !(maskBool && maskData![maskRow + j] !== 0)) {
      let dot = 0;
      for (let c = 0; c < d; c++) dot += q[qOff + c]! * k[kBase + j * d + c]!;
      score = dot * attrs.scale + (maskData !== null && !maskBool ? maskData[maskRow + j]! : 0);
    }
    s[j] = score;
    if (score > max) max = score;
  }
  return max;
}

/** Dropout keep-scale of attention weight (b, head, i, j): 0 or 1/(1-p). */
function keepScale(stream: PhiloxStream | null, p: number, index: number): number {
  if (stream === null) return 1;
  return stream.uniform(index) >= p ? 1 / (1 - p) : 0;
}

export function attentionForward(q: KTensor, k: KTensor, v: KTensor, masks: AttentionMasks, attrs: AttentionAttrs): { out: KResult; lse: KResult } {
  const g = geometry(q, k, attrs.kvLength);
  const { B, h, hkv, Tq, Tk, d } = g;
  const Q = values(q), K = values(k), V = values(v);
  const out = output([B, h, Tq, d], q.dtype), lse = output([B, h, Tq], q.dtype);
  const stream = attrs.dropoutP > 0 ? new PhiloxStream(attrs.rng.seed, attrs.rng.offset) : null;
  const s = new Float64Array(Tk), acc = new Float64Array(d);
  for (let b = 0; b < B; b++) for (let head = 0; head < h; head++) {
    const vBase = (b * hkv + Math.floor(head / (h / hkv))) * g.kvStride;
    for (let i = 0; i < Tq; i++) {
      const row = (b * h + head) * Tq + i;
      const max = rowScores(s, g, Q, K, masks, attrs, b, head, i);
      if (max === -Infinity) {
        // every key masked: zeros rather than NaN
        lse.data[row] = -Infinity;
        continue;
      }
      let sum = 0;
      for (let j = 0; j < Tk; j++) sum += Math.exp(s[j]! - max);
      acc.fill(0);
      for (let j = 0; j < Tk; j++) {
        const p = (Math.exp(s[j]! - max) / sum) * keepScale(stream, attrs.dropoutP, row * Tk + j);
        if (p === 0) continue;
        for (let c = 0; c < d; c++) acc[c] += p * V[vBase + j * d + c]!;
      }
      out.data.set(acc, row * d);
      lse.data[row] = max + Math.log(sum);
    }
  }
  return { out: out.result, lse: lse.result };
}

export function attentionBackward(dout: KTensor, q: KTensor, k: KTensor, v: KTensor, out: KTensor, lse: KTensor,
  masks: AttentionMasks, attrs: AttentionAttrs): { dq: KResult; dk: KResult; dv: KResult } {
  const g = geometry(q, k);
  const { B, h, hkv, Tq, Tk, d } = g;
  const Q = values(q), K = values(k), V = values(v), dO = values(dout), O = values(out), L = values(lse);
  const dq = output(q.shape, q.dtype), dk = output(k.shape, k.dtype), dv = output(v.shape, v.dtype);
  // accumulate in float64, round once at the end
  const dQ = new Float64Array(dq.data.length), dK = new Float64Array(dk.data.length), dV = new Float64Array(dv.data.length);
  const stream = attrs.dropoutP > 0 ? new PhiloxStream(attrs.rng.seed, attrs.rng.offset) : null;
  const s = new Float64Array(Tk), P = new Float64Array(Tk), dP = new Float64Array(Tk);
  for (let b = 0; b < B; b++) for (let head = 0; head < h; head++) {
    const kvBase = (b * hkv + Math.floor(head / (h / hkv))) * Tk * d;
    for (let i = 0; i < Tq; i++) {
      const row = (b * h + head) * Tq + i;
      const rowLse = L[row]!;
      if (rowLse === -Infinity) continue;
      rowScores(s, g, Q, K, masks, attrs, b, head, i);
      const oOff = row * d;
      // D = rowsum(dO * O) = sum_j P_j dP_j, taken from the saved output rather than the
      // recomputed P: P built from a float32 lse is off by a few ulps of the score, and
      // with large scores sum_j P_j dP_j would then no longer cancel dP exactly.
      let D = 0;
      for (let c = 0; c < d; c++) D += dO[oOff + c]! * O[oOff + c]!;
      // P = softmax (recomputed from the saved lse), dP = dL/dP through dropout
      for (let j = 0; j < Tk; j++) {
        P[j] = Math.exp(s[j]! - rowLse);
        const keep = keepScale(stream, attrs.dropoutP, row * Tk + j);
        let dPd = 0;
        if (P[j]! !== 0 && keep !== 0) {
          for (let c = 0; c < d; c++) {
            dPd += dO[oOff + c]! * V[kvBase + j * d + c]!;
            dV[kvBase + j * d + c] += P[j]! * keep * dO[oOff + c]!;
          }
        }
        dP[j] = dPd * keep;
      }
      for (let j = 0; j < Tk; j++) {
        const dS = P[j]! * (dP[j]! - D) * attrs.scale;
        if (dS === 0) continue;
        for (let c = 0; c < d; c++) {
          dQ[oOff + c] += dS * K[kvBase + j * d + c]!;
          dK[kvBase + j * d + c] += dS * Q[oOff + c]!;
        }
      }
    }
  }
  dq.data.set(dQ);
  dk.data.set(dK);
  dv.data.set(dV);
  return { dq: dq.result, dk: dk.result, dv: dv.result };
}
