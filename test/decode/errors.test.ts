// Bad arguments: at least five per exported function of toroid.decode (and the cached
// paths added to the nn modules), each a TypeError (wrong type) or RangeError (wrong value
// or shape) in toroid's format `toroid.<fn>: <arg> must be <expected>, got <actual>`.
import { expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import {
  beamSearch, beamSearchWith, generate, generateBeam, generateSync, greedyDecode, indexSelect, KVCache, lengthPenalty, sampleDecode, streamGenerate,
} from '../../src/decode/index.js';
import { describeEachBackend } from '../helpers/backends.js';
import { gpt, ids, NANOGPT, seq2seq } from './helpers.js';

type Ctor = TypeErrorConstructor | RangeErrorConstructor;
const FORMAT = /^toroid\.[\w.]+: \S.* must be .+, got .+$/;

function throwsLike(fn: () => unknown, kind: Ctor, pattern: RegExp): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ${kind.name} matching ${pattern}`).toBeInstanceOf(kind);
  const message = (caught as Error).message;
  expect(message).toMatch(FORMAT);
  expect(message).toMatch(pattern);
}

async function rejectsLike(p: () => Promise<unknown>, kind: Ctor, pattern: RegExp): Promise<void> {
  let caught: unknown = null;
  try {
    await p();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a rejection with a ${kind.name} matching ${pattern}`).toBeInstanceOf(kind);
  expect((caught as Error).message).toMatch(FORMAT);
  expect((caught as Error).message).toMatch(pattern);
}

describeEachBackend('decode: bad arguments', (backend) => {
  const s2s = seq2seq(backend, 71);
  const g = gpt(backend, 72, NANOGPT);
  const src = [[3, 4, 5]];

  it('greedyDecode', () => {
    const fn = /^toroid\.decode\.greedyDecode: /;
    throwsLike(() => greedyDecode(g as never, src), TypeError, /model must be an nn\.Seq2SeqTransformer/);
    throwsLike(() => greedyDecode(s2s, toroid.zeros([1, 3], { backend })), TypeError, /src must be int32 token ids/);
    throwsLike(() => greedyDecode(s2s, []), RangeError, /src must be at least one sequence/);
    throwsLike(() => greedyDecode(s2s, [[3, 99]]), RangeError, /src\[0\]\[1\] must be a token id in \[0, 13\)/);
    throwsLike(() => greedyDecode(s2s, src, { maxLen: 0 }), RangeError, /options\.maxLen must be a positive integer, got 0/);
    throwsLike(() => greedyDecode(s2s, src, { maxLen: 17 }), RangeError, /options\.maxLen must be at most the model's maxLen=16/);
    throwsLike(() => greedyDecode(s2s, src, { bos: 2, eos: 2 }), RangeError, /options must be distinct bos, eos and pad ids/);
    throwsLike(() => greedyDecode(s2s, src, { eos: 11 }), RangeError, /options\.eos must be a token id in \[0, 11\)/);
    throwsLike(() => greedyDecode(s2s, src, { beam: 2 } as never), RangeError, /options must be an object with keys among .* got unknown key 'beam'/);
    throwsLike(() => greedyDecode(s2s, src, 3 as never), TypeError, /options must be an object/);
    throwsLike(() => greedyDecode(s2s, src, { bannedIds: 4 as never }), TypeError, /options\.bannedIds must be an array of token ids, got number 4/);
    throwsLike(() => greedyDecode(s2s, src, { bannedIds: [3, 11] }), RangeError, /options\.bannedIds\[1\] must be a token id in \[0, 11\)/);
    throwsLike(() => greedyDecode(s2s, src, { bannedIds: [2] }), RangeError, /options\.bannedIds\[0\] must be an id other than eos/);
    const mask = toroid.tensor([[0, 0]], { dtype: 'bool', backend });
    throwsLike(() => greedyDecode(s2s, src, { srcKeyPaddingMask: mask }), RangeError, /options\.srcKeyPaddingMask must be bool \[B,S\] = \[1,3\]/);
    mask.dispose();
    expect(fn.test('toroid.decode.greedyDecode: ')).toBe(true);
  });

  it('beamSearch', () => {
    throwsLike(() => beamSearch(g as never, src), TypeError, /model must be an nn\.Seq2SeqTransformer/);
    throwsLike(() => beamSearch(s2s, src, { beam: 0 }), RangeError, /options\.beam must be a positive integer, got 0/);
    throwsLike(() => beamSearch(s2s, src, { beam: 2, nBest: 3 }), RangeError, /options\.nBest must be at most beam=2, got 3/);
    throwsLike(() => beamSearch(s2s, src, { lengthPenalty: Number.NaN }), RangeError, /options\.lengthPenalty must be a finite number, got NaN/);
    throwsLike(() => beamSearch(s2s, src, { lengthPenalty: '0.6' as never }), TypeError, /options\.lengthPenalty must be a finite number/);
    throwsLike(() => beamSearch(s2s, src, { signal: new AbortController().signal } as never), RangeError, /unknown key 'signal'/);
    throwsLike(() => beamSearch(s2s, 'abc' as never), TypeError, /src must be token ids/);
  });

  it('beamSearchWith', () => {
    const step = (p: readonly Int32Array[]): Float64Array => new Float64Array(p.length * 5);
    const ok = { vocabSize: 5, maxLen: 3 };
    throwsLike(() => beamSearchWith('step' as never, ok), TypeError, /step must be a function/);
    throwsLike(() => beamSearchWith(step, { maxLen: 3 } as never), TypeError, /options\.vocabSize must be a positive integer, got undefined/);
    throwsLike(() => beamSearchWith(step, { vocabSize: 5 } as never), TypeError, /options\.maxLen must be a positive integer/);
    throwsLike(() => beamSearchWith(step, { ...ok, beam: 2, nBest: 4 }), RangeError, /options\.nBest must be at most beam=2/);
    throwsLike(() => beamSearchWith(step, { ...ok, eos: 5 }), RangeError, /options\.eos must be a token id in \[0, 5\)/);
    throwsLike(() => beamSearchWith(step, { ...ok, banned: [7] }), RangeError, /options\.banned\[0\] must be a token id/);
    throwsLike(() => beamSearchWith(step, { ...ok, width: 3 } as never), RangeError, /unknown key 'width'/);
    // a step function returning the wrong number of logits
    expect(() => beamSearchWith(() => new Float64Array(3), ok)).toThrow(/toroid\.decode: the step function must return rows x vocabSize = 5 logits, got 3/);
  });

  it('sampleDecode', () => {
    throwsLike(() => sampleDecode(s2s, src, { temperature: 0 }), RangeError, /options\.temperature must be a positive finite number, got 0/);
    throwsLike(() => sampleDecode(s2s, src, { temperature: Infinity }), RangeError, /options\.temperature must be a positive finite number/);
    throwsLike(() => sampleDecode(s2s, src, { topK: -1 }), RangeError, /options\.topK must be a non-negative integer/);
    throwsLike(() => sampleDecode(s2s, src, { topK: 1.5 }), RangeError, /options\.topK must be a non-negative integer/);
    throwsLike(() => sampleDecode(s2s, src, { topP: 0 }), RangeError, /options\.topP must be a number in \(0, 1\], got 0/);
    throwsLike(() => sampleDecode(s2s, src, { topP: 1.5 }), RangeError, /options\.topP must be a number in \(0, 1\]/);
    throwsLike(() => sampleDecode(s2s, src, { seed: -1 }), RangeError, /options\.seed must be a non-negative safe integer, got -1/);
    throwsLike(() => sampleDecode(s2s, src, { seed: '1' as never }), TypeError, /options\.seed must be a non-negative integer/);
    throwsLike(() => sampleDecode(s2s, src, { repetitionPenalty: 'x' as never }), TypeError, /options\.repetitionPenalty must be a positive finite number/);
    throwsLike(() => sampleDecode(null as never, src), TypeError, /model must be an nn\.Seq2SeqTransformer, got null/);
  });

  it('generate (rejects)', async () => {
    await rejectsLike(() => generate({} as never, [1]), TypeError, /^toroid\.decode\.generate: model must be an nn\.GPT or an nn\.Seq2SeqTransformer, got Object/);
    await rejectsLike(() => generate(g, [1, 2]), TypeError, /options\.maxNewTokens must be a positive integer, got undefined/);
    await rejectsLike(() => generate(g, [1, 2], { maxNewTokens: 24 }), RangeError, /options\.maxNewTokens must be at most blockSize - promptLength \+ 1 = 23/);
    await rejectsLike(() => generate(g, [[1, 2], [3]], { maxNewTokens: 2 }), RangeError, /prompt must be sequences of equal length/);
    await rejectsLike(() => generate(g, [1], { maxNewTokens: 2, strategy: 'beam' as never }), RangeError, /options\.strategy must be one of 'greedy', 'sample', got "beam"/);
    await rejectsLike(() => generate(g, [1], { maxNewTokens: 2, temperature: 2 }), RangeError, /options\.temperature must be left out with strategy 'greedy'/);
    await rejectsLike(() => generate(g, [1], { maxNewTokens: 2, signal: {} as never }), TypeError, /options\.signal must be an AbortSignal/);
    await rejectsLike(() => generate(s2s, src, { maxNewTokens: 3 }), RangeError, /unknown key 'maxNewTokens'/);
    await rejectsLike(() => generate(g, [1], { maxNewTokens: 2, maxLen: 3 }), RangeError, /unknown key 'maxLen'/);
  });

  it('generateSync', () => {
    throwsLike(() => generateSync(g, [1], { maxNewTokens: 2, signal: AbortSignal.abort() } as never), RangeError, /^toroid\.decode\.generateSync: options must be an object without signal/);
    throwsLike(() => generateSync(42 as never, [1], { maxNewTokens: 2 }), TypeError, /model must be an nn\.GPT or an nn\.Seq2SeqTransformer/);
    throwsLike(() => generateSync(g, [1], { maxNewTokens: 2, eos: 19 }), RangeError, /options\.eos must be a token id in \[0, 19\)/);
    throwsLike(() => generateSync(g, toroid.zeros([1, 2], { backend }), { maxNewTokens: 2 }), TypeError, /prompt must be int32 token ids \[B,T\]/);
    throwsLike(() => generateSync(g, [1], { maxNewTokens: 2, strategy: 'sample', topK: 1.5 }), RangeError, /options\.topK must be a non-negative integer/);
    throwsLike(() => generateSync(g, [-1], { maxNewTokens: 2 }), RangeError, /prompt\[0\]\[0\] must be a token id in \[0, 19\)/);
    throwsLike(() => generateSync(g, [[]], { maxNewTokens: 2 }), RangeError, /prompt must be non-empty sequences/);
  });

  it('generateBeam (rejects)', async () => {
    await rejectsLike(() => generateBeam(s2s, src, { signal: 'stop' as never }), TypeError, /^toroid\.decode\.generateBeam: options\.signal must be an AbortSignal/);
    await rejectsLike(() => generateBeam(s2s, src, { beam: -1 }), RangeError, /options\.beam must be a positive integer, got -1/);
    await rejectsLike(() => generateBeam(g as never, src), TypeError, /model must be an nn\.Seq2SeqTransformer/);
    await rejectsLike(() => generateBeam(s2s, [[3, 400]]), RangeError, /src\[0\]\[1\] must be a token id/);
    await rejectsLike(() => generateBeam(s2s, src, { strategy: 'beam' } as never), RangeError, /unknown key 'strategy'/);
    await rejectsLike(() => generateBeam(s2s, src, { nBest: 0 }), RangeError, /options\.nBest must be a positive integer, got 0/);
  });

  it('streamGenerate (throws when called, before any work)', () => {
    throwsLike(() => streamGenerate(g, [[1, 2], [3, 4]], { maxNewTokens: 2 }), RangeError, /^toroid\.decode\.streamGenerate: input must be one sequence \(batch size 1\), got 2 sequences/);
    throwsLike(() => streamGenerate(undefined as never, [1]), TypeError, /model must be an nn\.GPT or an nn\.Seq2SeqTransformer, got undefined/);
    throwsLike(() => streamGenerate(g, [1], { maxNewTokens: 0 }), RangeError, /options\.maxNewTokens must be a positive integer, got 0/);
    throwsLike(() => streamGenerate(g, [1], { maxNewTokens: 2, strategy: 1 as never }), TypeError, /options\.strategy must be one of 'greedy', 'sample'/);
    throwsLike(() => streamGenerate(s2s, [3], { beam: 2 } as never), RangeError, /unknown key 'beam'/);
    throwsLike(() => streamGenerate(s2s, [[3], [4]]), RangeError, /input must be one sequence/);
  });

  it('lengthPenalty, indexSelect, KVCache', () => {
    throwsLike(() => lengthPenalty(-1, 0.6), RangeError, /^toroid\.decode\.lengthPenalty: len must be a non-negative finite number, got -1/);
    throwsLike(() => lengthPenalty('3' as never, 0.6), TypeError, /len must be a non-negative number/);
    throwsLike(() => lengthPenalty(Number.NaN, 0.6), RangeError, /len must be/);
    throwsLike(() => lengthPenalty(3, Infinity), RangeError, /alpha must be a finite number, got Infinity/);
    throwsLike(() => lengthPenalty(3, null as never), TypeError, /alpha must be a finite number, got null/);
    expect(lengthPenalty(7, 0.6)).toBeCloseTo(Math.pow(2, 0.6), 14);

    const x = toroid.zeros([3, 2], { backend });
    throwsLike(() => indexSelect([1, 2] as never, [0]), TypeError, /^toroid\.decode\.indexSelect: x must be a Tensor/);
    throwsLike(() => indexSelect(x, [3]), RangeError, /indices\[0\] must be an integer in \[0, 2\], got 3/);
    throwsLike(() => indexSelect(x, []), RangeError, /indices must be a non-empty list of row indices/);
    throwsLike(() => indexSelect(x, [0.5]), RangeError, /indices\[0\] must be an integer/);
    throwsLike(() => indexSelect(x, 'abc' as never), TypeError, /indices must be an Int32Array or an array of row indices/);
    const scalar = toroid.tensor(1, { backend });
    throwsLike(() => indexSelect(scalar, [0]), RangeError, /x must be a tensor of rank >= 1/);

    throwsLike(() => new KVCache(0), RangeError, /^toroid\.decode\.KVCache: numLayers must be a positive integer, got number 0/);
    throwsLike(() => new KVCache('2' as never), RangeError, /numLayers must be a positive integer/);
    const cache = new KVCache(2);
    const kv = { k: toroid.zeros([1, 1, 2, 4], { backend }), v: toroid.zeros([1, 1, 2, 4], { backend }) };
    throwsLike(() => cache.update([kv], 2), RangeError, /^toroid\.decode\.KVCache\.update: next must be an array of 2 \{ k, v \}/);
    throwsLike(() => cache.update([kv, kv], 3), RangeError, /next\[0\] must be keys\/values of 3 positions, got 2/);
    cache.update([kv, { k: toroid.zeros([1, 1, 2, 4], { backend }), v: toroid.zeros([1, 1, 2, 4], { backend }) }], 2);
    throwsLike(() => cache.reorder([1]), RangeError, /^toroid\.decode\.KVCache\.reorder: indices\[0\] must be an integer in \[0, 0\], got 1/);
    throwsLike(() => cache.reorder([]), RangeError, /indices must be a non-empty list/);
    cache.dispose();
    x.dispose();
    scalar.dispose();
  });

  it('Seq2SeqTransformer.decodeCached and GPT.forwardCached', () => {
    const memory = toroid.noGrad(() => s2s.encode(ids(src, backend)));
    const cross = s2s.crossKeyValues(memory);
    const tgt = ids([[1]], backend);
    throwsLike(() => s2s.decodeCached(toroid.zeros([1, 1], { backend }), { offset: 0, self: [null, null], cross }), TypeError, /^toroid\.Seq2SeqTransformer\.decodeCached: tgt must be int32 token ids \[B,T\]/);
    throwsLike(() => s2s.decodeCached(tgt, { offset: 16, self: [null, null], cross }), RangeError, /options\.offset must be an integer in \[0, 15\]/);
    throwsLike(() => s2s.decodeCached(tgt, { offset: 1, self: [null, null], cross }), RangeError, /options\.self\[0\] must be a cache of offset=1 positions, got 0/);
    throwsLike(() => s2s.decodeCached(tgt, { offset: 0, self: [null], cross }), RangeError, /options\.self must be an array of 2 caches/);
    throwsLike(() => s2s.decodeCached(tgt, { offset: 0, self: [null, null], cross: [] }), RangeError, /options\.cross must be an array of 2 cross keys\/values/);
    throwsLike(() => s2s.decodeCached(tgt, { offset: 0, self: [null, null], cross, extra: 1 } as never), RangeError, /unknown key 'extra'/);

    const idx = ids([[1, 2]], backend);
    throwsLike(() => g.forwardCached(toroid.zeros([1, 2], { backend }), { offset: 0 }), TypeError, /^toroid\.GPT\.forwardCached: idx must be int32/);
    throwsLike(() => g.forwardCached(idx, { offset: 23 }), RangeError, /options\.offset must be an integer in \[0, 22\], got 23/);
    throwsLike(() => g.forwardCached(idx, { offset: 0, past: [null] }), RangeError, /options\.past must be an array of 2 caches/);
    throwsLike(() => g.forwardCached(idx, { offset: 1, past: [null, null] }), RangeError, /options\.past\[0\] must be a cache of \[B=1,4,offset=1,8\], got null/);
    throwsLike(() => g.forwardCached(idx, { offset: -1 }), RangeError, /options\.offset must be an integer/);
    throwsLike(() => g.forwardCached(idx, { offset: 0, cache: [] } as never), RangeError, /unknown key 'cache'/);
    for (const kv of cross) { kv.k.dispose(); kv.v.dispose(); }
    for (const t of [memory, tgt, idx]) t.dispose();
  });

  it('MultiheadAttention.projectKeyValue/attendKeyValue and TransformerDecoderLayer.forwardCached', () => {
    toroid.manualSeed(1);
    const mha = new toroid.nn.MultiheadAttention(8, 2, { backend });
    const x = toroid.randn([2, 3, 8], { backend });
    const kv = mha.projectKeyValue(x);
    throwsLike(() => mha.projectKeyValue(toroid.zeros([2, 3, 4], { backend })), RangeError, /^toroid\.MultiheadAttention\.projectKeyValue: key must be float32 \[B,T,E\] with E=8/);
    throwsLike(() => mha.projectKeyValue(x, toroid.zeros([2, 4, 8], { backend })), RangeError, /value must be float32 \[2,3,8\] like key/);
    throwsLike(() => mha.attendKeyValue(x, null as never), TypeError, /^toroid\.MultiheadAttention\.attendKeyValue: kv must be an object \{ k, v \}/);
    throwsLike(() => mha.attendKeyValue(x, { k: kv.k, v: toroid.zeros([2, 2, 2, 4], { backend }) }), RangeError, /kv\.v must be float32 \[2,2,3,4\] like kv\.k/);
    throwsLike(() => mha.attendKeyValue(toroid.zeros([1, 3, 8], { backend }), kv), RangeError, /kv\.k must be float32 \[B,hkv,Tk,d\] with B=1/);
    throwsLike(() => mha.attendKeyValue(x, kv, { isCausal: 'yes' as never }), TypeError, /options\.isCausal must be a boolean, 'top-left' or 'bottom-right'/);
    const badMask = toroid.tensor([[0, 0]], { dtype: 'bool', backend });
    throwsLike(() => mha.attendKeyValue(x, kv, { keyPaddingMask: badMask }), RangeError, /options\.keyPaddingMask must be bool \[B,Tk\] with B=2, Tk=3/);
    // projectSelf + attendProjected (one projection) equal projectKeyValue + attendKeyValue
    const self = mha.projectSelf(x);
    expect(self.kv.k.toFloat32Array()).toEqual(kv.k.toFloat32Array());
    expect(self.kv.v.toFloat32Array()).toEqual(kv.v.toFloat32Array());
    const two = mha.attendKeyValue(x, kv, { isCausal: 'bottom-right' }).toFloat32Array();
    const one = mha.attendProjected(self.q, self.kv, { isCausal: 'bottom-right' }).toFloat32Array();
    one.forEach((y, i) => expect(Math.abs(y - two[i]!)).toBeLessThan(1e-6));
    throwsLike(() => mha.projectSelf(toroid.zeros([2, 3, 4], { backend })), RangeError, /^toroid\.MultiheadAttention\.projectSelf: x must be float32 \[B,T,E\] with E=8/);
    throwsLike(() => mha.attendProjected(x, kv), RangeError, /^toroid\.MultiheadAttention\.attendProjected: q must be float32 \[B,h,Tq,d\] with h=2, d=4/);
    throwsLike(() => mha.attendProjected(self.q, 5 as never), TypeError, /kv must be an object \{ k, v \}/);

    const layer = new toroid.nn.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, backend });
    const cross = layer.crossKeyValue(x);
    throwsLike(() => layer.forwardCached(x, null as never), TypeError, /^toroid\.TransformerDecoderLayer\.forwardCached: cache must be an object \{ self, cross \}/);
    throwsLike(() => layer.forwardCached(toroid.zeros([1, 1, 8], { backend }), { self: null, cross }), RangeError, /cache\.cross\.k must be \[B,h,S,d\] with B=1/);
    throwsLike(() => layer.forwardCached(toroid.zeros([2, 1, 4], { backend }), { self: null, cross }), RangeError, /tgt must be float32 \[B,T,E\] with E=8/);
    throwsLike(() => layer.forwardCached(x, { self: null, cross }, { memoryMask: null } as never), RangeError, /unknown key 'memoryMask'/);
    throwsLike(() => layer.crossKeyValue(toroid.zeros([2, 3], { backend })), RangeError, /^toroid\.TransformerDecoderLayer\.crossKeyValue: memory must be float32 \[B,T,E\]/);
    for (const t of [x, kv.k, kv.v, cross.k, cross.v, badMask]) t.dispose();
    mha.dispose();
    layer.dispose();
  });
});
