import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { Trainer, type ProgressEvent } from '../../src/train/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const task = new URL('./tiny-task.ts', import.meta.url);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-train-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function tensorsOf(file: string): Promise<Record<string, Float32Array>> {
  const { tensors } = await toroid.load(file, { backend: 'ts' });
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype === 'float32') out[name] = t.toFloat32Array();
    t.dispose();
  }
  return out;
}

describe('Trainer', { timeout: 120_000 }, () => {
  it('trains off the main thread: the event loop stays responsive (p99 delay < 50 ms)', async () => {
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const trainer = new Trainer({ task, taskOptions: { stepDelayMs: 25 }, maxSteps: 40 });
    const events: ProgressEvent[] = [];
    for await (const p of trainer) events.push(p);
    histogram.disable();
    const result = await trainer.result;
    expect(result).toMatchObject({ step: 40, reason: 'finished' });
    expect(events.map((e) => e.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const p99 = histogram.percentile(99) / 1e6;
    console.log(`event-loop delay while training: p99 ${p99.toFixed(1)} ms, max ${(histogram.max / 1e6).toFixed(1)} ms`);
    expect(p99).toBeLessThan(50);
    expect(events.at(-1)!.loss).toBeLessThan(events[0]!.loss);
    expect(events.at(-1)!.etaSeconds).toBe(0);
  });

  it('an AbortSignal stops it within one step and leaves a checkpoint that loads', async () => {
    const controller = new AbortController();
    const file = path.join(dir, 'aborted.safetensors');
    const trainer = new Trainer({ task, taskOptions: { stepDelayMs: 10 }, maxSteps: 1000, checkpointPath: file, signal: controller.signal });
    let abortedAt = 0;
    trainer.on('progress', (p: ProgressEvent) => {
      if (p.step === 5) { abortedAt = p.step; controller.abort(); }
    });
    const result = await trainer.result;
    expect(result.reason).toBe('aborted');
    expect(result.step - abortedAt).toBeLessThanOrEqual(2);
    expect(result.checkpoints.at(-1)).toEqual({ step: result.step, path: file });
    const saved = await toroid.load(file, { backend: 'ts' });
    expect(JSON.parse(saved.metadata.training!).step).toBe(result.step);
    for (const t of Object.values(saved.tensors)) t.dispose();
  });

  it('validation and checkpoints happen every N steps', async () => {
    const file = path.join(dir, 'every.safetensors');
    const trainer = new Trainer({ task, maxSteps: 12, validateEvery: 4, checkpointEvery: 5, checkpointPath: file });
    const result = await trainer.result;
    expect(result.validation.map((v) => v.step)).toEqual([4, 8, 12]);
    expect(result.checkpoints.map((c) => c.step)).toEqual([5, 10, 12]);
  });

  for (const precision of ['fp32', 'bf16'] as const) {
    it(`10 steps equal 5 steps, a checkpoint, and 5 more in a new process, bit for bit (${precision})`, async () => {
      const straight = path.join(dir, `straight-${precision}.safetensors`), half = path.join(dir, `half-${precision}.safetensors`), resumed = path.join(dir, `resumed-${precision}.safetensors`);
      await new Trainer({ task, maxSteps: 10, checkpointPath: straight, threads: 2, precision }).result;
      await new Trainer({ task, maxSteps: 5, checkpointPath: half, threads: 2, precision }).result;
      const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'resume-child.ts'), half, resumed, '10', precision], { encoding: 'utf8', cwd: path.join(here, '..', '..') });
      expect(child.status, child.stderr).toBe(0);
      expect(JSON.parse(child.stdout.trim().split('\n').at(-1)!)).toEqual({ step: 10, reason: 'finished' });
      const a = await tensorsOf(straight), b = await tensorsOf(resumed);
      expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
      expect(Object.keys(a).some((k) => k.startsWith('optimizer/'))).toBe(true);
      // the checkpoint holds float32 master weights in both precisions
      const kept = await toroid.load(straight, { backend: 'ts', keepDType: true });
      expect(Object.values(kept.tensors).some((t) => t.dtype === 'bfloat16')).toBe(false);
      for (const name of Object.keys(a)) expect(Buffer.from(b[name]!.buffer).equals(Buffer.from(a[name]!.buffer)), name).toBe(true);
    });
  }

  it('bf16 and fp32 runs train alike and differ (the precision reaches the task)', async () => {
    const f = path.join(dir, 'p-fp32.safetensors'), g = path.join(dir, 'p-bf16.safetensors');
    const r32 = new Trainer({ task, maxSteps: 20, checkpointPath: f, threads: 2 });
    const r16 = new Trainer({ task, maxSteps: 20, checkpointPath: g, threads: 2, precision: 'bf16' });
    const losses: Record<string, number[]> = { fp32: [], bf16: [] };
    r32.on('progress', (p: ProgressEvent) => losses.fp32!.push(p.loss));
    r16.on('progress', (p: ProgressEvent) => losses.bf16!.push(p.loss));
    await Promise.all([r32.result, r16.result]);
    expect(losses.bf16).not.toEqual(losses.fp32);
    losses.fp32!.forEach((l, i) => expect(Math.abs(losses.bf16![i]! - l)).toBeLessThan(0.05 * l + 0.05));
  });

  it('a steady-state loop does not grow: native live bytes flat and RSS within 32 MiB from step 100 to 1000', async () => {
    const trainer = new Trainer({ task, taskOptions: { hidden: 32, batch: 16 }, maxSteps: 1000 });
    const at: Record<number, ProgressEvent> = {};
    for await (const p of trainer) if (p.step === 100 || p.step === 1000) at[p.step] = p;
    await trainer.result;
    const a = at[100]!, b = at[1000]!;
    console.log(`memory from step 100 to 1000: live native bytes ${a.liveBytes} -> ${b.liveBytes}, RSS ${(a.rssBytes / 2 ** 20).toFixed(1)} -> ${(b.rssBytes / 2 ** 20).toFixed(1)} MiB`);
    if (a.liveBytes !== null) expect(b.liveBytes).toBe(a.liveBytes);
    expect(b.rssBytes - a.rssBytes).toBeLessThan(32 * 2 ** 20);
  });

  it('a task error rejects the result with the task\'s message', async () => {
    const trainer = new Trainer({ task: new URL('./failing-task.ts', import.meta.url), maxSteps: 10 });
    await expect(trainer.result).rejects.toThrow('bad batch 3');
  });
});

describe('Trainer bad options', () => {
  const cases: Array<[string, unknown, ErrorConstructor, RegExp]> = [
    ['no options', undefined, TypeError, /toroid\.Trainer: options must be an object/],
    ['task missing', { maxSteps: 1 }, TypeError, /toroid\.Trainer: options\.task must be a URL or path/],
    ['negative maxSteps', { task, maxSteps: -1 }, RangeError, /toroid\.Trainer: options\.maxSteps must be a non-negative integer, got -1$/],
    ['fractional validateEvery', { task, maxSteps: 1, validateEvery: 1.5 }, RangeError, /options\.validateEvery must be a non-negative integer/],
    ['zero threads', { task, maxSteps: 1, threads: 0 }, RangeError, /options\.threads must be a positive integer/],
    ['an unknown precision', { task, maxSteps: 1, precision: 'fp16' }, RangeError, /options\.precision must be one of 'fp32', 'bf16', got /],
    ['checkpointPath not a string', { task, maxSteps: 1, checkpointPath: 3 }, TypeError, /options\.checkpointPath must be a file path string, got number 3$/],
    ['signal not an AbortSignal', { task, maxSteps: 1, signal: {} }, TypeError, /options\.signal must be an AbortSignal/],
    ['a misspelled option', { task, maxSteps: 1, checkpointEvry: 5 }, RangeError, /options must be an object with keys among \{ task, .* \}, got unknown key 'checkpointEvry'$/],
  ];
  for (const [title, options, type, message] of cases) {
    it(title, () => {
      expect(() => new Trainer(options as never)).toThrow(type);
      expect(() => new Trainer(options as never)).toThrow(message);
    });
  }
});
