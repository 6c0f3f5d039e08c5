// The Seq2Seq training batch of seq2seq.bench.ts and cuda.bench.ts (part c), defined once so
// both time the same tokens. bench/peers/prepare.ts builds the same kind of batch from its own
// LCG: passing that as `rand` gives its batch.

export const PAD = 0, BOS = 1, EOS = 2;

/** The two benches' LCG (seed 12345): a draw in [0, n). */
function benchRand(): (n: number) => number {
  let seed = 12345;
  return (n) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
}

/**
 * B random sentences with ragged lengths (PAD at the end), teacher-forced: src [B,S], tgtIn
 * (BOS + words) and tgtOut (words + EOS) [B,T]. Needs S, T >= 12: sources hold 12..S ids,
 * targets 11..T-1 words; word ids start at 3, after the specials.
 */
export function seq2seqBatch(B: number, S: number, T: number, srcVocab: number, tgtVocab: number, rand = benchRand()): { src: Int32Array; tgtIn: Int32Array; tgtOut: Int32Array } {
  const src = new Int32Array(B * S), tgtIn = new Int32Array(B * T), tgtOut = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const ls = 12 + rand(S - 11), lt = 11 + rand(T - 11);
    for (let t = 0; t < ls; t++) src[b * S + t] = 3 + rand(srcVocab - 3);
    const words = Array.from({ length: lt }, () => 3 + rand(tgtVocab - 3));
    tgtIn[b * T] = BOS;
    for (let t = 0; t < lt; t++) {
      if (t + 1 < T) tgtIn[b * T + t + 1] = words[t]!;
      tgtOut[b * T + t] = words[t]!;
    }
    if (lt < T) tgtOut[b * T + lt] = EOS;
  }
  return { src, tgtIn, tgtOut };
}
