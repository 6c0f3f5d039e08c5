// Loading a model family (GPT, BertEncoder, Seq2SeqTransformer) from a file its save()
// wrote: metadata.model names the class, metadata.config (JSON) builds the model
// through its config schema, and the parameters load strictly.
import { describeValue, rangeError, typeError } from '../errors.js';
import { inspect } from '../io/checkpoint.js';
import type { Module } from './module.js';

/** Elements a config makes the model allocate, per config field: tensors the file must hold, or host tables it builds. */
export interface ConfigSize {
  /** Parameters the file must hold (a lower bound), with the config fields that size them. */
  stored: number;
  storedFields: string;
  /** Tables the model builds from the config alone (RoPE, sinusoidal positions): elements and the field. */
  built?: { elements: number; field: string };
}

// a built table past this is refused on load: 2^26 float64 values = 512 MiB (a file's config alone asks for it)
const MAX_BUILT_ELEMENTS = 2 ** 26;

export async function loadModelFile<M extends Module, C>(
  name: string,
  path: unknown,
  resolve: (config: unknown) => C,
  size: (config: C) => ConfigSize,
  build: (config: C) => M,
): Promise<M> {
  const fn = `${name}.load`;
  if (typeof path !== 'string') throw typeError(fn, 'path', 'a string', describeValue(path));
  // the headers first: the config is checked against the tensors the file holds before anything
  // is allocated, then the model is built and loads the file one tensor at a time
  const { tensors, metadata } = await inspect(path);
  if (metadata.model !== name || metadata.config === undefined) {
    const other = metadata.model === undefined ? '' : ` with model ${JSON.stringify(metadata.model)}`;
    throw rangeError(fn, 'path', `a file written by ${name}.save (metadata.model and config)`, `metadata keys ${JSON.stringify(Object.keys(metadata))}${other}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(metadata.config);
  } catch (err) {
    throw rangeError(fn, 'path', 'a file whose metadata.config is JSON', (err as Error).message);
  }
  // every field checked, then the sizes it implies against the tensors present
  const resolved = resolve(config);
  const need = size(resolved);
  let held = 0;
  for (const t of tensors.values()) held += t.shape.reduce((a, b) => a * b, 1);
  if (!(need.stored <= held)) {
    throw rangeError(fn, `config (${need.storedFields})`, `sizes whose parameters fit the file's ${held} tensor elements`, `${need.stored} elements`);
  }
  if (need.built !== undefined && !(need.built.elements <= MAX_BUILT_ELEMENTS)) {
    throw rangeError(fn, `config.${need.built.field}`, `a size whose built table has at most ${MAX_BUILT_ELEMENTS} elements`, `${need.built.elements} elements`);
  }
  const model = build(resolved);
  try {
    // a training checkpoint (saveTrainingState) keeps the parameters under 'model/', beside the optimizer's state
    const training = Object.hasOwn(metadata, 'training') && [...tensors.keys()].some((n) => n.startsWith('model/'));
    await model.loadFile(path, training ? { strict: true, prefix: 'model/' } : { strict: true });
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}
