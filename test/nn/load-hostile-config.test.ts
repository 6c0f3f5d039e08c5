// A model file's config is untrusted: a tiny file whose metadata asks for a huge model
// (issue 20) must be refused by a RangeError naming the config before any parameter is
// allocated (toroid.memory() unchanged, fast), and a load that throws frees what it built.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { encodeSafetensors, readSafetensorsFileSync } from '../../src/io/safetensors.js';
import { BertEncoder } from '../../src/nn/bert.js';
import { GPT } from '../../src/nn/gpt.js';
import { Seq2SeqTransformer } from '../../src/nn/seq2seq.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-load-config-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The file at `from` with metadata.config replaced (or changed by `edit`). */
function rewrite(from: string, name: string, edit: (config: Record<string, unknown>) => unknown): string {
  const { tensors, metadata } = readSafetensorsFileSync(from);
  const config = edit(JSON.parse(metadata.config!));
  const out = path.join(dir, name);
  fs.writeFileSync(out, Buffer.concat(encodeSafetensors(tensors, { ...metadata, config: typeof config === 'string' ? config : JSON.stringify(config) })));
  return out;
}

async function saved(model: toroid.nn.Module & { save(p: string): Promise<void> }, name: string): Promise<string> {
  const p = path.join(dir, name);
  await model.save(p);
  model.dispose();
  return p;
}

const tinyGPT = () => new GPT({ vocabSize: 11, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8 }, { backend: 'ts' });
const tinySeq2Seq = () => new Seq2SeqTransformer({ srcVocab: 9, tgtVocab: 9, dModel: 8, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 16, dropout: 0 }, { backend: 'ts' });
const tinyBert = () => new BertEncoder({ vocabSize: 13, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 8 }, { backend: 'ts' });

async function expectRefused(load: () => Promise<unknown>, message: RegExp): Promise<void> {
  const before = toroid.memory();
  const t0 = performance.now();
  await expect(load()).rejects.toThrow(message);
  expect(performance.now() - t0).toBeLessThan(2000);
  expect(toroid.memory()).toEqual(before);
}

it('GPT.load refuses a tiny file with a huge config without allocating', async () => {
  const file = await saved(tinyGPT(), 'gpt.safetensors');
  await expectRefused(() => GPT.load(rewrite(file, 'gpt-big.st', (c) => ({ ...c, nEmbd: 1e6, vocabSize: 1e9, nLayer: 10000 }))), /^toroid\.GPT\.load: config \(vocabSize.*\) must be sizes whose parameters fit the file's \d+ tensor elements, got/);
  await expectRefused(() => GPT.load(rewrite(file, 'gpt-layers.st', (c) => ({ ...c, nLayer: 5000 }))), /GPT\.load: config \(.*nLayer/);
  await expectRefused(() => GPT.load(rewrite(file, 'gpt-rope.st', (c) => ({ ...c, positions: 'rope', blockSize: 2e9 }))), /GPT\.load: config\.blockSize must be a size whose built table/);
  await expectRefused(() => GPT.load(rewrite(file, 'gpt-neg.st', (c) => ({ ...c, nLayer: -3 }))), /toroid\.GPT: config\.nLayer must be/);
});

it('Seq2SeqTransformer.load refuses a huge config and frees what a failed load built', async () => {
  const file = await saved(tinySeq2Seq(), 's2s.safetensors');
  await expectRefused(() => Seq2SeqTransformer.load(rewrite(file, 's2s-big.st', (c) => ({ ...c, dModel: 1e6, nhead: 1, srcVocab: 1e9, tgtVocab: 1e9 }))), /Seq2SeqTransformer\.load: config \(srcVocab/);
  await expectRefused(() => Seq2SeqTransformer.load(rewrite(file, 's2s-len.st', (c) => ({ ...c, maxLen: 1e9 }))), /Seq2SeqTransformer\.load: config\.maxLen/);
  // a config that fits the size check but not the tensors: loadStateDict throws, the model is freed
  await expectRefused(() => Seq2SeqTransformer.load(rewrite(file, 's2s-ffn.st', (c) => ({ ...c, dimFeedforward: 8 }))), /toroid\./);
  await expectRefused(() => Seq2SeqTransformer.load(rewrite(file, 's2s-share.st', (c) => ({ ...c, shareEmbeddings: true, tieGenerator: true, dimFeedforward: 4 }))), /toroid\./);
  await expectRefused(() => Seq2SeqTransformer.load(rewrite(file, 's2s-learned.st', (c) => ({ ...c, positions: 'learned', maxLen: 1, dimFeedforward: 4 }))), /toroid\./);
});

it('BertEncoder.load refuses a huge config without allocating', async () => {
  const file = await saved(tinyBert(), 'bert.safetensors');
  await expectRefused(() => BertEncoder.load(rewrite(file, 'bert-big.st', (c) => ({ ...c, hiddenSize: 1e6, numAttentionHeads: 1, vocabSize: 1e9 }))), /BertEncoder\.load: config \(vocabSize/);
  await expectRefused(() => BertEncoder.load(rewrite(file, 'bert-labels.st', (c) => ({ ...c, numLabels: 1e8 }))), /BertEncoder\.load: config \(.*numLabels/);
  await expectRefused(() => BertEncoder.load(rewrite(file, 'bert-inter.st', (c) => ({ ...c, intermediateSize: 4 }))), /toroid\./);
});

it('a valid file still loads', async () => {
  const file = await saved(tinySeq2Seq(), 's2s-ok.safetensors');
  const model = await Seq2SeqTransformer.load(file, { backend: 'ts' });
  expect(model.config.dModel).toBe(8);
  model.dispose();
});

it('GPT.fromHuggingFaceGPT2 refuses a layer index in a tensor name that the tensors cannot fill', async () => {
  const file = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'models', 'gpt2_hf.safetensors');
  const { tensors } = await toroid.load(file, { backend: 'ts' });
  tensors['h.99999.ln_1.weight'] = toroid.tensor(new Float32Array(1), { shape: [1], backend: 'ts' });
  const before = toroid.memory();
  expect(() => GPT.fromHuggingFaceGPT2(tensors, { nHead: 1 }, { backend: 'ts' })).toThrow(/^toroid\.GPT\.fromHuggingFaceGPT2: stateDict and config \(.*\) must be sizes whose parameters fit .*nLayer 100000/);
  expect(toroid.memory()).toEqual(before);
  for (const t of Object.values(tensors)) t.dispose();
});
