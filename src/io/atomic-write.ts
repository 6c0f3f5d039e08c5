// Atomic file replacement: write a temp file in the same folder, fsync it,
// rename over the target, fsync the folder. A crash at any point leaves either
// the old file or the new one, never a torn mix. Chunks may be produced lazily
// (an iterable), so a writer never needs the whole file in memory.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Bytes per write call: one call's length must fit an int32. */
const WRITE_CHUNK = 1 << 30;

function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

export async function writeFileAtomic(target: string, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
  const temp = tempPathFor(target);
  const handle = await fsp.open(temp, 'wx', 0o644);
  try {
    for await (const chunk of chunks) {
      let written = 0;
      while (written < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, written, Math.min(WRITE_CHUNK, chunk.byteLength - written));
        written += bytesWritten;
      }
    }
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await fsp.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fsp.rename(temp, target);
  } catch (err) {
    await fsp.rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(path.dirname(target));
}

export function writeFileAtomicSync(target: string, chunks: Iterable<Uint8Array>): void {
  const temp = tempPathFor(target);
  const fd = fs.openSync(temp, 'wx', 0o644);
  try {
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.byteLength) written += fs.writeSync(fd, chunk, written, Math.min(WRITE_CHUNK, chunk.byteLength - written));
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(temp, target);
  } catch (err) {
    try { fs.closeSync(fd); } catch { /* already closed */ }
    fs.rmSync(temp, { force: true });
    throw err;
  }
  try {
    const dir = fs.openSync(path.dirname(target), 'r');
    try { fs.fsyncSync(dir); } finally { fs.closeSync(dir); }
  } catch { /* some filesystems refuse to fsync a folder; the rename already happened */ }
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch { /* see above */ } finally {
    await handle?.close();
  }
}
