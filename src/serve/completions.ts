// The completion route's request and response shapes: OpenAI's /v1/completions (the
// fields existing clients send), plus vLLM's top_k, repetition_penalty and
// stop_token_ids. Every field is checked; a bad one is a 400 naming it.
import type { BPETokenizer } from '../tokenizer/bpe.js';
import type { WireRequest } from './protocol.js';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null, readonly type = 'invalid_request_error') {
    super(message);
  }

  body(): string {
    return JSON.stringify({ error: { message: this.message, type: this.type, param: this.param, code: null } });
  }
}

export interface CompletionRequest {
  wire: WireRequest;
  stream: boolean;
  /** Text that ends the completion (not included). */
  stops: string[];
  promptTokens: number;
}

export interface ModelLimits {
  family: 'GPT' | 'Seq2SeqTransformer';
  /** Ids a prompt may hold (a Seq2Seq model's source vocabulary). */
  inputVocab: number;
  /** Ids the model generates (stop_token_ids are among them). */
  vocabSize: number;
  /** GPT: prompt + max_tokens - 1 <= blockSize; Seq2Seq: the source and max_tokens each <= blockSize (its maxLen). */
  blockSize: number;
  /** Encodes a text prompt (a Seq2Seq model's source side), or null: prompts are ids. */
  tokenizer: BPETokenizer | null;
}

// fields OpenAI clients send with their neutral values: accepted at those values only
const NEUTRAL: Record<string, (v: unknown) => boolean> = {
  n: (v) => v === 1 || v === null,
  best_of: (v) => v === 1 || v === null,
  echo: (v) => v === false || v === null,
  logprobs: (v) => v === null || v === 0,
  presence_penalty: (v) => v === 0 || v === null,
  frequency_penalty: (v) => v === 0 || v === null,
  suffix: (v) => v === null || v === '',
  logit_bias: (v) => v === null || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0),
  stream_options: (v) => v === null || typeof v === 'object',
};
const FIELDS = new Set(['model', 'prompt', 'max_tokens', 'temperature', 'top_p', 'top_k', 'seed', 'stop', 'stop_token_ids', 'stream', 'repetition_penalty', 'user', ...Object.keys(NEUTRAL)]);

function got(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
}

function bad(param: string, expected: string, value: unknown): ApiError {
  return new ApiError(400, `${param} must be ${expected}, got ${got(value)}`, param);
}

function number(body: Record<string, unknown>, param: string, ok: (v: number) => boolean, expected: string, fallback: number): number {
  const v = body[param];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !ok(v)) throw bad(param, expected, v);
  return v;
}

/** A completion request's JSON body -> the sequence to decode, or an ApiError (400). */
export function parseCompletionRequest(body: unknown, limits: ModelLimits): CompletionRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, `the request body must be a JSON object, got ${got(body)}`);
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!FIELDS.has(key)) throw new ApiError(400, `unknown field ${JSON.stringify(key)} (accepted: ${[...FIELDS].join(', ')})`, key);
    const neutral = NEUTRAL[key];
    if (neutral !== undefined && !neutral(b[key])) throw bad(key, 'left out or its neutral value (not supported yet)', b[key]);
  }
  if (b.model !== undefined && typeof b.model !== 'string') throw bad('model', 'a string', b.model);
  if (b.user !== undefined && typeof b.user !== 'string') throw bad('user', 'a string', b.user);
  const { inputVocab, vocabSize: V, blockSize, tokenizer } = limits;
  const seq2seq = limits.family === 'Seq2SeqTransformer';
  let prompt: Int32Array;
  const p = b.prompt;
  if (typeof p === 'string') {
    if (tokenizer === null) throw bad('prompt', 'an array of token ids (this server has no tokenizer)', p);
    if (p.length === 0) throw bad('prompt', 'a non-empty string', p);
    prompt = tokenizer.encode(p);
    if (prompt.length === 0) throw bad('prompt', 'text that encodes to at least one token', p);
  } else if (Array.isArray(p) && p.length > 0 && p.every((v) => typeof v === 'number')) {
    p.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= inputVocab) throw bad(`prompt[${i}]`, `a token id in [0, ${inputVocab})`, id);
    });
    prompt = Int32Array.from(p as number[]);
  } else if (Array.isArray(p) && p.length > 0 && p.every((v) => typeof v === 'string' || Array.isArray(v))) {
    throw bad('prompt', 'one prompt per request (a string or an array of token ids)', p);
  } else {
    throw bad('prompt', tokenizer === null ? 'a non-empty array of token ids' : 'a string or a non-empty array of token ids', p);
  }
  if (prompt.length > blockSize) throw bad('prompt', `at most ${seq2seq ? 'maxLen' : 'blockSize'}=${blockSize} tokens`, `${prompt.length} tokens`);
  // a translation runs to its EOS by default (OpenAI's 16 would cut most sentences)
  const maxTokens = number(b, 'max_tokens', (v) => Number.isInteger(v) && v >= 1, 'a positive integer', seq2seq ? blockSize : 16);
  if (seq2seq && maxTokens > blockSize) throw bad('max_tokens', `at most the model's maxLen=${blockSize} (EOS included)`, maxTokens);
  if (!seq2seq && prompt.length + maxTokens - 1 > blockSize) {
    throw bad('max_tokens', `at most blockSize - prompt tokens + 1 = ${blockSize - prompt.length + 1} (blockSize=${blockSize}, prompt of ${prompt.length} tokens)`, maxTokens);
  }
  const temperature = number(b, 'temperature', (v) => v >= 0 && v <= 100, 'a number in [0, 100] (0 = greedy)', 1);
  const topP = number(b, 'top_p', (v) => v > 0 && v <= 1, 'a number in (0, 1]', 1);
  const topK = number(b, 'top_k', (v) => Number.isInteger(v) && v >= -1, 'an integer >= -1 (-1 or 0 = off)', 0);
  const repetitionPenalty = number(b, 'repetition_penalty', (v) => v > 0 && v <= 100, 'a number in (0, 100]', 1);
  let seed: string | null = null;
  if (b.seed !== undefined && b.seed !== null) {
    if (typeof b.seed !== 'number' || !Number.isSafeInteger(b.seed) || b.seed < 0) throw bad('seed', 'a non-negative integer', b.seed);
    seed = String(b.seed);
  }
  let stops: string[] = [];
  if (b.stop !== undefined && b.stop !== null) {
    const s = typeof b.stop === 'string' ? [b.stop] : b.stop;
    if (!Array.isArray(s) || s.length > 4 || !s.every((x) => typeof x === 'string' && x.length > 0)) throw bad('stop', 'a non-empty string or an array of up to 4 of them', b.stop);
    if (tokenizer === null) throw bad('stop', 'left out (this server has no tokenizer; use stop_token_ids)', b.stop);
    stops = s as string[];
  }
  // a Seq2Seq model ends at EOS (id 2, decode's default) always; a GPT at its tokenizer's EOS when it has one
  const eos: number[] = seq2seq ? [2] : tokenizer === null ? [] : [tokenizer.specialIds.eos];
  if (b.stop_token_ids !== undefined && b.stop_token_ids !== null) {
    const s = b.stop_token_ids;
    if (!Array.isArray(s) || s.length > 64) throw bad('stop_token_ids', 'an array of at most 64 token ids', s);
    s.forEach((id, i) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= V) throw bad(`stop_token_ids[${i}]`, `a token id in [0, ${V})`, id);
      if (!eos.includes(id)) eos.push(id);
    });
  }
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') throw bad('stream', 'a boolean', b.stream);
  const greedy = temperature === 0;
  return {
    wire: {
      prompt, maxNewTokens: maxTokens, eos, strategy: greedy ? 'greedy' : 'sample',
      temperature: greedy ? 1 : temperature, topK: topK === -1 ? 0 : topK, topP, repetitionPenalty, seed,
    },
    stream: b.stream === true,
    stops,
    promptTokens: prompt.length,
  };
}

/**
 * The text of a completion as its tokens arrive, with the stop strings applied: `push`
 * returns the newly final text (held back while it could still begin a stop string) and
 * whether a stop string ended it.
 */
export class CompletionText {
  private readonly tokens: number[] = [];
  private sent = 0;
  stopped = false;

  constructor(private readonly tokenizer: BPETokenizer | null, private readonly stops: readonly string[]) {}

  get ids(): readonly number[] {
    return this.tokens;
  }

  private text(): string {
    return this.tokenizer === null ? this.tokens.join(' ') : this.tokenizer.decode(this.tokens);
  }

  push(token: number): string {
    this.tokens.push(token);
    let text = this.text();
    let cut = text.length;
    for (const s of this.stops) {
      const at = text.indexOf(s, Math.max(0, this.sent - s.length + 1));
      if (at >= 0 && at < cut) {
        cut = at;
        this.stopped = true;
      }
    }
    if (this.stopped) text = text.slice(0, cut);
    else {
      // hold back a tail that may be the start of a stop string
      for (const s of this.stops) {
        for (let n = Math.min(s.length - 1, text.length); n > 0; n--) {
          if (text.endsWith(s.slice(0, n))) { cut = Math.min(cut, text.length - n); break; }
        }
      }
    }
    const out = text.slice(this.sent, Math.max(this.sent, cut));
    this.sent = Math.max(this.sent, cut);
    return out;
  }

  /** What is left at the end (a held-back tail that never became a stop string). */
  flush(): string {
    if (this.stopped) return '';
    const text = this.text();
    const out = text.slice(this.sent);
    this.sent = text.length;
    return out;
  }
}
