// The BPE model of a tokenizer.json ("model": { "type": "BPE", ... }), merging as the
// `tokenizers` library does: a word's characters become symbols (a continuing-subword
// prefix and an end-of-word suffix where set; unknown characters as <0xXX> byte tokens with
// byte_fallback, else UNK, consecutive UNKs fused with fuse_unk), then the pair of lowest
// merge rank is merged, leftmost first among equal ranks, with a queue whose stale entries
// are skipped, until no pair merges. ignore_merges: a word that is itself in the vocabulary
// is one token.
import { rangeError } from '../../errors.js';
import { utf8 } from './bytes.js';

export interface ModelToken {
  id: number;
  /** [start, end) in the word's characters. */
  start: number;
  end: number;
}

export interface BPEModelConfig {
  vocab: Map<string, number>;
  merges: Array<[string, string]>;
  unkToken: string | null;
  continuingSubwordPrefix: string | null;
  endOfWordSuffix: string | null;
  fuseUnk: boolean;
  byteFallback: boolean;
  ignoreMerges: boolean;
}

const PAIR = 16777216; // 2^24: pair key = left * PAIR + right (ids < 2^24)
const CACHE_WORD_CHARS = 64;
const CACHE_ENTRIES = 100_000;

/** A min-heap of (rank, pos, newId), rank first and then pos. */
class MergeQueue {
  private readonly items: number[] = [];  // triples

  get size(): number {
    return this.items.length / 3;
  }

  private less(i: number, j: number): boolean {
    const a = this.items, r = a[i * 3]! - a[j * 3]!;
    return r < 0 || (r === 0 && a[i * 3 + 1]! < a[j * 3 + 1]!);
  }

  private swap(i: number, j: number): void {
    const a = this.items;
    for (let k = 0; k < 3; k++) [a[i * 3 + k], a[j * 3 + k]] = [a[j * 3 + k]!, a[i * 3 + k]!];
  }

  push(rank: number, pos: number, newId: number): void {
    this.items.push(rank, pos, newId);
    let i = this.size - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(out: Int32Array): boolean {
    const n = this.size;
    if (n === 0) return false;
    out[0] = this.items[0]!; out[1] = this.items[1]!; out[2] = this.items[2]!;
    const last = n - 1;
    if (last > 0) {
      this.swap(0, last);
    }
    this.items.length = last * 3;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
    return true;
  }
}

export class BPEModel {
  readonly vocab: Map<string, number>;
  readonly tokens: string[];
  private readonly merges = new Map<number, { rank: number; newId: number }>();
  private readonly cache = new Map<string, ModelToken[]>();
  private readonly byteIds: Array<number | undefined> = [];

  constructor(readonly config: BPEModelConfig, fn: string) {
    this.vocab = config.vocab;
    this.tokens = [];
    for (const [t, id] of config.vocab) this.tokens[id] = t;
    const prefixLen = config.continuingSubwordPrefix?.length ?? 0;
    config.merges.forEach(([a, b], rank) => {
      const ia = this.vocab.get(a), ib = this.vocab.get(b);
      const merged = prefixLen > 0 && b.startsWith(config.continuingSubwordPrefix!) ? a + b.slice(prefixLen) : a + b;
      const inew = this.vocab.get(merged);
      if (ia === undefined || ib === undefined || inew === undefined) {
        throw rangeError(fn, `model.merges[${rank}]`, 'a merge of two vocabulary tokens into a vocabulary token', JSON.stringify(`${a} ${b}`));
      }
      const key = ia * PAIR + ib;
      if (!this.merges.has(key)) this.merges.set(key, { rank, newId: inew });
    });
    if (config.unkToken !== null && !this.vocab.has(config.unkToken)) throw rangeError(fn, 'model.unk_token', 'a token of the vocabulary', JSON.stringify(config.unkToken));
    for (let b = 0; b < 256; b++) this.byteIds[b] = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  }

  /** The tokens of one word (its characters). */
  tokenize(word: readonly string[]): ModelToken[] {
    if (word.length === 0) return [];
    const text = word.join('');
    if (this.config.ignoreMerges) {
      const id = this.vocab.get(text);
      if (id !== undefined) return [{ id, start: 0, end: word.length }];
    }
    const cacheable = word.length <= CACHE_WORD_CHARS;
    if (cacheable) {
      const hit = this.cache.get(text);
      if (hit !== undefined) return hit;
    }
    const out = this.merge(this.symbols(word));
    if (cacheable) {
      if (this.cache.size >= CACHE_ENTRIES) this.cache.clear();
      this.cache.set(text, out);
    }
    return out;
  }

  /** The word's first symbols: one per character, or its byte tokens, or UNK. */
  private symbols(word: readonly string[]): ModelToken[] {
    const { continuingSubwordPrefix: prefix, endOfWordSuffix: suffix, byteFallback, unkToken, fuseUnk } = this.config;
    const out: ModelToken[] = [];
    let unk: ModelToken | null = null;
    const unkId = unkToken === null ? -1 : this.vocab.get(unkToken)!;
    word.forEach((c, i) => {
      let s = c;
      if (i > 0 && prefix !== null) s = prefix + s;
      if (i === word.length - 1 && suffix !== null) s = s + suffix;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        if (unk !== null) { out.push(unk); unk = null; }
        out.push({ id, start: i, end: i + 1 });
        return;
      }
      if (byteFallback) {
        const ids = Array.from(utf8(s), (b) => this.byteIds[b]);
        if (ids.every((x) => x !== undefined)) {
          // (a pending UNK stays pending, as in the library: it is flushed by the next known character)
          for (const b of ids) out.push({ id: b!, start: i, end: i + 1 });
          return;
        }
      }
      if (unkId < 0) return;
      if (unk !== null && fuseUnk) unk.end = i + 1;
      else {
        if (unk !== null) out.push(unk);
        unk = { id: unkId, start: i, end: i + 1 };
      }
    });
    if (unk !== null) out.push(unk);
    return out;
  }

  private merge(symbols: ModelToken[]): ModelToken[] {
    const n = symbols.length;
    if (n < 2) return symbols;
    const ids = Int32Array.from(symbols, (s) => s.id);
    const start = Int32Array.from(symbols, (s) => s.start);
    const end = Int32Array.from(symbols, (s) => s.end);
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const alive = new Uint8Array(n).fill(1);
    const queue = new MergeQueue();
    for (let i = 0; i + 1 < n; i++) {
      const m = this.merges.get(ids[i]! * PAIR + ids[i + 1]!);
      if (m !== undefined) queue.push(m.rank, i, m.newId);
    }
    const top = new Int32Array(3);
    while (queue.pop(top)) {
      const pos = top[1]!, newId = top[2]!;
      if (!alive[pos]) continue;
      const right = next[pos]!;
      if (right < 0) continue;
      // an entry is stale when the pair at pos no longer merges into the same token
      const m = this.merges.get(ids[pos]! * PAIR + ids[right]!);
      if (m === undefined || m.newId !== newId) continue;
      ids[pos] = newId;
      end[pos] = end[right]!;
      alive[right] = 0;
      const after = next[right]!;
      next[pos] = after;
      if (after >= 0) prev[after] = pos;
      const before = prev[pos]!;
      if (before >= 0) {
        const p = this.merges.get(ids[before]! * PAIR + ids[pos]!);
        if (p !== undefined) queue.push(p.rank, before, p.newId);
      }
      if (after >= 0) {
        const q = this.merges.get(ids[pos]! * PAIR + ids[after]!);
        if (q !== undefined) queue.push(q.rank, pos, q.newId);
      }
    }
    const out: ModelToken[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push({ id: ids[i]!, start: start[i]!, end: end[i]! });
    return out;
  }
}
