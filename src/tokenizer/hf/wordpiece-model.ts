// The WordPiece model of a tokenizer.json ("model": { "type": "WordPiece", ... }), as the
// `tokenizers` library applies it (BERT): a word longer than max_input_chars_per_word is
// UNK; otherwise it is cut greedily into the longest vocabulary piece from the left, the
// pieces after the first carrying the continuing-subword prefix ("##"); a word with any
// part not in the vocabulary is UNK as a whole.
import { rangeError } from '../../errors.js';
import type { ModelToken } from './bpe-model.js';

export class WordPieceModel {
  readonly tokens: string[] = [];

  constructor(readonly vocab: Map<string, number>, private readonly unk: string, private readonly prefix: string, private readonly maxChars: number, fn: string) {
    for (const [t, id] of vocab) this.tokens[id] = t;
    if (!vocab.has(unk)) throw rangeError(fn, 'model.unk_token', 'a token of the vocabulary', JSON.stringify(unk));
  }

  tokenize(word: readonly string[]): ModelToken[] {
    if (word.length === 0) return [];
    const unk = (): ModelToken[] => [{ id: this.vocab.get(this.unk)!, start: 0, end: word.length }];
    if (word.length > this.maxChars) return unk();
    const out: ModelToken[] = [];
    let start = 0;
    while (start < word.length) {
      let end = word.length;
      let found = -1;
      while (start < end) {
        let piece = word.slice(start, end).join('');
        if (start > 0) piece = this.prefix + piece;
        const id = this.vocab.get(piece);
        if (id !== undefined) { found = id; break; }
        end--;
      }
      if (found < 0) return unk();
      out.push({ id: found, start, end });
      start = end;
    }
    return out;
  }
}
