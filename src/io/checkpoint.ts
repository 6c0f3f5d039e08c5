// toroid.load / toroid.save: safetensors files <-> Tensors. Writes are atomic
// (temp file, fsync, rename, fsync the folder), so a crash never loses a file.
// Both stream one tensor at a time (read, upload, drop; download, write, drop), so
// files of any size load and save with one tensor's host copy at a time. A path
// ending in ".index.json" is a sharded set (Hugging Face's layout, shard-index.ts).
import fsp from 'node:fs/promises';
import nodePath from 'node:path';
import { randomBytes } from 'node:crypto';
import { getBackend } from '../backends/registry.js';
import { describeValue, rangeError, typeError } from '../errors.js';
import { checkBoolean } from '../validate/checks.js';
import { fromHost } from '../tensor/create.js';
import type { DType, TypedArray } from '../util/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../util/half.js';
import { writeFileAtomic } from './atomic-write.js';
import { encodeHeader, itemBytes, readSafetensorsHeaderSync, withSafetensorsFile, type Entry, type RawTensor, type SafeDType, type TensorSpec } from './safetensors.js';
import { checkShards, isIndexPath, mergeShardMetadata, parseShardIndex, planShards, shardNames, SHARD_SET_KEY } from './shard-index.js';

export interface LoadOptions {
  /** Backend to create the tensors on; defaults to the current one. */
  backend?: string;
  /** BF16 tensors stay bfloat16 (half the memory) instead of widening to float32. Default false. */
  keepDType?: boolean;
}

export interface Loaded {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

export interface SaveOptions {
  /** Storage type for float32 tensors. Default 'F32'. bfloat16 tensors are always written as BF16. */
  floatFormat?: 'F32' | 'F16' | 'BF16';
  /** For a path ending in ".index.json": the most bytes of tensor data per shard. Default 5 GB (Hugging Face's). */
  maxShardBytes?: number;
}

const DEFAULT_SHARD_BYTES = 5_000_000_000;

/**
 * Read a safetensors file. BF16 widens to float32 (or stays bfloat16 with keepDType); F16 widens
 * to float32 (toroid has no float16 dtype on the cpu); I64 narrows to int32 (range-checked).
 */
export async function load(path: string, options: LoadOptions = {}): Promise<Loaded> {
  return loadWhere(path, options, () => true);
}

/**
 * load() of the tensors whose names pass `filter`, each uploaded as it is read. Every header
 * (each shard's, for a sharded set) is validated before the first tensor is read.
 */
export async function loadWhere(path: string, options: LoadOptions, filter: (name: string) => boolean): Promise<Loaded> {
  if (typeof path !== 'string') throw typeError('load', 'path', 'a string', describeValue(path));
  const backend = getBackend(options.backend);
  const keepDType = checkBoolean('load', 'options.keepDType', options.keepDType, false);
  const tensors: Record<string, Tensor> = {};
  try {
    const metadata = await eachHostTensor(path, { float64: backend.supportsDType('float64'), keepDType, reuse: false }, filter, (name, host) => {
      // defineProperty: a tensor named "__proto__" is an entry, not the record's prototype
      Object.defineProperty(tensors, name, { value: fromHost(backend, host.array, host.shape, host.dtype, false), enumerable: true, writable: true, configurable: true });
    });
    return { tensors, metadata };
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
}

/** One tensor of a file on the host, in toroid's dtype. */
export interface HostTensor { array: TypedArray; dtype: DType; shape: number[] }

/**
 * Each tensor the filter takes, as host data read into one buffer reused for every tensor: the
 * array is valid only until `visit` returns (copy it out), so reading a file of any size makes
 * one tensor's worth of host memory, not a tensor's worth of garbage per tensor.
 */
export async function copyEachTensor(path: string, filter: (name: string) => boolean, visit: (name: string, host: HostTensor) => void | Promise<void>): Promise<Record<string, string>> {
  if (typeof path !== 'string') throw typeError('load', 'path', 'a string', describeValue(path));
  return eachHostTensor(path, { float64: true, keepDType: true, reuse: true }, filter, visit);
}

async function eachHostTensor(path: string, how: { float64: boolean; keepDType: boolean; reuse: boolean }, filter: (name: string) => boolean, visit: (name: string, host: HostTensor) => void | Promise<void>): Promise<Record<string, string>> {
  let scratch: ArrayBuffer | undefined;
  const readInto = async (file: string, check: (entries: readonly Entry[]) => void): Promise<Record<string, string>> =>
    withSafetensorsFile(file, 'load', async (header, read) => {
      check(header.entries);
      for (const e of header.entries) {
        if (!filter(e.name)) continue;
        const bytes = e.end - e.begin;
        if (how.reuse && (scratch === undefined || scratch.byteLength < bytes)) scratch = new ArrayBuffer(Math.ceil(bytes / 8) * 8);
        const raw = await read(e, how.reuse ? scratch : undefined);
        const { array, dtype } = toHost(raw, e.name, how.float64, how.keepDType);
        await visit(e.name, { array, dtype, shape: raw.shape });
      }
      return header.metadata;
    });
  if (!isIndexPath(path)) return readInto(path, () => {});
  const { files, metadata } = await shardFiles(path);
  for (const { file, names } of files) {
    // the shard is read again: it must still hold what was checked
    await readInto(file, (entries) => {
      if (entries.length !== names.size || !entries.every((e) => names.has(e.name))) {
        throw rangeError('load', `file ${JSON.stringify(file)}`, 'the tensors its index maps to it', 'other tensors (it changed while it was read?)');
      }
    });
  }
  return metadata;
}

/** What a file's header says of one tensor, in toroid's dtypes (after load's widening). */
export interface TensorInfo { shape: number[]; dtype: DType }

/**
 * A file's (or sharded set's) metadata and tensors (names, shapes, dtypes as load() would make
 * them) from the headers alone: nothing is allocated.
 */
export async function inspect(path: string): Promise<{ metadata: Record<string, string>; tensors: Map<string, TensorInfo> }> {
  if (typeof path !== 'string') throw typeError('load', 'path', 'a string', describeValue(path));
  const { metadata, entries } = isIndexPath(path) ? await shardFiles(path) : readSafetensorsHeaderSync(path, 'load');
  return { metadata, tensors: new Map(entries.map((e) => [e.name, { shape: e.shape.slice(), dtype: loadedDType(e.dtype) }])) };
}

/** The dtype load() makes of a safetensors dtype (without keepDType; F64 stays float64 where the backend has it). */
function loadedDType(raw: SafeDType): DType {
  switch (raw) {
    case 'F32': case 'F16': case 'BF16': return 'float32';
    case 'F64': return 'float64';
    case 'I32': case 'I64': return 'int32';
    case 'U8': case 'BOOL': return 'bool';
  }
}

/** Validate a sharded set (index + every shard's header) before any tensor is read. */
async function shardFiles(indexPath: string): Promise<{ files: Array<{ file: string; names: Set<string> }>; metadata: Record<string, string>; entries: Entry[] }> {
  const index = parseShardIndex(await fsp.readFile(indexPath, 'utf8'), indexPath, 'load');
  const folder = nodePath.dirname(indexPath);
  const headers = index.shards.map((shard) => {
    const file = nodePath.join(folder, shard);
    let header;
    try {
      header = readSafetensorsHeaderSync(file, 'load');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw rangeError('load', `index ${JSON.stringify(indexPath)}`, `shard ${shard} to exist beside it`, 'no such file');
      throw err;
    }
    return { shard, file, entries: header.entries, metadata: header.metadata };
  });
  checkShards(index, headers, indexPath, 'load');
  return {
    files: headers.map((h) => ({ file: h.file, names: index.byShard.get(h.shard)! })),
    metadata: mergeShardMetadata(headers, indexPath, 'load'),
    entries: headers.flatMap((h) => h.entries),
  };
}

function toHost(raw: RawTensor, name: string, float64: boolean, keepBf16: boolean): { array: TypedArray; dtype: DType } {
  switch (raw.dtype) {
    case 'F32': return { array: raw.data as Float32Array, dtype: 'float32' };
    case 'F16': return { array: f16ToF32(raw.data as Uint16Array), dtype: 'float32' };
    case 'BF16': return keepBf16 ? { array: raw.data as Uint16Array, dtype: 'bfloat16' } : { array: bf16ToF32(raw.data as Uint16Array), dtype: 'float32' };
    case 'F64': return float64
      ? { array: raw.data as Float64Array, dtype: 'float64' }
      : { array: Float32Array.from(raw.data as Float64Array), dtype: 'float32' };
    case 'I32': return { array: raw.data as Int32Array, dtype: 'int32' };
    case 'I64': {
      const wide = raw.data as BigInt64Array;
      const narrow = new Int32Array(wide.length);
      for (let i = 0; i < wide.length; i++) {
        const v = wide[i]!;
        if (v < -2147483648n || v > 2147483647n) throw rangeError('load', `tensor '${name}'`, 'I64 values within int32 range', `${v} at index ${i}`);
        narrow[i] = Number(v);
      }
      return { array: narrow, dtype: 'int32' };
    }
    case 'U8': case 'BOOL': return { array: raw.data as Uint8Array, dtype: 'bool' };
  }
}

/**
 * Write tensors (and string metadata) to a safetensors file atomically. A path ending in
 * ".index.json" writes shards of at most options.maxShardBytes first, then the index.
 */
export async function save(path: string, tensors: Record<string, Tensor> | Map<string, Tensor>, metadata: Record<string, string> = {}, options: SaveOptions = {}): Promise<void> {
  if (typeof path !== 'string') throw typeError('save', 'path', 'a string', describeValue(path));
  const entries = tensors instanceof Map ? [...tensors] : tensors !== null && typeof tensors === 'object' ? Object.entries(tensors) : undefined;
  if (entries === undefined) throw typeError('save', 'tensors', 'an object or Map of name -> Tensor', describeValue(tensors));
  const format = options.floatFormat ?? 'F32';
  if (!['F32', 'F16', 'BF16'].includes(format)) throw rangeError('save', 'options.floatFormat', "'F32', 'F16' or 'BF16'", describeValue(format));
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_SHARD_BYTES;
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes < 1) throw rangeError('save', 'options.maxShardBytes', 'a positive integer', describeValue(maxShardBytes));
  const byName = new Map<string, Tensor>();
  const specs: TensorSpec[] = [];
  for (const [name, t] of entries) {
    if (!(t instanceof Tensor)) throw typeError('save', `tensors['${name}']`, 'a Tensor', describeValue(t));
    if (t.isDisposed) throw typeError('save', `tensors['${name}']`, 'a live Tensor', 'a disposed one');
    byName.set(name, t);
    specs.push({ name, dtype: rawDType(t, format), shape: t.shape.slice() });
  }
  if (!isIndexPath(path)) {
    await writeFileAtomic(path, streamFile(specs, byName, metadata, format));
    return;
  }
  // Shards first, each atomic, the index last: a crash leaves the old index (or none), and
  // the shard-set id in every shard and the index shows a set mixed by an interrupted save.
  const shardSet = randomBytes(8).toString('hex');
  const plan = planShards(specs, maxShardBytes);
  const names = shardNames(path, plan.length);
  const folder = nodePath.dirname(path);
  const stale = await previousShards(path);
  const weightMap: Record<string, string> = Object.create(null);
  let totalSize = 0;
  for (let i = 0; i < plan.length; i++) {
    await writeFileAtomic(nodePath.join(folder, names[i]!), streamFile(plan[i]!, byName, { ...metadata, [SHARD_SET_KEY]: shardSet }, format));
    for (const spec of plan[i]!) {
      weightMap[spec.name] = names[i]!;
      totalSize += byteSize(spec);
    }
  }
  const index = { metadata: { total_size: totalSize, [SHARD_SET_KEY]: shardSet }, weight_map: weightMap };
  await writeFileAtomic(path, [new TextEncoder().encode(`${JSON.stringify(index, null, 2)}\n`)]);
  // shards of the previous save that this one no longer uses
  for (const shard of stale) if (!names.includes(shard)) await fsp.rm(nodePath.join(folder, shard), { force: true });
}

/** The shard names an existing valid index at `path` refers to (for removal after a new save), or none. */
async function previousShards(path: string): Promise<string[]> {
  try {
    return parseShardIndex(await fsp.readFile(path, 'utf8'), path, 'save').shards;
  } catch {
    return [];
  }
}

function byteSize(spec: TensorSpec): number {
  return spec.shape.reduce((a, b) => a * b, itemBytes(spec.dtype));
}

/** A file's chunks, produced as written: the header, then each tensor downloaded in turn. */
function* streamFile(specs: readonly TensorSpec[], byName: Map<string, Tensor>, metadata: Record<string, string>, format: 'F32' | 'F16' | 'BF16'): Generator<Uint8Array> {
  yield encodeHeader(specs, metadata, 'save');
  for (const spec of specs) {
    for (const piece of pieces(byName.get(spec.name)!)) {
      const { data } = toRaw(piece.tensor, format);
      if (piece.owned) piece.tensor.dispose();
      yield new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    }
  }
}

// A tensor past this many elements is downloaded a piece at a time, so saving a large
// checkpoint leaves small host arrays to the collector, not a copy of every tensor.
const PIECE_ELEMENTS = 4 * 1024 * 1024;

/** The tensor's elements in row-major order, as consecutive 1-D pieces (the tensor itself when small). */
function* pieces(t: Tensor): Generator<{ tensor: Tensor; owned: boolean }> {
  if (t.size <= PIECE_ELEMENTS) { yield { tensor: t, owned: false }; return; }
  // a flat view of the storage and the backend's narrow kernel: no graph, no scope
  const flat = t.alias([t.size], false);
  try {
    for (let start = 0; start < t.size; start += PIECE_ELEMENTS) {
      yield { tensor: Tensor.fromKernel(t.backend, t.backend.kernels.narrow(flat, 0, start, Math.min(PIECE_ELEMENTS, t.size - start))), owned: true };
    }
  } finally {
    flat.dispose();
  }
}

function rawDType(t: Tensor, format: 'F32' | 'F16' | 'BF16'): SafeDType {
  switch (t.dtype) {
    case 'float32': return format;
    case 'bfloat16': return 'BF16';
    case 'float64': return 'F64';
    case 'int32': return 'I32';
    case 'bool': return 'BOOL';
  }
}

function toRaw(t: Tensor, format: 'F32' | 'F16' | 'BF16'): RawTensor {
  const shape = t.shape.slice();
  const host = t.toTypedArray();
  switch (t.dtype) {
    case 'float32':
      if (format === 'F16') return { dtype: 'F16', shape, data: f32ToF16(host as Float32Array) };
      if (format === 'BF16') return { dtype: 'BF16', shape, data: f32ToBf16(host as Float32Array) };
      return { dtype: 'F32', shape, data: host as Float32Array };
    // bfloat16 is written as it is held (a float format of F16 would round it a second time)
    case 'bfloat16': return { dtype: 'BF16', shape, data: host as Uint16Array };
    case 'float64': return { dtype: 'F64', shape, data: host as Float64Array };
    case 'int32': return { dtype: 'I32', shape, data: host as Int32Array };
    case 'bool': return { dtype: 'BOOL', shape, data: host as Uint8Array };
  }
}
