// The Trainer's failure paths, each failing before its fix: a worker that ends without
// reporting the end of training is an error (it was reported as finished), a checkpoint
// folder is created or refused before step 1 (it failed after checkpointEvery steps of
// work), the system's error code crosses the worker boundary, and temp files of a killed
// earlier save of the same checkpoint are cleaned at start.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Trainer } from '../../src/train/index.js';

const task = new URL('./tiny-task.ts', import.meta.url);
const dir = mkdtempSync(path.join(tmpdir(), 'toroid-trainer-fail-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Trainer failure paths', () => {
  it('a worker that exits with code 0 before the end of training rejects the result', async () => {
    const trainer = new Trainer({ task: new URL('./exit-task.ts', import.meta.url), maxSteps: 10 });
    await expect(trainer.result).rejects.toThrow(/the training worker exited with code 0 before reporting the end of training/);
  });

  it('a checkpoint in a missing folder: the folder is made before step 1', async () => {
    const file = path.join(dir, 'new', 'deeper', 'run.safetensors');
    const trainer = new Trainer({ task, maxSteps: 2, checkpointPath: file });
    expect(existsSync(path.dirname(file))).toBe(true);
    await trainer.result;
    expect(existsSync(file)).toBe(true);
  });

  it('a checkpoint under a regular file: the constructor throws, with the system\'s code', () => {
    const blocker = path.join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    let caught: unknown;
    try {
      new Trainer({ task, maxSteps: 2, checkpointPath: path.join(blocker, 'run.safetensors') });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).message).toMatch(/^toroid\.Trainer: options\.checkpointPath must be in a folder that exists or can be created/);
    expect((caught as NodeJS.ErrnoException).code).toMatch(/^(ENOTDIR|EEXIST)$/);
  });

  it('an error code from the worker (a failed write) reaches the caller', async () => {
    // the folder exists when the Trainer starts and becomes a file before the end-of-run save
    const sub = path.join(dir, 'vanishing');
    const trainer = new Trainer({ task, taskOptions: { stepDelayMs: 30 }, maxSteps: 6, checkpointPath: path.join(sub, 'run.safetensors') });
    rmSync(sub, { recursive: true, force: true });
    writeFileSync(sub, 'now a file');
    const err = await trainer.result.then(() => null, (e: unknown) => e as NodeJS.ErrnoException);
    expect(err).not.toBeNull();
    expect(err!.code).toMatch(/^(ENOTDIR|ENOENT)$/);
  });

  it("onCheckpointError 'warn': failed writes are reported with their code and training goes on", async () => {
    const sub = path.join(dir, 'warned');
    const trainer = new Trainer({ task, taskOptions: { stepDelayMs: 20 }, maxSteps: 8, checkpointEvery: 2, checkpointPath: path.join(sub, 'run.safetensors'), onCheckpointError: 'warn' });
    rmSync(sub, { recursive: true, force: true });
    writeFileSync(sub, 'now a file');
    const errors: Array<{ step: number; error: NodeJS.ErrnoException }> = [];
    trainer.on('checkpointError', (e: { step: number; error: NodeJS.ErrnoException }) => errors.push(e));
    const result = await trainer.result;
    expect(result.step).toBe(8);
    expect(result.reason).toBe('finished');
    expect(errors.length).toBeGreaterThanOrEqual(4);
    expect(errors.every((e) => /^(ENOTDIR|ENOENT)$/.test(e.error.code ?? ''))).toBe(true);
    expect(result.checkpoints).toEqual([]);
  });

  it("onCheckpointError 'stop' (the default) and bad values", async () => {
    expect(() => new Trainer({ task, maxSteps: 1, onCheckpointError: 'ignore' as 'warn' })).toThrow(/^toroid\.Trainer: options\.onCheckpointError must be/);
  });

  it('stale temp files of this checkpoint from a dead process are removed at start; others are kept', async () => {
    const sub = path.join(dir, 'stale');
    const file = path.join(sub, 'run.safetensors');
    await new Trainer({ task, maxSteps: 0, checkpointPath: path.join(sub, 'other.safetensors') }).result;  // makes the folder
    const dead = path.join(sub, `.run.safetensors.999999999.abcdef012345.tmp`);
    const alive = path.join(sub, `.run.safetensors.${process.ppid}.abcdef012345.tmp`);
    const unrelated = path.join(sub, `.other.safetensors.999999999.abcdef012345.tmp`);
    for (const f of [dead, alive, unrelated]) writeFileSync(f, 'partial');
    const trainer = new Trainer({ task, maxSteps: 1, checkpointPath: file });
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(alive)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
    await trainer.result;
    expect(readdirSync(sub).filter((n) => n.endsWith('.tmp')).sort()).toEqual([path.basename(unrelated), path.basename(alive)].sort());
  });
});
