// toroid.data.readLines, parallelText and lmText on temp files: CRLF, no final
// newline, UTF-8 split across chunk boundaries, gzip, resume from saved
// positions, unequal parallel files, bad arguments.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';

const { readLines, parallelText, lmText } = toroid.data;

let dir = '';
const file = (name: string): string => join(dir, name);

// multi-byte characters everywhere: 2-byte é/ß, 3-byte €/中, 4-byte 😀
const LINES = ['Zwei junge Männer stehen draußen.', '', 'café € 中文 😀😀', 'a', 'la fin sans retour à la ligne 😀'];
const CRLF = LINES.join('\r\n'); // no final newline
const LF = LINES.join('\n') + '\n';

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'toroid-data-'));
  writeFileSync(file('crlf.txt'), CRLF);
  writeFileSync(file('lf.txt'), LF);
  writeFileSync(file('lf.txt.gz'), gzipSync(Buffer.from(LF)));
  writeFileSync(file('bom.txt'), '\ufeffhello\nworld\n');
  writeFileSync(file('empty.txt'), '');
  writeFileSync(file('blank.txt'), '\n\n');
  writeFileSync(file('src.txt'), 'ein Hund\nzwei Katzen\r\ndrei Vögel\nvier Fische');
  writeFileSync(file('tgt.txt'), 'a dog\r\ntwo cats\nthree birds\nfour fish\n');
  writeFileSync(file('tgt.txt.gz'), gzipSync(Buffer.from('a dog\r\ntwo cats\nthree birds\nfour fish\n')));
  writeFileSync(file('short.txt'), 'a dog\ntwo cats\n');
  writeFileSync(file('words.txt'), 'w1 w2 w3\n\nw4\nw5 w6 w7 w8 w9 w10\nw11 w12\nw13');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('data.readLines', () => {
  it('splits LF and CRLF files, keeps empty lines and a final line without newline', async () => {
    expect(await collect(readLines(file('crlf.txt')))).toEqual(LINES);
    expect(await collect(readLines(file('lf.txt')))).toEqual(LINES);
    expect(await collect(readLines(file('empty.txt')))).toEqual([]);
    expect(await collect(readLines(file('blank.txt')))).toEqual(['', '']);
    expect(await collect(readLines(file('bom.txt')))).toEqual(['hello', 'world']);
  });

  it('decodes UTF-8 split across chunk boundaries (highWaterMark 1..7)', async () => {
    for (let hwm = 1; hwm <= 7; hwm++) {
      expect(await collect(readLines(file('crlf.txt'), { highWaterMark: hwm }))).toEqual(LINES);
      expect(await collect(readLines(file('lf.txt.gz'), { highWaterMark: hwm }))).toEqual(LINES);
    }
  });

  it('reads gzip (by extension or option)', async () => {
    expect(await collect(readLines(file('lf.txt.gz')))).toEqual(LINES);
    writeFileSync(file('gz-no-ext'), gzipSync(Buffer.from('x\ny\n')));
    expect(await collect(readLines(file('gz-no-ext'), { gzip: true }))).toEqual(['x', 'y']);
  });

  it('position is a byte offset; resuming from any saved position reads the rest exactly', async () => {
    for (const name of ['crlf.txt', 'lf.txt', 'lf.txt.gz']) {
      const r = readLines(file(name), { highWaterMark: 3 });
      expect(r.position).toEqual({ offset: 0, line: 0 });
      const positions: toroid.data.LinePosition[] = [];
      for await (const _ of r) positions.push(r.position);
      expect(positions.map((p) => p.line)).toEqual([1, 2, 3, 4, 5]);
      expect(positions.at(-1)!.offset).toBe(Buffer.byteLength(name === 'crlf.txt' ? CRLF : LF));
      for (const [k, pos] of positions.entries()) {
        const rest = readLines(file(name), { start: JSON.parse(JSON.stringify(pos)) as toroid.data.LinePosition, highWaterMark: 2 });
        expect(await collect(rest)).toEqual(LINES.slice(k + 1));
        expect(rest.position).toEqual(positions.at(-1));
      }
    }
  });

  it('stops early without leaking and resumes mid-file; { line } alone scans', async () => {
    const r = readLines(file('lf.txt'));
    const got: string[] = [];
    for await (const line of r) {
      got.push(line);
      if (got.length === 2) break;
    }
    expect(await collect(readLines(file('lf.txt'), { start: r.position }))).toEqual(LINES.slice(2));
    const scan = readLines(file('crlf.txt'), { start: { line: 3 }, highWaterMark: 4 });
    expect(await collect(scan)).toEqual(LINES.slice(3));
    expect(scan.position.line).toBe(5);
    expect(await collect(readLines(file('crlf.txt'), { start: { line: 5 } }))).toEqual([]);
  });

  it('rejects a start offset that is not a line start or beyond the file, and a too-long line', async () => {
    await expect(collect(readLines(file('lf.txt'), { start: { offset: 3, line: 0 } }))).rejects.toThrow(/options\.start\.offset must be the start of a line of .*lf\.txt.* \(just after a newline\), got 3/);
    await expect(collect(readLines(file('lf.txt.gz'), { start: { offset: 3, line: 0 } }))).rejects.toThrow(RangeError);
    await expect(collect(readLines(file('lf.txt'), { start: { offset: 10_000, line: 0 } }))).rejects.toThrow(/at most the file size/);
    await expect(collect(readLines(file('lf.txt.gz'), { start: { offset: 10_000, line: 0 } }))).rejects.toThrow(/decompressed bytes/);
    await expect(collect(readLines(file('lf.txt'), { start: { line: 9 } }))).rejects.toThrow(/options\.start\.line must be at most the 5 lines/);
    await expect(collect(readLines(file('lf.txt'), { maxLineBytes: 8, highWaterMark: 4 }))).rejects.toThrow(/maxLineBytes/);
    await expect(collect(readLines(file('missing.txt')))).rejects.toThrow(/ENOENT/);
  });

  it('bad arguments', () => {
    expect(() => readLines(5 as never)).toThrow(/toroid\.readLines: path must be a file path string, got number 5/);
    expect(() => readLines('')).toThrow(RangeError);
    expect(() => readLines(file('lf.txt'), 'x' as never)).toThrow(TypeError);
    expect(() => readLines(file('lf.txt'), { highWaterMark: 0 })).toThrow(RangeError);
    expect(() => readLines(file('lf.txt'), { gzip: 'yes' as never })).toThrow(TypeError);
    expect(() => readLines(file('lf.txt'), { start: 5 as never })).toThrow(TypeError);
    expect(() => readLines(file('lf.txt'), { start: {} })).toThrow(RangeError);
    expect(() => readLines(file('lf.txt'), { start: { offset: -1, line: 0 } })).toThrow(RangeError);
    expect(() => readLines(file('lf.txt'), { maxLineBytes: 1.5 })).toThrow(RangeError);
  });
});

describe('data.parallelText', () => {
  const PAIRS = [['ein Hund', 'a dog'], ['zwei Katzen', 'two cats'], ['drei Vögel', 'three birds'], ['vier Fische', 'four fish']];

  it('yields line-aligned pairs with 1-based line numbers, mixing CRLF/LF/gzip', async () => {
    for (const tgt of ['tgt.txt', 'tgt.txt.gz']) {
      const pairs = await collect(parallelText(file('src.txt'), file(tgt), { highWaterMark: 3 }));
      expect(pairs).toEqual(PAIRS.map(([src, t], i) => ({ src, tgt: t, line: i + 1 })));
    }
  });

  it('errors clearly when one file ends before the other', async () => {
    const err = await collect(parallelText(file('src.txt'), file('short.txt'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/^toroid\.parallelText: srcPath and tgtPath must be line-aligned files with the same number of lines, got ".*short\.txt" ending after line 2 while ".*src\.txt" has a line 3$/);
    await expect(collect(parallelText(file('short.txt'), file('tgt.txt')))).rejects.toThrow(/short\.txt" ending after line 2 while ".*tgt\.txt" has a line 3/);
    await expect(collect(parallelText(file('src.txt'), file('missing.txt')))).rejects.toThrow(/ENOENT/);
  });

  it('resumes from every saved position', async () => {
    const r = parallelText(file('src.txt'), file('tgt.txt.gz'), { highWaterMark: 2 });
    expect(r.position).toEqual({ src: 0, tgt: 0, line: 0 });
    const positions: toroid.data.ParallelPosition[] = [];
    for await (const _ of r) positions.push(r.position);
    for (const [k, pos] of positions.entries()) {
      const rest = await collect(parallelText(file('src.txt'), file('tgt.txt.gz'), { start: pos }));
      expect(rest.map((p) => [p.src, p.tgt])).toEqual(PAIRS.slice(k + 1));
      expect(rest.map((p) => p.line)).toEqual(PAIRS.slice(k + 1).map((_, i) => k + 2 + i));
    }
    const scanned = await collect(parallelText(file('src.txt'), file('tgt.txt'), { start: { line: 2 } }));
    expect(scanned.map((p) => p.line)).toEqual([3, 4]);
  });

  it('bad arguments', () => {
    expect(() => parallelText(1 as never, file('tgt.txt'))).toThrow(/toroid\.parallelText: srcPath must be a file path string/);
    expect(() => parallelText(file('src.txt'), null as never)).toThrow(/tgtPath must be a file path string, got null/);
    expect(() => parallelText(file('src.txt'), file('tgt.txt'), [] as never)).toThrow(TypeError);
    expect(() => parallelText(file('src.txt'), file('tgt.txt'), { start: { src: 0, line: 0 } })).toThrow(/options\.start must be a position with both src and tgt offsets, got only src/);
    expect(() => parallelText(file('src.txt'), file('tgt.txt'), { start: { src: -4, tgt: 0, line: 0 } })).toThrow(RangeError);
    expect(() => parallelText(file('src.txt'), file('tgt.txt'), { start: 'x' as never })).toThrow(TypeError);
    expect(() => parallelText(file('src.txt'), file('tgt.txt'), { highWaterMark: -1 })).toThrow(RangeError);
  });
});

describe('data.lmText', () => {
  const VOCAB = new Map<string, number>();
  const tokenize = (line: string): number[] => line.split(' ').filter((w) => w.length > 0).map((w) => {
    if (!VOCAB.has(w)) VOCAB.set(w, 10 + VOCAB.size);
    return VOCAB.get(w)!;
  });
  const ids = (words: string): number[] => words.split(' ').map((w) => 10 + Number(w.slice(1)) - 1);

  it('cuts fixed-size blocks, carrying ids across lines and chunks', async () => {
    VOCAB.clear();
    for (let i = 1; i <= 13; i++) VOCAB.set(`w${i}`, 9 + i);
    const blocks = await collect(lmText(file('words.txt'), { blockSize: 4, tokenize, highWaterMark: 3 }));
    expect(blocks.every((b) => b instanceof Int32Array && b.length === 4)).toBe(true);
    expect(blocks.map((b) => Array.from(b))).toEqual([ids('w1 w2 w3 w4'), ids('w5 w6 w7 w8'), ids('w9 w10 w11 w12')]);
    // separator after each line (an empty line still gets one), overlapping stride
    const sep = await collect(lmText(file('words.txt'), { blockSize: 3, stride: 2, tokenize, separator: 2 }));
    const stream = [...ids('w1 w2 w3'), 2, 2, ...ids('w4'), 2, ...ids('w5 w6 w7 w8 w9 w10'), 2, ...ids('w11 w12'), 2, ...ids('w13'), 2];
    const expected: number[][] = [];
    for (let s = 0; s + 3 <= stream.length; s += 2) expected.push(stream.slice(s, s + 3));
    expect(sep.map((b) => Array.from(b))).toEqual(expected);
    const skip = await collect(lmText(file('words.txt'), { blockSize: 100, tokenize, separator: 2, skipEmpty: true }));
    expect(skip).toEqual([]);
  });

  it('resumes from every saved position { offset, line, token } and holds less than block + line', async () => {
    for (const [blockSize, stride] of [[4, 4], [3, 2], [1, 1], [5, 3]] as const) {
      const r = lmText(file('words.txt'), { blockSize, stride, tokenize, separator: 2, highWaterMark: 2 });
      const all: number[][] = [];
      const positions: toroid.data.LMTextPosition[] = [];
      for await (const b of r) {
        all.push(Array.from(b));
        positions.push(r.position);
      }
      expect(r.maxHeld).toBeLessThan(blockSize + 7);
      for (const [k, pos] of positions.entries()) {
        const rest = await collect(lmText(file('words.txt'), { blockSize, stride, tokenize, separator: 2, start: JSON.parse(JSON.stringify(pos)) as toroid.data.LMTextPosition }));
        expect(rest.map((b) => Array.from(b))).toEqual(all.slice(k + 1));
      }
    }
  });

  it('checks what tokenize returns and the start token', async () => {
    await expect(collect(lmText(file('words.txt'), { blockSize: 2, tokenize: () => 5 as never }))).rejects.toThrow(/options\.tokenize\(line 1\) must be an array of token ids or an Int32Array, got number 5/);
    await expect(collect(lmText(file('words.txt'), { blockSize: 2, tokenize: () => [1, -1] }))).rejects.toThrow(RangeError);
    await expect(collect(lmText(file('words.txt'), { blockSize: 2, tokenize: () => ['a'] as never }))).rejects.toThrow(TypeError);
    await expect(collect(lmText(file('words.txt'), { blockSize: 2, tokenize, start: { offset: 0, line: 0, token: 9 } }))).rejects.toThrow(/options\.start\.token must be at most the 3 ids of line 1, got 9/);
  });

  it('bad arguments', () => {
    expect(() => lmText(7 as never, { blockSize: 2, tokenize })).toThrow(TypeError);
    expect(() => lmText(file('words.txt'), undefined as never)).toThrow(/toroid\.lmText: options must be an object with blockSize and tokenize, got undefined/);
    expect(() => lmText(file('words.txt'), { tokenize } as never)).toThrow(TypeError);
    expect(() => lmText(file('words.txt'), { blockSize: 0, tokenize })).toThrow(/options\.blockSize must be an integer >= 1, got 0/);
    expect(() => lmText(file('words.txt'), { blockSize: 2, tokenize: 'split' as never })).toThrow(/options\.tokenize must be a function, got "split"/);
    expect(() => lmText(file('words.txt'), { blockSize: 2, tokenize, stride: 3 })).toThrow(/options\.stride must be an integer in \[1, 2\], got 3/);
    expect(() => lmText(file('words.txt'), { blockSize: 2, tokenize, separator: -1 })).toThrow(RangeError);
    expect(() => lmText(file('words.txt'), { blockSize: 2, tokenize, start: { line: 0, token: 0 } as never })).toThrow(TypeError);
    expect(() => lmText(file('words.txt'), { blockSize: 2, tokenize, start: { offset: 0, line: 0, token: -1 } })).toThrow(RangeError);
  });
});
