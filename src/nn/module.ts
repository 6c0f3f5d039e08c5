// nn.Module: the base class of every layer and model, shaped like torch.nn.Module.
//
// Registration is EXPLICIT (no Proxy, no property scanning): a subclass calls
//
//   this.weight = this.registerParameter('weight', tensor);      // a leaf, made to require grad
//   this.selfAttn = this.registerModule('self_attn', new MultiheadAttention(...));
//   this.mask = this.registerBuffer('mask', tensor, { persistent: false });
//
// The registered NAME, not the property name, is what state-dict keys use, so a
// camelCase property can carry PyTorch's snake_case key: the module above yields
// 'self_attn.in_proj_weight'. Each helper returns its argument. Names are ordered by
// first registration; registering the same name again replaces the entry in place
// (its position is kept, the old tensor is NOT disposed). Reassigning the property
// alone does not change what is registered.
//
// Built-in layers expose their parameters as getters over the registry
// (`get weight() { return this.ownParameter('weight')!; }`), so tying weights is
//
//   const untied = head.weight;
//   head.registerParameter('weight', embed.weight);   // head.weight === embed.weight now
//   untied.dispose();                                  // replaced tensors are not disposed for you
//
// Subclasses may store plain fields instead; then re-registering does not update them.
//
// Ordering follows PyTorch: namedParameters() walks modules in pre-order (a
// module's own parameters, then each child's, in registration order) and lists a
// tensor shared by several names (tied weights) once, under its first name;
// stateDict() lists every name, tied ones included (own parameters, then own
// persistent buffers, then children).
//
// Ownership: a module owns the tensors registered in it. Registration keep()s them
// out of any enclosing toroid.tidy(); dispose() frees them all (shared ones once).
// stateDict() and parameters() hand out the module's own tensors, not copies:
// do not dispose them.
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { copyEachTensor, inspect, save, type SaveOptions, type TensorInfo } from '../io/checkpoint.js';
import { noGrad } from '../autograd/tape.js';
import { cast as castOp } from '../ops/layout.js';
import { checkBoolean, checkOneOf, checkOptions, checkTensor, isTensor } from '../validate/checks.js';
import { DTYPES, FLOAT_DTYPES, isFloatDType, type DType } from '../util/dtype.js';
import { sameShape } from '../util/shape.js';
import { keep } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { copyInto, overwrite } from './parameter.js';

export interface LoadStateDictOptions {
  /** Require exactly the module's keys (default true). Shape mismatches throw either way. */
  strict?: boolean;
}

export interface LoadFileOptions extends LoadStateDictOptions {
  /** Read only the file's tensors whose names start with this, without it (a training checkpoint's 'model/'). Default ''. */
  prefix?: string;
}

export interface LoadStateDictResult {
  /** Keys of the module's stateDict() that the given dict lacked (always [] when strict). */
  missingKeys: string[];
  /** Keys of the given dict that the module does not have (always [] when strict). */
  unexpectedKeys: string[];
}

export interface ModuleSaveOptions {
  /** String metadata stored in the safetensors header. */
  metadata?: Record<string, string>;
  /** Storage format of float32 tensors: 'F32' (default), 'F16' or 'BF16'. */
  floatFormat?: SaveOptions['floatFormat'];
}

export interface RegisterParameterOptions {
  /** Set requiresGrad on the tensor (default true; false registers a frozen parameter). */
  requiresGrad?: boolean;
}

export interface RegisterBufferOptions {
  /** Whether the buffer is part of stateDict() (default true, as in PyTorch). */
  persistent?: boolean;
}

type Kind = 'parameter' | 'buffer' | 'module';

function quote(keys: readonly string[]): string {
  return keys.map((k) => `'${k}'`).join(', ');
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

// Depth of withEvalSemantics calls in progress (JavaScript runs one of them at a time).
let evalSemanticsDepth = 0;

/**
 * Runs `fn` with every module in eval semantics (no dropout) without touching any module's
 * `training`. Decoding runs each (synchronous) step inside it, so a decode interleaved with
 * training, or with another decode, of the same model never flips the mode nor sees dropout.
 */
export function withEvalSemantics<T>(fn: () => T): T {
  evalSemanticsDepth++;
  try {
    return fn();
  } finally {
    evalSemanticsDepth--;
  }
}

export abstract class Module {
  /** Training mode (dropout active); set for the whole tree by train()/eval(). */
  training = true;

  /** Whether forward applies training behaviour now: `training`, and not inside withEvalSemantics. */
  get isTraining(): boolean {
    return this.training && evalSemanticsDepth === 0;
  }

  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _nonPersistent = new Set<string>();
  private readonly _modules = new Map<string, Module>();

  /**
   * The computation. Subclasses declare their own typed signature, e.g.
   * `forward(x: Tensor): Tensor`; call it directly: `module.forward(x)`.
   */
  abstract forward(...args: unknown[]): unknown;

  // ---------------------------------------------------------------- registration

  private checkName(fn: string, name: unknown, kind: Kind): string {
    if (typeof name !== 'string') throw typeError(fn, 'name', 'a string', describeValue(name));
    if (name === '' || name.includes('.')) throw rangeError(fn, 'name', 'a non-empty string without "."', JSON.stringify(name));
    const taken: Array<[Kind, boolean]> = [
      ['parameter', this._parameters.has(name)],
      ['buffer', this._buffers.has(name)],
      ['module', this._modules.has(name)],
    ];
    for (const [other, has] of taken) {
      if (has && other !== kind) throw rangeError(fn, 'name', `a name not already used by a ${other} of ${this.constructor.name}`, JSON.stringify(name));
    }
    return name;
  }

  /**
   * Register a parameter under `name` and return it. The tensor must be a live float
   * leaf (not the output of a recorded op); it is made to require grad and kept out
   * of enclosing tidy() scopes. `null` registers an absent parameter (like PyTorch's
   * `register_parameter('bias', None)`): it appears in no listing or state dict.
   */
  registerParameter<T extends Tensor | null>(name: string, t: T, options?: RegisterParameterOptions): T {
    const fn = 'Module.registerParameter';
    this.checkName(fn, name, 'parameter');
    const opts = checkOptions(fn, options, ['requiresGrad']);
    const requiresGrad = opts.requiresGrad === undefined ? true : checkBoolean(fn, 'options.requiresGrad', opts.requiresGrad);
    if (t !== null) {
      checkTensor(fn, `parameter '${name}'`, t);
      if (t.gradFn !== null) throw typeError(fn, `parameter '${name}'`, 'a leaf tensor (use .detach() on a computed one)', `one computed by ${t.gradFn.name}`);
      t.requiresGrad = requiresGrad;
      keep(t);
    }
    this._parameters.set(name, t);
    return t;
  }

  /**
   * Register non-parameter state (running statistics, a causal mask, position ids)
   * and return it. Any dtype; never requires grad. `persistent: false` keeps it out
   * of stateDict(). `null` registers an absent buffer.
   */
  registerBuffer<T extends Tensor | null>(name: string, t: T, options?: RegisterBufferOptions): T {
    const fn = 'Module.registerBuffer';
    this.checkName(fn, name, 'buffer');
    const opts = checkOptions(fn, options, ['persistent']);
    const persistent = opts.persistent === undefined ? true : checkBoolean(fn, 'options.persistent', opts.persistent);
    if (t !== null) {
      checkTensor(fn, `buffer '${name}'`, t, DTYPES);
      keep(t);
    }
    this._buffers.set(name, t);
    if (persistent) this._nonPersistent.delete(name);
    else this._nonPersistent.add(name);
    return t;
  }

  /** Register a child module and return it. Its keys get the prefix `name.`. */
  registerModule<M extends Module>(name: string, module: M): M {
    const fn = 'Module.registerModule';
    this.checkName(fn, name, 'module');
    if (!(module instanceof Module)) throw typeError(fn, `module '${name}'`, 'an nn.Module', describeValue(module));
    if ((module as Module) === this || module.modules().includes(this)) {
      throw rangeError(fn, `module '${name}'`, `a module that does not contain ${this.constructor.name}`, 'one that would make a cycle');
    }
    this._modules.set(name, module);
    return module;
  }

  // ---------------------------------------------------------------- traversal

  /** Every module in the tree, pre-order, with dotted names ('' for this one); each module once. */
  namedModules(): Array<[string, Module]> {
    const out: Array<[string, Module]> = [];
    const seen = new Set<Module>();
    const walk = (m: Module, prefix: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([prefix, m]);
      for (const [name, child] of m._modules) walk(child, prefix === '' ? name : `${prefix}.${name}`);
    };
    walk(this, '');
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Direct children in registration order (each once). */
  namedChildren(): Array<[string, Module]> {
    const seen = new Set<Module>();
    const out: Array<[string, Module]> = [];
    for (const [name, m] of this._modules) {
      if (seen.has(m)) continue;
      seen.add(m);
      out.push([name, m]);
    }
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  private namedTensors(kind: 'parameter' | 'buffer', recurse: boolean): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    const seen = new Set<Tensor>();
    const mods: Array<[string, Module]> = recurse ? this.namedModules() : [['', this]];
    for (const [prefix, m] of mods) {
      for (const [name, t] of kind === 'parameter' ? m._parameters : m._buffers) {
        if (t === null || seen.has(t)) continue;
        seen.add(t);
        out.push([prefix === '' ? name : `${prefix}.${name}`, t]);
      }
    }
    return out;
  }

  /**
   * Parameters with dotted names: this module's own first, then each child's, in
   * registration order. A tensor registered under several names (tied weights) is
   * listed once, under the first. `recurse: false` lists only this module's own.
   */
  namedParameters(options?: { recurse?: boolean }): Array<[string, Tensor]> {
    const opts = checkOptions('Module.namedParameters', options, ['recurse']);
    return this.namedTensors('parameter', opts.recurse === undefined ? true : checkBoolean('Module.namedParameters', 'options.recurse', opts.recurse));
  }

  /** The unique parameters, in namedParameters() order: what an optimizer takes. */
  parameters(options?: { recurse?: boolean }): Tensor[] {
    return this.namedParameters(options).map(([, t]) => t);
  }

  /** Buffers (persistent or not) with dotted names, each tensor once. */
  namedBuffers(options?: { recurse?: boolean }): Array<[string, Tensor]> {
    const opts = checkOptions('Module.namedBuffers', options, ['recurse']);
    return this.namedTensors('buffer', opts.recurse === undefined ? true : checkBoolean('Module.namedBuffers', 'options.recurse', opts.recurse));
  }

  buffers(options?: { recurse?: boolean }): Tensor[] {
    return this.namedBuffers(options).map(([, t]) => t);
  }

  /** The submodule at a dotted path ('' is this module), like torch's get_submodule. */
  getSubmodule(target: string): Module {
    const fn = 'Module.getSubmodule';
    if (typeof target !== 'string') throw typeError(fn, 'target', 'a dotted module path', describeValue(target));
    if (target === '') return this;
    let m: Module = this;
    for (const part of target.split('.')) {
      const next = m._modules.get(part);
      if (next === undefined) throw rangeError(fn, 'target', `a submodule path of ${this.constructor.name}`, `'${target}' (no '${part}' in ${m.constructor.name})`);
      m = next;
    }
    return m;
  }

  /** The parameter at a dotted path ('layers.0.fc1.weight'), like torch's get_parameter. */
  getParameter(target: string): Tensor {
    return this.getTensor('Module.getParameter', target, 'parameter');
  }

  /** The buffer at a dotted path, like torch's get_buffer. */
  getBuffer(target: string): Tensor {
    return this.getTensor('Module.getBuffer', target, 'buffer');
  }

  private getTensor(fn: string, target: unknown, kind: 'parameter' | 'buffer'): Tensor {
    if (typeof target !== 'string') throw typeError(fn, 'target', `a dotted ${kind} path`, describeValue(target));
    const cut = target.lastIndexOf('.');
    const owner = cut < 0 ? this : this.getSubmodule(target.slice(0, cut));
    const name = target.slice(cut + 1);
    const t = (kind === 'parameter' ? owner._parameters : owner._buffers).get(name);
    if (t == null) throw rangeError(fn, 'target', `a ${kind} path of ${this.constructor.name}`, `'${target}' (no ${kind} '${name}' in ${owner.constructor.name})`);
    return t;
  }

  /**
   * For subclasses: this module's own parameter `name`, or null when it was
   * registered as null or not at all. Built-in layers expose `weight`/`bias` as
   * getters over this, so re-registering (tying) is seen through the property.
   */
  protected ownParameter(name: string): Tensor | null {
    return this._parameters.get(name) ?? null;
  }

  /** For subclasses: this module's own buffer `name`, or null. */
  protected ownBuffer(name: string): Tensor | null {
    return this._buffers.get(name) ?? null;
  }

  /** Apply fn to every submodule (children first) and then to this one, like torch's apply. Returns this. */
  apply(fn: (module: Module) => void): this {
    if (typeof fn !== 'function') throw typeError('Module.apply', 'fn', 'a function', describeValue(fn));
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  // ---------------------------------------------------------------- state

  /** Total number of elements in the unique parameters (tied weights count once). */
  numParameters(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.size;
    return n;
  }

  /**
   * Every parameter and persistent buffer by dotted name (PyTorch's state_dict keys).
   * Tied tensors appear under every name that holds them. The values are the
   * module's own tensors, not copies.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    this.collectState('', out);
    return out;
  }

  private collectState(prefix: string, out: Record<string, Tensor>): void {
    for (const [name, t] of this._parameters) if (t !== null) out[prefix + name] = t;
    for (const [name, t] of this._buffers) if (t !== null && !this._nonPersistent.has(name)) out[prefix + name] = t;
    for (const [name, m] of this._modules) m.collectState(`${prefix}${name}.`, out);
  }

  /**
   * Copy values from `stateDict` (an object or Map of name -> Tensor, on any backend)
   * into this module's parameters and buffers IN PLACE: the tensors keep their
   * identity (optimizers holding them stay valid) and their backend; float values
   * convert between float32 and float64. Nothing is copied unless every check passes.
   *
   * strict (default): the keys must be exactly stateDict()'s; one RangeError lists
   * every missing key, unexpected key and size/dtype mismatch. Non-strict: missing
   * and unexpected keys are returned instead, mismatches of present keys still throw.
   */
  loadStateDict(stateDict: Record<string, Tensor> | Map<string, Tensor>, options?: LoadStateDictOptions): LoadStateDictResult {
    const fn = 'Module.loadStateDict';
    const opts = checkOptions(fn, options, ['strict']);
    const strict = opts.strict === undefined ? true : checkBoolean(fn, 'options.strict', opts.strict);
    let entries: Array<[string, unknown]>;
    if (stateDict instanceof Map) entries = [...stateDict];
    else if (stateDict !== null && typeof stateDict === 'object' && !Array.isArray(stateDict) && !isTensor(stateDict)) entries = Object.entries(stateDict);
    else throw typeError(fn, 'stateDict', 'an object or Map of name -> Tensor', describeValue(stateDict));
    const given = new Map<string, Tensor>();
    for (const [key, value] of entries) {
      if (typeof key !== 'string') throw typeError(fn, 'stateDict', 'keyed by strings', describeValue(key));
      if (!isTensor(value)) throw typeError(fn, `stateDict['${key}']`, 'a Tensor', describeValue(value));
      if (value.isDisposed) throw typeError(fn, `stateDict['${key}']`, 'a live Tensor', `a disposed ${value.dtype} ${describeShape(value.shape)}`);
      given.set(key, value);
    }

    const { own, missingKeys, unexpectedKeys } = this.checkStateDict(fn, given, strict);
    for (const [key, target] of Object.entries(own)) {
      const source = given.get(key);
      if (source !== undefined) copyInto(target, source);
    }
    return strict ? { missingKeys: [], unexpectedKeys: [] } : { missingKeys, unexpectedKeys };
  }

  /** loadStateDict's checks of keys, shapes and dtypes (from tensors or from a file's headers): one RangeError listing every problem. */
  private checkStateDict(fn: string, given: Map<string, { readonly shape: readonly number[]; readonly dtype: DType }>, strict: boolean): { own: Record<string, Tensor>; missingKeys: string[]; unexpectedKeys: string[] } {
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !given.has(k));
    const unexpectedKeys = [...given.keys()].filter((k) => !Object.hasOwn(own, k));
    const sizeMismatches: string[] = [];
    const dtypeMismatches: string[] = [];
    for (const [key, target] of Object.entries(own)) {
      const source = given.get(key);
      if (source === undefined) continue;
      if (!sameShape(source.shape, target.shape)) {
        sizeMismatches.push(`'${key}' is ${describeShape(source.shape)} in stateDict, ${describeShape(target.shape)} in the module`);
      } else if (source.dtype !== target.dtype && !(isFloatDType(source.dtype) && isFloatDType(target.dtype))) {
        dtypeMismatches.push(`'${key}' is ${source.dtype} in stateDict, ${target.dtype} in the module`);
      }
    }

    const parts: string[] = [];
    if (strict && missingKeys.length > 0) parts.push(`${plural(missingKeys.length, 'missing key', 'missing keys')}: ${quote(missingKeys)}`);
    if (strict && unexpectedKeys.length > 0) parts.push(`${plural(unexpectedKeys.length, 'unexpected key', 'unexpected keys')}: ${quote(unexpectedKeys)}`);
    if (sizeMismatches.length > 0) parts.push(`${plural(sizeMismatches.length, 'size mismatch', 'size mismatches')}: ${sizeMismatches.join(', ')}`);
    if (dtypeMismatches.length > 0) parts.push(`${plural(dtypeMismatches.length, 'dtype mismatch', 'dtype mismatches')}: ${dtypeMismatches.join(', ')}`);
    if (parts.length > 0) {
      const expected = strict
        ? `a dict with exactly the keys, shapes and dtypes of ${this.constructor.name}.stateDict()`
        : `a dict with the shapes and dtypes of ${this.constructor.name}.stateDict() for the keys they share`;
      throw rangeError(fn, 'stateDict', expected, parts.join('; '));
    }

    return { own, missingKeys, unexpectedKeys };
  }

  /**
   * Write stateDict() to a safetensors file with toroid.save (atomic). Every key is
   * written, so a tied tensor is stored once per name (unlike Hugging Face files,
   * which dedupe shared tensors); loadFile() reads either kind with strict: false.
   */
  async save(path: string, options?: ModuleSaveOptions): Promise<void> {
    const fn = 'Module.save';
    if (typeof path !== 'string') throw typeError(fn, 'path', 'a string', describeValue(path));
    const opts = checkOptions(fn, options, ['metadata', 'floatFormat']);
    const metadata = opts.metadata ?? {};
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw typeError(fn, 'options.metadata', 'an object of strings', describeValue(metadata));
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw typeError(fn, `options.metadata.${key}`, 'a string', describeValue(value));
    }
    const saveOptions: SaveOptions = opts.floatFormat === undefined ? {} : { floatFormat: opts.floatFormat as SaveOptions['floatFormat'] };
    await save(path, this.stateDict(), metadata as Record<string, string>, saveOptions);
  }

  /**
   * Load a safetensors file (or a sharded set's ".index.json") into this module
   * (loadStateDict semantics, in place), one tensor at a time: the keys, shapes and dtypes
   * are checked against the headers first, then each tensor is read, copied and freed, so
   * loading takes one tensor's memory beside the module's. A file that fails while it is
   * read (changed underneath, an I64 value past int32) leaves the module partly loaded,
   * and the error says so. Returns the missing/unexpected keys (non-strict) and the metadata.
   */
  async loadFile(path: string, options?: LoadFileOptions): Promise<LoadStateDictResult & { metadata: Record<string, string> }> {
    const fn = 'Module.loadFile';
    if (typeof path !== 'string') throw typeError(fn, 'path', 'a string', describeValue(path));
    const opts = checkOptions(fn, options, ['strict', 'prefix']);
    const strict = opts.strict === undefined ? true : checkBoolean(fn, 'options.strict', opts.strict);
    const prefix = opts.prefix ?? '';
    if (typeof prefix !== 'string') throw typeError(fn, 'options.prefix', 'a string', describeValue(prefix));
    const headers = new Map<string, TensorInfo>();
    for (const [name, info] of (await inspect(path)).tensors) if (name.startsWith(prefix)) headers.set(name.slice(prefix.length), info);
    const { own, missingKeys, unexpectedKeys } = this.checkStateDict(fn, headers, strict);
    let copied = 0;
    try {
      // each tensor's host data goes straight into the parameter's storage (dtype converted)
      const metadata = await copyEachTensor(path, (name) => name.startsWith(prefix) && Object.hasOwn(own, name.slice(prefix.length)), (name, host) => {
        overwrite(own[name.slice(prefix.length)]!, host.array, true);
        copied++;
      });
      return { missingKeys: strict ? [] : missingKeys, unexpectedKeys: strict ? [] : unexpectedKeys, metadata };
    } catch (err) {
      if (copied > 0 && err instanceof Error) err.message += ` (${copied} of ${headers.size} tensors were copied: the module is partly loaded)`;
      throw err;
    }
  }

  // ---------------------------------------------------------------- modes and memory

  /** Set training mode on this module and every submodule. Returns this. */
  train(mode = true): this {
    checkBoolean('Module.train', 'mode', mode);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** train(false): dropout off. Returns this. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Cast every float parameter and buffer of the tree to `dtype`, in place (a tensor shared
   * between modules once); int32 and bool buffers stay. model.to('bfloat16') halves the
   * memory of inference, and the KV caches it builds are bf16 too. For training keep the
   * parameters float32 and use toroid.autocast. Do it before making an optimizer, which holds
   * the old parameters. Returns this.
   */
  to(dtype: DType): this {
    const fn = 'Module.to';
    checkOneOf(fn, 'dtype', dtype, FLOAT_DTYPES);
    const cast = new Map<Tensor, Tensor>();
    const convert = (t: Tensor): Tensor => {
      let c = cast.get(t);
      if (c === undefined) {
        c = keep(noGrad(() => castOp(t, dtype)));
        c.requiresGrad = t.requiresGrad;
        cast.set(t, c);
      }
      return c;
    };
    for (const m of this.modules()) {
      for (const [name, t] of m._parameters) if (t !== null && t.dtype !== dtype) m._parameters.set(name, convert(t));
      for (const [name, t] of m._buffers) if (t !== null && isFloatDType(t.dtype) && t.dtype !== dtype) m._buffers.set(name, convert(t));
    }
    for (const old of cast.keys()) old.dispose();
    return this;
  }

  /** Set requiresGrad on every parameter (false freezes the module). Returns this. */
  requiresGrad_(requiresGrad = true): this {
    checkBoolean('Module.requiresGrad_', 'requiresGrad', requiresGrad);
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  /** Dispose and clear every parameter's .grad (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /**
   * Free every parameter (with its .grad) and buffer of the tree, shared ones once.
   * The module is unusable afterwards. Idempotent.
   */
  dispose(): void {
    for (const t of this.parameters()) t.dispose();
    for (const t of this.buffers()) t.dispose();
  }

  // ---------------------------------------------------------------- printing

  /** Extra text inside this module's toString() parentheses (override in subclasses). */
  extraRepr(): string {
    return '';
  }

  /** PyTorch-style tree, e.g. `Sequential(\n  (0): Linear(inFeatures=4, outFeatures=2, bias=true)\n)`. */
  toString(): string {
    const lines: string[] = [];
    const extra = this.extraRepr();
    if (extra !== '') lines.push(...extra.split('\n'));
    for (const [name, m] of this._modules) {
      const child = m.toString().split('\n').join('\n  ');
      lines.push(`(${name}): ${child}`);
    }
    const head = this.constructor.name;
    if (lines.length === 0) return `${head}()`;
    if (this._modules.size === 0 && lines.length === 1) return `${head}(${lines[0]})`;
    return `${head}(\n  ${lines.join('\n  ')}\n)`;
  }
}
