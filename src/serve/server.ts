// toroid.serve: an HTTP server for a GPT or a Seq2Seq checkpoint (for a Seq2Seq model the
// completion's prompt is the source sentence and its text the translation). Decoding runs on a worker thread
// (serve/worker.ts) as one continuous batch; this thread parses requests, tokenizes,
// streams text back and keeps the books, so its event loop stays free.
//
//   POST /v1/completions  OpenAI's completion API (JSON, or server-sent events with stream: true)
//   GET  /v1/models       the one model, as OpenAI lists models
//   GET  /health          200 {"status":"ok",...} while serving, 503 once the worker failed or the server closes
//   GET  /metrics         Prometheus text: active/queued sequences, tokens/s, requests by status, TTFT and between-token quantiles
//
// A request that finds maxBatch + maxQueue sequences in flight gets 429 (Retry-After: 1);
// a client that disconnects cancels its sequence at the next step; one that stops reading
// until maxUnreadBytes are buffered for it is disconnected and its sequence cancelled.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { typeError, rangeError, describeValue } from '../errors.js';
import { BPETokenizer } from '../tokenizer/bpe.js';
import { workerEntry } from '../train/worker-entry.js';
import { checkOptions, checkPositiveInt } from '../validate/checks.js';
import { ApiError, CompletionText, parseCompletionRequest, type CompletionRequest } from './completions.js';
import { MetricsBook, type ServeMetrics } from './metrics.js';
import type { FinishReason, FromWorker, ModelInfo, ServeWorkerConfig, ToWorker } from './protocol.js';

export interface ServeOptions {
  /** A GPT.save or Seq2SeqTransformer.save checkpoint (or toroid train's): safetensors with the config in its metadata. */
  model: string;
  /** A BPETokenizer JSON file (default: the checkpoint's metadata.tokenizer, and sourceTokenizer for a Seq2Seq source; without any, prompts are token ids). */
  tokenizer?: string;
  /** Default 8080; 0 picks a free port (see server.port). */
  port?: number;
  /** Default '127.0.0.1' (loopback only); '0.0.0.0' listens on every interface. */
  host?: string;
  /** Sequences decoded together (default 32). */
  maxBatch?: number;
  /** Sequences that may wait for a place in the batch (default 64); beyond it, 429. */
  maxQueue?: number;
  /** Prompt tokens prefilled per step (default 128): a longer prompt is prefilled in chunks while the batch keeps decoding. */
  prefillBudget?: number;
  /** Largest request body (default 1 MiB); beyond it, 413. */
  maxBodyBytes?: number;
  /** Bytes buffered for a client that does not read before it is dropped (default 1 MiB). */
  maxUnreadBytes?: number;
  /** Backend of the model (default: the best registered). */
  backend?: string;
  /** Kernel threads of the decoding worker (default: the cores less one, at least 1: one core stays with the HTTP thread). */
  threads?: number;
  /** The model's name in responses (default: the file name without extension). */
  modelName?: string;
}

export interface ToroidServer {
  /** http://host:port */
  readonly url: string;
  readonly port: number;
  readonly model: ModelInfo & { name: string };
  metrics(): ServeMetrics;
  /** Stop accepting requests, end the ones in flight (streams get an error event, others 503) and stop the worker. */
  close(): Promise<void>;
}

const OPTION_KEYS = ['model', 'tokenizer', 'port', 'host', 'maxBatch', 'maxQueue', 'prefillBudget', 'maxBodyBytes', 'maxUnreadBytes', 'backend', 'threads', 'modelName'] as const;

/** One sequence being answered: what the worker's events turn into on the wire. */
interface Sink {
  token(token: number, now: number): void;
  finish(reason: FinishReason): void;
  fail(status: number, message: string): void;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      if (size > limit) return;
      size += c.length;
      if (size > limit) {
        // answered at once; the connection closes after the answer (the rest is never read)
        reject(new ApiError(413, `the request body must be at most ${limit} bytes, got more`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export async function serve(options: ServeOptions): Promise<ToroidServer> {
  const fn = 'serve';
  const o = checkOptions(fn, options, OPTION_KEYS);
  if (typeof o.model !== 'string' || o.model.length === 0) throw typeError(fn, 'options.model', 'the path of a GPT or Seq2Seq checkpoint', describeValue(o.model));
  if (o.tokenizer !== undefined && typeof o.tokenizer !== 'string') throw typeError(fn, 'options.tokenizer', 'the path of a BPETokenizer JSON file', describeValue(o.tokenizer));
  const port = o.port === undefined ? 8080 : o.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) throw rangeError(fn, 'options.port', 'an integer in [0, 65535]', describeValue(port));
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string') throw typeError(fn, 'options.host', 'a string', describeValue(host));
  const maxBatch = checkPositiveInt(fn, 'options.maxBatch', o.maxBatch, 32);
  const maxQueue = o.maxQueue === 0 ? 0 : checkPositiveInt(fn, 'options.maxQueue', o.maxQueue, 64);
  const prefillBudget = checkPositiveInt(fn, 'options.prefillBudget', o.prefillBudget, 128);
  const maxBodyBytes = checkPositiveInt(fn, 'options.maxBodyBytes', o.maxBodyBytes, 1 << 20);
  const maxUnreadBytes = checkPositiveInt(fn, 'options.maxUnreadBytes', o.maxUnreadBytes, 1 << 20);
  const threads = o.threads === undefined ? Math.max(1, availableParallelism() - 1) : checkPositiveInt(fn, 'options.threads', o.threads);
  if (o.backend !== undefined && typeof o.backend !== 'string') throw typeError(fn, 'options.backend', 'a backend name', describeValue(o.backend));
  const modelPath = path.resolve(o.model);
  const name = typeof o.modelName === 'string' ? o.modelName : path.basename(modelPath).replace(/\.safetensors$/, '');

  const config: ServeWorkerConfig = { modelPath, maxBatch, prefillBudget, threads, ...(o.backend === undefined ? {} : { backend: o.backend }) };
  const entry = workerEntry(import.meta.url, 'worker');
  const worker = entry.eval === undefined ? new Worker(entry.url, { workerData: config }) : new Worker(entry.eval, { eval: true, workerData: config });
  const send = (m: ToWorker): void => worker.postMessage(m);
  const sinks = new Map<number, Sink>();
  const book = new MetricsBook();
  let nextId = 1;
  let state: 'loading' | 'ready' | 'failed' | 'closed' = 'loading';
  let failure = '';

  const failAll = (status: number, message: string): void => {
    for (const sink of [...sinks.values()]) sink.fail(status, message);
    sinks.clear();
    book.inFlight = 0;
  };

  const info = await new Promise<ModelInfo>((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'ready':
          state = 'ready';
          resolve(m.model);
          break;
        case 'events': {
          const now = performance.now();
          book.active = m.active;
          book.queued = m.queued;
          book.lastStepMs = m.stepMs;
          let tokens = 0;
          for (const e of m.events) {
            const sink = sinks.get(e.id);
            if (e.token !== null) tokens++;
            if (sink === undefined) continue;
            if (e.token !== null) sink.token(e.token, now);
            if (e.finish !== null) sink.finish(e.finish);
          }
          book.tokens(tokens, now);
          break;
        }
        case 'failed':
          for (const id of m.ids) sinks.get(id)?.fail(500, `decoding failed: ${m.message}`);
          break;
        case 'fatal':
          failure = m.message;
          if (state === 'loading') reject(new Error(m.message));
          state = 'failed';
          failAll(503, `the model worker stopped: ${m.message}`);
          break;
      }
    });
    worker.on('error', (err) => {
      failure = err.message;
      if (state === 'loading') reject(err);
      if (state !== 'closed') state = 'failed';
      failAll(503, `the model worker stopped: ${err.message}`);
    });
    worker.on('exit', (code) => {
      if (state === 'loading') reject(new Error(`toroid.serve: the model worker exited with code ${code} while loading`));
      if (state === 'ready') {
        state = 'failed';
        failure = `exited with code ${code}`;
        failAll(503, `the model worker exited with code ${code}`);
      }
    });
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });

  // the output side's tokenizer (a GPT's only one) and the input side's (a Seq2Seq model's source, when separate)
  let tokenizer: BPETokenizer | null = null;
  let inputTokenizer: BPETokenizer | null = null;
  try {
    if (o.tokenizer !== undefined) tokenizer = await BPETokenizer.load(o.tokenizer);
    else if (info.tokenizer !== null) tokenizer = BPETokenizer.fromJSON(JSON.parse(info.tokenizer));
    inputTokenizer = o.tokenizer === undefined && info.sourceTokenizer !== null ? BPETokenizer.fromJSON(JSON.parse(info.sourceTokenizer)) : tokenizer;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  for (const [tok, size, side] of [[tokenizer, info.vocabSize, 'vocabSize'], [inputTokenizer, info.inputVocab, 'input vocabulary']] as const) {
    if (tok !== null && tok.vocabSize > size) {
      await worker.terminate();
      throw rangeError(fn, 'options.tokenizer', `a tokenizer of at most the model's ${side}=${size} tokens`, `${tok.vocabSize} tokens`);
    }
  }
  const limits = { family: info.family, inputVocab: info.inputVocab, vocabSize: info.vocabSize, blockSize: info.blockSize, tokenizer: inputTokenizer };
  const created = Math.floor(Date.now() / 1000);

  const complete = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    let parsed: CompletionRequest;
    try {
      const text = await readBody(req, maxBodyBytes);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new ApiError(400, `the request body must be JSON: ${(err as Error).message}`);
      }
      parsed = parseCompletionRequest(body, limits);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(400, (err as Error).message);
      book.countRequest(e.status);
      if (e.status === 413) {
        res.on('finish', () => req.destroy());
        sendJson(res, 413, e.body(), { connection: 'close' });
      } else {
        sendJson(res, e.status, e.body());
      }
      return;
    }
    if (state !== 'ready') {
      book.countRequest(503);
      sendJson(res, 503, new ApiError(503, `the server is ${state === 'closed' ? 'shutting down' : `unavailable (${failure})`}`, null, 'unavailable').body());
      return;
    }
    if (sinks.size >= maxBatch + maxQueue) {
      book.countRequest(429);
      sendJson(res, 429, new ApiError(429, `too many requests in flight (${sinks.size} of ${maxBatch + maxQueue}: maxBatch ${maxBatch} + maxQueue ${maxQueue}); retry later`, null, 'overloaded').body(), { 'retry-after': '1' });
      return;
    }
    const id = nextId++;
    const cid = `cmpl-${created.toString(36)}${id.toString(36)}`;
    const text = new CompletionText(tokenizer, parsed.stops);
    let last = started;
    let ended = false;
    let full = '';
    const chunk = (delta: string, finish: string | null, ids: number[]): string =>
      `data: ${JSON.stringify({ id: cid, object: 'text_completion', created, model: name, choices: [{ text: delta, index: 0, logprobs: null, finish_reason: finish, token_ids: ids }] })}\n\n`;
    const end = (): void => {
      ended = true;
      sinks.delete(id);
      book.inFlight = sinks.size;
    };
    const done = (reason: 'stop' | 'length'): void => {
      end();
      book.countRequest(200);
      const tail = text.flush();
      full += tail;
      if (parsed.stream) {
        if (!res.writableEnded) res.end(`${chunk(tail, reason, [])}data: [DONE]\n\n`);
      } else {
        sendJson(res, 200, JSON.stringify({
          id: cid, object: 'text_completion', created, model: name,
          choices: [{ text: full, index: 0, logprobs: null, finish_reason: reason, token_ids: [...text.ids] }],
          usage: { prompt_tokens: parsed.promptTokens, completion_tokens: text.ids.length, total_tokens: parsed.promptTokens + text.ids.length },
        }));
      }
    };
    sinks.set(id, {
      token(token, now) {
        if (ended) return;
        if (text.ids.length === 0) book.firstToken((now - started) / 1000);
        else book.betweenTokens((now - last) / 1000);
        last = now;
        const delta = text.push(token);
        full += delta;
        if (parsed.stream) {
          res.write(chunk(delta, null, [token]));
          if (res.writableLength > maxUnreadBytes) {
            // a client that stops reading cannot hold the server's memory
            end();
            send({ type: 'cancel', id });
            res.destroy();
            return;
          }
        }
        if (text.stopped) {
          send({ type: 'cancel', id });
          done('stop');
        }
      },
      finish(reason) {
        if (ended) return;
        if (reason === 'cancelled') {
          end();
          return;
        }
        done(reason);
      },
      fail(status, message) {
        if (ended) return;
        end();
        book.countRequest(status);
        const e = new ApiError(status, message, null, status === 503 ? 'unavailable' : 'server_error');
        if (res.headersSent) res.end(`data: ${e.body()}\n\n`);
        else sendJson(res, status, e.body());
      },
    });
    book.inFlight = sinks.size;
    if (parsed.stream) res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.on('close', () => {
      if (ended) return;
      // the client went away before the end: free its place in the batch
      end();
      book.countRequest(499);
      send({ type: 'cancel', id });
    });
    send({ type: 'submit', id, req: parsed.wire });
  };

  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const url = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const only = (allowed: string): boolean => {
      if (method === allowed) return true;
      sendJson(res, 405, new ApiError(405, `${url} accepts ${allowed}, got ${method}`).body(), { allow: allowed });
      return false;
    };
    if (url === '/v1/completions') {
      if (only('POST')) complete(req, res).catch((err: unknown) => sendJson(res, 500, new ApiError(500, String(err), null, 'server_error').body()));
    } else if (url === '/health') {
      if (!only('GET')) return;
      const m = book.snapshot();
      const ok = state === 'ready';
      sendJson(res, ok ? 200 : 503, JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...(ok ? {} : { reason: state === 'closed' ? 'shutting down' : failure }), model: name, backend: info.backend, activeSequences: m.activeSequences, queuedSequences: m.queuedSequences, inFlight: m.inFlight }));
    } else if (url === '/metrics') {
      if (!only('GET')) return;
      const body = book.prometheus();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    } else if (url === '/v1/models') {
      if (!only('GET')) return;
      sendJson(res, 200, JSON.stringify({ object: 'list', data: [{ id: name, object: 'model', created, owned_by: 'toroid' }] }));
    } else {
      sendJson(res, 404, new ApiError(404, `no route ${method} ${url} (routes: POST /v1/completions, GET /v1/models, GET /health, GET /metrics)`).body());
    }
  };

  const server: Server = createServer(route);
  server.keepAliveTimeout = 5000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    port: bound,
    model: { ...info, name },
    metrics: () => book.snapshot(),
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      failAll(503, 'the server is shutting down');
      server.closeAllConnections();
      send({ type: 'close' });
      await closed;
      await worker.terminate();
    },
  };
}
