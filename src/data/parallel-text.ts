// Two line-aligned files (line N of one translates line N of the other), streamed
// in lockstep: pairs { src, tgt, line } with `line` the 1-based line number. A
// file that ends before the other is a RangeError naming both files and the
// line. `reader.position` is { src, tgt, line }: the byte offsets (of the
// decompressed data for .gz) of the next unread line in each file and the
// number of pairs before it; `parallelText(a, b, { start: position })` resumes
// there without rereading (gzip files are decompressed and skipped).
import { describeValue, rangeError, typeError } from '../errors.js';
import { parseLineOptions, splitLines, type ParsedLineOptions } from './line-reader.js';
import { checkInteger, checkOptions, isPlainObject } from '../validate/checks.js';

export interface ParallelPosition {
  /** Byte offset of the next source line. */
  src: number;
  /** Byte offset of the next target line. */
  tgt: number;
  /** Pairs before it (the next pair is line + 1, 1-based). */
  line: number;
}

export interface ParallelPair {
  src: string;
  tgt: string;
  /** 1-based line number in both files. */
  line: number;
}

export interface ParallelTextOptions {
  /** A saved `position`, or { line } alone (scans both files). */
  start?: Partial<ParallelPosition>;
  /** Read-chunk size in bytes (default 64 KiB). */
  highWaterMark?: number;
  /** Decompress gzip; default: per file, when its path ends in `.gz`. */
  gzip?: boolean;
  /** Longest line accepted, in bytes (default 64 MiB). */
  maxLineBytes?: number;
}

export class ParallelTextReader implements AsyncIterable<ParallelPair> {
  private pos: ParallelPosition;
  private used = false;

  /** @internal use parallelText() */
  constructor(private readonly srcOpts: ParsedLineOptions, private readonly tgtOpts: ParsedLineOptions) {
    this.pos = { src: srcOpts.scanLines ? -1 : srcOpts.start.offset, tgt: tgtOpts.scanLines ? -1 : tgtOpts.start.offset, line: srcOpts.start.line };
  }

  /** { src, tgt, line } of the next pair not yet yielded (offsets -1 before a { line }-only start is scanned). */
  get position(): ParallelPosition {
    return { ...this.pos };
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ParallelPair> {
    const fn = 'parallelText';
    if (this.used) throw new Error('toroid.parallelText: a ParallelTextReader can be iterated only once; open a new one at reader.position');
    this.used = true;
    const scannedSrc = (offset: number): void => { if (this.pos.src < 0) this.pos = { ...this.pos, src: offset }; };
    const scannedTgt = (offset: number): void => { if (this.pos.tgt < 0) this.pos = { ...this.pos, tgt: offset }; };
    const a = splitLines(this.srcOpts, fn, 'options.start', scannedSrc);
    const b = splitLines(this.tgtOpts, fn, 'options.start', scannedTgt);
    let line = this.pos.line;
    try {
      for (;;) {
        const [x, y] = await Promise.all([a.next(), b.next()]);
        if (x.done && y.done) return;
        if (x.done || y.done) {
          const [ended, goesOn] = x.done ? [this.srcOpts.path, this.tgtOpts.path] : [this.tgtOpts.path, this.srcOpts.path];
          throw rangeError(fn, 'srcPath and tgtPath', 'line-aligned files with the same number of lines',
            `${JSON.stringify(ended)} ending after line ${line} while ${JSON.stringify(goesOn)} has a line ${line + 1}`);
        }
        line++;
        this.pos = { src: x.value.end, tgt: y.value.end, line };
        yield { src: x.value.text, tgt: y.value.text, line };
      }
    } finally {
      await Promise.allSettled([a.return(undefined), b.return(undefined)]);
    }
  }
}

/** Stream pairs of lines from two line-aligned text files (UTF-8, LF or CRLF, .gz decompressed). */
export function parallelText(srcPath: string, tgtPath: string, options?: ParallelTextOptions): ParallelTextReader {
  const fn = 'parallelText';
  const o = checkOptions(fn, options);
  const { start, ...rest } = o;
  let srcStart: unknown, tgtStart: unknown;
  if (start !== undefined) {
    if (!isPlainObject(start)) throw typeError(fn, 'options.start', 'a position { src, tgt, line }', describeValue(start));
    const line = checkInteger(fn, 'options.start.line', start.line, 0, undefined, 0);
    if (start.src === undefined && start.tgt === undefined) {
      if (start.line === undefined) throw rangeError(fn, 'options.start', 'a position { src, tgt, line } or { line }', '{}');
      srcStart = tgtStart = { line };
    } else {
      if (start.src === undefined || start.tgt === undefined) {
        throw rangeError(fn, 'options.start', 'a position with both src and tgt offsets', `only ${start.src === undefined ? 'tgt' : 'src'}`);
      }
      srcStart = { offset: checkInteger(fn, 'options.start.src', start.src, 0), line };
      tgtStart = { offset: checkInteger(fn, 'options.start.tgt', start.tgt, 0), line };
    }
  }
  const srcOpts = parseLineOptions(fn, 'srcPath', srcPath, { ...rest, ...(srcStart === undefined ? {} : { start: srcStart }) });
  const tgtOpts = parseLineOptions(fn, 'tgtPath', tgtPath, { ...rest, ...(tgtStart === undefined ? {} : { start: tgtStart }) });
  return new ParallelTextReader(srcOpts, tgtOpts);
}
