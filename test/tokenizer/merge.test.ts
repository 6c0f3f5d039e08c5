// The two merge appliers (src/tokenizer/merge.ts) agree on random words of up
// to 400 symbols; encode handles a very long word.
import { describe, expect, it } from 'vitest';
import { BPETokenizer, pretokenize } from '../../src/tokenizer/index.js';
import { LONG_WORD, mergeLong, mergeShort, PAIR_KEY } from '../../src/tokenizer/merge.js';

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
}

function randomWord(rand: () => number, alphabet: string, min: number, max: number): string {
  const n = min + Math.floor(rand() * (max - min + 1));
  let w = '';
  for (let i = 0; i < n; i++) w += alphabet[Math.floor(rand() * alphabet.length)];
  return w;
}

describe('merge appliers', () => {
  it('mergeShort and mergeLong give identical segmentations', async () => {
    const rand = lcg(7);
    const corpus: string[] = [];
    for (let i = 0; i < 400; i++) {
      const words: string[] = [];
      for (let k = 0; k < 8; k++) words.push(randomWord(rand, 'aabbc', 1, 9));
      corpus.push(words.join(' '));
    }
    const tok = await BPETokenizer.train(corpus, { vocabSize: 400 });
    const json = tok.toJSON();
    const ranks = new Map<number, number>();
    const result = new Int32Array(json.merges.length);
    json.merges.forEach(([l, r], i) => {
      ranks.set(json.vocab[l]! * PAIR_KEY + json.vocab[r]!, i);
      result[i] = json.vocab[l + r]!;
    });
    for (let t = 0; t < 1500; t++) {
      const w = randomWord(rand, 'aabbc', 2, t < 1000 ? 40 : 400);
      const chars = Array.from(w);
      const s = chars.map((c, i) => json.vocab[i === chars.length - 1 ? `${c}</w>` : c]!);
      const a = s.slice();
      const b = s.slice();
      const la = mergeShort(a, ranks, result);
      const lb = mergeLong(b, ranks, result);
      expect(b.slice(0, lb)).toEqual(a.slice(0, la));
    }
  });

  it(`encode handles a word far longer than LONG_WORD (${LONG_WORD}) symbols`, async () => {
    const tok = await BPETokenizer.train(['ab ab abab ababab ab cd x'], { vocabSize: 100, minFrequency: 1 });
    const word = 'ab'.repeat(100_000) + 'c';
    const text = `x ${word} ab`;
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(pretokenize(text).join(' '));
    expect(ids.length).toBeLessThan(word.length / 2 + 3);
    expect(ids.includes(tok.specialIds.unk)).toBe(false);
  });
});
