// optim.Optimizer: the base class of toroid's optimizers, shaped like torch.optim.Optimizer.
//
//   const opt = new optim.AdamW(model.parameters(), { lr: 3e-4 });
//   const opt = new optim.AdamW([{ params: decay, weightDecay: 0.1 }, { params: rest, weightDecay: 0 }], { lr: 3e-4 });
//
// Param groups: `params` is an array of parameter tensors or an array of groups
// `{ params, <hyperparameter>?, name? }`; a group's missing hyperparameters come from
// the constructor's options (the defaults). A tensor may appear in one group only.
// `optimizer.paramGroups[i].lr` (and every other hyperparameter) is mutable between
// steps: schedulers write it.
//
// step() updates every parameter whose `.grad` is not null, IN PLACE (the tensor
// object and its storage object stay the same, so modules and views see the new
// values), under noGrad. zeroGrad() disposes and clears the grads (PyTorch's
// set_to_none=True). State (moments, momentum buffers, step counts) is per parameter,
// created lazily at its first update, on the parameter's backend and dtype, and kept
// out of any enclosing toroid.tidy().
//
// stateDict() returns { state, param_groups } like PyTorch: state is keyed by the
// parameter's index in the order of the groups' params (0, 1, ...) and holds the
// optimizer's OWN state tensors (not copies: do not dispose them; save or copy them
// before stepping again if you need a snapshot), plus plain numbers such as `step`;
// param_groups lists each group's hyperparameters (the same keys as paramGroups)
// with `params` as indices. loadStateDict() checks everything first and then COPIES
// the tensors onto each parameter's backend and dtype, so the dict may come from
// another backend or be disposed afterwards.
import { dropAutocastCopies } from '../ops/autocast.js';
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import { checkOptions, isTensor } from '../validate/checks.js';
import { tensor as makeTensor } from '../tensor/create.js';
import { keep } from '../tensor/scope.js';
import { sameShape } from '../util/shape.js';
import type { Storage } from '../tensor/storage.js';
import { Tensor } from '../tensor/tensor.js';

/** Hyperparameters every optimizer has. */
export interface BaseHyper {
  lr: number;
}

/** A param group as the optimizer holds it: the tensors plus every hyperparameter. */
export type ParamGroup<H extends BaseHyper = BaseHyper> = H & { params: Tensor[]; name?: string };

/** A param group as given to a constructor: hyperparameters it omits come from the options. */
export type ParamGroupInput<H extends BaseHyper = BaseHyper> = Partial<H> & { params: readonly Tensor[]; name?: string };

/** One parameter's state: tensors (exp_avg, exp_avg_sq, momentum_buffer) and numbers (step). */
export type ParamState = Record<string, Tensor | number>;

export interface OptimizerStateDict {
  /** Per-parameter state by index in the order of paramGroups' params. */
  state: Record<number, ParamState>;
  /** Each group's hyperparameters, with params as indices. */
  param_groups: Array<Record<string, unknown> & { params: number[] }>;
}

/** Checks one hyperparameter (`arg` is e.g. 'options.lr' or 'params[1].lr') and returns it normalized. */
export type HyperCheck = (fn: string, arg: string, value: unknown) => unknown;

/**
 * @internal Replace the values of `target` with those of `fresh` (same backend, dtype
 * and shape; fresh is consumed). The storages swap their handles, so `target` keeps
 * its Tensor and Storage objects (what modules, views and this optimizer hold) and
 * no host round trip happens; disposing `fresh` frees the old values.
 */
export function assignInPlace(target: Tensor, fresh: Tensor): void {
  if (fresh.backend !== target.backend || fresh.dtype !== target.dtype || !sameShape(fresh.shape, target.shape)) {
    throw new Error(`toroid.optim: internal error: assigning ${fresh.dtype} ${describeShape(fresh.shape)} on '${fresh.device}' to ${target.dtype} ${describeShape(target.shape)} on '${target.device}'`);
  }
  const a = (target as unknown as { storage: Storage | null }).storage;
  const b = (fresh as unknown as { storage: Storage | null }).storage;
  if (a === null || a.released) throw new Error(`toroid: a disposed tensor (${target.dtype} ${describeShape(target.shape)}) was used`);
  if (b === null) throw new Error('toroid.optim: internal error: a disposed update');
  if (a === b) return;
  const data = a.data;
  a.data = b.data;
  b.data = data;
  fresh.dispose();
}

/** A copy of `source` (any backend) on `like`'s backend and dtype, kept out of tidy(). */
export function copyLike(source: Tensor, like: Tensor): Tensor {
  return keep(makeTensor(source.toTypedArray(), { shape: like.shape, dtype: like.dtype, backend: like.device }));
}

export abstract class Optimizer<H extends BaseHyper = BaseHyper> {
  /** The constructor's options with their defaults filled in. */
  readonly defaults: Readonly<H>;
  /** The groups; every hyperparameter may be changed between steps. */
  readonly paramGroups: Array<ParamGroup<H>> = [];
  /** Per-parameter state, created at a parameter's first update. */
  readonly state = new Map<Tensor, ParamState>();

  /**
   * @param fn the name in error messages ('AdamW')
   * @param checks one check per hyperparameter key, used on the options and on every group
   */
  protected constructor(
    protected readonly fn: string,
    params: readonly Tensor[] | ReadonlyArray<ParamGroupInput<H>>,
    options: unknown,
    rawDefaults: Record<keyof H & string, unknown>,
    private readonly checks: Record<keyof H & string, HyperCheck>,
  ) {
    const opts = checkOptions(fn, options, Object.keys(checks));
    const defaults: Record<string, unknown> = {};
    for (const key of Object.keys(checks) as Array<keyof H & string>) {
      const value = opts[key] !== undefined ? opts[key] : rawDefaults[key];
      if (value === undefined) throw typeError(fn, `options.${key}`, 'given (it has no default)', 'undefined');
      defaults[key] = checks[key](fn, `options.${key}`, value);
    }
    this.defaults = defaults as unknown as H;
    this.checkDefaults(defaults as unknown as H, 'options');
    if (!Array.isArray(params)) throw typeError(fn, 'params', 'an array of Tensors or of param groups { params, ... }', describeValue(params));
    if (params.length === 0) throw rangeError(fn, 'params', 'a non-empty array (an optimizer needs parameters)', 'an empty array');
    const groups = isTensor(params[0]) ? [{ params: params as readonly Tensor[] } as ParamGroupInput<H>] : (params as ReadonlyArray<ParamGroupInput<H>>);
    groups.forEach((g, i) => this.addGroup(g, isTensor(params[0]) ? 'params' : `params[${i}]`));
  }

  /** Cross-field checks of a group's hyperparameters (nesterov needs momentum, ...). */
  protected checkDefaults(_hyper: H, _where: string): void {}

  /** Add a param group (PyTorch's add_param_group); its missing hyperparameters come from defaults. */
  addParamGroup(group: ParamGroupInput<H>): void {
    this.addGroup(group, `paramGroups[${this.paramGroups.length}]`);
  }

  private addGroup(group: unknown, where: string): void {
    const fn = this.fn;
    if (isTensor(group)) throw typeError(fn, where, 'a param group { params, ... } (not a mix of tensors and groups)', describeValue(group));
    if (group === null || typeof group !== 'object' || Array.isArray(group)) throw typeError(fn, where, 'a param group { params, ... }', describeValue(group));
    const g = group as Record<string, unknown>;
    const keys = Object.keys(this.checks);
    for (const key of Object.keys(g)) {
      if (key !== 'params' && key !== 'name' && !keys.includes(key)) throw rangeError(fn, where, `a group with keys among { params, name, ${keys.join(', ')} }`, `unknown key '${key}'`);
    }
    const list = g.params;
    const isSingle = where === 'params';
    const listName = isSingle ? 'params' : `${where}.params`;
    if (!Array.isArray(list)) throw typeError(fn, listName, 'an array of Tensors', describeValue(list));
    const seen = new Set<Tensor>();
    for (const other of this.paramGroups) for (const p of other.params) seen.add(p);
    const tensors: Tensor[] = [];
    list.forEach((p: unknown, j) => {
      const arg = `${listName}[${j}]`;
      if (!isTensor(p)) throw typeError(fn, arg, 'a Tensor', describeValue(p));
      if (p.isDisposed) throw typeError(fn, arg, 'a live Tensor', `a disposed ${p.dtype} ${describeShape(p.shape)}`);
      if (p.dtype !== 'float32' && p.dtype !== 'float64') throw typeError(fn, arg, 'a float32 or float64 parameter', `${p.dtype} ${describeShape(p.shape)}`);
      if (p.gradFn !== null) throw typeError(fn, arg, 'a leaf tensor (a parameter, not the output of an op)', `one computed by ${p.gradFn.name}`);
      if (seen.has(p)) throw rangeError(fn, arg, 'a tensor in no other param group (each parameter once)', `a repeated ${p.dtype} ${describeShape(p.shape)}`);
      seen.add(p);
      tensors.push(p);
    });
    if (g.name !== undefined && typeof g.name !== 'string') throw typeError(fn, `${where}.name`, 'a string', describeValue(g.name));
    const hyper: Record<string, unknown> = {};
    for (const key of keys as Array<keyof H & string>) {
      hyper[key] = g[key] === undefined ? this.defaults[key] : this.checks[key](fn, `${where}.${key}`, g[key]);
      if (Array.isArray(hyper[key])) hyper[key] = (hyper[key] as unknown[]).slice();
    }
    this.checkDefaults(hyper as unknown as H, where);
    const out = { ...hyper, params: tensors } as ParamGroup<H>;
    if (g.name !== undefined) out.name = g.name as string;
    this.paramGroups.push(out);
  }

  /** Every parameter, in group order (the indices of stateDict()). */
  protected allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /**
   * One update of every parameter that has a gradient. `closure`, if given, is called
   * first (with autograd on) and its result returned, like PyTorch's step(closure).
   */
  step<R>(closure?: () => R): R | undefined {
    let result: R | undefined;
    if (closure !== undefined) {
      if (typeof closure !== 'function') throw typeError(`${this.fn}.step`, 'closure', 'a function', describeValue(closure));
      result = closure();
    }
    for (const [gi, group] of this.paramGroups.entries()) {
      for (const key of Object.keys(this.checks) as Array<keyof H & string>) {
        this.checks[key](`${this.fn}.step`, `paramGroups[${gi}].${key}`, group[key]);
      }
      this.checkDefaults(group, `paramGroups[${gi}]`);
      group.params.forEach((p, j) => {
        const g = p.grad;
        if (g === null) return;
        const arg = `paramGroups[${gi}].params[${j}].grad`;
        const like = `${p.dtype} ${describeShape(p.shape)} on '${p.device}' like the parameter`;
        if (p.isDisposed) throw typeError(`${this.fn}.step`, `paramGroups[${gi}].params[${j}]`, 'a live Tensor', 'a disposed one');
        if (!isTensor(g) || g.isDisposed) throw typeError(`${this.fn}.step`, arg, `a live Tensor (${like})`, describeValue(g));
        if (g.dtype !== p.dtype || g.backend !== p.backend) throw typeError(`${this.fn}.step`, arg, like, `${g.dtype} ${describeShape(g.shape)} on '${g.device}'`);
        if (!sameShape(g.shape, p.shape)) throw rangeError(`${this.fn}.step`, arg, like, `${g.dtype} ${describeShape(g.shape)}`);
      });
    }
    noGrad(() => {
      for (const group of this.paramGroups) {
        const withGrad = group.params.filter((p) => p.grad !== null);
        // an autocast region's bf16 copies of these would go stale
        dropAutocastCopies(withGrad);
        if (withGrad.length > 0) this.updateGroup(group, withGrad);
      }
    });
    return result;
  }

  /** Update `params` (those of `group` with a grad) in place; runs under noGrad. */
  protected abstract updateGroup(group: ParamGroup<H>, params: Tensor[]): void;

  /** Dispose and clear every parameter's .grad (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.allParams()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** State tensors this optimizer keeps for a parameter (exp_avg, ...), for loadStateDict's checks. */
  protected abstract stateTensorKeys(): readonly string[];
  /** Number-valued state keys (step). */
  protected stateNumberKeys(): readonly string[] {
    return [];
  }

  /** { state, param_groups } (see the file comment): the optimizer's own tensors, not copies. */
  stateDict(): OptimizerStateDict {
    const state: Record<number, ParamState> = {};
    const groups: OptimizerStateDict['param_groups'] = [];
    let index = 0;
    for (const group of this.paramGroups) {
      const indices: number[] = [];
      for (const p of group.params) {
        const s = this.state.get(p);
        if (s !== undefined) state[index] = { ...s };
        indices.push(index++);
      }
      const { params: _params, ...hyper } = group;
      const copy: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(hyper)) copy[k] = Array.isArray(v) ? v.slice() : v;
      groups.push({ ...copy, params: indices });
    }
    return { state, param_groups: groups };
  }

  /**
   * Load a stateDict() of an optimizer of the same kind over parameters of the same
   * shapes, in the same group layout. Group hyperparameters (lr included) are taken
   * from the dict; state tensors are copied onto each parameter's backend and dtype.
   * Nothing changes unless every check passes.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const fn = `${this.fn}.loadStateDict`;
    if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw typeError(fn, 'stateDict', 'an object { state, param_groups }', describeValue(dict));
    const { state, param_groups: groups } = dict as Partial<OptimizerStateDict>;
    if (state === null || typeof state !== 'object' || Array.isArray(state)) throw typeError(fn, 'stateDict.state', 'an object of per-parameter state', describeValue(state));
    if (!Array.isArray(groups)) throw typeError(fn, 'stateDict.param_groups', 'an array of groups', describeValue(groups));
    if (groups.length !== this.paramGroups.length) throw rangeError(fn, 'stateDict.param_groups', `${this.paramGroups.length} groups like this optimizer`, String(groups.length));
    const params = this.allParams();
    const keys = Object.keys(this.checks) as Array<keyof H & string>;
    const newHyper: Array<Record<string, unknown>> = [];
    let index = 0;
    groups.forEach((g, gi) => {
      const where = `stateDict.param_groups[${gi}]`;
      if (g === null || typeof g !== 'object' || !Array.isArray(g.params)) throw typeError(fn, where, 'a group { params: number[], ... }', describeValue(g));
      const mine = this.paramGroups[gi]!;
      if (g.params.length !== mine.params.length) throw rangeError(fn, `${where}.params`, `${mine.params.length} indices like group ${gi}`, String(g.params.length));
      g.params.forEach((v, j) => {
        if (v !== index + j) throw rangeError(fn, `${where}.params[${j}]`, `${index + j} (parameters numbered in group order)`, describeValue(v));
      });
      index += g.params.length;
      const hyper: Record<string, unknown> = {};
      for (const key of keys) {
        if (!(key in g)) throw rangeError(fn, where, `a group with '${key}'`, 'none');
        hyper[key] = this.checks[key](fn, `${where}.${key}`, g[key]);
        if (Array.isArray(hyper[key])) hyper[key] = (hyper[key] as unknown[]).slice();
      }
      if (g.name !== undefined) hyper.name = g.name;
      this.checkDefaults(hyper as unknown as H, where);
      newHyper.push(hyper);
    });
    const tensorKeys = this.stateTensorKeys();
    const numberKeys = this.stateNumberKeys();
    for (const [k, s] of Object.entries(state)) {
      const i = Number(k);
      const where = `stateDict.state[${k}]`;
      if (!Number.isInteger(i) || i < 0 || i >= params.length) throw rangeError(fn, 'stateDict.state', `keyed by parameter indices 0..${params.length - 1}`, `key '${k}'`);
      if (s === null || typeof s !== 'object') throw typeError(fn, where, 'an object', describeValue(s));
      const p = params[i]!;
      for (const [key, value] of Object.entries(s)) {
        if (tensorKeys.includes(key)) {
          if (!isTensor(value) || value.isDisposed) throw typeError(fn, `${where}.${key}`, 'a live Tensor', describeValue(value));
          if (!sameShape(value.shape, p.shape)) throw rangeError(fn, `${where}.${key}`, `${describeShape(p.shape)} like parameter ${i}`, describeShape(value.shape));
          if (value.dtype !== 'float32' && value.dtype !== 'float64') throw typeError(fn, `${where}.${key}`, 'a float tensor', value.dtype);
        } else if (numberKeys.includes(key)) {
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw typeError(fn, `${where}.${key}`, 'a non-negative integer', describeValue(value));
        } else {
          throw rangeError(fn, where, `state with keys among { ${[...tensorKeys, ...numberKeys].join(', ')} }`, `unknown key '${key}'`);
        }
      }
    }
    // every check passed: replace
    for (const s of this.state.values()) for (const v of Object.values(s)) if (isTensor(v)) v.dispose();
    this.state.clear();
    for (const [k, s] of Object.entries(state)) {
      const p = params[Number(k)]!;
      const fresh: ParamState = {};
      for (const [key, value] of Object.entries(s)) fresh[key] = isTensor(value) ? copyLike(value, p) : value;
      this.state.set(p, fresh);
    }
    newHyper.forEach((hyper, gi) => {
      const group = this.paramGroups[gi]! as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(hyper)) group[key] = value;
    });
  }

  /** Free the state tensors (the parameters belong to their module). */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (isTensor(v)) v.dispose();
    this.state.clear();
  }
}
