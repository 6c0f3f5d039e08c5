// toroid.serve end to end over loopback: served tokens equal generate()'s (greedy exactly,
// sampling with the same seed), alone and with concurrent clients; streaming (SSE) and JSON;
// text prompts through the checkpoint's tokenizer and stop strings; 400/404/405/413 with the
// field named; 429 when full; a disconnecting client cancels its sequence; a client that
// does not read is dropped without holding the others; /health, /metrics, /v1/models; close().
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as toroid from '../../src/index.js';
import { generateSync } from '../../src/decode/index.js';
import { GPT } from '../../src/nn/gpt.js';
import { serve, type ToroidServer } from '../../src/serve/server.js';
import { BPETokenizer } from '../../src/tokenizer/bpe.js';
import { scaleParams } from '../decode/helpers.js';

const CORPUS = [
  'the cat sat on the mat', 'a dog ran in the park', 'the bird sang a song', 'two men play chess in the sun',
  'a woman reads a book', 'children run on the beach', 'the cat and the dog sleep', 'a man rides a red bike',
];

interface Completion { status: number; body: any; headers: Record<string, string | string[] | undefined> }

async function post(url: string, body: unknown, raw?: string): Promise<Completion> {
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* SSE or plain text */ }
  return { status: res.status, body: parsed, headers: Object.fromEntries(res.headers) };
}

/** A streamed completion: every SSE chunk's parsed data, up to [DONE]. */
async function stream(url: string, body: Record<string, unknown>): Promise<{ chunks: any[]; done: boolean; tokens: number[]; text: string; finish: string | null }> {
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const text = await res.text();
  const events = text.split('\n\n').filter((e) => e.length > 0).map((e) => e.replace(/^data: /, ''));
  const done = events.at(-1) === '[DONE]';
  const chunks = events.filter((e) => e !== '[DONE]').map((e) => JSON.parse(e));
  return {
    chunks, done,
    tokens: chunks.flatMap((c) => c.choices[0].token_ids),
    text: chunks.map((c) => c.choices[0].text).join(''),
    finish: chunks.at(-1)?.choices[0].finish_reason ?? null,
  };
}

const backend = toroid.listBackends().includes('cpu') ? 'cpu' : 'ts';

describe(`toroid.serve [${backend}]`, () => {
  let dir: string;
  let file: string;
  let model: GPT;
  let tok: BPETokenizer;
  let server: ToroidServer;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'toroid-serve-'));
    tok = await BPETokenizer.train(CORPUS, { vocabSize: 48, minFrequency: 1 });
    toroid.manualSeed(81);
    const m = new GPT({ vocabSize: tok.vocabSize, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 }, { backend });
    scaleParams(m, 4, (n) => /wte|wpe|c_attn/.test(n));
    file = path.join(dir, 'tiny-gpt.safetensors');
    await m.save(file, { metadata: { tokenizer: JSON.stringify(tok.toJSON()) } });
    m.dispose();
    model = await GPT.load(file, { backend });
    model.eval();
    server = await serve({ model: file, port: 0, backend, maxBatch: 4, maxQueue: 4, threads: 1 });
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    model?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const want = (prompt: number[], opts: Record<string, unknown>): number[] => Array.from(generateSync(model, [prompt], opts as never)[0]!);

  it('a greedy JSON completion equals generate() token for token, with OpenAI fields and usage', async () => {
    const r = await post(server.url, { prompt: [5, 9, 3], max_tokens: 12, temperature: 0, n: 1, echo: false, logprobs: null, presence_penalty: 0, user: 'u1' });
    expect(r.status).toBe(200);
    const expected = want([5, 9, 3], { maxNewTokens: 12, eos: tok.specialIds.eos });
    expect(r.body.choices[0].token_ids).toEqual(expected);
    expect(r.body).toMatchObject({ object: 'text_completion', model: 'tiny-gpt', usage: { prompt_tokens: 3, completion_tokens: expected.length, total_tokens: 3 + expected.length } });
    expect(r.body.choices[0].text).toBe(tok.decode(expected));
    expect(r.body.choices[0].finish_reason).toBe(expected.length < 12 ? 'stop' : 'length');
  });

  it('8 concurrent streaming clients (greedy and seeded sampling) each get generate()\'s tokens', async () => {
    const reqs: Array<{ prompt: number[]; max_tokens: number; temperature: number; top_k?: number; top_p?: number; seed?: number; stop_token_ids: number[] }> = Array.from({ length: 8 }, (_, i) => ({
      prompt: Array.from({ length: 1 + (i % 5) }, (_, t) => 4 + ((i * 7 + t * 3) % (tok.vocabSize - 4))),
      max_tokens: 6 + i * 2,
      ...(i % 2 === 0 ? { temperature: 0 } : { temperature: 0.8, top_k: i % 4 === 1 ? 5 : 0, top_p: 0.9, seed: 100 + i }),
      stop_token_ids: [],
    }));
    const got = await Promise.all(reqs.map((r) => stream(server.url, r)));
    got.forEach((g, i) => {
      const r = reqs[i]!;
      const opts = r.temperature === 0 ? { maxNewTokens: r.max_tokens, eos: tok.specialIds.eos } : { maxNewTokens: r.max_tokens, eos: tok.specialIds.eos, strategy: 'sample', temperature: r.temperature, topK: r.top_k, topP: r.top_p, seed: r.seed };
      const expected = want(r.prompt, opts);
      expect(g.done).toBe(true);
      expect(g.tokens, `client ${i}`).toEqual(expected);
      expect(g.text).toBe(tok.decode(expected));
      expect(g.finish).toBe(expected.length < r.max_tokens ? 'stop' : 'length');
    });
  });

  it('a text prompt is encoded with the checkpoint\'s tokenizer; a stop string ends the text before it', async () => {
    const prompt = 'the cat';
    const ids = Array.from(tok.encode(prompt));
    const r = await post(server.url, { prompt, max_tokens: 10, temperature: 0 });
    const expected = want(ids, { maxNewTokens: 10, eos: tok.specialIds.eos });
    expect(r.body.choices[0].token_ids).toEqual(expected);
    expect(r.body.usage.prompt_tokens).toBe(ids.length);
    const full = tok.decode(expected);
    const words = full.split(' ');
    if (words.length >= 3) {
      const stop = ` ${words[2]}`;
      const s = await stream(server.url, { prompt, max_tokens: 10, temperature: 0, stop: [stop] });
      expect(s.text).toBe(full.slice(0, full.indexOf(stop)));
      expect(s.finish).toBe('stop');
      expect(s.text.includes(stop)).toBe(false);
    }
  });

  it('bad requests get a 400 naming the field; unknown routes 404, wrong methods 405, big bodies 413', async () => {
    const cases: Array<[unknown, string | null, RegExp]> = [
      [{ prompt: [1, 2], max_tokens: 40 }, 'max_tokens', /at most blockSize - prompt tokens \+ 1 = 31/],
      [{ prompt: Array(40).fill(4) }, 'prompt', /at most blockSize=32 tokens/],
      [{ prompt: [1, 999] }, 'prompt[1]', /a token id in \[0, 48\), got 999/],
      [{ prompt: [1], temperature: -1 }, 'temperature', /\[0, 100\]/],
      [{ prompt: [1], top_p: 0 }, 'top_p', /\(0, 1\]/],
      [{ prompt: [1], n: 2 }, 'n', /neutral value/],
      [{ prompt: [1], beam: 4 }, 'beam', /unknown field "beam"/],
      [{ prompt: ['a', 'b'] }, 'prompt', /one prompt per request/],
      [{ prompt: '' }, 'prompt', /non-empty string/],
      [{ prompt: [1], seed: -3 }, 'seed', /non-negative integer/],
      [{ prompt: [1], stream: 'yes' }, 'stream', /a boolean/],
      [[1, 2], null, /JSON object/],
    ];
    for (const [body, param, message] of cases) {
      const r = await post(server.url, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.param).toBe(param);
      expect(r.body.error.message).toMatch(message);
      expect(r.body.error.type).toBe('invalid_request_error');
    }
    const broken = await post(server.url, null, '{"prompt": [1, 2');
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toMatch(/must be JSON/);
    const big = await post(server.url, null, JSON.stringify({ prompt: 'x'.repeat(2 << 20) }));
    expect(big.status).toBe(413);
    const nf = await fetch(`${server.url}/v2/chat`);
    expect(nf.status).toBe(404);
    expect((await nf.json() as { error: { message: string } }).error.message).toMatch(/routes: POST \/v1\/completions/);
    const wrong = await fetch(`${server.url}/v1/completions`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('/health, /v1/models and /metrics report the server', async () => {
    const h = await (await fetch(`${server.url}/health`)).json() as Record<string, unknown>;
    expect(h).toMatchObject({ status: 'ok', model: 'tiny-gpt', backend, activeSequences: 0, inFlight: 0 });
    const models = await (await fetch(`${server.url}/v1/models`)).json() as { data: unknown[] };
    expect(models.data[0]).toMatchObject({ id: 'tiny-gpt', object: 'model' });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^toroid_active_sequences 0$/m);
    expect(text).toMatch(/^toroid_requests_total\{code="200"\} \d+$/m);
    expect(text).toMatch(/^toroid_requests_total\{code="400"\} \d+$/m);
    expect(text).toMatch(/^toroid_time_to_first_token_seconds\{quantile="0.99"\} [\d.]+$/m);
    expect(Number(/^toroid_generated_tokens_total (\d+)$/m.exec(text)![1])).toBeGreaterThan(0);
  });

  it('a client that disconnects mid-stream cancels its sequence', async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: [4], max_tokens: 31, temperature: 0, stop_token_ids: [], stream: true }), signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await expect.poll(() => server.metrics().requests['499'] ?? 0, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => server.metrics().activeSequences, { timeout: 5000 }).toBe(0);
    expect(server.metrics().inFlight).toBe(0);
  });
});

describe(`toroid.serve limits [${backend}]`, () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'toroid-serve-limits-'));
    toroid.manualSeed(82);
    const m = new GPT({ vocabSize: 40, blockSize: 256, nLayer: 2, nHead: 2, nEmbd: 32, dropout: 0 }, { backend });
    file = path.join(dir, 'ids-only.safetensors');
    await m.save(file);
    m.dispose();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('with maxBatch + maxQueue in flight, the next request gets 429 with Retry-After; without a tokenizer text prompts are a 400', async () => {
    const server = await serve({ model: file, port: 0, backend, maxBatch: 1, maxQueue: 1, threads: 1 });
    try {
      const long = { prompt: [1, 2, 3], max_tokens: 250, temperature: 0 };
      const first = [post(server.url, long), post(server.url, long)];
      await expect.poll(() => server.metrics().inFlight, { timeout: 5000 }).toBe(2);
      const third = await post(server.url, long);
      expect(third.status).toBe(429);
      expect(third.headers['retry-after']).toBe('1');
      expect(third.body.error.type).toBe('overloaded');
      const done = await Promise.all(first);
      expect(done.map((d) => d.status)).toEqual([200, 200]);
      expect(done[0]!.body.choices[0].token_ids.length).toBe(250);
      const text = await post(server.url, { prompt: 'hello' });
      expect(text.status).toBe(400);
      expect(text.body.error.message).toMatch(/no tokenizer/);
      expect(text.body.error.param).toBe('prompt');
    } finally {
      await server.close();
    }
  });

  it('a client that stops reading gets its whole stream when it reads again, and does not hold up the others', async () => {
    const server = await serve({ model: file, port: 0, backend, maxBatch: 4, threads: 1 });
    try {
      const u = new URL(server.url);
      // a raw client that sends the request and reads nothing for a while
      const body: Buffer[] = [];
      const finished = new Promise<string>((resolve, reject) => {
        const req = httpRequest({ host: u.hostname, port: u.port, path: '/v1/completions', method: 'POST', headers: { 'content-type': 'application/json' } });
        req.on('response', (res) => {
          res.pause();
          setTimeout(() => { res.on('data', (c: Buffer) => body.push(c)); res.on('end', () => resolve(Buffer.concat(body).toString('utf8'))); res.resume(); }, 1500);
        });
        req.on('error', reject);
        req.end(JSON.stringify({ prompt: [1], max_tokens: 255, temperature: 0, stream: true }));
      });
      const t0 = performance.now();
      const other = await post(server.url, { prompt: [2, 3], max_tokens: 20, temperature: 0 });
      expect(other.status).toBe(200);
      expect(performance.now() - t0).toBeLessThan(1500);
      const text = await finished;
      const events = text.split('\n\n').filter((e) => e.length > 0);
      expect(events.at(-1)).toBe('data: [DONE]');
      const tokens = events.slice(0, -1).flatMap((e) => JSON.parse(e.slice(6)).choices[0].token_ids);
      expect(tokens.length).toBe(255);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('a Seq2Seq checkpoint is served too: the prompt is the source, its translation equals generate()\'s (JSON and streamed, concurrent)', async () => {
    const tok = await BPETokenizer.trainShared([CORPUS, CORPUS.map((l) => l.split(' ').reverse().join(' '))], { vocabSize: 48, minFrequency: 1 });
    toroid.manualSeed(83);
    const m = new toroid.nn.Seq2SeqTransformer({ srcVocab: tok.vocabSize, tgtVocab: tok.vocabSize, dModel: 16, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 32, dropout: 0, maxLen: 24, pad: 0 }, { backend });
    const s2sFile = path.join(dir, 'translate.safetensors');
    await m.save(s2sFile);
    // the tokenizer travels in the metadata as toroid train writes it
    const { inspect, load, save } = toroid;
    const meta = (await inspect(s2sFile)).metadata;
    const loaded = await load(s2sFile);
    await save(s2sFile, loaded.tensors, { ...meta, tokenizer: JSON.stringify(tok.toJSON()) });
    for (const t of Object.values(loaded.tensors)) t.dispose();
    m.eval();
    const server = await serve({ model: s2sFile, port: 0, backend, maxBatch: 3, threads: 1 });
    try {
      expect(server.model.family).toBe('Seq2SeqTransformer');
      const sources = ['the cat sat on the mat', 'a dog ran', 'two men play chess in the sun', 'the bird'];
      const got = await Promise.all(sources.map((text, i) => (i % 2 === 0 ? post(server.url, { prompt: text, temperature: 0 }) : stream(server.url, { prompt: text, temperature: 0.9, seed: 7 + i, top_k: 6 }))));
      sources.forEach((text, i) => {
        const ids = Array.from(tok.encode(text));
        const opts = i % 2 === 0 ? { maxLen: 24 } : { maxLen: 24, strategy: 'sample' as const, temperature: 0.9, seed: 7 + i, topK: 6 };
        const expected = Array.from(generateSync(m, [ids], opts)[0]!);
        const g = got[i] as { body?: { choices: Array<{ token_ids: number[] }> }; tokens?: number[] };
        expect(i % 2 === 0 ? g.body!.choices[0]!.token_ids : g.tokens, `source ${i}`).toEqual(expected);
      });
      const long = await post(server.url, { prompt: Array(25).fill(5) });
      expect(long.status).toBe(400);
      expect(long.body.error.message).toMatch(/prompt must be at most maxLen=24 tokens/);
    } finally {
      await server.close();
      m.dispose();
    }
  });

  it('close() ends requests in flight with 503 and stops the worker; a missing model file rejects serve()', async () => {
    const server = await serve({ model: file, port: 0, backend, threads: 1 });
    const pending = post(server.url, { prompt: [1], max_tokens: 255, temperature: 0 });
    await expect.poll(() => server.metrics().inFlight, { timeout: 5000 }).toBe(1);
    await server.close();
    const r = await pending.catch((err: Error) => ({ status: 0, body: err.message, headers: {} }));
    expect([0, 503]).toContain(r.status);
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    await expect(serve({ model: path.join(dir, 'missing.safetensors'), port: 0 })).rejects.toThrow(/missing\.safetensors/);
    await expect(serve({ model: file, port: 0, maxBatch: 0 })).rejects.toThrow(/options\.maxBatch must be a positive integer/);
    const bert = new toroid.nn.BertEncoder({ vocabSize: 8, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 8, maxPositionEmbeddings: 8 }, { backend });
    const bertFile = path.join(dir, 'bert.safetensors');
    await bert.save(bertFile);
    bert.dispose();
    await expect(serve({ model: bertFile, port: 0, threads: 1 })).rejects.toThrow(/metadata\.model 'GPT' or 'Seq2SeqTransformer', got metadata\.model "BertEncoder"/);
  });
});
