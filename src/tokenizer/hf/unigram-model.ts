// The Unigram model of a tokenizer.json ("model": { "type": "Unigram", "vocab": [[piece,
// score], ...], "unk_id", "byte_fallback" }: T5, ALBERT, XLNet), as the `tokenizers`
// library encodes: the best-scoring segmentation of a word (Viterbi over every vocabulary
// piece starting at each character, shortest first, a later candidate replacing the best
// only when strictly better), a character no piece starts with as UNK scored min_score - 10,
// consecutive UNKs fused, then each piece to its id (or, with byte_fallback, a piece not in
// the vocabulary to its <0xXX> byte tokens).
import { rangeError } from '../../errors.js';
import type { ModelToken } from './bpe-model.js';
import { byteTokenIds, utf8 } from './bytes.js';

const UNK_PENALTY = 10;

export class UnigramModel {
  readonly vocab = new Map<string, number>();
  readonly tokens: string[] = [];
  private readonly scores: Float64Array;
  private readonly maxPieceChars: number;
  private readonly unkScore: number;
  private readonly byteIds: Array<number | undefined>;

  constructor(pieces: Array<[string, number]>, private readonly unkId: number | null, private readonly byteFallback: boolean, fn: string) {
    this.scores = new Float64Array(pieces.length);
    let max = 1, min = Infinity;
    pieces.forEach(([p, score], id) => {
      if (!this.vocab.has(p)) this.vocab.set(p, id);
      this.tokens[id] = p;
      this.scores[id] = score;
      max = Math.max(max, Array.from(p).length);
      min = Math.min(min, score);
    });
    this.maxPieceChars = max;
    this.unkScore = (min === Infinity ? 0 : min) - UNK_PENALTY;
    if (unkId !== null && (unkId < 0 || unkId >= pieces.length)) throw rangeError(fn, 'model.unk_id', `an id in [0, ${pieces.length})`, String(unkId));
    this.byteIds = byteTokenIds(this.vocab);
  }

  tokenize(word: readonly string[]): ModelToken[] {
    const n = word.length;
    if (n === 0) return [];
    const best = new Float64Array(n + 1);
    const from = new Int32Array(n + 1).fill(-1);
    const ids = new Int32Array(n + 1);
    for (let s = 0; s < n; s++) {
      if (s > 0 && from[s] < 0) continue;  // unreachable (cannot happen: every char has a way forward)
      const here = best[s]!;
      let single = false;
      let piece = '';
      for (let len = 1; len <= this.maxPieceChars && s + len <= n; len++) {
        piece += word[s + len - 1]!;
        const id = this.vocab.get(piece);
        if (id === undefined) continue;
        const score = here + this.scores[id]!;
        const e = s + len;
        if (from[e] < 0 || score > best[e]!) { best[e] = score; from[e] = s; ids[e] = id; }
        if (len === 1) single = true;
      }
      if (!single) {
        if (this.unkId === null) throw new RangeError(`toroid.HFTokenizer.encode: text must be covered by the vocabulary (the model has no unk_id), got ${JSON.stringify(word[s])}`);
        const score = here + this.unkScore, e = s + 1;
        if (from[e] < 0 || score > best[e]!) { best[e] = score; from[e] = s; ids[e] = this.unkId; }
      }
    }
    // back from the end; consecutive UNKs fuse into one
    const spans: Array<[number, number]> = [];
    let unkRun: [number, number] | null = null;
    for (let e = n; e > 0;) {
      const s = from[e]!;
      if (this.unkId !== null && ids[e] === this.unkId) {
        unkRun = unkRun === null ? [s, e] : [s, unkRun[1]];
      } else {
        if (unkRun !== null) { spans.push(unkRun); unkRun = null; }
        spans.push([s, e]);
      }
      e = s;
    }
    if (unkRun !== null) spans.push(unkRun);
    spans.reverse();
    const out: ModelToken[] = [];
    for (const [s, e] of spans) {
      const piece = word.slice(s, e).join('');
      const id = this.vocab.get(piece);
      if (id !== undefined) { out.push({ id, start: s, end: e }); continue; }
      if (this.byteFallback) {
        const bytes = Array.from(utf8(piece), (b) => this.byteIds[b]);
        if (bytes.every((b) => b !== undefined)) { for (const b of bytes) out.push({ id: b!, start: s, end: e }); continue; }
      }
      if (this.unkId === null) throw new RangeError(`toroid.HFTokenizer.encode: text must be covered by the vocabulary (the model has no unk_id), got ${JSON.stringify(piece)}`);
      out.push({ id: this.unkId, start: s, end: e });
    }
    return out;
  }
}
