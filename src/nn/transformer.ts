// nn.Transformer and its parts, shaped like torch.nn.Transformer with batch_first=True.
//
// The children carry PyTorch's names, so a torch.nn.Transformer (or a TransformerEncoder,
// ...) state dict loads with strict = true:
//   TransformerEncoderLayer: self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2
//   TransformerDecoderLayer: self_attn, multihead_attn, linear1, dropout, linear2, norm1, norm2,
//                            norm3, dropout1, dropout2, dropout3
//   TransformerEncoder / TransformerDecoder: layers.<i>, norm (optional)
//   Transformer: encoder (with encoder.norm), decoder (with decoder.norm)
//
// Post-LN (normFirst: false, the default): x = norm(x + sublayer(x)).
// Pre-LN (normFirst: true):                x = x + sublayer(norm(x)).
// Masks: bool true = MASKED (a float mask is added to the scores), as in PyTorch; see
// MultiheadAttention. isCausal flags apply a causal mask IN ADDITION to any given mask
// (PyTorch treats them as a hint that the given mask is causal; with a causal mask the
// result is the same), so `tgtIsCausal: true` alone is enough for a decoder.
// Inputs are batch-first only: src [B,S,E], tgt [B,T,E].
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import type { CausalOption } from '../ops/attention.js';
import { add } from '../ops/elementwise.js';
import { checkBoolean, checkNonNegativeFinite, checkOneOf, checkOptions, checkPositiveInt, checkProbability, checkTensor } from '../validate/checks.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MultiheadAttention, type AttentionKV } from './attention.js';
import { ModuleList } from './container.js';
import { Dropout } from './dropout.js';
import { applyActivation } from './feedforward.js';
import { xavierUniform_ } from './init.js';
import { appendKeyValues } from './kv-buffer.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { LayerNorm } from './norm.js';
import { factoryOptions, type FactoryOptions } from './parameter.js';

/** 'relu' (default), 'gelu' (erf), 'gelu_tanh', or any Tensor -> Tensor function (not registered, no parameters). */
export type TransformerActivation = 'relu' | 'gelu' | 'gelu_tanh' | ((x: Tensor) => Tensor);

export interface TransformerLayerOptions extends FactoryOptions {
  /** Hidden size of the feed-forward block (default 2048). */
  dimFeedforward?: number;
  /** Dropout in the attention weights, the feed-forward block and on each residual branch (default 0.1). */
  dropout?: number;
  /** Default 'relu'. */
  activation?: TransformerActivation;
  /** LayerNorm eps (default 1e-5). */
  layerNormEps?: number;
  /** Pre-LN when true (default false: post-LN, the original paper). */
  normFirst?: boolean;
  /** Biases in the Linear layers, the attention projections and the LayerNorms (default true). */
  bias?: boolean;
  /** Only true is supported; accepted for PyTorch familiarity. */
  batchFirst?: boolean;
}

/** A layer's full configuration (what clone() and the encoder's config form take). */
export interface TransformerLayerConfig extends TransformerLayerOptions {
  dModel: number;
  nhead: number;
}

export interface EncoderLayerForwardOptions {
  /** [S,S] or [1|B,1|h,S,S]: bool (true = masked) or float (added). */
  srcMask?: Tensor | null;
  /** [B,S] bool, true = padding. */
  srcKeyPaddingMask?: Tensor | null;
  /** Causal self-attention (combined with srcMask). */
  isCausal?: CausalOption;
}

export interface DecoderLayerForwardOptions {
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  tgtIsCausal?: CausalOption;
  memoryIsCausal?: CausalOption;
}

/** One decoder layer's cache for incremental decoding (see TransformerDecoderLayer.forwardCached). */
export interface DecoderLayerCache {
  /** Self-attention keys/values of the positions decoded so far, [B,h,t,d] each; null before the first step. */
  self: AttentionKV | null;
  /** Cross-attention keys/values of the memory, [B,h,S,d] each (TransformerDecoderLayer.crossKeyValue, once per source). */
  cross: AttentionKV;
}

export interface DecoderCachedOptions {
  /** [B,S] bool, true = padded source position. */
  memoryKeyPaddingMask?: Tensor | null;
  /** [B, past+T] bool, true = a self-attention cache slot the row must not see (a continuous batch's padding). */
  selfKeyPaddingMask?: Tensor | null;
}

export interface DecoderCachedOutput {
  /** [B,T,E]: the outputs of the T new positions. */
  output: Tensor;
  /** Per layer (one entry for a layer), the self-attention cache extended by the T new positions (new tensors; the old ones are left alone). */
  self: AttentionKV[];
}

/** What TransformerEncoder stacks: a Module with the encoder layer's forward. */
export interface EncoderLayerLike extends Module {
  forward(src: Tensor, options?: EncoderLayerForwardOptions): Tensor;
}

/** What TransformerDecoder stacks: a Module with the decoder layer's forward. */
export interface DecoderLayerLike extends Module {
  forward(tgt: Tensor, memory: Tensor, options?: DecoderLayerForwardOptions): Tensor;
}

interface ResolvedLayer {
  dModel: number;
  nhead: number;
  dimFeedforward: number;
  dropout: number;
  activation: TransformerActivation;
  layerNormEps: number;
  normFirst: boolean;
  bias: boolean;
  factory: FactoryOptions;
}

const LAYER_KEYS = ['dimFeedforward', 'dropout', 'activation', 'layerNormEps', 'normFirst', 'bias', 'batchFirst'];

function checkActivation(fn: string, value: unknown): TransformerActivation {
  if (value === undefined) return 'relu';
  if (typeof value === 'function') return value as (x: Tensor) => Tensor;
  return checkOneOf(fn, 'options.activation', value, ['relu', 'gelu', 'gelu_tanh'] as const);
}

function checkBatchFirst(fn: string, value: unknown): void {
  if (value !== undefined && value !== true) {
    throw typeError(fn, 'options.batchFirst', 'true (only batch-first [B,T,E] inputs are supported)', describeValue(value));
  }
}

function resolveLayer(fn: string, dModel: unknown, nhead: unknown, options: unknown, prefix = ''): ResolvedLayer {
  const d = checkPositiveInt(fn, `${prefix}dModel`, dModel);
  const h = checkPositiveInt(fn, `${prefix}nhead`, nhead);
  if (d % h !== 0) throw rangeError(fn, `${prefix}dModel`, `divisible by ${prefix}nhead=${h}`, String(d));
  const { opts, factory } = factoryOptions(fn, options, LAYER_KEYS);
  checkBatchFirst(fn, opts.batchFirst);
  return {
    dModel: d,
    nhead: h,
    dimFeedforward: opts.dimFeedforward === undefined ? 2048 : checkPositiveInt(fn, 'options.dimFeedforward', opts.dimFeedforward),
    dropout: checkProbability(fn, 'options.dropout', opts.dropout, 0.1),
    activation: checkActivation(fn, opts.activation),
    layerNormEps: checkNonNegativeFinite(fn, 'options.layerNormEps', opts.layerNormEps, 1e-5),
    normFirst: checkBoolean(fn, 'options.normFirst', opts.normFirst, false),
    bias: checkBoolean(fn, 'options.bias', opts.bias, true),
    factory,
  };
}

function activate(activation: TransformerActivation, x: Tensor): Tensor {
  return typeof activation === 'function' ? activation(x) : applyActivation(activation, x);
}

function describeActivation(a: TransformerActivation): string {
  return typeof a === 'function' ? (a.name || 'function') : `'${a}'`;
}

function layerConfig(r: ResolvedLayer): TransformerLayerConfig {
  return {
    dModel: r.dModel, nhead: r.nhead, dimFeedforward: r.dimFeedforward, dropout: r.dropout,
    activation: r.activation, layerNormEps: r.layerNormEps, normFirst: r.normFirst, bias: r.bias, ...r.factory,
  };
}

/** input [B,T,E] with E = dModel (and B, when given). */
function checkInput(fn: string, arg: string, x: unknown, dModel: number, B?: number): Tensor {
  const t = checkTensor(fn, arg, x);
  if (t.rank !== 3 || t.shape[2] !== dModel || (B !== undefined && t.shape[0] !== B)) {
    const expected = B === undefined ? `[B,T,E] with E=${dModel} (batch first)` : `[B,T,E] with B=${B}, E=${dModel} (batch first)`;
    throw rangeError(fn, arg, `${t.dtype} ${expected}`, `${t.dtype} ${describeShape(t.shape)}`);
  }
  return t;
}

// ---------------------------------------------------------------- layers

/**
 * What both layers share: the resolved configuration, the children, registered in PyTorch's
 * order (the order of the state dict and of the init draws): the attentions, linear1, dropout,
 * linear2, then one norm<i> and one dropout<i> per sublayer (the attentions and the
 * feed-forward block); the residual wiring and clone().
 */
abstract class TransformerLayerBase extends Module {
  readonly dModel: number;
  readonly nhead: number;
  readonly dimFeedforward: number;
  readonly normFirst: boolean;
  readonly activation: TransformerActivation;
  /** The resolved configuration (for clone() and the stacks). */
  readonly config: TransformerLayerConfig;
  readonly selfAttn: MultiheadAttention;
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  /** norm1, norm2, ...: one per sublayer. */
  protected readonly norms: LayerNorm[];
  /** dropout1, dropout2, ...: each sublayer's output dropout. */
  protected readonly dropouts: Dropout[];
  /** self_attn, then multihead_attn in a decoder. */
  protected readonly attentions: MultiheadAttention[];

  protected constructor(r: ResolvedLayer, attentionNames: readonly string[]) {
    super();
    this.dModel = r.dModel;
    this.nhead = r.nhead;
    this.dimFeedforward = r.dimFeedforward;
    this.normFirst = r.normFirst;
    this.activation = r.activation;
    this.config = Object.freeze(layerConfig(r));
    const f = r.factory;
    this.attentions = attentionNames.map((name) => this.registerModule(name, new MultiheadAttention(r.dModel, r.nhead, { dropout: r.dropout, bias: r.bias, ...f })));
    this.selfAttn = this.attentions[0]!;
    this.linear1 = this.registerModule('linear1', new Linear(r.dModel, r.dimFeedforward, { bias: r.bias, ...f }));
    this.dropout = this.registerModule('dropout', new Dropout(r.dropout));
    this.linear2 = this.registerModule('linear2', new Linear(r.dimFeedforward, r.dModel, { bias: r.bias, ...f }));
    const sublayers = attentionNames.length + 1;
    this.norms = Array.from({ length: sublayers }, (_, i) => this.registerModule(`norm${i + 1}`, new LayerNorm(r.dModel, { eps: r.layerNormEps, bias: r.bias, ...f })));
    this.dropouts = Array.from({ length: sublayers }, (_, i) => this.registerModule(`dropout${i + 1}`, new Dropout(r.dropout)));
  }

  get norm1(): LayerNorm { return this.norms[0]!; }
  get norm2(): LayerNorm { return this.norms[1]!; }
  get dropout1(): Dropout { return this.dropouts[0]!; }
  get dropout2(): Dropout { return this.dropouts[1]!; }

  /** A new layer with the same configuration and a copy of this one's parameters (PyTorch's deepcopy). */
  clone(): this {
    const { dModel, nhead, ...rest } = this.config;
    const copy = new (this.constructor as new (d: number, h: number, o: TransformerLayerOptions) => this)(dModel, nhead, rest);
    copy.loadStateDict(this.stateDict());
    copy.train(this.training);
    return copy;
  }

  /** linear2(dropout(activation(linear1(x)))), without the residual's dropout. */
  protected feedForward(x: Tensor): Tensor {
    return this.linear2.forward(this.dropout.forward(activate(this.activation, this.linear1.forward(x))));
  }

  /** Each [norm, sublayer] with its residual: pre-LN x + f(norm(x)), post-LN norm(x + f(x)). */
  protected residuals(x: Tensor, blocks: Array<[LayerNorm, (x: Tensor) => Tensor]>): Tensor {
    for (const [norm, f] of blocks) x = this.normFirst ? add(x, f(norm.forward(x))) : norm.forward(add(x, f(x)));
    return x;
  }

  override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}, dimFeedforward=${this.dimFeedforward}, activation=${describeActivation(this.activation)}, normFirst=${this.normFirst}`;
  }
}

/** One encoder block: self-attention and a feed-forward block, each with a residual and a LayerNorm. */
export class TransformerEncoderLayer extends TransformerLayerBase {
  constructor(dModel: number, nhead: number, options?: TransformerLayerOptions) {
    super(resolveLayer('TransformerEncoderLayer', dModel, nhead, options), ['self_attn']);
  }

  /** src [B,S,E] -> [B,S,E]. */
  forward(src: Tensor, options?: EncoderLayerForwardOptions): Tensor {
    const fn = 'TransformerEncoderLayer.forward';
    checkInput(fn, 'src', src, this.dModel);
    const opts = checkOptions(fn, options, ['srcMask', 'srcKeyPaddingMask', 'isCausal']) as EncoderLayerForwardOptions;
    return tidy(() => this.residuals(src, [
      [this.norm1, (x) => this.dropout1.forward(this.selfAttn.forward(x, x, x, {
        attnMask: opts.srcMask ?? null, keyPaddingMask: opts.srcKeyPaddingMask ?? null, isCausal: opts.isCausal ?? false,
      }).output)],
      [this.norm2, (x) => this.dropout2.forward(this.feedForward(x))],
    ]));
  }
}

/** One decoder block: causal self-attention, cross-attention over the memory, and a feed-forward block. */
export class TransformerDecoderLayer extends TransformerLayerBase {
  constructor(dModel: number, nhead: number, options?: TransformerLayerOptions) {
    super(resolveLayer('TransformerDecoderLayer', dModel, nhead, options), ['self_attn', 'multihead_attn']);
  }

  get multiheadAttn(): MultiheadAttention { return this.attentions[1]!; }
  get norm3(): LayerNorm { return this.norms[2]!; }
  get dropout3(): Dropout { return this.dropouts[2]!; }

  /** tgt [B,T,E], memory [B,S,E] -> [B,T,E]. */
  forward(tgt: Tensor, memory: Tensor, options?: DecoderLayerForwardOptions): Tensor {
    const fn = 'TransformerDecoderLayer.forward';
    const t = checkInput(fn, 'tgt', tgt, this.dModel);
    checkInput(fn, 'memory', memory, this.dModel, t.shape[0]);
    const opts = checkOptions(fn, options, ['tgtMask', 'memoryMask', 'tgtKeyPaddingMask', 'memoryKeyPaddingMask', 'tgtIsCausal', 'memoryIsCausal']) as DecoderLayerForwardOptions;
    return tidy(() => this.residuals(tgt, [
      [this.norm1, (x) => this.dropout1.forward(this.selfAttn.forward(x, x, x, {
        attnMask: opts.tgtMask ?? null, keyPaddingMask: opts.tgtKeyPaddingMask ?? null, isCausal: opts.tgtIsCausal ?? false,
      }).output)],
      [this.norm2, (x) => this.dropout2.forward(this.multiheadAttn.forward(x, memory, memory, {
        attnMask: opts.memoryMask ?? null, keyPaddingMask: opts.memoryKeyPaddingMask ?? null, isCausal: opts.memoryIsCausal ?? false,
      }).output)],
      [this.norm3, (x) => this.dropout3.forward(this.feedForward(x))],
    ]));
  }

  /** The cross-attention keys/values of memory [B,S,E] (a DecoderLayerCache's `cross`): computed once per source. */
  crossKeyValue(memory: Tensor): AttentionKV {
    checkInput('TransformerDecoderLayer.crossKeyValue', 'memory', memory, this.dModel);
    return this.multiheadAttn.projectKeyValue(memory);
  }

  /**
   * Incremental decoding: tgt [B,T,E] holds the T positions after the cache.self ones (T = 1
   * for one step). Self-attention attends over the cached keys plus the new ones with a
   * 'bottom-right' causal mask; cross-attention reads cache.cross. Equal to forward() over the
   * whole prefix with tgtIsCausal (rows of the new positions). Returns { output [B,T,E],
   * self: [the extended self-attention cache] } (nn/kv-buffer.ts appendKeyValues: without
   * gradients the new positions are written into cache.self's buffers while they have room,
   * so the result may hold the same k and v; otherwise new tensors, and cache.self is left
   * for the caller to dispose).
   */
  forwardCached(tgt: Tensor, cache: DecoderLayerCache, options?: DecoderCachedOptions): DecoderCachedOutput {
    const fn = 'TransformerDecoderLayer.forwardCached';
    const t = checkInput(fn, 'tgt', tgt, this.dModel);
    const opts = checkOptions(fn, options, ['memoryKeyPaddingMask', 'selfKeyPaddingMask']) as DecoderCachedOptions;
    if (cache === null || typeof cache !== 'object' || cache.cross == null) throw typeError(fn, 'cache', 'an object { self, cross } (DecoderLayerCache)', describeValue(cache));
    const B = t.shape[0]!;
    if (cache.cross.k?.shape?.[0] !== B) throw rangeError(fn, 'cache.cross.k', `[B,h,S,d] with B=${B}`, describeValue(cache.cross.k));
    if (cache.self !== null && cache.self?.k?.shape?.[0] !== B) throw rangeError(fn, 'cache.self.k', `[B,h,t,d] with B=${B}`, describeValue(cache.self?.k));
    return tidy(() => {
      const held: { kv: AttentionKV | null } = { kv: null };
      const sa = (x: Tensor): Tensor => {
        // q, k and v of the new positions in one projection (one matmul, no weight rows copied)
        const { q, kv: fresh } = this.selfAttn.projectSelf(x);
        const kv = appendKeyValues(cache.self, fresh);
        held.kv = kv;
        return this.dropout1.forward(this.selfAttn.attendProjected(q, kv, { isCausal: 'bottom-right', keyPaddingMask: opts.selfKeyPaddingMask ?? null }));
      };
      const mha = (x: Tensor): Tensor => this.dropout2.forward(this.multiheadAttn.attendKeyValue(x, cache.cross, {
        keyPaddingMask: opts.memoryKeyPaddingMask ?? null,
      }));
      const output = this.residuals(tgt, [[this.norm1, sa], [this.norm2, mha], [this.norm3, (x) => this.dropout3.forward(this.feedForward(x))]]);
      return { output, self: [held.kv!] };
    });
  }

}

// ---------------------------------------------------------------- stacks

export interface TransformerStackOptions {
  /** Applied to the output of the last layer (PyTorch's `norm`); registered as 'norm'. Default none. */
  norm?: Module | null;
}

/**
 * The layers of a stack from: a factory (index) => layer; a layer instance (cloned numLayers
 * times, parameters included, like PyTorch's deepcopy: the instance itself is not used, dispose
 * it); or a config { dModel, nhead, ...TransformerLayerOptions } (fresh layers).
 */
function buildLayers<L extends Module>(fn: string, layer: unknown, numLayers: number, Cls: new (d: number, h: number, o?: TransformerLayerOptions) => L & { clone(): L }): L[] {
  const out: L[] = [];
  if (typeof layer === 'function') {
    for (let i = 0; i < numLayers; i++) {
      const m = (layer as (i: number) => unknown)(i);
      if (!(m instanceof Module)) throw typeError(fn, 'layer', 'a factory returning nn.Modules', `one that returned ${describeValue(m)} for index ${i}`);
      if (out.includes(m as L)) throw rangeError(fn, 'layer', 'a factory returning a new module each call', `the same module for index ${i}`);
      out.push(m as L);
    }
  } else if (layer instanceof Cls) {
    for (let i = 0; i < numLayers; i++) out.push((layer as L & { clone(): L }).clone());
  } else if (layer !== null && typeof layer === 'object' && !(layer instanceof Module)) {
    const { dModel, nhead, ...rest } = layer as TransformerLayerConfig;
    for (let i = 0; i < numLayers; i++) out.push(new Cls(dModel, nhead, rest));
  } else {
    throw typeError(fn, 'layer', `a factory (index) => layer, a ${Cls.name} to clone, or a config { dModel, nhead, ... }`, describeValue(layer));
  }
  return out;
}

function checkNorm(fn: string, options: unknown): Module | null {
  const opts = checkOptions(fn, options, ['norm']);
  if (opts.norm == null) return null;
  if (!(opts.norm instanceof Module)) throw typeError(fn, 'options.norm', 'an nn.Module (e.g. a LayerNorm) or null', describeValue(opts.norm));
  return opts.norm;
}

export interface EncoderForwardOptions {
  /** Self-attention mask for every layer (PyTorch's `mask`). */
  mask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  isCausal?: CausalOption;
}

/** A stack of encoder layers (children layers.<i>) and an optional final norm. */
export class TransformerEncoder<L extends EncoderLayerLike = TransformerEncoderLayer> extends Module {
  readonly layers: ModuleList<L>;
  readonly numLayers: number;
  readonly norm: Module | null;

  constructor(layer: ((index: number) => L) | TransformerEncoderLayer | TransformerLayerConfig, numLayers: number, options?: TransformerStackOptions) {
    super();
    const fn = 'TransformerEncoder';
    this.numLayers = checkPositiveInt(fn, 'numLayers', numLayers);
    const norm = checkNorm(fn, options);
    this.layers = this.registerModule('layers', new ModuleList<L>(buildLayers(fn, layer, numLayers, TransformerEncoderLayer) as unknown as L[]));
    this.norm = norm === null ? null : this.registerModule('norm', norm);
  }

  /** src [B,S,E] -> [B,S,E]. */
  forward(src: Tensor, options?: EncoderForwardOptions): Tensor {
    const fn = 'TransformerEncoder.forward';
    checkTensor(fn, 'src', src);
    const opts = checkOptions(fn, options, ['mask', 'srcKeyPaddingMask', 'isCausal']) as EncoderForwardOptions;
    return tidy(() => {
      let x = src;
      for (const layer of this.layers) {
        x = layer.forward(x, { srcMask: opts.mask ?? null, srcKeyPaddingMask: opts.srcKeyPaddingMask ?? null, isCausal: opts.isCausal ?? false });
      }
      return this.norm === null ? x : (this.norm.forward(x) as Tensor);
    });
  }
}

/** A stack of decoder layers (children layers.<i>) and an optional final norm. */
export class TransformerDecoder<L extends DecoderLayerLike = TransformerDecoderLayer> extends Module {
  readonly layers: ModuleList<L>;
  readonly numLayers: number;
  readonly norm: Module | null;

  constructor(layer: ((index: number) => L) | TransformerDecoderLayer | TransformerLayerConfig, numLayers: number, options?: TransformerStackOptions) {
    super();
    const fn = 'TransformerDecoder';
    this.numLayers = checkPositiveInt(fn, 'numLayers', numLayers);
    const norm = checkNorm(fn, options);
    this.layers = this.registerModule('layers', new ModuleList<L>(buildLayers(fn, layer, numLayers, TransformerDecoderLayer) as unknown as L[]));
    this.norm = norm === null ? null : this.registerModule('norm', norm);
  }

  /** tgt [B,T,E], memory [B,S,E] -> [B,T,E]. */
  forward(tgt: Tensor, memory: Tensor, options?: DecoderLayerForwardOptions): Tensor {
    const fn = 'TransformerDecoder.forward';
    checkTensor(fn, 'tgt', tgt);
    checkTensor(fn, 'memory', memory);
    const opts = checkOptions(fn, options, ['tgtMask', 'memoryMask', 'tgtKeyPaddingMask', 'memoryKeyPaddingMask', 'tgtIsCausal', 'memoryIsCausal']) as DecoderLayerForwardOptions;
    return tidy(() => {
      let x = tgt;
      for (const layer of this.layers) x = layer.forward(x, memory, opts);
      return this.norm === null ? x : (this.norm.forward(x) as Tensor);
    });
  }

  /** Every layer's cross-attention keys/values of memory [B,S,E] (TransformerDecoderLayer layers only). */
  crossKeyValues(memory: Tensor): AttentionKV[] {
    return tidy(() => this.cachedLayers('TransformerDecoder.crossKeyValues').map((layer) => layer.crossKeyValue(memory)));
  }

  /**
   * Incremental decoding through every layer and the final norm: tgt [B,T,E] (positions after
   * the cached ones), caches[i] the cache of layer i -> { output [B,T,E], self: extended
   * self-attention caches, one per layer }. Layers must be TransformerDecoderLayers.
   */
  forwardCached(tgt: Tensor, caches: readonly DecoderLayerCache[], options?: DecoderCachedOptions): DecoderCachedOutput {
    const fn = 'TransformerDecoder.forwardCached';
    checkTensor(fn, 'tgt', tgt);
    const layers = this.cachedLayers(fn);
    if (!Array.isArray(caches) || caches.length !== layers.length) {
      throw rangeError(fn, 'caches', `an array of ${layers.length} DecoderLayerCache (one per layer)`, describeValue(caches));
    }
    return tidy(() => {
      let x = tgt;
      const self: AttentionKV[] = [];
      layers.forEach((layer, i) => {
        const r = layer.forwardCached(x, caches[i]!, options);
        x = r.output;
        self.push(r.self[0]!);
      });
      return { output: this.norm === null ? x : (this.norm.forward(x) as Tensor), self };
    });
  }

  private cachedLayers(fn: string): TransformerDecoderLayer[] {
    const layers = [...this.layers] as unknown[];
    layers.forEach((layer, i) => {
      if (!(layer instanceof TransformerDecoderLayer)) throw typeError(fn, `layers[${i}]`, 'a TransformerDecoderLayer (the cached path needs its structure)', describeValue(layer));
    });
    return layers as TransformerDecoderLayer[];
  }
}

// ---------------------------------------------------------------- Transformer

export interface TransformerOptions extends TransformerLayerOptions {
  /** Default 512. */
  dModel?: number;
  /** Default 8. */
  nhead?: number;
  /** Default 6. */
  numEncoderLayers?: number;
  /** Default 6. */
  numDecoderLayers?: number;
}

export interface TransformerForwardOptions {
  srcMask?: Tensor | null;
  tgtMask?: Tensor | null;
  memoryMask?: Tensor | null;
  srcKeyPaddingMask?: Tensor | null;
  tgtKeyPaddingMask?: Tensor | null;
  memoryKeyPaddingMask?: Tensor | null;
  srcIsCausal?: CausalOption;
  tgtIsCausal?: CausalOption;
  memoryIsCausal?: CausalOption;
}

/**
 * torch.nn.Transformer (batch first): encoder (layers + final LayerNorm 'encoder.norm') and
 * decoder (layers + 'decoder.norm'). Embeddings, positions and the output head are not part
 * of it, as in PyTorch. Init as PyTorch: every parameter with rank > 1 ~ xavier_uniform_.
 */
export class Transformer extends Module {
  readonly dModel: number;
  readonly nhead: number;
  readonly encoder: TransformerEncoder;
  readonly decoder: TransformerDecoder;

  constructor(options?: TransformerOptions) {
    super();
    const fn = 'Transformer';
    const opts = checkOptions(fn, options, ['dModel', 'nhead', 'numEncoderLayers', 'numDecoderLayers', ...LAYER_KEYS, 'backend', 'dtype']);
    const { dModel = 512, nhead = 8, numEncoderLayers = 6, numDecoderLayers = 6, ...layerOptions } = opts as TransformerOptions;
    const r = resolveLayer(fn, dModel, nhead, layerOptions, 'options.');
    const nEnc = checkPositiveInt(fn, 'options.numEncoderLayers', numEncoderLayers);
    const nDec = checkPositiveInt(fn, 'options.numDecoderLayers', numDecoderLayers);
    this.dModel = r.dModel;
    this.nhead = r.nhead;
    const config = layerConfig(r);
    const ln = (): LayerNorm => new LayerNorm(r.dModel, { eps: r.layerNormEps, bias: r.bias, ...r.factory });
    this.encoder = this.registerModule('encoder', new TransformerEncoder(config, nEnc, { norm: ln() }));
    this.decoder = this.registerModule('decoder', new TransformerDecoder(config, nDec, { norm: ln() }));
    for (const p of this.parameters()) if (p.rank > 1) xavierUniform_(p);
  }

  /** src [B,S,E], tgt [B,T,E] -> [B,T,E]. */
  forward(src: Tensor, tgt: Tensor, options?: TransformerForwardOptions): Tensor {
    const fn = 'Transformer.forward';
    const s = checkInput(fn, 'src', src, this.dModel);
    checkInput(fn, 'tgt', tgt, this.dModel, s.shape[0]);
    const opts = checkOptions(fn, options, ['srcMask', 'tgtMask', 'memoryMask', 'srcKeyPaddingMask', 'tgtKeyPaddingMask', 'memoryKeyPaddingMask', 'srcIsCausal', 'tgtIsCausal', 'memoryIsCausal']) as TransformerForwardOptions;
    return tidy(() => {
      const memory = this.encoder.forward(src, { mask: opts.srcMask ?? null, srcKeyPaddingMask: opts.srcKeyPaddingMask ?? null, isCausal: opts.srcIsCausal ?? false });
      return this.decoder.forward(tgt, memory, {
        tgtMask: opts.tgtMask ?? null,
        memoryMask: opts.memoryMask ?? null,
        tgtKeyPaddingMask: opts.tgtKeyPaddingMask ?? null,
        memoryKeyPaddingMask: opts.memoryKeyPaddingMask ?? null,
        tgtIsCausal: opts.tgtIsCausal ?? false,
        memoryIsCausal: opts.memoryIsCausal ?? false,
      });
    });
  }

  /**
   * A bool [T,T] causal mask, true above the diagonal (key j > query i is masked).
   * PyTorch returns the float form (-inf above the diagonal); both mean the same here.
   */
  static generateSquareSubsequentMask(T: number, options?: { backend?: string }): Tensor {
    const fn = 'Transformer.generateSquareSubsequentMask';
    checkPositiveInt(fn, 'T', T);
    const opts = checkOptions(fn, options, ['backend']);
    const data = new Uint8Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = 1;
    return tensor(data, { shape: [T, T], dtype: 'bool', backend: opts.backend as string | undefined });
  }

  override extraRepr(): string {
    return `dModel=${this.dModel}, nhead=${this.nhead}`;
  }
}
