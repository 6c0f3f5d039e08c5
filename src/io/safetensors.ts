// The safetensors format (https://github.com/huggingface/safetensors):
//   u64 little-endian N | N bytes of JSON header | data
// The header maps names to {dtype, shape, data_offsets: [begin, end]} relative to
// the data section, plus an optional "__metadata__" of string -> string.
// Files come from strangers: every header field is checked before any allocation,
// so a hostile file gives a clean error and never an allocation beyond its size.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { describeValue, rangeError, typeError } from '../errors.js';
import { writeFileAtomic, writeFileAtomicSync } from './atomic-write.js';

export type SafeDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'U8' | 'BOOL';
export type RawData = Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

export interface RawTensor {
  dtype: SafeDType;
  shape: number[];
  /** F16 and BF16 hold their raw bits in a Uint16Array. */
  data: RawData;
}

export interface SafetensorsContents {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

/** Header larger than this is refused (the reference implementation uses 100 MB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

const ITEM_BYTES: Record<SafeDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1 };
const ARRAY_OF: Record<SafeDType, new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => RawData> = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array,
  I64: BigInt64Array, I32: Int32Array, U8: Uint8Array, BOOL: Uint8Array,
};

function isSafeDType(value: unknown): value is SafeDType {
  return typeof value === 'string' && Object.hasOwn(ITEM_BYTES, value);
}

/** One tensor of a header: its byte range [begin, end) is relative to the data section. */
export interface Entry { name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }

/** Parse a whole file's bytes. `fn` and `source` name the caller and the file in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = 'buffer', fn = 'load'): SafetensorsContents {
  const bad = badFor(source, fn);
  if (bytes.byteLength < 8) throw bad('at least 8 bytes (the header length)', `${bytes.byteLength} bytes`);
  const n = checkHeaderLength(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true), bytes.byteLength, bad);
  const { entries, metadata } = parseHeader(bytes.subarray(8, 8 + n), bytes.byteLength - 8 - n, bad);
  const tensors = new Map<string, RawTensor>();
  const dataStart = bytes.byteOffset + 8 + n;
  for (const e of entries) {
    // slice() copies into a fresh, aligned buffer the tensor owns.
    const buffer = bytes.buffer.slice(dataStart + e.begin, dataStart + e.end) as ArrayBuffer;
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: new ARRAY_OF[e.dtype](buffer) });
  }
  return { tensors, metadata };
}

type Bad = (expected: string, actual: string) => RangeError;

function badFor(source: string, fn: string): Bad {
  const where = `file ${JSON.stringify(source)}`;
  return (expected, actual) => rangeError(fn, where, expected, actual);
}

/** The header length field checked against the limit and the file's size; returns it as a number. */
function checkHeaderLength(headerLength: bigint, fileBytes: number, bad: Bad): number {
  const available = BigInt(fileBytes - 8);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) throw bad(`a header of at most ${MAX_HEADER_BYTES} bytes`, `${headerLength} bytes`);
  if (headerLength > available) throw bad(`a header length within the file (${available} bytes after the length)`, `${headerLength}`);
  return Number(headerLength);
}

/**
 * Validate a header's JSON bytes against a data section of `dataLength` bytes: every
 * entry well formed, offsets tiling the data exactly. Entries come in header order.
 */
export function parseHeader(headerBytes: Uint8Array, dataLength: number, bad: Bad): { entries: Entry[]; metadata: Record<string, string> } {
  let header: unknown;
  let text: string;
  try {
    // ignoreBOM: a byte order mark stays in the text (and is not JSON), as in the reference reader
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
    header = JSON.parse(text);
  } catch (err) {
    throw bad('a header of valid UTF-8 JSON', clip((err as Error).message));
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw bad('a JSON object header', describeJson(header));
  const duplicate = duplicateKey(text);
  if (duplicate !== undefined) throw bad('a header without duplicate keys', `${JSON.stringify(clip(duplicate))} twice`);

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('__metadata__ to be an object of strings', describeJson(value));
      for (const [key, text] of Object.entries(value as Record<string, unknown>)) {
        if (typeof text !== 'string') throw bad(`__metadata__.${clip(key)} to be a string`, describeJson(text));
        // defineProperty: a key "__proto__" is data here, not the object's prototype
        Object.defineProperty(metadata, key, { value: text, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    entries.push(parseEntry(name, value, bad));
  }

  // Offsets must tile the data section exactly: in range, no overlaps, no holes.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin !== cursor) {
      throw bad(`tensor '${clip(e.name)}' to start at byte ${cursor} of the data (no overlaps or holes)`, `data_offsets [${e.begin},${e.end}]`);
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) throw bad(`tensors to cover the ${dataLength} data bytes`, `${cursor} bytes covered`);
  return { entries, metadata };
}

function parseEntry(name: string, value: unknown, bad: Bad): Entry {
  const tensor = `tensor '${clip(name)}'`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(`${tensor} to be an object`, describeJson(value));
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (!isSafeDType(dtype)) throw bad(`${tensor} dtype to be one of ${Object.keys(ITEM_BYTES).join('|')}`, describeJson(dtype));
  if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
    throw bad(`${tensor} shape to be an array of non-negative integers`, clip(JSON.stringify(shape) ?? 'none'));
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    throw bad(`${tensor} data_offsets to be [begin, end] with 0 <= begin <= end`, clip(JSON.stringify(offsets) ?? 'none'));
  }
  let bytes = ITEM_BYTES[dtype];
  for (const s of shape as number[]) {
    bytes *= s;
    if (!Number.isSafeInteger(bytes)) throw bad(`${tensor} shape to have a representable size`, clip(JSON.stringify(shape)));
  }
  const [begin, end] = offsets as [number, number];
  if (end - begin !== bytes) {
    throw bad(`${tensor} data_offsets to span ${bytes} bytes (${dtype} ${clip(JSON.stringify(shape))})`, `${end - begin} bytes`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** Header text in an error message: at most 80 characters, so a hostile header cannot make a huge message. */
export function clip(text: string): string {
  return text.length <= 80 ? text : `${text.slice(0, 77)}...`;
}

/**
 * describeValue for parsed JSON: never reads properties of the value (a header
 * object may carry its own "constructor" or "toString" keys) and stays short.
 */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'none';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'object') return 'object';
  if (typeof value === 'string') return clip(JSON.stringify(value));
  return `${typeof value} ${clip(String(value))}`;
}

/**
 * The first key that occurs twice in one object of `json` (already known to be
 * valid JSON), or undefined. JSON.parse silently keeps the last duplicate while
 * other readers keep the first; the format forbids duplicates, so refuse them.
 */
export function duplicateKey(json: string): string | undefined {
  const objects: Array<Set<string> | null> = []; // one per open {...} (a key set) or [...] (null)
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x7b) objects.push(new Set());
    else if (c === 0x5b) objects.push(null);
    else if (c === 0x7d || c === 0x5d) objects.pop();
    else if (c === 0x22) {
      let end = i + 1;
      let escaped = false;
      while (json.charCodeAt(end) !== 0x22) {
        if (json.charCodeAt(end) === 0x5c) { escaped = true; end++; }
        end++;
      }
      let next = end + 1;
      while (next < json.length && (json[next] === ' ' || json[next] === '\t' || json[next] === '\n' || json[next] === '\r')) next++;
      const keys = objects[objects.length - 1];
      if (keys && json.charCodeAt(next) === 0x3a) { // a string followed by ':' is a key
        const key = escaped ? (JSON.parse(json.slice(i, end + 1)) as string) : json.slice(i + 1, end);
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end;
    }
  }
  return undefined;
}

/** What a header says of one tensor before its data exists. */
export interface TensorSpec { name: string; dtype: SafeDType; shape: readonly number[] }

export function itemBytes(dtype: SafeDType): number {
  return ITEM_BYTES[dtype];
}

/**
 * The length field and header of a file holding `specs` in this order, data packed
 * back to back, so a writer can stream the data after it one tensor at a time.
 */
export function encodeHeader(specs: readonly TensorSpec[], metadata: Record<string, string> = {}, fn = 'save'): Uint8Array {
  // null prototype: a tensor or metadata key named "__proto__" is an entry, not the object's prototype
  const header: Record<string, unknown> = Object.create(null);
  if (metadata === null || typeof metadata !== 'object') throw typeError(fn, 'metadata', 'an object of strings', describeValue(metadata));
  const meta = Object.entries(metadata);
  for (const [key, text] of meta) {
    if (typeof text !== 'string') throw typeError(fn, `metadata.${key}`, 'a string', describeValue(text));
  }
  if (meta.length > 0) header.__metadata__ = Object.assign(Object.create(null), metadata);
  let offset = 0;
  for (const { name, dtype, shape } of specs) {
    if (name === '__metadata__' || name.length === 0 || Object.hasOwn(header, name)) {
      throw rangeError(fn, 'tensor name', 'non-empty, unique and not "__metadata__"', JSON.stringify(name));
    }
    if (!isSafeDType(dtype)) throw typeError(fn, `tensor '${name}' dtype`, Object.keys(ITEM_BYTES).join('|'), describeValue(dtype));
    const bytes = shape.reduce((a, b) => a * b, ITEM_BYTES[dtype]);
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  let jsonBytes = new TextEncoder().encode(json);
  const padded = Math.ceil(jsonBytes.byteLength / 8) * 8; // keeps the data 8-byte aligned
  json += ' '.repeat(padded - jsonBytes.byteLength);
  jsonBytes = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + jsonBytes.byteLength);
  new DataView(head.buffer).setBigUint64(0, BigInt(jsonBytes.byteLength), true);
  head.set(jsonBytes, 8);
  return head;
}

/** Serialise to the chunks of a file: [length + header, data...]. Data is not copied. */
export function encodeSafetensors(tensors: Map<string, RawTensor>, metadata: Record<string, string> = {}, fn = 'save'): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const specs: TensorSpec[] = [];
  for (const [name, t] of tensors) {
    if (!isSafeDType(t.dtype)) throw typeError(fn, `tensor '${name}' dtype`, Object.keys(ITEM_BYTES).join('|'), describeValue(t.dtype));
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== count || !(t.data instanceof ARRAY_OF[t.dtype])) {
      throw rangeError(fn, `tensor '${name}' data`, `${count} elements of ${t.dtype} for shape ${JSON.stringify(t.shape)}`, describeValue(t.data));
    }
    specs.push({ name, dtype: t.dtype, shape: t.shape });
    chunks.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return [encodeHeader(specs, metadata, fn), ...chunks];
}

// Reading from a file descriptor: the header first (validated as decodeSafetensors
// does), then each tensor into its own buffer at its offset, so no buffer ever holds
// the whole file (Node refuses readFile beyond 2 GiB) and a caller can upload and
// drop each tensor before reading the next.

/** A file whose header has been read and validated; `read` fetches one tensor's data. */
export interface SafetensorsHeader {
  path: string;
  entries: Entry[];
  metadata: Record<string, string>;
  /** Byte position of the data section in the file. */
  dataStart: number;
}

/** Reads at most this many bytes per call (a single read is capped near 2 GiB). */
const READ_CHUNK = 1 << 30;

interface ByteSource { size: number; readAt(buffer: Uint8Array, position: number): number }

function headerFrom(source: ByteSource, path: string, fn: string): SafetensorsHeader {
  const bad = badFor(path, fn);
  if (source.size < 8) throw bad('at least 8 bytes (the header length)', `${source.size} bytes`);
  const lengthField = new Uint8Array(8);
  readFully(source, lengthField, 0, bad);
  const n = checkHeaderLength(new DataView(lengthField.buffer).getBigUint64(0, true), source.size, bad);
  const headerBytes = new Uint8Array(n);
  readFully(source, headerBytes, 8, bad);
  const { entries, metadata } = parseHeader(headerBytes, source.size - 8 - n, bad);
  return { path, entries, metadata, dataStart: 8 + n };
}

function readFully(source: ByteSource, target: Uint8Array, position: number, bad: Bad): void {
  for (let done = 0; done < target.byteLength;) {
    const got = source.readAt(target.subarray(done, done + Math.min(READ_CHUNK, target.byteLength - done)), position + done);
    if (got === 0) throw bad(`${target.byteLength} bytes at byte ${position} (the file changed while it was read?)`, `end of file after ${done}`);
    done += got;
  }
}

function syncSource(fd: number): ByteSource {
  return { size: fs.fstatSync(fd).size, readAt: (buffer, position) => fs.readSync(fd, buffer, 0, buffer.byteLength, position) };
}

/** Open `path`, read and validate its header, and call `body` with it and a reader of one entry's data. */
export function withSafetensorsFileSync<T>(path: string, fn: string, body: (header: SafetensorsHeader, read: (e: Entry) => RawTensor) => T): T {
  const fd = fs.openSync(path, 'r');
  try {
    const source = syncSource(fd);
    const header = headerFrom(source, path, fn);
    const bad = badFor(path, fn);
    return body(header, (e) => {
      const buffer = new ArrayBuffer(e.end - e.begin);
      readFully(source, new Uint8Array(buffer), header.dataStart + e.begin, bad);
      return { dtype: e.dtype, shape: e.shape, data: new ARRAY_OF[e.dtype](buffer) };
    });
  } finally {
    fs.closeSync(fd);
  }
}

/** withSafetensorsFileSync with the tensor reads off the main thread (the header is small and read the same way). */
export async function withSafetensorsFile<T>(path: string, fn: string, body: (header: SafetensorsHeader, read: (e: Entry, scratch?: ArrayBuffer) => Promise<RawTensor>) => Promise<T>): Promise<T> {
  const handle = await fsp.open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const readAt = async (target: Uint8Array, position: number): Promise<void> => {
      for (let done = 0; done < target.byteLength;) {
        const length = Math.min(READ_CHUNK, target.byteLength - done);
        const { bytesRead } = await handle.read(target, done, length, position + done);
        if (bytesRead === 0) throw badFor(path, fn)(`${target.byteLength} bytes at byte ${position} (the file changed while it was read?)`, `end of file after ${done}`);
        done += bytesRead;
      }
    };
    const bad = badFor(path, fn);
    if (size < 8) throw bad('at least 8 bytes (the header length)', `${size} bytes`);
    const lengthField = new Uint8Array(8);
    await readAt(lengthField, 0);
    const n = checkHeaderLength(new DataView(lengthField.buffer).getBigUint64(0, true), size, bad);
    const headerBytes = new Uint8Array(n);
    await readAt(headerBytes, 8);
    const { entries, metadata } = parseHeader(headerBytes, size - 8 - n, bad);
    const header = { path, entries, metadata, dataStart: 8 + n };
    // with a scratch buffer (at least the tensor's bytes) the data is read into it, and the
    // result is a view the caller must be done with before the next read
    return await body(header, async (e, scratch) => {
      const bytes = e.end - e.begin;
      const buffer = scratch ?? new ArrayBuffer(bytes);
      await readAt(new Uint8Array(buffer, 0, bytes), header.dataStart + e.begin);
      return { dtype: e.dtype, shape: e.shape, data: new ARRAY_OF[e.dtype](buffer, 0, bytes / ITEM_BYTES[e.dtype]) };
    });
  } finally {
    await handle.close();
  }
}

/** Just the validated header of a file (for checking a set of shards before reading any data). */
export function readSafetensorsHeaderSync(path: string, fn = 'load'): SafetensorsHeader {
  return withSafetensorsFileSync(path, fn, (header) => header);
}

export async function readSafetensorsFile(path: string, fn = 'load'): Promise<SafetensorsContents> {
  return withSafetensorsFile(path, fn, async (header, read) => {
    const tensors = new Map<string, RawTensor>();
    for (const e of header.entries) tensors.set(e.name, await read(e));
    return { tensors, metadata: header.metadata };
  });
}

export function readSafetensorsFileSync(path: string, fn = 'load'): SafetensorsContents {
  return withSafetensorsFileSync(path, fn, (header, read) => {
    const tensors = new Map<string, RawTensor>();
    for (const e of header.entries) tensors.set(e.name, read(e));
    return { tensors, metadata: header.metadata };
  });
}

export async function writeSafetensorsFile(path: string, tensors: Map<string, RawTensor>, metadata: Record<string, string> = {}, fn = 'save'): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata, fn));
}

export function writeSafetensorsFileSync(path: string, tensors: Map<string, RawTensor>, metadata: Record<string, string> = {}, fn = 'save'): void {
  writeFileAtomicSync(path, encodeSafetensors(tensors, metadata, fn));
}
