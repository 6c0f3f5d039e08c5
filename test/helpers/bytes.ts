// Byte helpers for tests that build files by hand.

/** The chunks joined into one fresh Uint8Array (offset 0, its own buffer). */
export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}
