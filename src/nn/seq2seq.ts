// The paper's model ("Attention Is All You Need"): source and target token
// embeddings scaled by sqrt(dModel), sinusoidal (or learned) positions, an
// nn.Transformer, and a linear generator to target-vocabulary logits.
//
// Parameter names: src_tok_emb.weight, tgt_tok_emb.weight, transformer.* (exactly
// torch.nn.Transformer's), generator.weight/bias; learned positions add
// src_pos_emb.weight / tgt_pos_emb.weight. Shared weights appear under every name
// (stateDict), as in PyTorch.
import { describeValue, rangeError, typeError } from '../errors.js';
import { scale } from '../ops/elementwise.js';
import { checkBoolean, checkOptions, checkPositiveInt, checkProbability } from '../validate/checks.js';
import { divides, numberWhere, oneOf, resolveConfig, sizes, type Rule, type Schema } from '../validate/schema.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import { Tensor } from '../tensor/tensor.js';
import { Embedding } from './embedding.js';
import { Linear } from './linear.js';
import { Module } from './module.js';
import { loadModelFile, type ConfigSize } from './model-file.js';
import { factoryOptions, type FactoryOptions } from './parameter.js';
import { LearnedPositionalEmbedding, SinusoidalPositionalEncoding } from './positions.js';
import type { AttentionKV } from './attention.js';
import { cachedLength, checkBatchRows } from './kv-buffer.js';
import { Transformer, type DecoderLayerCache } from './transformer.js';

export interface Seq2SeqConfig {
  srcVocab: number;
  tgtVocab: number;
  /** Default 512. */
  dModel?: number;
  /** Default 8. */
  nhead?: number;
  /** Default 6 each. */
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  /** Default 2048. */
  dimFeedforward?: number;
  /** Residual, attention and embedding dropout (default 0.1, the paper's). */
  dropout?: number;
  activation?: 'relu' | 'gelu';
  /** Pre-LN instead of the paper's post-LN (default false). */
  normFirst?: boolean;
  /** Longest sequence (default 512). */
  maxLen?: number;
  positions?: 'sinusoidal' | 'learned';
  /** Token id of padding: its positions are masked as keys (default 0). */
  pad?: number;
  /** One embedding for source and target (needs srcVocab === tgtVocab). */
  shareEmbeddings?: boolean;
  /** generator.weight is tgt_tok_emb.weight (the paper's weight sharing). */
  tieGenerator?: boolean;
}

const CONFIG: Schema<Required<Seq2SeqConfig>> = {
  ...sizes('srcVocab', 'tgtVocab'),
  dModel: { check: checkPositiveInt, default: 512 },
  nhead: { check: checkPositiveInt, default: 8 },
  numEncoderLayers: { check: checkPositiveInt, default: 6 },
  numDecoderLayers: { check: checkPositiveInt, default: 6 },
  dimFeedforward: { check: checkPositiveInt, default: 2048 },
  dropout: { check: checkProbability, default: 0.1 },
  activation: { check: oneOf(['relu', 'gelu']), default: 'relu' },
  normFirst: { check: checkBoolean, default: false },
  maxLen: { check: checkPositiveInt, default: 512 },
  positions: { check: oneOf(['sinusoidal', 'learned']), default: 'sinusoidal' },
  pad: { check: numberWhere(() => true, 'a token id'), default: 0 },
  shareEmbeddings: { check: checkBoolean, default: false },
  tieGenerator: { check: checkBoolean, default: false },
};

// everything the inner Transformer would reject is checked here, before any parameter exists
const RULES: ReadonlyArray<Rule<Required<Seq2SeqConfig>>> = [
  {
    key: 'pad',
    ok: (c) => Number.isInteger(c.pad) && c.pad >= 0 && c.pad < Math.min(c.srcVocab, c.tgtVocab),
    expected: (c) => `a token id in [0, ${Math.min(c.srcVocab, c.tgtVocab)})`,
  },
  {
    key: 'shareEmbeddings',
    ok: (c) => !c.shareEmbeddings || c.srcVocab === c.tgtVocab,
    expected: (c) => `false unless srcVocab equals tgtVocab (${c.srcVocab} vs ${c.tgtVocab})`,
  },
  divides('nhead', 'dModel'),
];

/** Validate a Seq2SeqConfig and fill in the defaults (no allocation). */
export function resolveSeq2SeqConfig(config: unknown, fn = 'Seq2SeqTransformer', arg = 'config'): Required<Seq2SeqConfig> {
  return resolveConfig(fn, arg, config, CONFIG, RULES);
}

/** A lower bound of the parameters a config stores (embeddings, attention, FFN) and the sinusoidal table it builds. */
function seq2seqSize(c: Required<Seq2SeqConfig>): ConfigSize {
  const d = c.dModel;
  const ffn = 2 * d * c.dimFeedforward;
  const emb = (c.srcVocab + (c.shareEmbeddings ? 0 : c.tgtVocab)) * d + (c.positions === 'learned' ? 2 * c.maxLen * d : 0);
  const stored = emb + c.numEncoderLayers * (4 * d * d + ffn) + c.numDecoderLayers * (8 * d * d + ffn);
  const built = c.positions === 'sinusoidal' ? { elements: c.maxLen * d, field: 'maxLen' } : undefined;
  return { stored, storedFields: 'srcVocab, tgtVocab, dModel, numEncoderLayers, numDecoderLayers, dimFeedforward, maxLen', built };
}

/** State of incremental decoding (Seq2SeqTransformer.decodeCached). */
export interface Seq2SeqCachedOptions {
  /** Target position of tgt's first token = the number of cached positions. */
  offset: number;
  /** Per decoder layer: the self-attention cache (null before the first step). */
  self: readonly (AttentionKV | null)[];
  /** Per decoder layer: the cross-attention keys/values of the memory (Seq2SeqTransformer.crossKeyValues). */
  cross: readonly AttentionKV[];
  /** bool [B,S], true = padded source position (default: none). */
  memoryKeyPaddingMask?: Tensor | null;
  /** A continuous batch: each row's position of its first new token (B integers, each <= offset; default all offset). */
  positions?: ArrayLike<number>;
  /** bool [B, offset+T], true = a self-attention cache slot the row must not see (its padding). */
  selfKeyPaddingMask?: Tensor | null;
}

export interface Seq2SeqCachedOutput {
  /** [B,T,tgtVocab]: logits of the T new positions. */
  logits: Tensor;
  /** Per decoder layer, the self-attention cache extended by the T new positions (new tensors). */
  self: AttentionKV[];
}

export interface Seq2SeqForwardOptions {
  /** bool [B,S], true = padding; default: src == pad. */
  srcKeyPaddingMask?: Tensor | null;
  /** bool [B,T], true = padding; default: tgtIn == pad. */
  tgtKeyPaddingMask?: Tensor | null;
}

/** bool [B,T] (true where ids == pad), built on the host from the ids. */
function paddingMask(ids: Tensor, pad: number): Tensor {
  const values = ids.toTypedArray() as Int32Array;
  const mask = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) mask[i] = values[i] === pad ? 1 : 0;
  return tensor(mask, { shape: ids.shape.slice(), dtype: 'bool', backend: ids.device });
}

export class Seq2SeqTransformer extends Module {
  readonly config: Required<Seq2SeqConfig>;
  readonly srcTokEmb: Embedding;
  readonly tgtTokEmb: Embedding;
  readonly transformer: Transformer;
  readonly generator: Linear;
  private readonly srcPos: SinusoidalPositionalEncoding | LearnedPositionalEmbedding;
  private readonly tgtPos: SinusoidalPositionalEncoding | LearnedPositionalEmbedding;

  constructor(config: Seq2SeqConfig, options?: FactoryOptions) {
    super();
    const fn = 'Seq2SeqTransformer';
    const resolved = resolveConfig(fn, 'config', config, CONFIG, RULES);
    const { factory } = factoryOptions(fn, options);
    const d = resolved.dModel;
    this.config = resolved;
    this.srcTokEmb = this.registerModule('src_tok_emb', new Embedding(resolved.srcVocab, d, { paddingIdx: resolved.pad, ...factory }));
    this.tgtTokEmb = this.registerModule('tgt_tok_emb', resolved.shareEmbeddings ? this.srcTokEmb : new Embedding(resolved.tgtVocab, d, { paddingIdx: resolved.pad, ...factory }));
    if (resolved.positions === 'sinusoidal') {
      this.srcPos = this.registerModule('positional_encoding', new SinusoidalPositionalEncoding(d, resolved.maxLen, { dropout: resolved.dropout, ...factory }));
      this.tgtPos = this.srcPos;
    } else {
      this.srcPos = this.registerModule('src_pos_emb', new LearnedPositionalEmbedding(resolved.maxLen, d, { ...factory }));
      this.tgtPos = this.registerModule('tgt_pos_emb', new LearnedPositionalEmbedding(resolved.maxLen, d, { ...factory }));
    }
    this.transformer = this.registerModule('transformer', new Transformer({
      dModel: d, nhead: resolved.nhead, numEncoderLayers: resolved.numEncoderLayers, numDecoderLayers: resolved.numDecoderLayers,
      dimFeedforward: resolved.dimFeedforward, dropout: resolved.dropout, activation: resolved.activation, normFirst: resolved.normFirst, ...factory,
    }));
    this.generator = this.registerModule('generator', new Linear(d, resolved.tgtVocab, factory));
    if (resolved.tieGenerator) {
      const old = this.generator.weight;
      this.generator.registerParameter('weight', this.tgtTokEmb.weight);
      old.dispose();
    }
  }

  private embed(ids: Tensor, emb: Embedding, pos: SinusoidalPositionalEncoding | LearnedPositionalEmbedding, arg: string): Tensor {
    if (!(ids instanceof Tensor) || ids.dtype !== 'int32' || ids.rank !== 2) {
      throw typeError('Seq2SeqTransformer.forward', arg, 'int32 token ids [B,T]', describeValue(ids));
    }
    if (ids.shape[1]! > this.config.maxLen) throw rangeError('Seq2SeqTransformer.forward', arg, `at most maxLen=${this.config.maxLen} tokens`, String(ids.shape[1]));
    return pos.forward(scale(emb.forward(ids), Math.sqrt(this.config.dModel)));
  }

  /** src [B,S] -> memory [B,S,d]: the encoder half (what decoding runs once per source). */
  encode(src: Tensor, srcKeyPaddingMask?: Tensor | null): Tensor {
    return tidy(() => {
      const mask = srcKeyPaddingMask ?? paddingMask(src, this.config.pad);
      return this.transformer.encoder.forward(this.embed(src, this.srcTokEmb, this.srcPos, 'src'), { srcKeyPaddingMask: mask });
    });
  }

  /** The source padding mask decoding uses with encode(src): bool [B,S], true where src == pad. */
  sourcePaddingMask(src: Tensor): Tensor {
    if (!(src instanceof Tensor) || src.dtype !== 'int32' || src.rank !== 2) {
      throw typeError('Seq2SeqTransformer.sourcePaddingMask', 'src', 'int32 token ids [B,S]', describeValue(src));
    }
    return paddingMask(src, this.config.pad);
  }

  /** Every decoder layer's cross-attention keys/values of memory [B,S,d] (encode's output): computed once per source. */
  crossKeyValues(memory: Tensor): AttentionKV[] {
    return this.transformer.decoder.crossKeyValues(memory);
  }

  /**
   * Incremental decoding with a KV cache: tgt int32 [B,T] are the target tokens at positions
   * offset..offset+T-1 (T = 1 per step; the first call passes BOS at offset 0). Equals the
   * rows offset.. of forward(src, prefix) when the cache holds the earlier positions.
   * Returns the logits of the new positions and the extended self-attention caches.
   */
  decodeCached(tgt: Tensor, options: Seq2SeqCachedOptions): Seq2SeqCachedOutput {
    const fn = 'Seq2SeqTransformer.decodeCached';
    if (!(tgt instanceof Tensor) || tgt.dtype !== 'int32' || tgt.rank !== 2) throw typeError(fn, 'tgt', 'int32 token ids [B,T]', describeValue(tgt));
    const opts = checkOptions(fn, options, ['offset', 'self', 'cross', 'memoryKeyPaddingMask', 'positions', 'selfKeyPaddingMask']) as unknown as Seq2SeqCachedOptions;
    const n = this.config.numDecoderLayers;
    const offset = opts.offset;
    if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0 || offset + tgt.shape[1]! > this.config.maxLen) {
      throw rangeError(fn, 'options.offset', `an integer in [0, ${this.config.maxLen - tgt.shape[1]!}] (offset + T <= maxLen=${this.config.maxLen})`, describeValue(offset));
    }
    if (!Array.isArray(opts.self) || opts.self.length !== n) throw rangeError(fn, 'options.self', `an array of ${n} caches (one per decoder layer, null when empty)`, describeValue(opts.self));
    if (!Array.isArray(opts.cross) || opts.cross.length !== n) throw rangeError(fn, 'options.cross', `an array of ${n} cross keys/values (crossKeyValues)`, describeValue(opts.cross));
    for (let i = 0; i < n; i++) {
      const t = cachedLength(opts.self[i]);
      if (t !== offset) throw rangeError(fn, `options.self[${i}]`, `a cache of offset=${offset} positions`, String(t));
    }
    const [B, T] = tgt.shape as [number, number];
    const rows = checkBatchRows(fn, opts.positions, 'options.selfKeyPaddingMask', opts.selfKeyPaddingMask, B, T, offset, tgt.device);
    return tidy(() => {
      const emb = scale(this.tgtTokEmb.forward(tgt), Math.sqrt(this.config.dModel));
      const x = rows === undefined
        ? this.tgtPos.forward(emb, { offset })
        : this.tgtPos.forwardAt(emb, tensor(rows.ids, { shape: [B, T], dtype: 'int32', backend: tgt.device }));
      const caches: DecoderLayerCache[] = opts.cross.map((cross, i) => ({ self: opts.self[i] ?? null, cross }));
      const r = this.transformer.decoder.forwardCached(x, caches, { memoryKeyPaddingMask: opts.memoryKeyPaddingMask ?? null, selfKeyPaddingMask: rows?.mask ?? null });
      return { logits: this.generator.forward(r.output), self: r.self };
    });
  }

  /** Teacher-forced logits: src [B,S], tgtIn [B,T] (BOS + target) -> [B,T,tgtVocab]; causal over the target. */
  forward(src: Tensor, tgtIn: Tensor, options?: Seq2SeqForwardOptions): Tensor {
    const opts = checkOptions('Seq2SeqTransformer.forward', options, ['srcKeyPaddingMask', 'tgtKeyPaddingMask']) as Seq2SeqForwardOptions;
    return tidy(() => {
      const srcMask = opts.srcKeyPaddingMask ?? paddingMask(src, this.config.pad);
      const tgtMask = opts.tgtKeyPaddingMask ?? paddingMask(tgtIn, this.config.pad);
      const h = this.transformer.forward(
        this.embed(src, this.srcTokEmb, this.srcPos, 'src'),
        this.embed(tgtIn, this.tgtTokEmb, this.tgtPos, 'tgtIn'),
        { srcKeyPaddingMask: srcMask, tgtKeyPaddingMask: tgtMask, memoryKeyPaddingMask: srcMask, tgtIsCausal: true },
      );
      return this.generator.forward(h);
    });
  }

  /** Save parameters with the config in the metadata (atomic safetensors). */
  override async save(path: string): Promise<void> {
    await super.save(path, { metadata: { config: JSON.stringify(this.config), model: 'Seq2SeqTransformer' } });
  }

  /** Build the model a file's metadata describes and load its parameters (strict). */
  static async load(path: string, options?: FactoryOptions): Promise<Seq2SeqTransformer> {
    return loadModelFile('Seq2SeqTransformer', path, (c) => resolveSeq2SeqConfig(c), seq2seqSize, (config) => new Seq2SeqTransformer(config, options));
  }
}
