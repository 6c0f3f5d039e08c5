// Fixed-size blocks of token ids for language modelling, streamed from a text
// file: each line is tokenized, optionally followed by a separator id, and the
// ids run on across lines and chunks; every `stride` ids a block of `blockSize`
// ids is cut (stride = blockSize: disjoint blocks; use blockSize = context + 1
// and train on block[:-1] -> block[1:]). Memory: the ids not yet emitted, less
// than blockSize plus one line's worth.
//
// `reader.position` is { offset, line, token }: the next block starts at id
// `token` of the line that begins at byte `offset` (the line's ids including
// its separator), `line` lines before it. `lmText(path, { start: position })`
// resumes there, calling tokenize on that line again, so tokenize must be
// deterministic.
import { describeValue, rangeError, typeError } from '../errors.js';
import { parseLineOptions, splitLines } from './line-reader.js';
import { checkBoolean, checkFunction, checkInteger, checkOptions, isPlainObject, MAX_TOKEN_ID } from '../validate/checks.js';

export interface LMTextPosition {
  /** Byte offset of the line where the next block starts. */
  offset: number;
  /** Lines before that line. */
  line: number;
  /** Index of the block's first id among that line's ids (separator included). */
  token: number;
}

export interface LMTextOptions {
  /** Ids per block. */
  blockSize: number;
  /** Line -> token ids (number[] or Int32Array); must be deterministic for resume. */
  tokenize: (line: string, lineNumber: number) => ArrayLike<number>;
  /** Ids between block starts (default blockSize; smaller overlaps blocks). */
  stride?: number;
  /** Id appended after every line (e.g. EOS); default none. */
  separator?: number;
  /** Skip empty lines (no ids, no separator). Default false. */
  skipEmpty?: boolean;
  /** A saved `position`. */
  start?: LMTextPosition;
  /** Read-chunk size in bytes (default 64 KiB). */
  highWaterMark?: number;
  /** Decompress gzip; default: when the path ends in `.gz`. */
  gzip?: boolean;
  /** Longest line accepted, in bytes (default 64 MiB). */
  maxLineBytes?: number;
}

/** Ids taken from one line, with the line's position for resume. */
interface Segment {
  offset: number;
  line: number;
  ids: Int32Array;
  from: number;
}

export class LMTextReader implements AsyncIterable<Int32Array> {
  private pos: LMTextPosition;
  private used = false;
  private held = 0;
  private heldMax = 0;

  /** @internal use lmText() */
  constructor(
    private readonly lineOpts: ReturnType<typeof parseLineOptions>,
    private readonly blockSize: number,
    private readonly stride: number,
    private readonly tokenize: LMTextOptions['tokenize'],
    private readonly separator: number | undefined,
    private readonly skipEmpty: boolean,
    private readonly firstToken: number,
  ) {
    this.pos = { offset: lineOpts.start.offset, line: lineOpts.start.line, token: firstToken };
  }

  /** Where the next block starts. */
  get position(): LMTextPosition {
    return { ...this.pos };
  }

  /** Most ids held at once so far (a check on the memory bound). */
  get maxHeld(): number {
    return this.heldMax;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Int32Array> {
    const fn = 'lmText';
    if (this.used) throw new Error('toroid.lmText: an LMTextReader can be iterated only once; open a new one at reader.position');
    this.used = true;
    const { blockSize, stride } = this;
    const queue: Segment[] = [];
    this.held = 0;
    let offset = this.lineOpts.start.offset;
    let line = this.lineOpts.start.line;
    let first = true;
    for await (const raw of splitLines(this.lineOpts, fn, 'options.start')) {
      const ids = this.tokenizeLine(raw.text, line + 1);
      let from = 0;
      if (first) {
        first = false;
        if (this.firstToken > ids.length) {
          throw rangeError(fn, 'options.start.token', `at most the ${ids.length} ids of line ${line + 1}`, String(this.firstToken));
        }
        from = this.firstToken;
      }
      if (from < ids.length) {
        queue.push({ offset, line, ids, from });
        this.held += ids.length - from;
        this.heldMax = Math.max(this.heldMax, this.held);
      }
      offset = raw.end;
      line++;
      while (this.held >= blockSize) {
        const block = new Int32Array(blockSize);
        let filled = 0;
        for (const seg of queue) {
          const take = Math.min(blockSize - filled, seg.ids.length - seg.from);
          block.set(seg.ids.subarray(seg.from, seg.from + take), filled);
          filled += take;
          if (filled === blockSize) break;
        }
        // advance by stride
        let drop = stride;
        this.held -= stride;
        while (drop > 0) {
          const seg = queue[0]!;
          const n = Math.min(drop, seg.ids.length - seg.from);
          seg.from += n;
          drop -= n;
          if (seg.from === seg.ids.length) queue.shift();
        }
        const head = queue[0];
        this.pos = head === undefined
          ? { offset, line, token: 0 }
          : { offset: head.offset, line: head.line, token: head.from };
        yield block;
      }
    }
    if (first && this.firstToken > 0) {
      throw rangeError(fn, 'options.start.token', 'an id within a line, but the start is the end of the file', String(this.firstToken));
    }
  }

  private tokenizeLine(text: string, lineNumber: number): Int32Array {
    const fn = 'lmText';
    if (this.skipEmpty && text.length === 0) return new Int32Array(0);
    const out = this.tokenize(text, lineNumber);
    if (out === null || typeof out !== 'object' || typeof (out as { length?: unknown }).length !== 'number') {
      throw typeError(fn, `options.tokenize(line ${lineNumber})`, 'an array of token ids or an Int32Array', describeValue(out));
    }
    const n = out.length;
    const sep = this.separator === undefined ? 0 : 1;
    const ids = new Int32Array(n + sep);
    for (let i = 0; i < n; i++) {
      const v = out[i];
      if (typeof v !== 'number') throw typeError(fn, `options.tokenize(line ${lineNumber})[${i}]`, 'a number (token id)', describeValue(v));
      if (!Number.isInteger(v) || v < 0 || v > MAX_TOKEN_ID) throw rangeError(fn, `options.tokenize(line ${lineNumber})[${i}]`, 'an integer token id in [0, 2^31)', String(v));
      ids[i] = v;
    }
    if (sep) ids[n] = this.separator!;
    return ids;
  }
}

/** Stream fixed-size blocks of token ids from a text file for language modelling. */
export function lmText(path: string, options: LMTextOptions): LMTextReader {
  const fn = 'lmText';
  if (options === undefined) throw typeError(fn, 'options', 'an object with blockSize and tokenize', 'undefined');
  const o = checkOptions(fn, options);
  if (o.blockSize === undefined) throw typeError(fn, 'options.blockSize', 'a number', 'undefined');
  const blockSize = checkInteger(fn, 'options.blockSize', o.blockSize, 1);
  const tokenize = checkFunction<LMTextOptions['tokenize']>(fn, 'options.tokenize', o.tokenize);
  const stride = checkInteger(fn, 'options.stride', o.stride, 1, blockSize, blockSize);
  const separator = o.separator === undefined ? undefined : checkInteger(fn, 'options.separator', o.separator, 0, MAX_TOKEN_ID);
  const skipEmpty = checkBoolean(fn, 'options.skipEmpty', o.skipEmpty, false);
  let firstToken = 0;
  let lineStart: unknown;
  if (o.start !== undefined) {
    const s = o.start;
    if (!isPlainObject(s)) throw typeError(fn, 'options.start', 'a position { offset, line, token }', describeValue(s));
    if (s.offset === undefined) throw typeError(fn, 'options.start.offset', 'a number (byte offset)', 'undefined');
    firstToken = checkInteger(fn, 'options.start.token', s.token, 0, undefined, 0);
    lineStart = { offset: s.offset, line: s.line ?? 0 };
  }
  const lineOpts = parseLineOptions(fn, 'path', path, {
    highWaterMark: o.highWaterMark, gzip: o.gzip, maxLineBytes: o.maxLineBytes, ...(lineStart === undefined ? {} : { start: lineStart }),
  });
  return new LMTextReader(lineOpts, blockSize, stride, tokenize, separator, skipEmpty, firstToken);
}
