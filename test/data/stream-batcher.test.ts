// toroid.data.streamBatches: bounded windows, budget, coverage, determinism,
// exact resume through a reopened source; plus Multi30K from ../shared/data.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';

const { streamBatches, parallelText, lmText, teacherForcingBatch } = toroid.data;
type Pair = toroid.data.ParallelPair;

let dir = '';
const N = 1000;
const lengthOf = (p: Pair): { src: number; tgt: number } => ({ src: p.src.split(' ').length, tgt: p.tgt.split(' ').length + 1 });

/** An in-memory source with a position (index of the next item), like the file readers. */
function arraySource<T>(items: T[], start = 0): AsyncIterable<T> & { position: number } {
  const src = {
    position: start,
    async *[Symbol.asyncIterator]() {
      while (src.position < items.length) yield items[src.position++]!;
    },
  };
  return src;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'toroid-stream-'));
  const src: string[] = [], tgt: string[] = [];
  let x = 12345;
  const rnd = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let i = 0; i < N; i++) {
    const n = 1 + Math.floor(rnd() * rnd() * 40);
    src.push(Array.from({ length: n }, (_, j) => `s${i}_${j}`).join(' '));
    tgt.push(Array.from({ length: Math.max(1, n + Math.floor(rnd() * 7) - 3) }, (_, j) => `t${i}_${j}`).join(' '));
  }
  writeFileSync(join(dir, 'a.txt'), src.join('\n') + '\n');
  writeFileSync(join(dir, 'b.txt'), tgt.join('\r\n'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const open = (start?: toroid.data.ParallelPosition): toroid.data.ParallelTextReader =>
  parallelText(join(dir, 'a.txt'), join(dir, 'b.txt'), { highWaterMark: 4096, ...(start ? { start } : {}) });

describe('data.streamBatches', () => {
  it('keeps the budget, yields every example once and never holds more than the window', async () => {
    for (const window of [1, 64, 300, 5000]) {
      const batcher = streamBatches(open(), { window, maxTokens: 256, seed: 4, lengthOf });
      const seen = new Uint8Array(N + 1);
      for await (const batch of batcher) {
        const lens = batch.map(lengthOf);
        expect(batch.length * Math.max(...lens.map((l) => l.src))).toBeLessThanOrEqual(256);
        expect(batch.length * Math.max(...lens.map((l) => l.tgt))).toBeLessThanOrEqual(256);
        for (const p of batch) seen[p.line]!++;
      }
      expect(Array.from(seen.subarray(1)).every((c) => c === 1)).toBe(true);
      expect(batcher.maxHeld).toBe(Math.min(window, N));
      const end = batcher.state();
      expect({ ...end, position: null }).toEqual({ epoch: 0, window: Math.ceil(N / window), index: 0, seed: 4, position: null });
      expect((end.position as toroid.data.ParallelPosition).line).toBe(N);
    }
  });

  it('a bigger window pads less (bucketing within the window)', async () => {
    const eff: number[] = [];
    for (const window of [8, 128, N]) {
      const batches = await collect(streamBatches(open(), { window, maxTokens: 512, seed: 1, lengthOf }));
      eff.push(toroid.data.paddingStats(batches.map((b) => b.map(lengthOf))).efficiency);
    }
    console.log(`stream padding efficiency by window 8/128/${N}: ${eff.map((e) => (100 * e).toFixed(1) + '%').join(' / ')}`);
    expect(eff[1]!).toBeGreaterThan(eff[0]!);
    expect(eff[2]!).toBeGreaterThan(0.85);
  });

  it('is deterministic given seed and epoch; epochs differ', async () => {
    const lines = (bs: Pair[][]): number[][] => bs.map((b) => b.map((p) => p.line));
    const a = lines(await collect(streamBatches(open(), { window: 200, maxTokens: 300, seed: 9, lengthOf })));
    const b = lines(await collect(streamBatches(open(), { window: 200, maxTokens: 300, seed: 9, lengthOf })));
    const c = lines(await collect(streamBatches(open(), { window: 200, maxTokens: 300, seed: 9, epoch: 1, lengthOf })));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(c.flat().sort((x, y) => x - y)).toEqual(a.flat().sort((x, y) => x - y));
  });

  it('resumes exactly from a saved state through a reopened source', async () => {
    const opts = { window: 150, maxTokens: 300, seed: 21, lengthOf };
    const full = (await collect(streamBatches(open(), opts))).map((b) => b.map((p) => p.line));
    for (const k of [0, 1, 5, 17, 40, full.length - 1, full.length]) {
      const first = streamBatches(open(), opts);
      const got: number[][] = [];
      if (k > 0) {
        for await (const b of first) {
          got.push(b.map((p) => p.line));
          if (got.length === k) break;
        }
      }
      const saved = JSON.parse(JSON.stringify(first.state())) as toroid.data.StreamState;
      const again = streamBatches(open(saved.position as toroid.data.ParallelPosition), { ...opts, seed: undefined, resume: saved });
      const rest = (await collect(again)).map((b) => b.map((p) => p.line));
      expect([...got, ...rest]).toEqual(full);
    }
  });

  it('works on any positioned async iterable (lmText blocks, in-memory arrays) and with oversize: skip', async () => {
    const items = Array.from({ length: 50 }, (_, i) => i % 13);
    const lens = (v: number): number => v;
    const batches = await collect(streamBatches(arraySource(items), { window: 10, maxTokens: 12, seed: 0, lengthOf: lens, oversize: 'skip' }));
    // lengths 0..12 all fit a budget of 12
    expect(batches.flat().length).toBe(50);
    const small = streamBatches(arraySource(items), { window: 10, maxTokens: 10, seed: 0, lengthOf: lens, oversize: 'skip' });
    const kept = (await collect(small)).flat();
    expect(kept.every((v) => v <= 10)).toBe(true);
    expect(small.skipped).toBe(items.filter((v) => v > 10).length);
    await expect(collect(streamBatches(arraySource(items), { window: 10, maxTokens: 10, seed: 0, lengthOf: lens })))
      .rejects.toThrow(/toroid\.streamBatches: options\.maxTokens must be at least the length of every example \(or oversize: 'skip'\), got 10 while example 11 of the stream has length 11/);
    writeFileSync(join(dir, 'lm.txt'), 'a b c d e\nf g\nh i j k\n');
    const blocks = lmText(join(dir, 'lm.txt'), { blockSize: 2, tokenize: (l) => l.split(' ').map((w) => w.charCodeAt(0)) });
    const lm = await collect(streamBatches(blocks, { window: 3, maxTokens: 4, seed: 0, lengthOf: (b: Int32Array) => b.length }));
    expect(lm.flat().length).toBe(5);
    expect(lm.every((b) => b.length <= 2)).toBe(true);
  });

  it('bad arguments', () => {
    const ok = { window: 10, maxTokens: 100, seed: 0, lengthOf };
    expect(() => streamBatches([1, 2] as never, ok)).toThrow(/toroid\.streamBatches: source must be an async iterable of examples, got array\(2\)/);
    expect(() => streamBatches(open(), undefined as never)).toThrow(TypeError);
    expect(() => streamBatches(open(), { ...ok, window: 0 })).toThrow(/options\.window must be an integer >= 1, got 0/);
    expect(() => streamBatches(open(), { ...ok, window: undefined } as never)).toThrow(TypeError);
    expect(() => streamBatches(open(), { ...ok, maxTokens: -5 })).toThrow(RangeError);
    expect(() => streamBatches(open(), { ...ok, lengthOf: 3 as never })).toThrow(/options\.lengthOf must be a function/);
    expect(() => streamBatches(open(), { ...ok, seed: undefined })).toThrow(/options\.seed must be a number \(the shuffle seed must be given explicitly\)/);
    expect(() => streamBatches(open(), { ...ok, epoch: -1 })).toThrow(RangeError);
    expect(() => streamBatches(open(), { ...ok, resume: 'x' as never })).toThrow(TypeError);
    expect(() => streamBatches(open(), { ...ok, resume: { epoch: 0, window: 0, index: 0, seed: 1, position: null } })).toThrow(/options\.seed must be the resumed state's seed 1/);
    expect(() => streamBatches(open(), { ...ok, resume: { epoch: 0, window: 1, index: 0, seed: 0, position: { src: 5, tgt: 5, line: 1 } } }))
      .toThrow(/toroid\.streamBatches: source must be opened at options\.resume\.position/);
  });
});

// ../shared/data next to the repository (see its README): Multi30K, gzip.
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const multi30k = join(repoRoot, '..', 'shared', 'data', 'multi30k');
const haveMulti30k = existsSync(join(multi30k, 'train.de.gz')) && existsSync(join(multi30k, 'train.en.gz'));

describe('data on Multi30K (../shared/data/multi30k)', () => {
  it.skipIf(!haveMulti30k)(`streams all 29,000 de-en train pairs in bounded windows${haveMulti30k ? '' : ' [skipped: ../shared/data/multi30k/train.{de,en}.gz not found]'}`, async () => {
    const window = 2000;
    const lens = (p: Pair): { src: number; tgt: number } => ({ src: p.src.split(' ').length, tgt: p.tgt.split(' ').length + 1 });
    const reader = parallelText(join(multi30k, 'train.de.gz'), join(multi30k, 'train.en.gz'));
    const batcher = streamBatches(reader, { window, maxTokens: 4096, seed: 0, lengthOf: lens });
    const seen = new Uint8Array(29_001);
    let pairs = 0, batches = 0, real = 0, padded = 0, saved: toroid.data.StreamState | null = null;
    const afterSave: number[][] = [];
    for await (const batch of batcher) {
      batches++;
      pairs += batch.length;
      for (const p of batch) seen[p.line]!++;
      const l = batch.map(lens);
      const maxS = Math.max(...l.map((x) => x.src)), maxT = Math.max(...l.map((x) => x.tgt));
      expect(batch.length * maxS).toBeLessThanOrEqual(4096);
      expect(batch.length * maxT).toBeLessThanOrEqual(4096);
      real += l.reduce((a, x) => a + x.src + x.tgt, 0);
      padded += batch.length * (maxS + maxT);
      if (batches === 50) saved = batcher.state();
      else if (batches > 50 && afterSave.length < 20) afterSave.push(batch.map((p) => p.line));
    }
    expect(pairs).toBe(29_000);
    expect(Array.from(seen.subarray(1)).every((c) => c === 1)).toBe(true);
    // memory: the batcher never held more than one window of pairs
    expect(batcher.maxHeld).toBe(window);
    console.log(`Multi30K de-en train: ${pairs} pairs in ${batches} batches (window ${window}, budget 4096), padding efficiency ${(100 * real / padded).toFixed(1)}%`);
    expect(real / padded).toBeGreaterThan(0.8);
    // resume mid-epoch from the saved byte offsets (gzip: decompress and skip)
    const s = JSON.parse(JSON.stringify(saved)) as toroid.data.StreamState;
    const resumed = streamBatches(parallelText(join(multi30k, 'train.de.gz'), join(multi30k, 'train.en.gz'), { start: s.position as toroid.data.ParallelPosition }), { window, maxTokens: 4096, lengthOf: lens, resume: s });
    const again: number[][] = [];
    for await (const batch of resumed) {
      again.push(batch.map((p) => p.line));
      if (again.length === 20) break;
    }
    expect(again).toEqual(afterSave);
  });

  it.skipIf(!haveMulti30k)('in-memory TokenBudgetSampler over Multi30K lengths: padding efficiency', async () => {
    const lengths: { src: number; tgt: number }[] = [];
    for await (const p of parallelText(join(multi30k, 'train.de.gz'), join(multi30k, 'train.en.gz'))) {
      lengths.push({ src: p.src.split(' ').length, tgt: p.tgt.split(' ').length + 1 });
    }
    const sampler = new toroid.data.TokenBudgetSampler(lengths, { maxTokens: 4096, seed: 0 });
    const stats = sampler.stats();
    console.log(`Multi30K de-en train, TokenBudgetSampler (budget 4096): ${stats.batches} batches, padding efficiency ${(100 * stats.efficiency).toFixed(1)}% (src ${(100 * stats.srcTokens / stats.srcPadded).toFixed(1)}%, tgt ${(100 * stats.tgtTokens / stats.tgtPadded).toFixed(1)}%)`);
    expect(stats.examples).toBe(29_000);
    expect(stats.efficiency).toBeGreaterThan(0.9);
  });

  it.skipIf(!haveMulti30k)('a batch from Multi30K becomes a teacher-forcing batch', async () => {
    const vocab = new Map<string, number>();
    const ids = (s: string): number[] => s.split(' ').map((w) => {
      if (!vocab.has(w)) vocab.set(w, 3 + vocab.size);
      return vocab.get(w)!;
    });
    for await (const batch of streamBatches(parallelText(join(multi30k, 'val.de.gz'), join(multi30k, 'val.en.gz')), { window: 256, maxTokens: 512, seed: 0, lengthOf: (p: Pair) => ({ src: p.src.split(' ').length, tgt: p.tgt.split(' ').length + 1 }) })) {
      const b = teacherForcingBatch(batch.map((p) => ids(p.src)), batch.map((p) => ids(p.tgt)));
      expect(b.src.shape[0]! * b.src.shape[1]!).toBeLessThanOrEqual(512);
      expect(b.tgtOut.shape[0]! * b.tgtOut.shape[1]!).toBeLessThanOrEqual(512);
      expect(b.tgtTokens).toBe(batch.reduce((a, p) => a + p.tgt.split(' ').length + 1, 0));
      b.dispose();
      break;
    }
  });
});
