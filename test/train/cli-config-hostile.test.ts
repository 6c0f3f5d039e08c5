// `toroid train`'s config file is untrusted (issue 20): every field, the task's options and
// its model config are checked when the file is read, and 1,000 seeded mutations of a valid
// file (in process, through what bin/train.mjs calls) either resolve or throw a clear
// toroid error naming the field, never a raw V8 error.
import { expect, it } from 'vitest';
import { parseTrainCliConfig, resolveTrainCliConfig } from '../../src/train/cli-config.js';
import { Rng } from '../helpers/random.js';
import { isClearToroidError, mutateText, mutateValue } from '../hardening/mutate-json.js';

const BASE = {
  source: 'train.de', target: 'train.en', validSource: 'valid.de', validTarget: 'valid.en',
  checkpoint: 'run/model.safetensors', maxSteps: 100, validateEvery: 10, checkpointEvery: 50,
  resume: false, threads: 2, precision: 'bf16',
  task: { vocabSize: 800, batchTokens: 512, warmup: 40, maxLen: 30, lrFactor: 1, clip: 1, labelSmoothing: 0.1, weightDecay: 0.01, seed: 3,
    model: { dModel: 32, nhead: 4, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 64, dropout: 0.1, positions: 'learned' } },
};

function read(text: string): unknown {
  return resolveTrainCliConfig(parseTrainCliConfig(text, 'train.json'));
}

it('a config that is not JSON, or not an object, is refused naming the file', () => {
  expect(() => read('{"source": "a",')).toThrow(/^toroid\.train: config must be a JSON file \("train\.json"\), got /);
  expect(() => read('null')).toThrow(/^toroid\.train: config must be a JSON object \("train\.json"\), got null/);
  expect(() => read('[1]')).toThrow(TypeError);
});

it('the task options and its model config are checked when the file is read', () => {
  const bad = (task: object) => () => read(JSON.stringify({ ...BASE, task: { ...BASE.task, ...task } }));
  expect(bad({ warmup: -1 })).toThrow(/^toroid\.train: config\.task\.warmup must be a positive integer, got -1/);
  expect(bad({ vocabSize: 'big' })).toThrow(/config\.task\.vocabSize must be/);
  expect(bad({ model: { dModel: -8 } })).toThrow(/^toroid\.train: config\.task\.model\.dModel must be a positive integer, got -8/);
  expect(bad({ model: { dModel: 30, nhead: 4 } })).toThrow(/config\.task\.model\.nhead must be a divisor of dModel=30/);
  expect(bad({ model: { nLayers: 2 } })).toThrow(/config\.task\.model must be .*unknown key 'nLayers'/);
  expect(bad({ typo: 1 })).toThrow(/config\.task must be .*unknown key 'typo'/);
  const ok = read(JSON.stringify(BASE)) as { task: typeof BASE.task };
  expect(ok.task).toEqual(BASE.task);
});

it('1,000 mutated config files resolve or throw a clear toroid error', () => {
  const text = JSON.stringify(BASE);
  const rng = new Rng(2020);
  const counts = { ok: 0, refused: 0 };
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) {
    const m = i % 3 === 0 ? mutateText(text, rng) : (() => { const v = mutateValue(BASE, rng); return { text: JSON.stringify(v.value) ?? '', describe: v.describe }; })();
    try {
      read(m.text);
      counts.ok++;
    } catch (err) {
      if (!isClearToroidError(err)) throw new Error(`case ${i} (${m.describe}): ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
      counts.refused++;
    }
  }
  console.log(`cli config fuzzer: ${counts.ok} resolved, ${counts.refused} refused, ${Math.round(performance.now() - t0)} ms`);
  expect(counts.ok + counts.refused).toBe(1000);
});
