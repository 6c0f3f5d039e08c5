// A checkpoint over 2 GiB written and read back (TOROID_BIG_TESTS=1; ~2.3 GiB of disk in
// os.tmpdir(), under 4 GiB of memory): Node's readFile refuses such a file
// (ERR_FS_FILE_TOO_LARGE), so toroid.load reads it tensor by tensor from the descriptor.
// Five 464 MiB tensors of a deterministic pattern; each checked word for word on the way back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';

const BIG = process.env.TOROID_BIG_TESTS === '1';
const COUNT = 5;
const ELEMENTS = 116 * 1024 * 1024; // 464 MiB of float32 each, 2.27 GiB in all

/** Tensor k's words: a bit pattern that differs per tensor and per position (finite floats). */
function word(i: number, k: number): number {
  return (Math.imul(i, 2654435761) ^ (k << 24)) & 0x3fffffff;
}

function pattern(k: number): Float32Array {
  const words = new Uint32Array(ELEMENTS);
  for (let i = 0; i < ELEMENTS; i++) words[i] = word(i, k);
  return new Float32Array(words.buffer);
}

describe.skipIf(!BIG)('checkpoints over 2 GiB', () => {
  it('save and load a 2.27 GiB safetensors file, every word back, memory below 4 GiB', { timeout: 600_000 }, async () => {
    const file = path.join(os.tmpdir(), `toroid-big-${process.pid}.safetensors`);
    let peak = 0;
    const sample = (): void => { peak = Math.max(peak, process.memoryUsage().rss); };
    const started = performance.now();
    try {
      const tensors: Record<string, toroid.Tensor> = {};
      for (let k = 0; k < COUNT; k++) { tensors[`w${k}`] = toroid.tensor(pattern(k), { shape: [ELEMENTS / 1024, 1024] }); sample(); }
      await toroid.save(file, tensors);
      sample();
      for (const t of Object.values(tensors)) t.dispose();
      const size = fs.statSync(file).size;
      expect(size).toBeGreaterThan(2 ** 31);
      // what every reader did before: Node refuses to read it whole
      expect(() => fs.readFileSync(file)).toThrow(expect.objectContaining({ code: 'ERR_FS_FILE_TOO_LARGE' }));
      const written = performance.now();
      const { tensors: back } = await toroid.load(file);
      sample();
      for (let k = 0; k < COUNT; k++) {
        const got = new Uint32Array(back[`w${k}`]!.toFloat32Array().buffer);
        back[`w${k}`]!.dispose();
        sample();
        let mismatches = 0;
        for (let i = 0; i < ELEMENTS; i++) if (got[i] !== word(i, k)) mismatches++;
        expect(mismatches, `w${k}`).toBe(0);
      }
      const done = performance.now();
      console.log(`big checkpoint: ${(size / 2 ** 30).toFixed(2)} GiB, save ${((written - started) / 1000).toFixed(1)} s (with generation), load+check ${((done - written) / 1000).toFixed(1)} s, peak RSS ${(peak / 2 ** 30).toFixed(2)} GiB`);
      expect(peak).toBeLessThan(4 * 2 ** 30);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
