// A training checkpoint in one safetensors file: model parameters, optimizer state,
// step, schedule, RNG and data position. Tensors anywhere inside the optimizer's
// (or any component's) state dict are stored as tensors under their path
// (`optimizer/state/3/exp_avg`); everything else is JSON in the metadata. Written
// atomically through toroid.save (temp file, fsync, rename, fsync the folder).
import { describeValue, rangeError, typeError } from '../errors.js';
import { load, save } from '../io/checkpoint.js';
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

interface Flattened {
  json: unknown;
  tensors: Record<string, Tensor>;
}

const TENSOR_REF = '__tensor__';

// Replace every Tensor in a JSON-like value by { __tensor__: path }, collecting the tensors.
function flatten(value: unknown, path: string, tensors: Record<string, Tensor>): unknown {
  if (value instanceof Tensor) {
    tensors[path] = value;
    return { [TENSOR_REF]: path };
  }
  if (typeof value === 'bigint') return { __bigint__: value.toString() };
  if (Array.isArray(value)) return value.map((v, i) => flatten(v, `${path}/${i}`, tensors));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = flatten(v, `${path}/${k}`, tensors);
    return out;
  }
  return value;
}

function unflatten(value: unknown, tensors: Record<string, Tensor>): unknown {
  if (Array.isArray(value)) return value.map((v) => unflatten(v, tensors));
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (typeof obj[TENSOR_REF] === 'string') {
      const t = tensors[obj[TENSOR_REF] as string];
      if (t === undefined) throw rangeError('loadTrainingState', 'file', `a tensor '${obj[TENSOR_REF]}'`, 'none');
      return t;
    }
    if (typeof obj.__bigint__ === 'string') return BigInt(obj.__bigint__);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = unflatten(v, tensors);
    return out;
  }
  return value;
}

export interface CheckpointParts {
  model: { stateDict(): Record<string, Tensor>; loadStateDict(dict: Record<string, Tensor>, options?: { strict?: boolean }): unknown };
  optimizer?: Stateful | null;
  scheduler?: Stateful | null;
  data?: Stateful | null;
}

/** Write model + optimizer + scheduler + data position + RNG + step to `path` atomically. */
export async function saveTrainingState(path: string, parts: CheckpointParts, state: TrainingState): Promise<void> {
  if (typeof path !== 'string') throw typeError('saveTrainingState', 'path', 'a string', describeValue(path));
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(parts.model.stateDict())) tensors[`model/${name}`] = t;
  const components: Record<string, unknown> = {};
  for (const key of ['optimizer', 'scheduler', 'data'] as const) {
    const part = parts[key];
    if (part) components[key] = flatten(part.stateDict(), key, tensors);
  }
  const meta = { format: 'toroid-training-state', version: 1, step: state.step, extra: state.extra ?? null, rng: flatten(getRngState(), 'rng', tensors), components };
  await save(path, tensors, { training: JSON.stringify(meta) });
}

/** Load a file written by saveTrainingState into the given parts (strict); returns the step and extra. */
export async function loadTrainingState(path: string, parts: CheckpointParts, options: { backend?: string } = {}): Promise<TrainingState> {
  const { tensors, metadata } = await load(path, options);
  try {
    if (metadata.training === undefined) throw rangeError('loadTrainingState', 'path', 'a file written by saveTrainingState', 'no training metadata');
    const meta = JSON.parse(metadata.training) as { format: string; step: number; extra: unknown; rng: unknown; components: Record<string, unknown> };
    if (meta.format !== 'toroid-training-state') throw rangeError('loadTrainingState', 'path', 'a toroid training state', `format ${describeValue(meta.format)}`);
    const model: Record<string, Tensor> = {};
    const rest: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(tensors)) {
      if (name.startsWith('model/')) model[name.slice('model/'.length)] = t;
      else rest[name] = t;
    }
    parts.model.loadStateDict(model, { strict: true });
    for (const key of ['optimizer', 'scheduler', 'data'] as const) {
      const part = parts[key];
      const saved = meta.components[key];
      if (part && saved !== undefined) part.loadStateDict(unflatten(saved, rest));
    }
    setRngState(unflatten(meta.rng, rest) as ReturnType<typeof getRngState>);
    return { step: meta.step, extra: meta.extra };
  } finally {
    // the parts copied what they need (loadStateDict copies in place)
    for (const t of Object.values(tensors)) t.dispose();
  }
}
