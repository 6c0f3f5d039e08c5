// toroid.optim: optimizers, learning-rate schedules and gradient clipping, shaped like
// torch.optim. Gradient accumulation needs no API: backward() ADDS into each leaf's
// .grad (src/autograd/tape.ts), so k backward() calls on micro-batches whose losses are
// scaled by 1/k, then one step() and zeroGrad(), equal one step on the whole batch.
export {
  Optimizer,
  type BaseHyper,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
  type OptimizerStateDict,
} from './optimizer.js';
export { Adam, AdamW, type AdamHyper, type AdamOptions, type AdamParams } from './adam.js';
export { SGD, type SGDHyper, type SGDOptions } from './sgd.js';
export {
  noam,
  warmupCosine,
  linearDecay,
  LRScheduler,
  type Schedule,
  type WarmupDecayOptions,
  type LRSchedulerOptions,
  type LRSchedulerState,
} from './schedules.js';
export { clipGradNorm, type ClipGradNormOptions } from './clip.js';
export { decayGroups, defaultNoDecay, type DecayGroupsOptions, type NoDecayRule } from './groups.js';
export { GradScaler, type GradScalerOptions, type GradScalerState } from './grad-scaler.js';
