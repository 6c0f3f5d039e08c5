// Loading a model family (GPT, BertEncoder, Seq2SeqTransformer) from a file its save()
// wrote: metadata.model names the class, metadata.config (JSON) builds the model
// through its config schema, and the parameters load strictly.
import { describeValue, rangeError, typeError } from '../errors.js';
import { load } from '../io/checkpoint.js';
import type { Module } from './module.js';

export async function loadModelFile<M extends Module>(name: string, path: unknown, build: (config: unknown) => M): Promise<M> {
  const fn = `${name}.load`;
  if (typeof path !== 'string') throw typeError(fn, 'path', 'a string', describeValue(path));
  // staged on the ts backend, which holds every dtype; loadStateDict converts
  const { tensors, metadata } = await load(path, { backend: 'ts' });
  try {
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
    const model = build(config);
    try {
      model.loadStateDict(tensors, { strict: true });
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}
