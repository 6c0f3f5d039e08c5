// AdamW (decoupled weight decay, PyTorch's torch.optim.AdamW), in place over every parameter.
import type { AdamWAttrs, KTensor } from '../backend.js';
import { values } from './util.js';

export function adamwStep(params: readonly KTensor[], grads: readonly KTensor[], m: readonly KTensor[], v: readonly KTensor[], attrs: AdamWAttrs): void {
  const { lr, beta1, beta2, eps, weightDecay, step } = attrs;
  const stepSize = lr / (1 - beta1 ** step);
  const sqrtBias2 = Math.sqrt(1 - beta2 ** step);
  params.forEach((param, i) => {
    const P = values(param), G = values(grads[i]!), M = values(m[i]!), S = values(v[i]!);
    for (let e = 0; e < P.length; e++) {
      const g = G[e]!;
      P[e] = P[e]! * (1 - lr * weightDecay);
      M[e] = beta1 * M[e]! + (1 - beta1) * g;
      S[e] = beta2 * S[e]! + (1 - beta2) * g * g;
      P[e] = P[e]! - stepSize * M[e]! / (Math.sqrt(S[e]!) / sqrtBias2 + eps);
    }
  });
}
