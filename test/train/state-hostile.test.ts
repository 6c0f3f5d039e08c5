// Training-state files as untrusted input: regressions for each hole found, a 1,000-file
// fuzzer (mutated metadata JSON, header and data bytes of a valid small checkpoint), and
// resuming bit for bit from a sharded training checkpoint.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { decodeSafetensors, encodeSafetensors, type RawTensor } from '../../src/io/safetensors.js';
import { loadTrainingState, saveTrainingState } from '../../src/train/state.js';
import { mulberry32 } from '../helpers/random.js';
import { createTask } from './tiny-task.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'toroid-state-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const small = { vocab: 8, hidden: 4, batch: 4 };

/** A valid small checkpoint's raw contents (tensors and the training JSON). */
async function validFile(): Promise<{ tensors: Map<string, RawTensor>; meta: any }> {
  const task = createTask(small);
  task.trainStep();
  const file = path.join(dir, 'valid.safetensors');
  await saveTrainingState(file, task.parts, { step: 1 });
  task.dispose?.();
  const { tensors, metadata } = decodeSafetensors(fs.readFileSync(file));
  return { tensors, meta: JSON.parse(metadata.training!) };
}

function write(name: string, tensors: Map<string, RawTensor>, meta: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat(encodeSafetensors(tensors, { training: typeof meta === 'string' ? meta : JSON.stringify(meta) })));
  return file;
}

/** Load into a fresh task: a clean toroid error or success, and no storage left behind on failure. */
async function tryLoad(file: string): Promise<unknown> {
  const outside = toroid.memory();
  const task = createTask(small);
  const before = toroid.memory();
  try {
    await loadTrainingState(file, task.parts);
    return undefined;
  } catch (err) {
    expect(toroid.memory()).toEqual(before);
    return err;
  } finally {
    task.dispose?.();
    // a load, failed or not, leaves nothing behind once its task is disposed; this also keeps
    // the loop from handing storages to the GC's finalizers, which would run during a later
    // load's awaits and make its before/after comparison meaningless
    expect(toroid.memory()).toEqual(outside);
  }
}

function expectClean(err: unknown, pattern?: RegExp): void {
  expect(err instanceof TypeError || err instanceof RangeError, String(err)).toBe(true);
  expect((err as Error).message).toMatch(/^toroid\.[\w.]+: .+ must be .+, got /);
  if (pattern) expect((err as Error).message).toMatch(pattern);
}

describe('training-state files from strangers', () => {
  it('a __tensor__ reference to an inherited property ("constructor", "toString") is refused (was: resolved to Object\'s function)', async () => {
    const { tensors, meta } = await validFile();
    for (const ref of ['constructor', 'toString', '__proto__', 'model/nope']) {
      meta.components.optimizer.m[0] = { __tensor__: ref };
      expectClean(await tryLoad(write('ref.safetensors', tensors, meta)), /the name of a tensor in the file/);
    }
  });

  it('step and rng must have their types and ranges (was: any value trusted, rng offset NaN)', async () => {
    const { tensors, meta } = await validFile();
    const bad: Array<[string, (m: any) => void]> = [
      ['step', (m) => { m.step = -1; }], ['step', (m) => { m.step = 1.5; }], ['step', (m) => { m.step = '3'; }], ['step', (m) => { m.step = 2 ** 60; }],
      ['rng', (m) => { m.rng = null; }], ['rng.offset', (m) => { m.rng.offset = 'x'; }], ['rng.offset', (m) => { m.rng.offset = -2; }],
      ['rng.seed', (m) => { m.rng.seed = 5; }], ['rng.seed', (m) => { m.rng.seed = { __bigint__: '1e3' }; }], ['rng.seed', (m) => { m.rng.seed = { __bigint__: (2n ** 64n).toString() }; }],
      ['components', (m) => { m.components = [1]; }], ['components', (m) => { m.components.constructor = {}; }], ['version', (m) => { m.version = 2; }],
    ];
    for (const [field, edit] of bad) {
      const m = structuredClone(meta);
      edit(m);
      expectClean(await tryLoad(write('field.safetensors', tensors, m)), new RegExp(field.replace('.', '\\.')));
    }
    expectClean(await tryLoad(write('json.safetensors', tensors, '{"format":')), /valid JSON/);
  });

  it('a "__proto__" key in the JSON stays data (was: set the prototype of the rebuilt state dict)', async () => {
    const { tensors, meta } = await validFile();
    const task = createTask(small);
    let seen: any;
    task.parts.data = { stateDict: () => ({}), loadStateDict: (s: unknown) => { seen = s; } };
    const text = JSON.stringify(meta).replace('"data":{', '"data":{"__proto__":{"polluted":1},');
    await loadTrainingState(write('proto.safetensors', tensors, text), task.parts);
    task.dispose?.();
    expect(Object.getPrototypeOf(seen)).toBe(Object.prototype);
    expect(Object.hasOwn(seen, '__proto__')).toBe(true);
    expect(seen.polluted).toBeUndefined();
  });

  it('a tensor named "__proto__" round-trips through encodeSafetensors (was: dropped from the header)', () => {
    const tensors = new Map<string, RawTensor>([['__proto__', { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]]);
    const back = decodeSafetensors(Buffer.concat(encodeSafetensors(tensors)));
    expect([...back.tensors.keys()]).toEqual(['__proto__']);
    expect([...(back.tensors.get('__proto__')!.data as Float32Array)]).toEqual([1, 2]);
  });

  it('1,000 mutated training-state files: each loads or gives a clean toroid error, and memory() is unchanged after each failure', async () => {
    const { tensors, meta } = await validFile();
    const good = Buffer.concat(encodeSafetensors(tensors, { training: JSON.stringify(meta) }));
    const rand = mulberry32(20);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const values: unknown[] = [null, -1, 0, 1.5, 2 ** 53, 'x', '', true, [], {}, { __tensor__: 'constructor' }, { __tensor__: 'model/emb.weight' }, { __bigint__: 'x' }, { __bigint__: '12' }, [1, 2], { __proto__: 1 }];
    const mutateJson = (m: any): void => {
      // walk to a random node and replace or delete it
      let node = m;
      for (let depth = 0; depth < 4; depth++) {
        const keys = node && typeof node === 'object' ? Object.keys(node) : [];
        if (keys.length === 0) break;
        const key = pick(keys);
        if (rand() < 0.35 || node[key] === null || typeof node[key] !== 'object') {
          if (rand() < 0.2) delete node[key]; else node[key] = structuredClone(pick(values));
          return;
        }
        node = node[key];
      }
    };
    let ok = 0, refused = 0;
    const started = performance.now();
    for (let i = 0; i < 1000; i++) {
      let bytes: Uint8Array;
      const kind = i % 4;
      if (kind < 2) {
        const m = structuredClone(meta);
        for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) mutateJson(m);
        bytes = Buffer.concat(encodeSafetensors(tensors, { training: JSON.stringify(m) }));
      } else if (kind === 2) {
        bytes = Uint8Array.from(good);
        const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
        for (let k = 1 + Math.floor(rand() * 4); k > 0; k--) bytes[Math.floor(rand() * headerEnd)] ^= 1 << Math.floor(rand() * 8);
      } else {
        bytes = Uint8Array.from(good);
        if (rand() < 0.5) bytes = bytes.subarray(0, Math.floor(rand() * bytes.byteLength));
        else for (let k = 0; k < 8; k++) bytes[Math.floor(rand() * bytes.byteLength)] = Math.floor(rand() * 256);
      }
      const file = path.join(dir, 'fuzz.safetensors');
      fs.writeFileSync(file, bytes);
      const err = await tryLoad(file);
      if (err === undefined) ok++;
      else { refused++; expectClean(err); }
    }
    console.log(`state fuzz: 1000 files in ${((performance.now() - started) / 1000).toFixed(1)} s, ${ok} loaded, ${refused} refused`);
    expect(refused).toBeGreaterThan(300);
  });

  it('10 steps equal 5 steps, a sharded checkpoint (several shards), and 5 more in a fresh task, bit for bit', async () => {
    const straight = createTask(small);
    for (let i = 0; i < 10; i++) straight.trainStep();
    const a = path.join(dir, 'straight.safetensors');
    await saveTrainingState(a, straight.parts, { step: 10 });
    straight.dispose?.();

    const first = createTask(small);
    for (let i = 0; i < 5; i++) first.trainStep();
    const index = path.join(dir, 'resume', 'state.safetensors.index.json');
    fs.mkdirSync(path.dirname(index), { recursive: true });
    await saveTrainingState(index, first.parts, { step: 5 }, { maxShardBytes: 200 });
    first.dispose?.();
    expect(fs.readdirSync(path.dirname(index)).filter((f) => f.endsWith('.safetensors')).length).toBeGreaterThan(2);

    const second = createTask({ ...small, seed: 99 }); // other weights: the checkpoint must overwrite them all
    toroid.manualSeed(12345);
    expect((await loadTrainingState(index, second.parts)).step).toBe(5);
    for (let i = 0; i < 5; i++) second.trainStep();
    const b = path.join(dir, 'resumed.safetensors');
    await saveTrainingState(b, second.parts, { step: 10 });
    second.dispose?.();

    const x = decodeSafetensors(fs.readFileSync(a)), y = decodeSafetensors(fs.readFileSync(b));
    expect([...y.tensors.keys()].sort()).toEqual([...x.tensors.keys()].sort());
    for (const [name, t] of x.tensors) expect(Buffer.from(y.tensors.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
    expect(y.metadata).toEqual(x.metadata);
  });
});
