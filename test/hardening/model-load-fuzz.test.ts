// 1,000 hostile model files (issue 20): seeded mutations of valid tiny GPT, Seq2Seq and BERT
// files (config values huge / negative / NaN / strings / removed / retyped, hostile keys,
// the config text truncated or flipped, metadata.model changed, a tensor dropped or given
// another shape). Each load either succeeds or throws a clear toroid error (a
// TypeError/RangeError in toroid's format), fast, and toroid.memory() is unchanged after
// every failed load (and after disposing a successful one).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { encodeSafetensors, readSafetensorsFileSync, type RawTensor } from '../../src/io/safetensors.js';
import { BertEncoder } from '../../src/nn/bert.js';
import { GPT } from '../../src/nn/gpt.js';
import { Seq2SeqTransformer } from '../../src/nn/seq2seq.js';
import { Rng } from '../helpers/random.js';
import { isClearToroidError, mutateText, mutateValue } from './mutate-json.js';

const FILES = 1000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-model-fuzz-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Family { name: string; load: (p: string) => Promise<toroid.nn.Module>; file: string }

async function family(name: string, model: toroid.nn.Module & { save(p: string): Promise<void> }, load: (p: string) => Promise<toroid.nn.Module>): Promise<Family> {
  const file = path.join(dir, `${name}.safetensors`);
  await model.save(file);
  model.dispose();
  return { name, load, file };
}

/** A tensor of another shape (a dimension changed, added or dropped), same dtype. */
function reshaped(t: RawTensor, rng: Rng): RawTensor {
  const shape = t.shape.slice();
  const k = rng.int(0, 2);
  if (k === 0 && shape.length > 0) shape[rng.int(0, shape.length - 1)] = rng.int(1, 40);
  else if (k === 1) shape.push(rng.int(1, 3));
  else shape.pop();
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'F32', shape, data: new Float32Array(n) };
}

it(`${FILES} mutated model files load or throw a clear toroid error, memory unchanged`, async () => {
  const families = [
    await family('GPT', new GPT({ vocabSize: 11, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 }, { backend: 'ts' }), (p) => GPT.load(p, { backend: 'ts' })),
    await family('Seq2SeqTransformer', new Seq2SeqTransformer({ srcVocab: 9, tgtVocab: 9, dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16 }, { backend: 'ts' }), (p) => Seq2SeqTransformer.load(p, { backend: 'ts' })),
    await family('BertEncoder', new BertEncoder({ vocabSize: 13, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 8 }, { backend: 'ts' }), (p) => BertEncoder.load(p, { backend: 'ts' })),
  ];
  const rng = new Rng(1020);
  const counts: Record<string, { ok: number; refused: number }> = {};
  const messages = new Map<string, number>();
  let slowest = 0;
  const t0 = performance.now();
  for (let i = 0; i < FILES; i++) {
    const f = families[i % families.length]!;
    const { tensors, metadata } = readSafetensorsFileSync(f.file);
    const meta = { ...metadata };
    let describe: string;
    const kind = rng.int(0, 9);
    if (kind <= 5) {
      const m = mutateValue(JSON.parse(meta.config!), rng);
      meta.config = JSON.stringify(m.value) ?? '';
      describe = `config ${m.describe}`;
    } else if (kind === 6) {
      const m = mutateText(meta.config!, rng);
      meta.config = m.text;
      describe = `config text ${m.describe}`;
    } else if (kind === 7) {
      meta.model = rng.pick(['GPT', 'BertEncoder', 'Seq2SeqTransformer', '__proto__', '']);
      describe = `model ${meta.model}`;
    } else {
      const names = [...tensors.keys()];
      const name = names[rng.int(0, names.length - 1)]!;
      if (kind === 8) tensors.delete(name);
      else tensors.set(name, reshaped(tensors.get(name)!, rng));
      describe = `tensor ${name} ${kind === 8 ? 'dropped' : 'reshaped'}`;
    }
    const file = path.join(dir, 'case.safetensors');
    fs.writeFileSync(file, Buffer.concat(encodeSafetensors(tensors, meta)));
    const c = (counts[f.name] ??= { ok: 0, refused: 0 });
    const before = toroid.memory();
    const start = performance.now();
    try {
      const model = await f.load(file);
      model.dispose();
      c.ok++;
    } catch (err) {
      if (!isClearToroidError(err)) throw new Error(`case ${i} ${f.name} (${describe}): ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
      const head = (err as Error).message.replace(/, got .*/su, '').slice(0, 90);
      messages.set(head, (messages.get(head) ?? 0) + 1);
      c.refused++;
    }
    slowest = Math.max(slowest, performance.now() - start);
    const after = toroid.memory();
    if (after.liveStorages !== before.liveStorages || after.liveBytes !== before.liveBytes) {
      throw new Error(`case ${i} ${f.name} (${describe}): memory ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
    }
  }
  console.log(`model load fuzzer: ${JSON.stringify(counts)}, slowest ${Math.round(slowest)} ms, total ${Math.round(performance.now() - t0)} ms`);
  console.log([...messages].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([m, n]) => `${n} ${m}`).join('\n'));
  expect(slowest).toBeLessThan(2000);
});
