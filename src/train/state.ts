// A training checkpoint in one safetensors file (or a sharded set: a path ending in
// ".index.json"): model parameters, optimizer state, step, schedule, RNG and data
// position. Tensors anywhere inside the optimizer's (or any component's) state dict
// are stored as tensors under their path (`optimizer/state/3/exp_avg`); everything
// else is JSON in the metadata. Written atomically through toroid.save.
// A state file comes from strangers like any file: its JSON is checked field by
// field against the headers before a tensor is read, with own-property lookups only.
import { describeValue, rangeError, typeError } from '../errors.js';
import { inspect, loadWhere, save } from '../io/checkpoint.js';
import { getRngState, setRngState } from '../random/generator.js';
import { Tensor } from '../tensor/tensor.js';

/** Anything with PyTorch-style state: optimizers, schedulers, data iterators. */
export interface Stateful {
  stateDict(): unknown;
  loadStateDict(state: unknown): void;
}

export interface TrainingState {
  step: number;
  /** Extra JSON the caller wants back (e.g. the loss history). */
  extra?: unknown;
}

export interface SaveTrainingStateOptions {
  /** For a path ending in ".index.json": the most tensor bytes per shard (toroid.save's option). */
  maxShardBytes?: number;
}

const TENSOR_REF = '__tensor__';
const BIGINT_REF = '__bigint__';
const COMPONENTS = ['optimizer', 'scheduler', 'data'] as const;
const FN = 'loadTrainingState';
const MODEL = 'model/';

/** An own data property, so a key "__proto__" from a file or state dict stays an entry. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// Replace every Tensor in a JSON-like value by { __tensor__: path }, collecting the tensors.
function flatten(value: unknown, path: string, tensors: Record<string, Tensor>): unknown {
  if (value instanceof Tensor) {
    setOwn(tensors, path, value);
    return { [TENSOR_REF]: path };
  }
  if (typeof value === 'bigint') return { [BIGINT_REF]: value.toString() };
  if (Array.isArray(value)) return value.map((v, i) => flatten(v, `${path}/${i}`, tensors));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, flatten(v, `${path}/${k}`, tensors));
    return out;
  }
  return value;
}

/** Check a flattened value: every tensor reference names a tensor of the file, every bigint parses. */
function checkRefs(value: unknown, where: string, names: Set<string>, depth = 0): void {
  if (depth > 64) throw rangeError(FN, where, 'nested at most 64 deep', 'deeper');
  if (Array.isArray(value)) { value.forEach((v, i) => checkRefs(v, `${where}[${i}]`, names, depth + 1)); return; }
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  if (Object.hasOwn(obj, TENSOR_REF)) {
    const ref = obj[TENSOR_REF];
    if (typeof ref !== 'string' || !names.has(ref)) throw rangeError(FN, `${where}.${TENSOR_REF}`, 'the name of a tensor in the file', describeShort(ref));
    return;
  }
  if (Object.hasOwn(obj, BIGINT_REF)) {
    const text = obj[BIGINT_REF];
    if (typeof text !== 'string' || !/^-?\d{1,40}$/.test(text)) throw rangeError(FN, `${where}.${BIGINT_REF}`, 'a decimal integer string', describeShort(text));
    return;
  }
  for (const [k, v] of Object.entries(obj)) checkRefs(v, `${where}.${k.slice(0, 40)}`, names, depth + 1);
}

// The inverse of flatten over a value checkRefs accepted.
function unflatten(value: unknown, tensors: Record<string, Tensor>): unknown {
  if (Array.isArray(value)) return value.map((v) => unflatten(v, tensors));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if (Object.hasOwn(obj, TENSOR_REF)) return tensors[obj[TENSOR_REF] as string];
  if (Object.hasOwn(obj, BIGINT_REF)) return BigInt(obj[BIGINT_REF] as string);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) setOwn(out, k, unflatten(v, tensors));
  return out;
}

function describeShort(value: unknown): string {
  const text = describeValue(value);
  return text.length <= 80 ? text : `${text.slice(0, 77)}...`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

interface Meta { step: number; extra: unknown; rng: { seed: bigint; offset: number }; components: Record<string, unknown> }

/** Every field of the training metadata checked against the tensor names the file holds. */
function parseMeta(text: string | undefined, names: Set<string>): Meta {
  if (text === undefined) throw rangeError(FN, 'path', 'a file written by saveTrainingState', 'no training metadata');
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (err) {
    throw rangeError(FN, 'training metadata', 'valid JSON', describeShort((err as Error).message));
  }
  if (!isObject(meta)) throw rangeError(FN, 'training metadata', 'a JSON object', describeShort(meta));
  const own = (key: string): unknown => (Object.hasOwn(meta as object, key) ? (meta as Record<string, unknown>)[key] : undefined);
  if (own('format') !== 'toroid-training-state') throw rangeError(FN, 'path', 'a toroid training state', `format ${describeShort(own('format'))}`);
  if (own('version') !== 1) throw rangeError(FN, 'training metadata version', '1', describeShort(own('version')));
  const step = own('step');
  if (!Number.isSafeInteger(step) || (step as number) < 0) throw rangeError(FN, 'training metadata step', 'a non-negative safe integer', describeShort(step));
  const rng = own('rng');
  if (!isObject(rng)) throw rangeError(FN, 'training metadata rng', 'an object {seed, offset}', describeShort(rng));
  const seedRef = Object.hasOwn(rng, 'seed') ? rng.seed : undefined;
  const seedText = isObject(seedRef) && Object.hasOwn(seedRef, BIGINT_REF) ? seedRef[BIGINT_REF] : undefined;
  if (typeof seedText !== 'string' || !/^\d{1,20}$/.test(seedText) || BigInt(seedText) >= 1n << 64n) {
    throw rangeError(FN, 'training metadata rng.seed', `{"${BIGINT_REF}": an integer string in [0, 2^64)}`, describeShort(seedRef));
  }
  const offset = Object.hasOwn(rng, 'offset') ? rng.offset : undefined;
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw rangeError(FN, 'training metadata rng.offset', 'a non-negative safe integer', describeShort(offset));
  const components = own('components');
  if (!isObject(components)) throw rangeError(FN, 'training metadata components', 'an object', describeShort(components));
  for (const key of Object.keys(components)) {
    if (!(COMPONENTS as readonly string[]).includes(key)) throw rangeError(FN, 'training metadata components', `keys among ${COMPONENTS.join('|')}`, describeShort(key));
    checkRefs(components[key], `training metadata components.${key}`, names);
  }
  return { step: step as number, extra: own('extra') ?? null, rng: { seed: BigInt(seedText), offset: offset as number }, components };
}

/**
 * A part's own loadStateDict judges the structure of its state (an optimizer's state may be
 * lazy, so there is nothing to compare with); a raw error it throws on a file's content
 * becomes one in toroid's format naming the component.
 */
function loadComponent(part: Stateful, key: string, state: unknown): void {
  try {
    part.loadStateDict(state);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('toroid.')) throw err;
    throw rangeError(FN, `training metadata components.${key}`, `a state the ${key} accepts`, `one it failed on (${describeShort(err instanceof Error ? err.message : err)})`);
  }
}

/** A model that reads its parameters from a file itself, one tensor at a time (nn.Module.loadFile). */
interface StreamingModel {
  loadFile(path: string, options: { strict: boolean; prefix: string }): Promise<unknown>;
}

export interface CheckpointParts {
  model: { stateDict(): Record<string, Tensor>; loadStateDict(dict: Record<string, Tensor>, options?: { strict?: boolean }): unknown };
  optimizer?: Stateful | null;
  scheduler?: Stateful | null;
  data?: Stateful | null;
  /**
   * Strings written beside the training state in the file's metadata: a model family's
   * `model` and `config` (then GPT.load / Seq2SeqTransformer.load read the model straight
   * from the checkpoint) and a `tokenizer`, so the checkpoint is all `toroid serve` needs.
   * 'training' is reserved.
   */
  metadata?: Record<string, string>;
}

/** Write model + optimizer + scheduler + data position + RNG + step to `path` atomically (sharded for a ".index.json" path). */
export async function saveTrainingState(path: string, parts: CheckpointParts, state: TrainingState, options: SaveTrainingStateOptions = {}): Promise<void> {
  if (typeof path !== 'string') throw typeError('saveTrainingState', 'path', 'a string', describeValue(path));
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(parts.model.stateDict())) setOwn(tensors, `model/${name}`, t);
  const components: Record<string, unknown> = {};
  for (const key of COMPONENTS) {
    const part = parts[key];
    if (part) components[key] = flatten(part.stateDict(), key, tensors);
  }
  const meta = { format: 'toroid-training-state', version: 1, step: state.step, extra: state.extra ?? null, rng: flatten(getRngState(), 'rng', tensors), components };
  const extra = parts.metadata ?? {};
  if (Object.hasOwn(extra, 'training')) throw rangeError('saveTrainingState', 'parts.metadata', "an object without the reserved key 'training'", "key 'training'");
  for (const [k, v] of Object.entries(extra)) if (typeof v !== 'string') throw typeError('saveTrainingState', `parts.metadata.${k}`, 'a string', describeValue(v));
  await save(path, tensors, { ...extra, training: JSON.stringify(meta) }, options.maxShardBytes === undefined ? {} : { maxShardBytes: options.maxShardBytes });
}

/** Load a file written by saveTrainingState into the given parts (strict); returns the step and extra. */
export async function loadTrainingState(path: string, parts: CheckpointParts, options: { backend?: string } = {}): Promise<TrainingState> {
  // the headers first: the metadata is checked before any tensor is allocated
  const { metadata, tensors: headers } = await inspect(path);
  const names = new Set(headers.keys());
  const meta = parseMeta(Object.hasOwn(metadata, 'training') ? metadata.training : undefined, names);
  const fromFile = (parts.model as Partial<StreamingModel>).loadFile;
  // a Module loads its parameters one tensor at a time (a model's size beside the model, not
  // twice); anything else with loadStateDict gets them all at once
  if (typeof fromFile === 'function') await fromFile.call(parts.model, path, { strict: true, prefix: MODEL });
  const { tensors } = await loadWhere(path, options, (name) => typeof fromFile !== 'function' || !name.startsWith(MODEL));
  try {
    const model: Record<string, Tensor> = {};
    const rest: Record<string, Tensor> = Object.create(null);
    for (const [name, t] of Object.entries(tensors)) {
      if (name.startsWith(MODEL)) setOwn(model, name.slice(MODEL.length), t);
      else setOwn(rest, name, t);
    }
    if (typeof fromFile !== 'function') parts.model.loadStateDict(model, { strict: true });
    for (const key of COMPONENTS) {
      const part = parts[key];
      if (part && Object.hasOwn(meta.components, key)) loadComponent(part, key, unflatten(meta.components[key], rest));
    }
    setRngState(meta.rng);
    return { step: meta.step, extra: meta.extra };
  } finally {
    // the parts copied what they need (loadStateDict copies in place)
    for (const t of Object.values(tensors)) t.dispose();
  }
}
