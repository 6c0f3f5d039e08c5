// nn.BertEncoder: an encoder-only transformer in the shape of Hugging Face's BERT
// (BertForPreTraining's trunk and masked-LM head), with a pooled classification head
// instead of the next-sentence-prediction head.
//
// Parameter names are Hugging Face's, so the weights of a real BERT checkpoint load
// (see bertStateDictFromHuggingFace for the keys HF files add or leave out):
//   bert.embeddings.word_embeddings.weight         [V, H]  (paddingIdx = padTokenId, HF's)
//   bert.embeddings.position_embeddings.weight     [maxPositionEmbeddings, H]
//   bert.embeddings.token_type_embeddings.weight   [typeVocabSize, H]
//   bert.embeddings.LayerNorm.{weight,bias}
//   bert.encoder.layer.N.attention.self.{query,key,value}.{weight,bias}
//   bert.encoder.layer.N.attention.output.dense.{weight,bias}
//   bert.encoder.layer.N.attention.output.LayerNorm.{weight,bias}
//   bert.encoder.layer.N.intermediate.dense.{weight,bias}     [I, H]
//   bert.encoder.layer.N.output.dense.{weight,bias}           [H, I]
//   bert.encoder.layer.N.output.LayerNorm.{weight,bias}
//   bert.pooler.dense.{weight,bias}
//   cls.predictions.bias                            [V]   (the MLM decoder's bias)
//   cls.predictions.transform.dense.{weight,bias}
//   cls.predictions.transform.LayerNorm.{weight,bias}
//   cls.predictions.decoder.weight                  [V, H] TIED: the word_embeddings tensor
//   cls.predictions.decoder.bias                    [V]    TIED: the cls.predictions.bias tensor
//   classifier.{weight,bias}                        [numLabels, H] (only when numLabels > 0)
// Tied tensors are registered under both names, as in PyTorch: stateDict() lists every
// name, parameters()/numParameters() count each tensor once, and the gradient of a tied
// tensor is the sum of its uses. The classifier replaces HF's cls.seq_relationship (NSP)
// head: it is BertForSequenceClassification's head (dropout, then a Linear on the
// pooled output), registered at the top level as HF names it there.
//
// Computation (HF's, post-LN, eval mode shown; dropout where HF has it while training):
//   x = LN(word[ids] + position[0..T-1] + tokenType[tokenTypeIds])          (dropout)
//   per layer: a = LN(x + dense(selfAttention(x)));  x = LN(a + dense2(act(dense1(a))))
//   pooledOutput = tanh(pooler.dense(x[:, 0]))
//   mlmLogits    = decoder(LN(act(transform.dense(x)))) + cls.predictions.bias
//   classLogits  = classifier(pooledOutput)                                   (dropout before)
// act is hiddenAct (default 'gelu', the exact erf GELU); every LayerNorm uses layerNormEps
// (default 1e-12, BERT's). Attention: scores scaled by 1/sqrt(hiddenSize/numAttentionHeads),
// heads are contiguous blocks of the hidden features, dropout on the attention weights.
//
// MASK CONVENTION: attentionMask follows Hugging Face, 1 = real token, 0 = padding.
// That is the OPPOSITE of toroid's (and PyTorch's nn.MultiheadAttention's) boolean masks,
// where true = masked: BertEncoder.forward converts it (keyPaddingMask = attentionMask == 0).
// BertLayer.forward itself takes the toroid convention (srcKeyPaddingMask, true = padded),
// so it can be stacked by nn.TransformerEncoder as an EncoderLayerLike. Padded positions
// are masked as keys only; their own rows are computed normally (as in HF). One difference:
// a row whose keys are ALL masked gives zeros here, while HF (which adds finfo.min rather
// than -inf) averages every value.
//
// Losses: mlmLabels int32 [B,T] give mlmLoss, the mean cross-entropy over the positions
// whose label is not -100 (HF's ignore index); classLabels int32 [B] give classLoss, the
// mean cross-entropy of classLogits. loss is the sum of the losses given (null if none).
//
// Init (HF's BertPreTrainedModel._init_weights): every Linear and Embedding weight
// ~ N(0, initializerRange = 0.02), the padTokenId row of word_embeddings zeroed, Linear
// biases and cls.predictions.bias 0, LayerNorm weight 1 and bias 0. Values come from
// toroid's global generator (toroid.manualSeed), so a seed gives bitwise-equal models on
// every backend.
import { describeShape, describeValue, rangeError, typeError } from '../errors.js';
import { noGrad } from '../autograd/tape.js';
import { gelu, relu, tanh } from '../ops/activation.js';
import { scaledDotProductAttention } from '../ops/attention.js';
import { add } from '../ops/elementwise.js';
import { narrow, transpose } from '../ops/layout.js';
import { crossEntropy } from '../ops/loss.js';
import { checkNonNegativeFinite, checkOptions, checkPositiveInt, checkProbability, checkTensor, isTensor } from '../validate/checks.js';
import { divides, nullable, numberWhere, oneOf, resolveConfig, sizes, type Rule, type Schema } from '../validate/schema.js';
import { tensor } from '../tensor/create.js';
import { tidy } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { ModuleList } from './container.js';
import { loadModelFile, type ConfigSize } from './model-file.js';
import { Dropout } from './dropout.js';
import { Embedding } from './embedding.js';
import { zeros_ } from './init.js';
import { Linear } from './linear.js';
import { Module, type ModuleSaveOptions } from './module.js';
import { LayerNorm } from './norm.js';
import { factoryOptions, normalValues, overwrite, type FactoryOptions, type ResolvedFactory } from './parameter.js';
import type { EncoderLayerForwardOptions } from './transformer.js';

/** Activation of the intermediate layer and the MLM transform, by Hugging Face's names: 'gelu' (erf), 'gelu_new' (tanh), 'relu'. */
export type BertActivation = 'gelu' | 'gelu_new' | 'relu';

export interface BertConfig {
  /** Vocabulary size V (HF vocab_size). */
  vocabSize: number;
  /** Model width H (hidden_size). */
  hiddenSize: number;
  /** Number of encoder layers (num_hidden_layers). */
  numHiddenLayers: number;
  /** Attention heads; must divide hiddenSize (num_attention_heads). */
  numAttentionHeads: number;
  /** Width I of the feed-forward block (intermediate_size). */
  intermediateSize: number;
  /** Longest sequence: rows of position_embeddings (max_position_embeddings). */
  maxPositionEmbeddings: number;
  /** Rows of token_type_embeddings (type_vocab_size, default 2). */
  typeVocabSize?: number;
  /** eps of every LayerNorm (layer_norm_eps, default 1e-12). */
  layerNormEps?: number;
  /** Dropout after the embeddings, on each residual branch and before the classifier (hidden_dropout_prob, default 0.1). */
  hiddenDropout?: number;
  /** Dropout on the attention weights (attention_probs_dropout_prob, default 0.1). */
  attentionDropout?: number;
  /** Classes of the pooled classification head; 0 (default) = no classifier. */
  numLabels?: number;
  /** Token id of padding: word_embeddings' paddingIdx (pad_token_id, default 0; null = none). */
  padTokenId?: number | null;
  /** Std of the normal init (initializer_range, default 0.02). */
  initializerRange?: number;
  /** hidden_act (default 'gelu', exact erf). */
  hiddenAct?: BertActivation;
}

/** BertConfig with every default filled in (BertEncoder.config). */
export type ResolvedBertConfig = Required<BertConfig>;

export interface BertForwardOptions {
  /** [B,T] int32, bool or float: 1 = real token, 0 = padding (HF's convention, NOT toroid's true = masked). Default: all real. */
  attentionMask?: Tensor | null;
  /** int32 [B,T] segment ids in [0, typeVocabSize) (default all 0). */
  tokenTypeIds?: Tensor | null;
  /** int32 [B,T] MLM targets; -100 = not predicted. Gives mlmLoss. */
  mlmLabels?: Tensor | null;
  /** int32 [B] class ids in [0, numLabels). Gives classLoss (needs numLabels > 0). */
  classLabels?: Tensor | null;
}

export interface BertOutput {
  /** [B,T,H]: the last layer's hidden states. */
  lastHiddenState: Tensor;
  /** [B,H]: tanh(pooler.dense(lastHiddenState[:, 0])). */
  pooledOutput: Tensor;
  /** [B,T,V]. */
  mlmLogits: Tensor;
  /** [B,numLabels], or null when numLabels = 0. */
  classLogits: Tensor | null;
  /** [] mean cross-entropy over the labels that are not -100; null without mlmLabels. */
  mlmLoss: Tensor | null;
  /** [] mean cross-entropy of classLogits; null without classLabels. */
  classLoss: Tensor | null;
  /** mlmLoss + classLoss (whichever are given); null when neither is. */
  loss: Tensor | null;
}

const FN = 'BertEncoder';

const CONFIG: Schema<ResolvedBertConfig> = {
  ...sizes('vocabSize', 'hiddenSize', 'numHiddenLayers', 'numAttentionHeads', 'intermediateSize', 'maxPositionEmbeddings'),
  typeVocabSize: { check: checkPositiveInt, default: 2 },
  layerNormEps: { check: checkNonNegativeFinite, default: 1e-12 },
  hiddenDropout: { check: checkProbability, default: 0.1 },
  attentionDropout: { check: checkProbability, default: 0.1 },
  numLabels: { check: numberWhere((v) => Number.isInteger(v) && v >= 0, 'a non-negative integer (0 = no classifier)'), default: 0 },
  padTokenId: { check: nullable(numberWhere(() => true, 'a token id or null')), default: 0 },
  initializerRange: { check: checkNonNegativeFinite, default: 0.02 },
  hiddenAct: { check: oneOf(['gelu', 'gelu_new', 'relu']), default: 'gelu' },
};

const RULES: ReadonlyArray<Rule<ResolvedBertConfig>> = [
  divides('numAttentionHeads', 'hiddenSize'),
  {
    key: 'padTokenId',
    ok: (c) => c.padTokenId === null || (Number.isInteger(c.padTokenId) && c.padTokenId >= 0 && c.padTokenId < c.vocabSize),
    expected: (c) => `a token id in [0, ${c.vocabSize}) or null`,
  },
];

/** A lower bound of the parameters a config stores: embeddings, q/k/v/output projections, FFN, classifier. */
function bertSize(c: ResolvedBertConfig): ConfigSize {
  const H = c.hiddenSize;
  const stored = (c.vocabSize + c.maxPositionEmbeddings + c.typeVocabSize + c.numLabels) * H + c.numHiddenLayers * (4 * H * H + 2 * H * c.intermediateSize);
  return { stored, storedFields: 'vocabSize, hiddenSize, numHiddenLayers, intermediateSize, maxPositionEmbeddings, typeVocabSize, numLabels' };
}

/** Validate a BertConfig and fill in the defaults. Errors: `toroid.BertEncoder: config.<key> must ..., got ...`. */
export function resolveBertConfig(config: BertConfig): ResolvedBertConfig {
  return resolveConfig(FN, 'config', config, CONFIG, RULES);
}

function activate(kind: BertActivation, x: Tensor): Tensor {
  return kind === 'gelu' ? gelu(x) : kind === 'gelu_new' ? gelu(x, { approximate: 'tanh' }) : relu(x);
}

function layerNorm(c: ResolvedBertConfig, f: ResolvedFactory): LayerNorm {
  return new LayerNorm(c.hiddenSize, { eps: c.layerNormEps, ...f });
}

function positions(T: number, backend: string): Tensor {
  const pos = new Int32Array(T);
  for (let t = 0; t < T; t++) pos[t] = t;
  return tensor(pos, { shape: [T], dtype: 'int32', backend });
}

// ---------------------------------------------------------------- parts (HF's module tree)

/** bert.embeddings: LN(word + position + token type), then dropout. */
export class BertEmbeddings extends Module {
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings: Embedding;
  readonly tokenTypeEmbeddings: Embedding;
  readonly layerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(c: ResolvedBertConfig, f: ResolvedFactory) {
    super();
    this.wordEmbeddings = this.registerModule('word_embeddings', new Embedding(c.vocabSize, c.hiddenSize, { paddingIdx: c.padTokenId, ...f }));
    this.positionEmbeddings = this.registerModule('position_embeddings', new Embedding(c.maxPositionEmbeddings, c.hiddenSize, f));
    this.tokenTypeEmbeddings = this.registerModule('token_type_embeddings', new Embedding(c.typeVocabSize, c.hiddenSize, f));
    this.layerNorm = this.registerModule('LayerNorm', layerNorm(c, f));
    this.dropout = this.registerModule('dropout', new Dropout(c.hiddenDropout));
  }

  /** inputIds int32 [B,T], tokenTypeIds int32 [B,T] -> [B,T,H] (positions 0..T-1). */
  forward(inputIds: Tensor, tokenTypeIds: Tensor): Tensor {
    return tidy(() => {
      const T = inputIds.shape[1]!;
      const device = this.wordEmbeddings.weight.device;
      let x = add(this.wordEmbeddings.forward(inputIds), this.positionEmbeddings.forward(positions(T, device)));
      x = add(x, this.tokenTypeEmbeddings.forward(tokenTypeIds));
      return this.dropout.forward(this.layerNorm.forward(x));
    });
  }
}

/** attention.self: query, key, value projections and scaled dot-product attention (no output projection). */
export class BertSelfAttention extends Module {
  readonly numHeads: number;
  readonly headDim: number;
  readonly dropoutP: number;
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;

  constructor(c: ResolvedBertConfig, f: ResolvedFactory) {
    super();
    this.numHeads = c.numAttentionHeads;
    this.headDim = c.hiddenSize / c.numAttentionHeads;
    this.dropoutP = c.attentionDropout;
    this.query = this.registerModule('query', new Linear(c.hiddenSize, c.hiddenSize, f));
    this.key = this.registerModule('key', new Linear(c.hiddenSize, c.hiddenSize, f));
    this.value = this.registerModule('value', new Linear(c.hiddenSize, c.hiddenSize, f));
  }

  /** x [B,T,H] -> [B,T,H] (heads merged). Masks use toroid's convention (true = masked). */
  forward(x: Tensor, options: EncoderLayerForwardOptions = {}): Tensor {
    return tidy(() => {
      const [B, T] = x.shape as [number, number, number];
      const h = this.numHeads, hd = this.headDim;
      const heads = (t: Tensor): Tensor => transpose(t.reshape([B, T, h, hd]), 1, 2);
      const y = scaledDotProductAttention(heads(this.query.forward(x)), heads(this.key.forward(x)), heads(this.value.forward(x)), {
        attnMask: options.srcMask ?? null,
        keyPaddingMask: options.srcKeyPaddingMask ?? null,
        isCausal: options.isCausal ?? false,
        dropoutP: this.isTraining ? this.dropoutP : 0,
      });
      return transpose(y, 1, 2).reshape([B, T, h * hd]);
    });
  }

  override extraRepr(): string {
    return `numHeads=${this.numHeads}, headDim=${this.headDim}`;
  }
}

/** attention.output / output: LN(residual + dropout(dense(x))). */
export class BertResidualOutput extends Module {
  readonly dense: Linear;
  readonly layerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(c: ResolvedBertConfig, f: ResolvedFactory, inFeatures: number) {
    super();
    this.dense = this.registerModule('dense', new Linear(inFeatures, c.hiddenSize, f));
    this.layerNorm = this.registerModule('LayerNorm', layerNorm(c, f));
    this.dropout = this.registerModule('dropout', new Dropout(c.hiddenDropout));
  }

  forward(x: Tensor, residual: Tensor): Tensor {
    return tidy(() => this.layerNorm.forward(add(this.dropout.forward(this.dense.forward(x)), residual)));
  }
}

/** layer.N.attention: self-attention and its output block (post-LN). */
export class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;

  constructor(c: ResolvedBertConfig, f: ResolvedFactory) {
    super();
    this.self = this.registerModule('self', new BertSelfAttention(c, f));
    this.output = this.registerModule('output', new BertResidualOutput(c, f, c.hiddenSize));
  }

  forward(x: Tensor, options: EncoderLayerForwardOptions = {}): Tensor {
    return tidy(() => this.output.forward(this.self.forward(x, options), x));
  }
}

/** layer.N.intermediate: act(dense(x)), [.., H] -> [.., I]. */
export class BertIntermediate extends Module {
  readonly dense: Linear;
  readonly activation: BertActivation;

  constructor(c: ResolvedBertConfig, f: ResolvedFactory) {
    super();
    this.activation = c.hiddenAct;
    this.dense = this.registerModule('dense', new Linear(c.hiddenSize, c.intermediateSize, f));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => activate(this.activation, this.dense.forward(x)));
  }
}

/**
 * bert.encoder.layer.N: a post-LN block. forward takes toroid's mask convention
 * (srcKeyPaddingMask bool [B,T], true = padded), so it is an nn.EncoderLayerLike.
 */
export class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;

  constructor(c: ResolvedBertConfig, f: ResolvedFactory) {
    super();
    this.attention = this.registerModule('attention', new BertAttention(c, f));
    this.intermediate = this.registerModule('intermediate', new BertIntermediate(c, f));
    this.output = this.registerModule('output', new BertResidualOutput(c, f, c.intermediateSize));
  }

  /** src [B,T,H] -> [B,T,H]. */
  forward(src: Tensor, options?: EncoderLayerForwardOptions): Tensor {
    const opts = checkOptions('BertLayer.forward', options, ['srcMask', 'srcKeyPaddingMask', 'isCausal']) as EncoderLayerForwardOptions;
    return tidy(() => {
      const a = this.attention.forward(src, opts);
      return this.output.forward(this.intermediate.forward(a), a);
    });
  }
}

/** bert.encoder: the stack, children layer.0, layer.1, ... */
export class BertLayerStack extends Module {
  readonly layer: ModuleList<BertLayer>;

  constructor(c: ResolvedBertConfig, f: ResolvedFactory) {
    super();
    const layers: BertLayer[] = [];
    for (let i = 0; i < c.numHiddenLayers; i++) layers.push(new BertLayer(c, f));
    this.layer = this.registerModule('layer', new ModuleList(layers));
  }

  forward(x: Tensor, options?: EncoderLayerForwardOptions): Tensor {
    return tidy(() => {
      let h = x;
      for (const layer of this.layer) h = layer.forward(h, options);
      return h;
    });
  }
}

/** bert.pooler: tanh(dense(h[:, 0])). */
export class BertPooler extends Module {
  readonly dense: Linear;

  constructor(c: ResolvedBertConfig, f: ResolvedFactory) {
    super();
    this.dense = this.registerModule('dense', new Linear(c.hiddenSize, c.hiddenSize, f));
  }

  /** h [B,T,H] -> [B,H]. */
  forward(h: Tensor): Tensor {
    return tidy(() => {
      const [B, , H] = h.shape as [number, number, number];
      return tanh(this.dense.forward(narrow(h, 1, 0, 1).reshape([B, H])));
    });
  }
}

/** bert: embeddings, encoder, pooler (HF's BertModel). */
export class BertModel extends Module {
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertLayerStack;
  readonly pooler: BertPooler;

  constructor(c: ResolvedBertConfig, f: ResolvedFactory) {
    super();
    this.embeddings = this.registerModule('embeddings', new BertEmbeddings(c, f));
    this.encoder = this.registerModule('encoder', new BertLayerStack(c, f));
    this.pooler = this.registerModule('pooler', new BertPooler(c, f));
  }

  /** -> [lastHiddenState [B,T,H], pooledOutput [B,H]]; keyPaddingMask bool [B,T], true = padded (toroid's convention). */
  forward(inputIds: Tensor, tokenTypeIds: Tensor, keyPaddingMask: Tensor | null): [Tensor, Tensor] {
    return tidy(() => {
      const h = this.encoder.forward(this.embeddings.forward(inputIds, tokenTypeIds), { srcKeyPaddingMask: keyPaddingMask });
      return [h, this.pooler.forward(h)];
    });
  }
}

/** cls.predictions.transform: LN(act(dense(x))). */
export class BertPredictionHeadTransform extends Module {
  readonly dense: Linear;
  readonly layerNorm: LayerNorm;
  readonly activation: BertActivation;

  constructor(c: ResolvedBertConfig, f: ResolvedFactory) {
    super();
    this.activation = c.hiddenAct;
    this.dense = this.registerModule('dense', new Linear(c.hiddenSize, c.hiddenSize, f));
    this.layerNorm = this.registerModule('LayerNorm', layerNorm(c, f));
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.layerNorm.forward(activate(this.activation, this.dense.forward(x))));
  }
}

/** cls.predictions: decoder(transform(x)) + bias; decoder.bias IS bias (registered under both names, as HF ties them). */
export class BertLMPredictionHead extends Module {
  readonly transform: BertPredictionHeadTransform;
  readonly decoder: Linear;

  /** [V] (the registered 'bias', shared with decoder.bias). */
  get bias(): Tensor {
    return this.ownParameter('bias')!;
  }

  constructor(c: ResolvedBertConfig, f: ResolvedFactory) {
    super();
    this.transform = this.registerModule('transform', new BertPredictionHeadTransform(c, f));
    this.decoder = this.registerModule('decoder', new Linear(c.hiddenSize, c.vocabSize, f));
    // HF: self.bias = nn.Parameter(torch.zeros(V)); self.decoder.bias = self.bias
    this.registerParameter('bias', this.decoder.bias!);
  }

  /** x [B,T,H] -> [B,T,V]. */
  forward(x: Tensor): Tensor {
    return tidy(() => this.decoder.forward(this.transform.forward(x)));
  }
}

/** cls (HF's BertOnlyMLMHead without the NSP head): holds predictions. */
export class BertMLMHead extends Module {
  readonly predictions: BertLMPredictionHead;

  constructor(c: ResolvedBertConfig, f: ResolvedFactory) {
    super();
    this.predictions = this.registerModule('predictions', new BertLMPredictionHead(c, f));
  }

  forward(x: Tensor): Tensor {
    return this.predictions.forward(x);
  }
}

// ---------------------------------------------------------------- the model

function checkIds(fn: string, arg: string, t: unknown, shape: readonly number[], device: string): Tensor {
  const x = checkTensor(fn, arg, t, ['int32']);
  if (x.rank !== shape.length || x.shape.some((s, i) => s !== shape[i])) {
    throw rangeError(fn, arg, `int32 ${describeShape(shape)}`, `int32 ${describeShape(x.shape)}`);
  }
  if (x.device !== device) throw typeError(fn, arg, `a tensor on backend '${device}' like the model`, `'${x.device}'`);
  return x;
}

/**
 * HF's attentionMask (1 = real, 0 = padding; int32, bool or float) -> toroid's
 * keyPaddingMask (bool, true = padded), or null when nothing is padded.
 */
function toKeyPaddingMask(fn: string, mask: unknown, B: number, T: number, device: string): Tensor | null {
  const m = checkTensor(fn, 'options.attentionMask', mask, ['int32', 'bool', 'float32', 'float64']);
  if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== T) {
    throw rangeError(fn, 'options.attentionMask', `${m.dtype} [${B},${T}] like inputIds (1 = real token, 0 = padding)`, `${m.dtype} ${describeShape(m.shape)}`);
  }
  const values = m.toTypedArray();
  const padded = new Uint8Array(values.length);
  let any = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== 0 && v !== 1) {
      throw rangeError(fn, 'options.attentionMask', 'a mask of 0 (padding) and 1 (real token) values', `the value ${v} at flat index ${i}`);
    }
    padded[i] = v === 0 ? 1 : 0;
    if (v === 0) any = true;
  }
  return any ? tensor(padded, { shape: [B, T], dtype: 'bool', backend: device }) : null;
}

export class BertEncoder extends Module {
  /** The config with every default filled in. */
  readonly config: ResolvedBertConfig;
  /** `bert`: embeddings, encoder, pooler. */
  readonly bert: BertModel;
  /** `cls`: the masked-LM head (cls.predictions). */
  readonly cls: BertMLMHead;
  /** Dropout on the pooled output before the classifier (hiddenDropout), or null without one. */
  readonly classifierDropout: Dropout | null;
  /** `classifier`: Linear(H, numLabels) on the pooled output, or null when numLabels = 0. */
  readonly classifier: Linear | null;

  /**
   * A freshly initialized model (HF's init, see the file header). options.backend and
   * options.dtype place the parameters (default: the current backend, float32).
   */
  constructor(config: BertConfig, options?: FactoryOptions) {
    super();
    const c = resolveBertConfig(config);
    const { factory } = factoryOptions(FN, options);
    this.config = Object.freeze(c);
    this.bert = this.registerModule('bert', new BertModel(c, factory));
    this.cls = this.registerModule('cls', new BertMLMHead(c, factory));
    const decoder = this.cls.predictions.decoder;
    const untied = decoder.weight;
    decoder.registerParameter('weight', this.bert.embeddings.wordEmbeddings.weight);
    untied.dispose();
    if (c.numLabels > 0) {
      this.classifierDropout = this.registerModule('dropout', new Dropout(c.hiddenDropout));
      this.classifier = this.registerModule('classifier', new Linear(c.hiddenSize, c.numLabels, factory));
    } else {
      this.classifierDropout = null;
      this.classifier = null;
    }
    this.initWeights();
  }

  /** HF's _init_weights, in module pre-order, each tensor once (the tied decoder weight is drawn as the embedding). */
  private initWeights(): void {
    const std = this.config.initializerRange;
    const done = new Set<Tensor>();
    noGrad(() => {
      for (const m of this.modules()) {
        if (m instanceof Linear) {
          if (!done.has(m.weight)) {
            done.add(m.weight);
            overwrite(m.weight, normalValues(m.weight.size, 0, std));
          }
          if (m.bias !== null) zeros_(m.bias);
        } else if (m instanceof Embedding) {
          if (done.has(m.weight)) continue;
          done.add(m.weight);
          const values = normalValues(m.weight.size, 0, std);
          if (m.paddingIdx !== null) values.fill(0, m.paddingIdx * m.embeddingDim, (m.paddingIdx + 1) * m.embeddingDim);
          overwrite(m.weight, values);
        }
      }
      zeros_(this.cls.predictions.bias);
    });
  }

  /**
   * inputIds int32 [B,T] (1 <= T <= maxPositionEmbeddings) -> BertOutput. Masks follow
   * HF: options.attentionMask 1 = real token, 0 = padding (see the file header).
   */
  forward(inputIds: Tensor, options?: BertForwardOptions): BertOutput {
    const fn = 'BertEncoder.forward';
    const opts = checkOptions(fn, options, ['attentionMask', 'tokenTypeIds', 'mlmLabels', 'classLabels']) as BertForwardOptions;
    const c = this.config;
    const device = this.bert.embeddings.wordEmbeddings.weight.device;
    checkTensor(fn, 'inputIds', inputIds, ['int32']);
    if (inputIds.rank !== 2 || inputIds.shape[0]! < 1 || inputIds.shape[1]! < 1 || inputIds.shape[1]! > c.maxPositionEmbeddings) {
      throw rangeError(fn, 'inputIds', `int32 [B,T] with B >= 1 and 1 <= T <= maxPositionEmbeddings=${c.maxPositionEmbeddings}`, `int32 ${describeShape(inputIds.shape)}`);
    }
    if (inputIds.device !== device) throw typeError(fn, 'inputIds', `a tensor on backend '${device}' like the model`, `'${inputIds.device}'`);
    const [B, T] = inputIds.shape as [number, number];
    if (opts.tokenTypeIds != null) checkIds(fn, 'options.tokenTypeIds', opts.tokenTypeIds, [B, T], device);
    if (opts.mlmLabels != null) checkIds(fn, 'options.mlmLabels', opts.mlmLabels, [B, T], device);
    if (opts.classLabels != null) {
      if (this.classifier === null) throw typeError(fn, 'options.classLabels', 'null or undefined on a model without a classifier (config.numLabels = 0)', describeValue(opts.classLabels));
      checkIds(fn, 'options.classLabels', opts.classLabels, [B], device);
    }
    return tidy(() => {
      const keyPadding = opts.attentionMask == null ? null : toKeyPaddingMask(fn, opts.attentionMask, B, T, device);
      const tokenTypeIds = opts.tokenTypeIds ?? tensor(new Int32Array(B * T), { shape: [B, T], dtype: 'int32', backend: device });
      const [lastHiddenState, pooledOutput] = this.bert.forward(inputIds, tokenTypeIds, keyPadding);
      const mlmLogits = this.cls.forward(lastHiddenState);
      const classLogits = this.classifier === null ? null : this.classifier.forward(this.classifierDropout!.forward(pooledOutput));
      const mlmLoss = opts.mlmLabels == null ? null : crossEntropy(mlmLogits, opts.mlmLabels, { ignoreIndex: -100 });
      const classLoss = opts.classLabels == null ? null : crossEntropy(classLogits!, opts.classLabels);
      const loss = mlmLoss !== null && classLoss !== null ? add(mlmLoss, classLoss) : (mlmLoss ?? classLoss);
      return { lastHiddenState, pooledOutput, mlmLogits, classLogits, mlmLoss, classLoss, loss };
    });
  }

  override extraRepr(): string {
    const c = this.config;
    return `vocabSize=${c.vocabSize}, hiddenSize=${c.hiddenSize}, numHiddenLayers=${c.numHiddenLayers}, numAttentionHeads=${c.numAttentionHeads}, ` +
      `intermediateSize=${c.intermediateSize}, numLabels=${c.numLabels}, hiddenAct=${c.hiddenAct}`;
  }

  /** Save every state-dict name (tied ones included) with the config in the metadata (atomic safetensors). */
  override async save(path: string, options?: ModuleSaveOptions): Promise<void> {
    const opts = checkOptions('BertEncoder.save', options, ['metadata', 'floatFormat']) as ModuleSaveOptions;
    await super.save(path, { ...opts, metadata: { ...(opts.metadata ?? {}), config: JSON.stringify(this.config), model: FN } });
  }

  /** Build the model a file written by save() describes and load its parameters (strict). */
  static async load(path: string, options?: FactoryOptions): Promise<BertEncoder> {
    return loadModelFile(FN, path, (config) => resolveBertConfig(config as BertConfig), bertSize, (config) => new BertEncoder(config, options));
  }
}

/** Keys of HF BERT files with no BertEncoder counterpart: position/token-type id buffers and the NSP head. */
const HF_DROPPED = /^(bert\.embeddings\.(position_ids|token_type_ids)|cls\.seq_relationship\.(weight|bias))$/;

/**
 * Map a Hugging Face BERT state dict (BertModel, BertForPreTraining, BertForMaskedLM or
 * BertForSequenceClassification keys) to BertEncoder's names:
 *   - BertModel keys ('embeddings.…', 'encoder.…', 'pooler.…') get the 'bert.' prefix;
 *   - old TF-converted LayerNorm names '.gamma'/'.beta' become '.weight'/'.bias';
 *   - the buffers bert.embeddings.position_ids / token_type_ids and the NSP head
 *     cls.seq_relationship.* are dropped;
 *   - the tied entries HF files may leave out are filled in with the tensors they tie to:
 *     cls.predictions.decoder.weight = word_embeddings.weight, and cls.predictions.bias /
 *     cls.predictions.decoder.bias from each other.
 * Values are the given tensors themselves (nothing is copied). Load the result with
 * `model.loadStateDict(mapped, { strict: false })` and check missingKeys: a BertModel or
 * BertForMaskedLM file has no cls.* or no pooler.*, and only a sequence-classification file
 * has classifier.* (those keep their init).
 */
export function bertStateDictFromHuggingFace(stateDict: Record<string, Tensor> | Map<string, Tensor>): Record<string, Tensor> {
  const fn = 'bertStateDictFromHuggingFace';
  let entries: Array<[string, unknown]>;
  if (stateDict instanceof Map) entries = [...stateDict];
  else if (stateDict !== null && typeof stateDict === 'object' && !Array.isArray(stateDict) && !isTensor(stateDict)) entries = Object.entries(stateDict);
  else throw typeError(fn, 'stateDict', 'an object or Map of name -> Tensor', describeValue(stateDict));
  // null prototype: a tensor named '__proto__' stays an entry
  const out: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
  for (const [rawKey, value] of entries) {
    if (!isTensor(value)) throw typeError(fn, `stateDict['${rawKey}']`, 'a Tensor', describeValue(value));
    let key = /^(embeddings|encoder|pooler)\./.test(rawKey) ? `bert.${rawKey}` : rawKey;
    key = key.replace(/\.LayerNorm\.gamma$/, '.LayerNorm.weight').replace(/\.LayerNorm\.beta$/, '.LayerNorm.bias');
    if (HF_DROPPED.test(key)) continue;
    if (key in out) throw rangeError(fn, 'stateDict', 'keys that map to distinct BertEncoder names', `'${rawKey}' and another key both map to '${key}'`);
    out[key] = value;
  }
  const wordEmb = out['bert.embeddings.word_embeddings.weight'];
  const hasHead = Object.keys(out).some((k) => k.startsWith('cls.predictions.'));
  if (hasHead && out['cls.predictions.decoder.weight'] === undefined && wordEmb !== undefined) out['cls.predictions.decoder.weight'] = wordEmb;
  if (out['cls.predictions.bias'] === undefined && out['cls.predictions.decoder.bias'] !== undefined) out['cls.predictions.bias'] = out['cls.predictions.decoder.bias'];
  if (out['cls.predictions.decoder.bias'] === undefined && out['cls.predictions.bias'] !== undefined) out['cls.predictions.decoder.bias'] = out['cls.predictions.bias'];
  return out;
}
