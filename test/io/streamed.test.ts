// Large tensors are saved a piece at a time (4M elements per download) and loaded into a
// module one tensor at a time through one reused host buffer: both must be exact for every
// dtype and at piece boundaries, and a module's loadFile must not keep a reference to the
// reused buffer (on ts, a storage that aliased it would change with the next tensor read).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { describeEachBackend } from '../helpers/backends.js';

const { nn } = toroid;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-streamed-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const PIECE = 4 * 1024 * 1024;

describeEachBackend('streamed save and load', (backend) => {
  it('tensors past one piece (float32, bfloat16, int32, bool) round-trip exactly, pieces in order', async () => {
    const n = 2 * PIECE + 3;
    const f32 = new Float32Array(n), i32 = new Int32Array(n), bools = new Uint8Array(n);
    for (let i = 0; i < n; i++) { f32[i] = i * 0.25 - 7; i32[i] = i ^ 0x5a5a; bools[i] = i % 3 === 0 ? 1 : 0; }
    const wide = toroid.tensor(f32, { shape: [n], backend });
    const tensors = {
      f32: wide,
      bf16: toroid.tidy(() => toroid.keep(wide.to('bfloat16'))),
      i32: toroid.tensor(i32, { shape: [1, n], backend }),
      bool: toroid.tensor(bools, { shape: [n, 1], dtype: 'bool', backend }),
    };
    const file = path.join(dir, `pieces-${backend}.safetensors`);
    const before = toroid.memory();
    await toroid.save(file, tensors);
    expect(toroid.memory()).toEqual(before); // every piece freed
    const { tensors: back } = await toroid.load(file, { backend, keepDType: true });
    // byte comparisons: toEqual over 8M elements takes minutes
    const same = (a: ArrayBufferView, b: ArrayBufferView): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    expect(same(back.f32!.toFloat32Array(), f32)).toBe(true);
    expect(same(back.bf16!.toTypedArray(), tensors.bf16.toTypedArray())).toBe(true);
    expect(back.i32!.shape).toEqual([1, n]);
    expect(same(back.i32!.toTypedArray(), i32)).toBe(true);
    expect(same(back.bool!.toTypedArray(), bools)).toBe(true);
    for (const t of [...Object.values(tensors), ...Object.values(back)]) t.dispose();
  });

  it('loadFile copies each tensor out of the reused read buffer (later tensors do not change earlier ones)', async () => {
    const source = new nn.Sequential(new nn.Linear(4, 8, { backend }), new nn.Linear(8, 8, { backend }), new nn.Linear(8, 4, { backend }));
    const file = path.join(dir, `seq-${backend}.safetensors`);
    await source.save(file);
    const target = new nn.Sequential(new nn.Linear(4, 8, { backend }), new nn.Linear(8, 8, { backend }), new nn.Linear(8, 4, { backend }));
    await target.loadFile(file);
    const want = source.stateDict(), got = target.stateDict();
    for (const key of Object.keys(want)) expect(got[key]!.toFloat32Array(), key).toEqual(want[key]!.toFloat32Array());
    source.dispose();
    target.dispose();
  });
});
