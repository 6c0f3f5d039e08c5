// The byte <-> character table of byte-level BPE (GPT-2's bytes_to_unicode): every byte
// maps to a printable character, so any UTF-8 byte string is a string of "characters" a
// BPE vocabulary can hold. Printable Latin-1 bytes map to themselves; the others to
// U+0100 onwards, in byte order.

const toChar: string[] = [];
const toByte = new Map<string, number>();
{
  const keep = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const c = String.fromCodePoint(keep(b) ? b : next++);
    toChar[b] = c;
    toByte.set(c, b);
  }
}

const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is text (TextDecoder would drop it)
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** A string's UTF-8 bytes as byte-level characters. */
export function byteLevelChars(text: string): string {
  let out = '';
  for (const b of encoder.encode(text)) out += toChar[b]!;
  return out;
}

/** The byte of a byte-level character, or undefined for any other character. */
export function byteOfChar(c: string): number | undefined {
  return toByte.get(c);
}

/** UTF-8 bytes to text, invalid sequences as U+FFFD (as the Rust side's from_utf8_lossy). */
export function utf8Lossy(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Per byte, the id of its "<0xXX>" token in a vocabulary (byte fallback), or undefined. */
export function byteTokenIds(vocab: ReadonlyMap<string, number>): Array<number | undefined> {
  return Array.from({ length: 256 }, (_, b) => vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
}
