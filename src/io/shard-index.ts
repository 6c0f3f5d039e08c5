// Sharded safetensors as Hugging Face writes them: shards `model-00001-of-00003.safetensors`
// beside an index `model.safetensors.index.json` holding
//   {"metadata": {"total_size": N}, "weight_map": {tensor name: shard file name}}.
// The index comes from strangers like the files: shard names must be plain names
// in the index's folder, and the map must agree exactly with the shards' headers.
import nodePath from 'node:path';
import { rangeError } from '../errors.js';
import { clip, describeJson, duplicateKey, itemBytes, type Entry, type TensorSpec } from './safetensors.js';

export const INDEX_SUFFIX = '.index.json';

/** Metadata key tying each shard to the index of its save, so a torn save is detected. */
export const SHARD_SET_KEY = 'toroid_shard_set';

export function isIndexPath(path: string): boolean {
  return path.endsWith(INDEX_SUFFIX);
}

export interface ShardIndex {
  /** Distinct shard file names in order of first appearance in the map. */
  shards: string[];
  /** Tensor names mapped to each shard (null prototype: names come from the file). */
  byShard: Map<string, Set<string>>;
  totalSize: number | undefined;
  shardSet: string | undefined;
}

/** `folder/model.safetensors.index.json` -> `folder/model-0000i-of-0000N.safetensors` names. */
export function shardNames(indexPath: string, count: number): string[] {
  let base = nodePath.basename(indexPath).slice(0, -INDEX_SUFFIX.length);
  if (base.endsWith('.safetensors')) base = base.slice(0, -'.safetensors'.length);
  const width = Math.max(5, String(count).length);
  const pad = (i: number): string => String(i).padStart(width, '0');
  return Array.from({ length: count }, (_, i) => `${base}-${pad(i + 1)}-of-${pad(count)}.safetensors`);
}

/** Split tensors, in order, into shards of at most `maxBytes` each (a larger tensor gets a shard to itself). */
export function planShards(specs: readonly TensorSpec[], maxBytes: number): TensorSpec[][] {
  const shards: TensorSpec[][] = [];
  let current: TensorSpec[] = [];
  let bytes = 0;
  for (const spec of specs) {
    const size = spec.shape.reduce((a, b) => a * b, itemBytes(spec.dtype));
    if (current.length > 0 && bytes + size > maxBytes) {
      shards.push(current);
      current = [];
      bytes = 0;
    }
    current.push(spec);
    bytes += size;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

function isPlainShardName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name)
    && name.endsWith('.safetensors') && nodePath.basename(name) === name;
}

/** Parse and validate an index file's text (the shards' contents are checked by checkShards). */
export function parseShardIndex(text: string, indexPath: string, fn: string): ShardIndex {
  const bad = (expected: string, actual: string): RangeError => rangeError(fn, `index ${JSON.stringify(indexPath)}`, expected, actual);
  let index: unknown;
  try {
    index = JSON.parse(text);
  } catch (err) {
    throw bad('valid JSON', clip((err as Error).message));
  }
  if (index === null || typeof index !== 'object' || Array.isArray(index)) throw bad('a JSON object', describeJson(index));
  const duplicate = duplicateKey(text);
  if (duplicate !== undefined) throw bad('an object without duplicate keys', `${JSON.stringify(clip(duplicate))} twice`);
  const top = index as Record<string, unknown>;
  const map = Object.hasOwn(top, 'weight_map') ? top.weight_map : undefined;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw bad('weight_map to be an object of tensor name -> shard file', describeJson(map));
  let totalSize: number | undefined;
  let shardSet: string | undefined;
  if (Object.hasOwn(top, 'metadata') && top.metadata !== null) {
    const meta = top.metadata;
    if (typeof meta !== 'object' || Array.isArray(meta)) throw bad('metadata to be an object', describeJson(meta));
    const m = meta as Record<string, unknown>;
    if (Object.hasOwn(m, 'total_size')) {
      if (!Number.isSafeInteger(m.total_size) || (m.total_size as number) < 0) throw bad('metadata.total_size to be a non-negative integer', describeJson(m.total_size));
      totalSize = m.total_size as number;
    }
    if (Object.hasOwn(m, SHARD_SET_KEY)) {
      if (typeof m[SHARD_SET_KEY] !== 'string') throw bad(`metadata.${SHARD_SET_KEY} to be a string`, describeJson(m[SHARD_SET_KEY]));
      shardSet = m[SHARD_SET_KEY] as string;
    }
  }
  const byShard = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || !isPlainShardName(shard)) {
      throw bad(`weight_map['${clip(name)}'] to be a plain *.safetensors file name in the index's folder`, describeJson(shard));
    }
    let names = byShard.get(shard);
    if (names === undefined) byShard.set(shard, (names = new Set()));
    names.add(name);
  }
  return { shards: [...byShard.keys()], byShard, totalSize, shardSet };
}

/**
 * The shards' validated headers must hold exactly the tensors the map gives them,
 * each tensor in one shard only, the sizes must add up to total_size, and every
 * shard must belong to this index's save when the index names one.
 */
export function checkShards(index: ShardIndex, headers: ReadonlyArray<{ shard: string; entries: readonly Entry[]; metadata: Record<string, string> }>, indexPath: string, fn: string): void {
  const bad = (expected: string, actual: string): RangeError => rangeError(fn, `index ${JSON.stringify(indexPath)}`, expected, actual);
  const owner = new Map<string, string>();
  let total = 0;
  for (const { shard, entries, metadata } of headers) {
    const mapped = index.byShard.get(shard)!;
    for (const e of entries) {
      const previous = owner.get(e.name);
      if (previous !== undefined) throw bad(`tensor '${clip(e.name)}' in one shard`, `it is in ${clip(previous)} and ${clip(shard)}`);
      owner.set(e.name, shard);
      if (!mapped.has(e.name)) throw bad(`weight_map to list tensor '${clip(e.name)}' of shard ${clip(shard)}`, 'it is mapped elsewhere or not at all');
      total += e.end - e.begin;
    }
    const held = new Set(entries.map((e) => e.name));
    for (const name of mapped) {
      if (!held.has(name)) throw bad(`shard ${clip(shard)} to hold tensor '${clip(name)}' (as weight_map says)`, 'no such tensor in it');
    }
    if (index.shardSet !== undefined && metadata[SHARD_SET_KEY] !== index.shardSet) {
      throw bad(`shard ${clip(shard)} to belong to this index's save (${index.shardSet})`, `${describeJson(metadata[SHARD_SET_KEY])} (a save interrupted part way?)`);
    }
  }
  if (index.totalSize !== undefined && index.totalSize !== total) throw bad(`metadata.total_size to equal the shards' ${total} tensor bytes`, `${index.totalSize}`);
}

/** The shards' metadata merged (the shard-set key left out); two shards disagreeing on a key is an error. */
export function mergeShardMetadata(headers: ReadonlyArray<{ shard: string; metadata: Record<string, string> }>, indexPath: string, fn: string): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const { shard, metadata } of headers) {
    for (const [key, value] of Object.entries(metadata)) {
      if (key === SHARD_SET_KEY) continue;
      if (Object.hasOwn(merged, key) && merged[key] !== value) {
        throw rangeError(fn, `index ${JSON.stringify(indexPath)}`, `shards that agree on metadata '${clip(key)}'`, `a different value in ${clip(shard)}`);
      }
      Object.defineProperty(merged, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return merged;
}
