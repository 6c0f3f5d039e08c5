// `toroid train --config` end to end on a tiny parallel corpus: trains, writes a
// checkpoint and a loss plot, and a second run with "resume" continues from it.
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

describe.skipIf(!built)('toroid train --config (needs dist/: npm run build:ts)', { timeout: 120_000 }, () => {
  it('trains, checkpoints, plots, and resumes', () => {
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
  });

  it('a config with an unknown key or a missing path fails clearly', () => {
    const bad = run({ source: 'a', target: 'b', checkpoint: 'c.safetensors', epochs: 3 });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/toroid\.train: config must be an object with keys among \{ .* \}, got unknown key 'epochs'/);
    const missing = run({ source: 'a', checkpoint: 'c.safetensors' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/toroid\.train: config\.target must be a file path string, got undefined/);
  });
});
