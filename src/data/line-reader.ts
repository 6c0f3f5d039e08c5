// Streaming line reader: splits a file's bytes on '\n' chunk by chunk (never
// holding more than one chunk plus the current line), drops a '\r' before the
// '\n' (CRLF files), yields a final line without a newline, and decodes each
// line's bytes as UTF-8 only once the whole line is in hand, so a multi-byte
// character split across chunks decodes correctly ('\n' never occurs inside a
// UTF-8 sequence). A UTF-8 byte-order mark at offset 0 is dropped.
//
// Positions are byte offsets: `reader.position` is { offset, line } of the
// first line not yet yielded, where offset counts bytes from the start of the
// file (of the decompressed data for .gz) and line counts the lines before it.
// `readLines(path, { start: position })` resumes there: a plain file is opened at
// that byte (no rescan), a gzip file is decompressed and the bytes before it
// skipped. Starting from { line } alone scans for that many newlines.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { describeValue, rangeError, typeError } from '../errors.js';
import { checkBoolean, checkInteger, checkOptions, checkPath, isPlainObject } from '../validate/checks.js';

/** A position in a line stream: `offset` bytes and `line` lines precede the next line. */
export interface LinePosition {
  offset: number;
  line: number;
}

export interface ReadLinesOptions {
  /** Where to start: a saved `position` (byte offset and line count), or { line } alone (scans). */
  start?: Partial<LinePosition>;
  /** Read-chunk size in bytes (default 64 KiB). Small values exercise chunk boundaries. */
  highWaterMark?: number;
  /** Decompress gzip; default: when the path ends in `.gz`. */
  gzip?: boolean;
  /** Longest line accepted, in bytes (default 64 MiB): a bound on memory for a file without newlines. */
  maxLineBytes?: number;
}

export interface ParsedLineOptions {
  path: string;
  start: LinePosition;
  /** true when start came as { line } alone: skip that many lines first */
  scanLines: boolean;
  highWaterMark: number;
  gzip: boolean;
  maxLineBytes: number;
}

/** Validate readLines-style options; `fn`/`prefix` name the public function and argument in errors. */
export function parseLineOptions(fn: string, pathArg: string, path: unknown, options: unknown, prefix = 'options'): ParsedLineOptions {
  const p = checkPath(fn, pathArg, path);
  const o = checkOptions(fn, options);
  const highWaterMark = checkInteger(fn, `${prefix}.highWaterMark`, o.highWaterMark, 1, undefined, 65536);
  const gzip = checkBoolean(fn, `${prefix}.gzip`, o.gzip, p.endsWith('.gz'));
  const maxLineBytes = checkInteger(fn, `${prefix}.maxLineBytes`, o.maxLineBytes, 1, undefined, 64 * 1024 * 1024);
  const { start, scanLines } = parseStart(fn, `${prefix}.start`, o.start);
  return { path: p, start, scanLines, highWaterMark, gzip, maxLineBytes };
}

function parseStart(fn: string, arg: string, start: unknown): { start: LinePosition; scanLines: boolean } {
  if (start === undefined) return { start: { offset: 0, line: 0 }, scanLines: false };
  if (!isPlainObject(start)) throw typeError(fn, arg, 'a position { offset, line }', describeValue(start));
  if (start.offset === undefined && start.line === undefined) throw rangeError(fn, arg, 'a position with offset and/or line', '{}');
  const offset = checkInteger(fn, `${arg}.offset`, start.offset, 0, undefined, 0);
  const line = checkInteger(fn, `${arg}.line`, start.line, 0, undefined, 0);
  return { start: { offset, line }, scanLines: start.offset === undefined };
}

function openBytes(opts: ParsedLineOptions): Readable {
  if (!opts.gzip) {
    return createReadStream(opts.path, { start: opts.start.offset, highWaterMark: opts.highWaterMark });
  }
  const file = createReadStream(opts.path, { highWaterMark: Math.max(opts.highWaterMark, 64) });
  const gunzip = createGunzip({ chunkSize: Math.max(opts.highWaterMark, 64) });
  pipeline(file, gunzip, () => { /* errors reach the consumer through gunzip */ });
  return gunzip;
}

/** Check that a plain file's start offset is within it and just after a newline. */
async function checkPlainStart(fn: string, arg: string, path: string, offset: number): Promise<void> {
  if (offset === 0) return;
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (offset > size) throw rangeError(fn, `${arg}.offset`, `at most the file size ${size} of ${JSON.stringify(path)}`, String(offset));
    if (offset === size) return; // the end: nothing left to read
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset - 1);
    if (byte[0] !== 0x0a) throw rangeError(fn, `${arg}.offset`, `the start of a line of ${JSON.stringify(path)} (just after a newline)`, String(offset));
  } finally {
    await handle.close();
  }
}

/** A line's text (without its newline) and the byte offset just past its newline. */
interface RawLine {
  text: string;
  end: number;
}

/**
 * The core splitter: lines of the parsed source from opts.start, each with the
 * byte offset just past it. `fn` names the public function in errors.
 */
export async function* splitLines(opts: ParsedLineOptions, fn: string, arg: string, onScanned?: (offset: number) => void): AsyncGenerator<RawLine> {
  const skipBytes = opts.gzip ? opts.start.offset : 0;
  if (!opts.gzip) await checkPlainStart(fn, arg, opts.path, opts.start.offset);
  const stream = openBytes(opts);
  let lastDropped = 0x0a;
  let base = opts.gzip ? 0 : opts.start.offset; // file offset of chunk[0]
  let skipLines = opts.scanLines ? opts.start.line : 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineStart = opts.start.offset;
  const emit = (bytes: Buffer, end: number): RawLine => {
    let n = bytes.length;
    if (n > 0 && bytes[n - 1] === 0x0d) n--;
    let from = 0;
    if (lineStart === 0 && n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) from = 3;
    const text = bytes.toString('utf8', from, n);
    lineStart = end;
    return { text, end };
  };
  try {
    for await (const raw of stream) {
      let chunk = raw as Buffer;
      // gzip resume: drop decompressed bytes before the start offset
      if (base < skipBytes) {
        const drop = Math.min(chunk.length, skipBytes - base);
        lastDropped = chunk[drop - 1]!;
        base += drop;
        chunk = chunk.subarray(drop);
        if (chunk.length === 0) continue;
      }
      if (lastDropped !== 0x0a) {
        // more data follows the start offset, which must then begin a line
        throw rangeError(fn, `${arg}.offset`, `the start of a line of ${JSON.stringify(opts.path)} (just after a newline)`, String(skipBytes));
      }
      let from = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, from);
        if (nl < 0) break;
        const end = base + nl + 1;
        if (pendingBytes + nl - from > opts.maxLineBytes) throw lineTooLong(fn, opts, lineStart);
        const bytes = pending.length === 0 ? chunk.subarray(from, nl) : Buffer.concat([...pending, chunk.subarray(from, nl)]);
        pending = [];
        pendingBytes = 0;
        from = nl + 1;
        if (skipLines > 0) {
          skipLines--;
          lineStart = end;
          if (skipLines === 0) onScanned?.(end);
          continue;
        }
        yield emit(bytes, end);
      }
      if (from < chunk.length) {
        // copy: the rest must outlive the chunk's buffer
        pending.push(Buffer.from(chunk.subarray(from)));
        pendingBytes += chunk.length - from;
        if (pendingBytes > opts.maxLineBytes) throw lineTooLong(fn, opts, lineStart);
      }
      base += chunk.length;
    }
    if (base < skipBytes) {
      throw rangeError(fn, `${arg}.offset`, `at most the ${base} decompressed bytes of ${JSON.stringify(opts.path)}`, String(skipBytes));
    }
    if (pendingBytes > 0) {
      const bytes = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      if (skipLines > 0) {
        skipLines--;
        lineStart = base;
      } else {
        yield emit(bytes, base);
      }
    }
    if (skipLines > 0) {
      throw rangeError(fn, `${arg}.line`, `at most the ${opts.start.line - skipLines} lines of ${JSON.stringify(opts.path)}`, String(opts.start.line));
    }
    if (opts.scanLines) onScanned?.(lineStart);
  } finally {
    stream.destroy();
  }
}

function lineTooLong(fn: string, opts: ParsedLineOptions, at: number): RangeError {
  return rangeError(fn, 'options.maxLineBytes', `at least the length of every line of ${JSON.stringify(opts.path)}`, `${opts.maxLineBytes} with a longer line at byte ${at}`);
}

/**
 * Lines of a text file, streamed. Iterate once (`for await`); `position` is the
 * resume point after the last line yielded.
 */
export class LineReader implements AsyncIterable<string> {
  private pos: LinePosition;
  private used = false;

  /** @internal use readLines() */
  constructor(private readonly opts: ParsedLineOptions) {
    this.pos = opts.scanLines ? { offset: -1, line: opts.start.line } : { ...opts.start };
  }

  /** { offset, line } of the first line not yet yielded. Before a { line }-only start has been scanned, offset is -1. */
  get position(): LinePosition {
    return { ...this.pos };
  }

  /** The file being read. */
  get path(): string {
    return this.opts.path;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    if (this.used) throw new Error('toroid.readLines: a LineReader can be iterated only once; open a new one at reader.position');
    this.used = true;
    let line = this.opts.start.line;
    const scanned = (offset: number): void => {
      if (this.pos.offset < 0) this.pos = { offset, line: this.pos.line };
    };
    for await (const raw of splitLines(this.opts, 'readLines', 'options.start', scanned)) {
      line++;
      this.pos = { offset: raw.end, line };
      yield raw.text;
    }
  }
}

/** Stream the lines of `path` (UTF-8; '\n' or '\r\n'; .gz decompressed) without loading the file. */
export function readLines(path: string, options?: ReadLinesOptions): LineReader {
  return new LineReader(parseLineOptions('readLines', 'path', path, options));
}
