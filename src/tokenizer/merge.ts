// Applying learned BPE merges to one word's symbols, exactly as training did:
// take the present pair of lowest rank, merge every occurrence of it left to
// right, repeat. Two implementations with identical results:
//   - mergeShort: rescans the word after each merge, O(n^2); fastest for the
//     short words of natural text;
//   - mergeLong: a linked list of symbols and a min-heap of (rank, position)
//     with lazy deletion, O(n log n); used past LONG_WORD symbols so that a
//     pathological "word" (a long run of letters without spaces) stays cheap.
//     All positions of one rank are merged before any pair created meanwhile is
//     considered (a created pair can have a lower rank when its token was
//     first made by another merge), which keeps it identical to mergeShort.

/** Pair key: left * PAIR_KEY + right (token ids < 2^24). */
export const PAIR_KEY = 67108864;
/** Words with more symbols than this use mergeLong. */
export const LONG_WORD = 64;

const POS = 536870912; // 2^29: heap key = rank * POS + position

/** Merge in place; returns the new length. `ranks`: pair key -> rank; `result[rank]`: the merged id. */
export function mergeShort(s: number[], ranks: ReadonlyMap<number, number>, result: Int32Array): number {
  let len = s.length;
  while (len > 1) {
    let best = Infinity;
    let at = -1;
    for (let i = 0; i < len - 1; i++) {
      const r = ranks.get(s[i]! * PAIR_KEY + s[i + 1]!);
      if (r !== undefined && r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) break;
    const a = s[at]!;
    const b = s[at + 1]!;
    const c = result[best]!;
    let j = at;
    for (let i = at; i < len;) {
      if (i + 1 < len && s[i] === a && s[i + 1] === b) {
        s[j++] = c;
        i += 2;
      } else {
        s[j++] = s[i++]!;
      }
    }
    len = j;
  }
  return len;
}

/** As mergeShort, in O(n log n). */
export function mergeLong(s: number[], ranks: ReadonlyMap<number, number>, result: Int32Array): number {
  const n = s.length;
  const sym = Int32Array.from(s);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  const heap: number[] = [];
  const rankAt = (p: number): number => {
    const q = next[p]!;
    if (q >= n) return -1;
    return ranks.get(sym[p]! * PAIR_KEY + sym[q]!) ?? -1;
  };
  for (let i = 0; i + 1 < n; i++) {
    const r = rankAt(i);
    if (r >= 0) heapPush(heap, r * POS + i);
  }
  const created: number[] = [];
  while (heap.length > 0) {
    const rank = Math.floor(heap[0]! / POS);
    created.length = 0;
    while (heap.length > 0 && Math.floor(heap[0]! / POS) === rank) {
      const p = heapPop(heap) - rank * POS;
      if (alive[p] === 0 || rankAt(p) !== rank) continue; // stale
      const q = next[p]!;
      sym[p] = result[rank]!;
      alive[q] = 0;
      const after = next[q]!;
      next[p] = after;
      if (after < n) prev[after] = p;
      created.push(p);
      if (prev[p]! >= 0) created.push(prev[p]!);
    }
    for (const p of created) {
      if (alive[p] === 0) continue;
      const r = rankAt(p);
      if (r >= 0) heapPush(heap, r * POS + p);
    }
  }
  let len = 0;
  for (let p = 0; p < n; p = next[p]!) s[len++] = sym[p]!;
  s.length = len;
  return len;
}

/** Merge a word's symbols in place (choosing the implementation by length); returns the new length. */
export function applyMerges(s: number[], ranks: ReadonlyMap<number, number>, result: Int32Array): number {
  return s.length > LONG_WORD ? mergeLong(s, ranks, result) : mergeShort(s, ranks, result);
}

function heapPush(h: number[], v: number): void {
  let i = h.length;
  h.push(v);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]! <= v) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = v;
}

function heapPop(h: number[]): number {
  const top = h[0]!;
  const last = h.pop()!;
  const n = h.length;
  if (n > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && h[r]! < h[l]! ? r : l;
      if (h[m]! >= last) break;
      h[i] = h[m]!;
      i = m;
    }
    h[i] = last;
  }
  return top;
}
