// `toroid serve --model <file>`: serve a GPT or Seq2Seq checkpoint over HTTP (src/serve/server.ts;
// for a Seq2Seq model the prompt is the source sentence and the completion its translation):
// OpenAI's POST /v1/completions (stream: true for server-sent events), GET /v1/models,
// /health and /metrics. Ctrl-C (or SIGTERM) ends the requests in flight and exits.
import { parseFlags } from './flags.mjs';

const USAGE = `usage: toroid serve --model <file.safetensors> [options]

  --model FILE        a GPT or Seq2Seq checkpoint (GPT.save, Seq2SeqTransformer.save, or toroid train's)
  --tokenizer FILE    a BPE tokenizer JSON (default: the checkpoint's own; without one, prompts are token ids)
  --port N            default 8080 (0: any free port)
  --host ADDR         default 127.0.0.1 (0.0.0.0: every interface)
  --max-batch N       sequences decoded together (default 32)
  --max-queue N       sequences waiting beyond the batch before 429 (default 64)
  --backend NAME      cpu, cuda or ts (default: the best available)
  --threads N         kernel threads of the decoding worker (default: the cores less one)
  --name NAME         the model's name in responses (default: the file name)`;

const FLAGS = {
  '--model': ['model', 'string'], '--tokenizer': ['tokenizer', 'string'], '--port': ['port', 'integer'], '--host': ['host', 'string'],
  '--max-batch': ['maxBatch', 'integer'], '--max-queue': ['maxQueue', 'integer'], '--backend': ['backend', 'string'], '--threads': ['threads', 'integer'], '--name': ['modelName', 'string'],
};

export function parseServeArgs(argv) {
  const options = parseFlags('serve', argv, FLAGS, USAGE);
  if (options !== null && options.model === undefined) throw new Error(`toroid serve: --model <file> is required\n\n${USAGE}`);
  return options;
}

export async function runServe(argv) {
  const options = parseServeArgs(argv);
  if (options === null) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { serve } = await import('../dist/index.js');
  const server = await serve(options);
  const m = server.model;
  console.log(`serving ${m.name} (${m.family}, vocab ${m.vocabSize}, ${m.family === 'GPT' ? 'block' : 'maxLen'} ${m.blockSize}, ${m.backend}${m.tokenizer === null && options.tokenizer === undefined ? ', token ids only' : ', with tokenizer'}) at ${server.url}`);
  console.log(`  curl ${server.url}/v1/completions -H 'content-type: application/json' -d '{"prompt": ${m.tokenizer === null && options.tokenizer === undefined ? '[1, 2, 3]' : '"the"'}, "max_tokens": 20, "stream": true}'`);
  console.log('  routes: POST /v1/completions, GET /v1/models, GET /health, GET /metrics; Ctrl-C stops');
  await new Promise((resolve) => {
    const stop = () => { console.log('\nshutting down'); resolve(); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
