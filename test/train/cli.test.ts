// `toroid train --config` end to end on a tiny parallel corpus: trains, writes a
// checkpoint and a loss plot, and a second run with "resume" continues from it; the
// checkpoint alone then translates (`toroid translate`, Seq2SeqTransformer.load). The same
// for "task": "lm": a GPT on plain text, then `toroid generate` and toroid.serve on it.
// Runs the built CLI (dist/, which `npm ci` builds through the prepare script).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const built = fs.existsSync(path.join(root, 'dist', 'train', 'tasks', 'translation.js'));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (config: object): { status: number | null; stdout: string; stderr: string } => {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return spawnSync(process.execPath, [path.join(root, 'bin', 'toroid.mjs'), 'train', '--config', file], { encoding: 'utf8', cwd: dir });
};
const cli = (args: string[], input?: string): { status: number | null; stdout: string; stderr: string } =>
  spawnSync(process.execPath, [path.join(root, 'bin', 'toroid.mjs'), ...args], { encoding: 'utf8', cwd: dir, ...(input === undefined ? {} : { input }) });

describe.skipIf(!built)('toroid train --config (needs dist/: npm run build:ts)', { timeout: 120_000 }, () => {
  it('trains, checkpoints, plots, and resumes; the checkpoint translates', async () => {
    const words = ['ein', 'hund', 'läuft', 'eine', 'katze', 'schläft', 'der', 'mann', 'isst'];
    const english = ['a', 'dog', 'runs', 'a', 'cat', 'sleeps', 'the', 'man', 'eats'];
    const src: string[] = [], tgt: string[] = [];
    for (let i = 0; i < 200; i++) {
      const k = 2 + (i % 5);
      src.push(Array.from({ length: k }, (_, j) => words[(i + j) % words.length]).join(' '));
      tgt.push(Array.from({ length: k }, (_, j) => english[(i + j) % english.length]).join(' '));
    }
    fs.writeFileSync(path.join(dir, 'train.de'), src.join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'train.en'), tgt.join('\n') + '\n');
    const config = {
      source: 'train.de', target: 'train.en', validSource: 'train.de', validTarget: 'train.en', checkpoint: 'run/model.safetensors',
      maxSteps: 4, validateEvery: 4, checkpointEvery: 2, resume: true, threads: 1,
      task: { vocabSize: 50, batchTokens: 256, warmup: 10, model: { dModel: 16, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 32, dropout: 0 } },
    };
    const first = run(config);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/finished at step 4/);
    expect(first.stdout).toMatch(/step 4: validation loss \d/);
    expect(fs.existsSync(path.join(dir, 'run', 'model.safetensors'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'run', 'model.loss.svg'), 'utf8')).toMatch(/<polyline/);
    const second = run({ ...config, maxSteps: 6 });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/resumed from .* at step 4/);
    expect(second.stdout).toMatch(/finished at step 6/);
    expect(second.stdout).toMatch(/use it: toroid translate --model/);
    // the checkpoint is all translate needs: its tokenizer and config are in the metadata
    const input = ['ein hund läuft', '', 'eine katze schläft der mann'].join('\n') + '\n';
    for (const beam of ['1', '3']) {
      const t = cli(['translate', '--model', path.join(dir, 'run', 'model.safetensors'), '--beam', beam, '--batch', '2'], input);
      expect(t.status, t.stderr).toBe(0);
      const lines = t.stdout.split('\n');
      expect(lines.length).toBe(4);
      expect(lines[1]).toBe('');
      expect(lines[3]).toBe('');
    }
    const bad = cli(['translate', '--model', path.join(dir, 'run', 'model.safetensors'), '--beam', '0'], '');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--beam must be a positive integer, got '0'/);
    const toroid = await import('../../src/index.js');
    const loaded = await toroid.nn.Seq2SeqTransformer.load(path.join(dir, 'run', 'model.safetensors'));
    expect(loaded.config.dModel).toBe(16);
    loaded.dispose();
  });

  it('"task": "lm" trains a GPT on plain text; the checkpoint generates and serves', async () => {
    const text = Array.from({ length: 120 }, (_, i) => ['the cat sat on the mat', 'a dog ran in the park', 'the bird sang a song'][i % 3]).join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'text.txt'), text);
    const config = {
      source: 'text.txt', validSource: 'text.txt', checkpoint: 'lm/model.safetensors', maxSteps: 3, validateEvery: 3, checkpointEvery: 0, resume: true, threads: 1,
      task: { type: 'lm', vocabSize: 40, blockSize: 16, batchSize: 4, warmup: 1, model: { nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 } },
    };
    const first = run(config);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/finished at step 3/);
    expect(first.stdout).toMatch(/use it: toroid generate --model/);
    const second = run({ ...config, maxSteps: 5 });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/resumed from .* at step 3/);
    const ckpt = path.join(dir, 'lm', 'model.safetensors');
    const g = cli(['generate', '--model', ckpt, '--prompt', 'the cat', '--max-tokens', '6', '--seed', '1']);
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout.startsWith('the cat')).toBe(true);
    const { serve } = await import('../../src/index.js');
    const server = await serve({ model: ckpt, port: 0, threads: 1 });
    try {
      const res = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'the cat', max_tokens: 4, temperature: 0 }) });
      expect(res.status).toBe(200);
      const body = await res.json() as { choices: Array<{ token_ids: number[] }> };
      expect(body.choices[0]!.token_ids.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
    const lmBad = run({ ...config, target: 'text.txt' });
    expect(lmBad.status).toBe(1);
    expect(lmBad.stderr).toMatch(/config\.target must be left out with "task": "lm"/);
  });

  it('a config with an unknown key or a missing path fails clearly', () => {
    const bad = run({ source: 'a', target: 'b', checkpoint: 'c.safetensors', epochs: 3 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/toroid\.train: config must be an object with keys among \{ .* \}, got unknown key 'epochs'/);
    const missing = run({ source: 'a', checkpoint: 'c.safetensors' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/toroid\.train: config\.target must be a file path string \(the translation task's target side\), got undefined/);
  });
});
