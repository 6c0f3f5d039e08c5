// optim.decayGroups: split a model's parameters into a weight-decay group and a
// no-decay group, the usual recipe for (Adam)W on Transformers.
import { describeValue, typeError } from '../errors.js';
import { checkNonNegativeFinite, checkOptions } from '../validate/checks.js';
import { Module } from '../nn/module.js';
import { Embedding } from '../nn/embedding.js';
import { LayerNorm, RMSNorm } from '../nn/norm.js';
import { LearnedPositionalEmbedding } from '../nn/positions.js';
import type { Tensor } from '../tensor/tensor.js';
import type { BaseHyper, ParamGroupInput } from './optimizer.js';

/** Decides for one parameter: name is its dotted name, module the module that registered it. */
export type NoDecayRule = (name: string, param: Tensor, module: Module) => boolean;

export interface DecayGroupsOptions {
  /** The decay group's weightDecay; omitted, the group takes the optimizer's default. */
  weightDecay?: number;
  /** Replaces the default rule (defaultNoDecay). */
  noDecay?: NoDecayRule;
}

/**
 * The default rule: no decay for a parameter of rank 0 or 1 (every bias, including
 * packed in_proj_bias, and the weights of any norm layer, custom ones included), and
 * for every parameter registered by an Embedding, LearnedPositionalEmbedding,
 * LayerNorm or RMSNorm (found through model.namedModules()). Everything else
 * (Linear and attention projection matrices) decays. A weight tied between an
 * embedding and an output head is listed once (under its first name) and, being
 * registered by the Embedding, does not decay.
 */
export const defaultNoDecay: NoDecayRule = (_name, param, module) =>
  param.rank <= 1 || module instanceof Embedding || module instanceof LearnedPositionalEmbedding || module instanceof LayerNorm || module instanceof RMSNorm;

/**
 * `[{ params: decay, weightDecay?, name: 'decay' }, { params: noDecay, weightDecay: 0, name: 'no_decay' }]`
 * over model.namedParameters() (each tensor once); empty groups are left out and
 * frozen parameters (requiresGrad false) are not listed.
 */
export function decayGroups(model: Module, options?: DecayGroupsOptions): Array<ParamGroupInput<BaseHyper & { weightDecay: number }>> {
  const fn = 'decayGroups';
  if (!(model instanceof Module)) throw typeError(fn, 'model', 'an nn.Module', describeValue(model));
  const opts = checkOptions(fn, options, ['weightDecay', 'noDecay']);
  const weightDecay = opts.weightDecay === undefined ? undefined : checkNonNegativeFinite(fn, 'options.weightDecay', opts.weightDecay);
  if (opts.noDecay !== undefined && typeof opts.noDecay !== 'function') throw typeError(fn, 'options.noDecay', 'a function (name, param, module) => boolean', describeValue(opts.noDecay));
  const rule = (opts.noDecay as NoDecayRule | undefined) ?? defaultNoDecay;
  // the module that registered each tensor first, in namedParameters() order
  const owner = new Map<Tensor, Module>();
  for (const [, m] of model.namedModules()) {
    for (const [, p] of m.namedParameters({ recurse: false })) if (!owner.has(p)) owner.set(p, m);
  }
  const decay: Tensor[] = [];
  const noDecay: Tensor[] = [];
  for (const [name, p] of model.namedParameters()) {
    if (!p.requiresGrad) continue;
    const verdict = rule(name, p, owner.get(p) ?? model);
    if (typeof verdict !== 'boolean') throw typeError(fn, 'options.noDecay', 'a function returning a boolean', `${describeValue(verdict)} for '${name}'`);
    (verdict ? noDecay : decay).push(p);
  }
  const groups: Array<ParamGroupInput<BaseHyper & { weightDecay: number }>> = [];
  if (decay.length > 0) groups.push(weightDecay === undefined ? { params: decay, name: 'decay' } : { params: decay, weightDecay, name: 'decay' });
  if (noDecay.length > 0) groups.push({ params: noDecay, weightDecay: 0, name: 'no_decay' });
  return groups;
}
