// Sharded safetensors (Hugging Face's model-0000i-of-0000N + model.safetensors.index.json):
// the round trip is exact, and a hostile index gives a clean RangeError with nothing left allocated.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import '../../src/backends/ts/index.js';
import { load, save } from '../../src/io/checkpoint.js';
import { memory, tensor } from '../../src/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-sharded-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function sample(): Record<string, ReturnType<typeof tensor>> {
  const out: Record<string, ReturnType<typeof tensor>> = {};
  for (let i = 0; i < 5; i++) out[`layer.${i}.w`] = tensor(Float32Array.from({ length: 40 + i }, (_, j) => Math.sin(i * 100 + j)), { shape: [40 + i], backend: 'ts' });
  out.__proto__x = tensor(new Int32Array([1, 2, 3]), { shape: [3], dtype: 'int32', backend: 'ts' });
  Object.defineProperty(out, '__proto__', { value: tensor(new Float32Array([7]), { shape: [1], backend: 'ts' }), enumerable: true });
  return out;
}

async function writeSet(name: string): Promise<{ index: string; tensors: Record<string, ReturnType<typeof tensor>> }> {
  const tensors = sample();
  const index = path.join(dir, name, 'model.safetensors.index.json');
  fs.mkdirSync(path.dirname(index), { recursive: true });
  await save(index, tensors, { note: 'hi' }, { maxShardBytes: 400 });
  return { index, tensors };
}

function editIndex(index: string, edit: (json: { metadata: Record<string, unknown>; weight_map: Record<string, string> }) => void): void {
  const json = JSON.parse(fs.readFileSync(index, 'utf8'));
  edit(json);
  fs.writeFileSync(index, JSON.stringify(json));
}

async function refused(index: string, pattern: RegExp): Promise<void> {
  const before = memory();
  const err = await load(index, { backend: 'ts' }).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(RangeError);
  expect((err as Error).message).toMatch(/^toroid\.load: /);
  expect((err as Error).message).toMatch(pattern);
  expect(memory()).toEqual(before);
}

describe('sharded safetensors', () => {
  it('save writes shards then the index; load gives back exactly the bytes, names ("__proto__" too) and metadata', async () => {
    const { index, tensors } = await writeSet('round');
    const files = fs.readdirSync(path.dirname(index)).sort();
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThan(2);
    const json = JSON.parse(fs.readFileSync(index, 'utf8'));
    expect(new Set(Object.values(json.weight_map))).toEqual(new Set(shards));
    expect(json.metadata.total_size).toBe(Object.values(tensors).reduce((a, t) => a + t.size * 4, 0));
    const loaded = await load(index, { backend: 'ts' });
    expect(Object.keys(loaded.tensors).sort()).toEqual(Object.keys(tensors).sort());
    expect(Object.getPrototypeOf(loaded.tensors)).toBe(Object.prototype);
    for (const [name, t] of Object.entries(tensors)) {
      const got = loaded.tensors[name]!;
      expect(got.dtype).toBe(t.dtype);
      expect(Buffer.from(got.toTypedArray().buffer).equals(Buffer.from(t.toTypedArray().buffer)), name).toBe(true);
    }
    expect(loaded.metadata).toEqual({ note: 'hi' });
    // each shard is a plain safetensors file too
    const one = await load(path.join(path.dirname(index), shards[0]!), { backend: 'ts' });
    expect(Object.keys(one.tensors).length).toBeGreaterThan(0);
    for (const t of [...Object.values(loaded.tensors), ...Object.values(one.tensors), ...Object.values(tensors)]) t.dispose();
  });

  it('a second save with fewer shards removes the shards the new index no longer uses', async () => {
    const { index, tensors } = await writeSet('resave');
    await save(index, tensors, {}, { maxShardBytes: 1 << 20 });
    expect(fs.readdirSync(path.dirname(index)).sort()).toEqual(['model-00001-of-00001.safetensors', 'model.safetensors.index.json']);
    for (const t of Object.values(tensors)) t.dispose();
  });

  it('refuses a shard name with a path (traversal), a missing shard, a tensor in two shards, and maps that disagree with the shards', async () => {
    const cases: Array<[string, (index: string) => void, RegExp]> = [
      ['traversal', (i) => editIndex(i, (j) => { j.weight_map['layer.0.w'] = '../round/model-00001-of-00003.safetensors'; }), /plain \*\.safetensors file name/],
      ['absolute', (i) => editIndex(i, (j) => { j.weight_map['layer.0.w'] = '/etc/passwd'; }), /plain/],
      ['not a string', (i) => editIndex(i, (j) => { (j.weight_map as Record<string, unknown>)['layer.0.w'] = 3; }), /plain/],
      ['missing shard', (i) => fs.rmSync(path.join(path.dirname(i), 'model-00002-of-00003.safetensors')), /to exist beside it/],
      ['two shards', (i) => {
        // shard 2 rewritten to also hold a tensor of shard 1
        const d = path.dirname(i);
        const a = fs.readFileSync(path.join(d, 'model-00001-of-00003.safetensors'));
        fs.writeFileSync(path.join(d, 'model-00002-of-00003.safetensors'), a);
      }, /in one shard|to list tensor|to hold tensor/],
      ['unmapped tensor', (i) => editIndex(i, (j) => { delete j.weight_map['layer.0.w']; }), /to list tensor 'layer\.0\.w'/],
      ['mapped to the wrong shard', (i) => editIndex(i, (j) => { j.weight_map['layer.0.w'] = 'model-00003-of-00003.safetensors'; }), /to list tensor|to hold tensor/],
      ['mapped, absent', (i) => editIndex(i, (j) => { j.weight_map.ghost = 'model-00001-of-00003.safetensors'; }), /to hold tensor 'ghost'/],
      ['total_size', (i) => editIndex(i, (j) => { j.metadata.total_size = 1; }), /total_size/],
      ['torn save', (i) => editIndex(i, (j) => { j.metadata.toroid_shard_set = 'another'; }), /belong to this index's save/],
      ['duplicate key', (i) => fs.writeFileSync(i, fs.readFileSync(i, 'utf8').replace('"weight_map": {', '"weight_map": {"layer.0.w": "model-00001-of-00003.safetensors",')), /duplicate keys/],
      ['no weight_map', (i) => fs.writeFileSync(i, '{"metadata": {}}'), /weight_map/],
      ['not JSON', (i) => fs.writeFileSync(i, '{"weight_map": '), /valid JSON/],
    ];
    for (const [name, hurt, pattern] of cases) {
      const { index, tensors } = await writeSet(`hostile-${name.replace(/ /g, '-')}`);
      for (const t of Object.values(tensors)) t.dispose();
      expect(fs.readdirSync(path.dirname(index)).filter((f) => f.endsWith('.safetensors')).length, name).toBe(3);
      hurt(index);
      await refused(index, pattern);
    }
  });
});
