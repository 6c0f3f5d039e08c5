// A GPT as a continuous batch's model (serve/continuous-batch.ts): a prompt is prefilled
// with one cached forward (or in chunks), and a step is one cached forward over every slot,
// each row at its own position with the cache's padding masked (GPT.forwardCached's
// positions and keyPaddingMask).
import type { AttentionKV } from '../nn/attention.js';
import type { GPT } from '../nn/gpt.js';
import { narrow, reshape } from '../ops/layout.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { ContinuousBatch, type BatchModel, type BatchOptions } from './continuous-batch.js';

export function gptBatchModel(model: GPT): BatchModel {
  const V = model.config.vocabSize;
  const device = model.lmHead.weight.device;
  const lastLogits = (logits: Tensor, G: number, P: number): Tensor => reshape(P > 1 ? narrow(logits, 1, P - 1, 1) : logits, [G, V]);
  return {
    vocabSize: V, numLayers: model.config.nLayer, maxLength: model.config.blockSize, device, banned: [],
    prefill(inputs) {
      const G = inputs.length, P = inputs[0]!.length;
      const data = new Int32Array(G * P);
      inputs.forEach((p, i) => data.set(p, i * P));
      return tidy(() => {
        const r = model.forwardCached(tensor(data, { shape: [G, P], dtype: 'int32', backend: device }), { past: [], offset: 0 });
        return { logits: lastLogits(r.logits, G, P), kv: r.kv };
      });
    },
    prefillChunk(ids, done, past, last) {
      return tidy(() => {
        const r = model.forwardCached(tensor(ids, { shape: [1, ids.length], dtype: 'int32', backend: device }), { past: past ?? [], offset: done });
        return { logits: last ? lastLogits(r.logits, 1, ids.length) : null, kv: r.kv };
      });
    },
    decode(ids, cache) {
      return tidy(() => {
        const mask = cache.paddingMask(1);
        const rows = mask === null ? {} : { positions: cache.positions(), keyPaddingMask: mask };
        const out = model.forwardCached(ids, { past: cache.layers as AttentionKV[], offset: cache.length, ...rows });
        return { logits: reshape(out.logits, [ids.shape[0]!, V]), kv: out.kv };
      });
    },
  };
}

/** Continuous batching over a GPT. */
export class GPTBatch extends ContinuousBatch {
  constructor(model: GPT, options?: BatchOptions) {
    super(gptBatchModel(model), options);
  }
}

export type { SequenceEvent, SequenceRequest, FinishReason } from './continuous-batch.js';
