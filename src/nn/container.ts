// nn.ModuleList and nn.Sequential. Children are registered under '0', '1', ...
// (or the given names for Sequential), so state-dict keys read 'layers.0.linear1.weight'.
import { describeValue, rangeError, typeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

function checkModule(fn: string, arg: string, m: unknown): Module {
  if (!(m instanceof Module)) throw typeError(fn, arg, 'an nn.Module', describeValue(m));
  return m;
}

/**
 * An indexable list of modules that registers them (torch.nn.ModuleList). It has no
 * forward: iterate it. Generic so a list of layers keeps their type:
 * `new ModuleList<EncoderLayer>(layers).get(0)` is an EncoderLayer.
 */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    if (modules === null || typeof (modules as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
      throw typeError('ModuleList', 'modules', 'an array (iterable) of nn.Modules', describeValue(modules));
    }
    const list = [...modules];
    list.forEach((m, i) => checkModule('ModuleList', `modules[${i}]`, m));
    for (const m of list) this.append(m);
  }

  get length(): number {
    return this.items.length;
  }

  /** The module at `index` (negative counts from the end). */
  get(index: number): M {
    const n = this.items.length;
    if (typeof index !== 'number') throw typeError('ModuleList.get', 'index', 'an integer', describeValue(index));
    if (!Number.isInteger(index) || index < -n || index >= n) throw rangeError('ModuleList.get', 'index', `an integer in [-${n}, ${n - 1}]`, String(index));
    return this.items[index < 0 ? index + n : index]!;
  }

  /** Add a module at the end, registered as String(length). Returns this. */
  append(module: M): this {
    checkModule('ModuleList.append', 'module', module);
    this.registerModule(String(this.items.length), module);
    this.items.push(module);
    return this;
  }

  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  /** ModuleList has no forward (as in PyTorch): call its modules. */
  forward(): never {
    throw new TypeError('toroid.ModuleList.forward: a ModuleList has no forward, iterate it and call each module');
  }
}

/**
 * Modules applied in order, each output feeding the next (torch.nn.Sequential).
 * `new Sequential(a, b, c)` names the children '0', '1', '2';
 * `new Sequential({ fc: a, act: b })` uses the given names.
 * Every child's forward must take and return one Tensor. Intermediate outputs are
 * not disposed: wrap inference in toroid.tidy().
 */
export class Sequential extends Module implements Iterable<Module> {
  private readonly items: Module[] = [];

  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && first !== null && typeof first === 'object' && !(first instanceof Module)) {
      if (Array.isArray(first)) throw typeError('Sequential', 'modules', 'nn.Modules (as arguments) or an object of name -> nn.Module', 'an array');
      for (const [name, m] of Object.entries(first as Record<string, unknown>)) {
        this.items.push(this.registerModule(name, checkModule('Sequential', `modules.${name}`, m)));
      }
    } else {
      (modules as unknown[]).forEach((m, i) => checkModule('Sequential', `modules[${i}]`, m));
      (modules as Module[]).forEach((m, i) => this.items.push(this.registerModule(String(i), m)));
    }
  }

  get length(): number {
    return this.items.length;
  }

  /** The module at `index` (negative counts from the end). */
  get(index: number): Module {
    const n = this.items.length;
    if (typeof index !== 'number') throw typeError('Sequential.get', 'index', 'an integer', describeValue(index));
    if (!Number.isInteger(index) || index < -n || index >= n) throw rangeError('Sequential.get', 'index', `an integer in [-${n}, ${n - 1}]`, String(index));
    return this.items[index < 0 ? index + n : index]!;
  }

  /** Add a module at the end, registered as String(length). Returns this. */
  append(module: Module): this {
    checkModule('Sequential.append', 'module', module);
    this.items.push(this.registerModule(String(this.items.length), module));
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.items[Symbol.iterator]();
  }

  /** x -> m_n(...m_1(m_0(x))); an empty Sequential returns x. */
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.items) y = m.forward(y) as Tensor;
    return y;
  }
}
