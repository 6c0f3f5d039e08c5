// The BPE model of a tokenizer.json ("model": { "type": "BPE", ... }), merging as the
// `tokenizers` library does: a word's characters become symbols (a continuing-subword
// prefix and an end-of-word suffix where set; unknown characters as <0xXX> byte tokens with
// byte_fallback, else UNK, consecutive UNKs fused with fuse_unk), then the pair of lowest
// merge rank is merged, leftmost first among equal ranks, with a queue whose stale entries
// are skipped, until no pair merges. ignore_merges: a word that is itself in the vocabulary
// is one token.
import { rangeError } from '../../errors.js';
import { byteTokenIds, utf8 } from './bytes.js';

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


/**
 * A min-heap of (rank, pos) -> newId, rank first and then pos: keys rank * 2^32 + pos in a
 * Float64Array (exact below 2^53), newIds beside them.
 */
class MergeQueue {
  private keys = new Float64Array(64);
  private vals = new Int32Array(64);
  private n = 0;

  clear(): void {
    this.n = 0;
  }

  push(rank: number, pos: number, newId: number): void {
    if (this.n === this.keys.length) {
      const k = new Float64Array(this.n * 2); k.set(this.keys); this.keys = k;
      const v = new Int32Array(this.n * 2); v.set(this.vals); this.vals = v;
    }
    const key = rank * 4294967296 + pos;
    const keys = this.keys, vals = this.vals;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (keys[p]! <= key) break;
      keys[i] = keys[p]!; vals[i] = vals[p]!;
      i = p;
    }
    keys[i] = key; vals[i] = newId;
  }

  /** Pop the least entry into out ([pos, newId]); false when empty. */
  pop(out: Int32Array): boolean {
    if (this.n === 0) return false;
    const keys = this.keys, vals = this.vals;
    out[0] = keys[0]! % 4294967296;
    out[1] = vals[0]!;
    const n = --this.n;
    if (n === 0) return true;
    const key = keys[n]!, val = vals[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1]! < keys[c]!) c++;
      if (keys[c]! >= key) break;
      keys[i] = keys[c]!; vals[i] = vals[c]!;
      i = c;
    }
    keys[i] = key; vals[i] = val;
    return true;
  }
}

/**
 * The merges as an open-addressing table over (left, right) id pairs in typed arrays: a Map
 * keyed by left * 2^24 + right hashes heap numbers, and was most of the encode time.
 */
class PairTable {
  private readonly mask: number;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  readonly rank: Int32Array;
  readonly newId: Int32Array;

  constructor(count: number) {
    let cap = 16;
    while (cap < count * 2) cap *= 2;
    this.mask = cap - 1;
    this.left = new Int32Array(cap).fill(-1);
    this.right = new Int32Array(cap);
    this.rank = new Int32Array(cap);
    this.newId = new Int32Array(cap);
  }

  private slot(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) & this.mask;
  }

  /** The entry of (a, b), or -1. */
  find(a: number, b: number): number {
    for (let i = this.slot(a, b); ; i = (i + 1) & this.mask) {
      const l = this.left[i]!;
      if (l === -1) return -1;
      if (l === a && this.right[i] === b) return i;
    }
  }

  /** Add (a, b) unless present (the first merge of a pair wins, as the library's map). */
  add(a: number, b: number, rank: number, newId: number): void {
    for (let i = this.slot(a, b); ; i = (i + 1) & this.mask) {
      const l = this.left[i]!;
      if (l === a && this.right[i] === b) return;
      if (l === -1) {
        this.left[i] = a; this.right[i] = b; this.rank[i] = rank; this.newId[i] = newId;
        return;
      }
    }
  }
}

export class BPEModel {
  readonly vocab: Map<string, number>;
  readonly tokens: string[];
  private readonly merges: PairTable;
  private readonly queue = new MergeQueue();
  private readonly top = new Int32Array(2);
  private readonly byteIds: Array<number | undefined>;

  constructor(readonly config: BPEModelConfig, fn: string) {
    this.vocab = config.vocab;
    this.tokens = [];
    for (const [t, id] of config.vocab) this.tokens[id] = t;
    const prefixLen = config.continuingSubwordPrefix?.length ?? 0;
    this.merges = new PairTable(config.merges.length);
    config.merges.forEach(([a, b], rank) => {
      const ia = this.vocab.get(a), ib = this.vocab.get(b);
      const merged = prefixLen > 0 && b.startsWith(config.continuingSubwordPrefix!) ? a + b.slice(prefixLen) : a + b;
      const inew = this.vocab.get(merged);
      if (ia === undefined || ib === undefined || inew === undefined) {
        throw rangeError(fn, `model.merges[${rank}]`, 'a merge of two vocabulary tokens into a vocabulary token', JSON.stringify(`${a} ${b}`));
      }
      this.merges.add(ia, ib, rank, inew);
    });
    if (config.unkToken !== null && !this.vocab.has(config.unkToken)) throw rangeError(fn, 'model.unk_token', 'a token of the vocabulary', JSON.stringify(config.unkToken));
    this.byteIds = byteTokenIds(this.vocab);
  }

  /** The tokens of one word (its characters). */
  tokenize(word: readonly string[]): ModelToken[] {
    if (word.length === 0) return [];
    // (words repeat in byte-level text: HFTokenizer caches them with their offsets, one cache)
    if (this.config.ignoreMerges) {
      const id = this.vocab.get(word.join(''));
      if (id !== undefined) return [{ id, start: 0, end: word.length }];
    }
    return this.merge(this.symbols(word));
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
    // plain loops: TypedArray.from with a mapping function is the slow generic path
    const ids = new Int32Array(n), start = new Int32Array(n), end = new Int32Array(n);
    const prev = new Int32Array(n), next = new Int32Array(n), alive = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const sym = symbols[i]!;
      ids[i] = sym.id; start[i] = sym.start; end[i] = sym.end;
      prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; alive[i] = 1;
    }
    const queue = this.queue;
    queue.clear();
    const T = this.merges;
    for (let i = 0; i + 1 < n; i++) {
      const m = T.find(ids[i]!, ids[i + 1]!);
      if (m >= 0) queue.push(T.rank[m]!, i, T.newId[m]!);
    }
    const top = this.top;
    while (queue.pop(top)) {
      const pos = top[0]!, newId = top[1]!;
      if (!alive[pos]) continue;
      const right = next[pos]!;
      if (right < 0) continue;
      // an entry is stale when the pair at pos no longer merges into the same token
      const m = T.find(ids[pos]!, ids[right]!);
      if (m < 0 || T.newId[m] !== newId) continue;
      ids[pos] = newId;
      end[pos] = end[right]!;
      alive[right] = 0;
      const after = next[right]!;
      next[pos] = after;
      if (after >= 0) prev[after] = pos;
      const before = prev[pos]!;
      if (before >= 0) {
        const p = T.find(ids[before]!, ids[pos]!);
        if (p >= 0) queue.push(T.rank[p]!, before, T.newId[p]!);
      }
      if (after >= 0) {
        const q = T.find(ids[pos]!, ids[after]!);
        if (q >= 0) queue.push(T.rank[q]!, pos, T.newId[q]!);
      }
    }
    const out: ModelToken[] = [];
    for (let i = 0; i >= 0; i = next[i]!) out.push({ id: ids[i]!, start: start[i]!, end: end[i]! });
    return out;
  }
}
