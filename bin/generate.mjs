// `toroid generate --model <file> --prompt <text>`: continue a prompt with a GPT checkpoint,
// printing the text as it is generated (decode.streamGenerate, off the event loop's way
// between steps). The tokenizer is the checkpoint's own (metadata.tokenizer) or --tokenizer;
// without one, --prompt is token ids ("1 2 3") and the ids are printed.
import { readFileSync } from 'node:fs';
import { parseFlags } from './flags.mjs';

const USAGE = `usage: toroid generate --model <file.safetensors> --prompt <text> [options]

  --model FILE         a GPT checkpoint written by GPT.save
  --prompt TEXT        the text to continue (token ids "1 2 3" when there is no tokenizer)
  --tokenizer FILE     a BPE tokenizer JSON (default: the checkpoint's own)
  --max-tokens N       tokens to generate (default 64; at most blockSize - prompt + 1)
  --temperature T      0 = greedy (default 0.8)
  --top-k K            keep the K most likely tokens (default 0 = off)
  --top-p P            nucleus sampling (default 1 = off)
  --seed N             the sampling seed (default: random)
  --backend NAME       cpu, cuda or ts`;

const FLAGS = {
  '--model': ['model', 'string'], '--prompt': ['prompt', 'string'], '--tokenizer': ['tokenizer', 'string'], '--max-tokens': ['maxTokens', 'positive'],
  '--temperature': ['temperature', 'number'], '--top-k': ['topK', 'integer'], '--top-p': ['topP', 'number'], '--seed': ['seed', 'integer'], '--backend': ['backend', 'string'],
};

export async function runGenerate(argv) {
  const o = parseFlags('generate', argv, FLAGS, USAGE);
  if (o === null) { process.stdout.write(`${USAGE}\n`); return 0; }
  if (o.model === undefined || o.prompt === undefined) throw new Error(`toroid generate: --model and --prompt are required\n\n${USAGE}`);
  const toroid = await import('../dist/index.js');
  const { metadata } = await toroid.inspect(o.model);
  if (metadata.model !== 'GPT') throw new Error(`toroid generate: --model must be a GPT checkpoint (metadata.model 'GPT'), got ${metadata.model === undefined ? 'a file without one' : JSON.stringify(metadata.model)}`);
  const tokJson = o.tokenizer !== undefined ? readFileSync(o.tokenizer, 'utf8') : metadata.tokenizer;
  const tok = tokJson === undefined ? null : toroid.tokenizer.BPETokenizer.fromJSON(JSON.parse(tokJson));
  const model = await toroid.nn.GPT.load(o.model, o.backend === undefined ? {} : { backend: o.backend });
  try {
    let prompt;
    if (tok !== null) prompt = Array.from(tok.encode(o.prompt));
    else {
      prompt = o.prompt.trim().split(/[\s,]+/).map(Number);
      if (!prompt.every(Number.isInteger)) throw new Error(`toroid generate: without a tokenizer --prompt must be token ids like "1 2 3", got '${o.prompt}'`);
    }
    if (prompt.length === 0) throw new Error('toroid generate: --prompt encodes to no tokens');
    const maxNewTokens = o.maxTokens ?? Math.min(64, model.config.blockSize - prompt.length + 1);
    const temperature = o.temperature ?? 0.8;
    const opts = temperature === 0
      ? { maxNewTokens }
      : { maxNewTokens, strategy: 'sample', temperature, ...(o.topK === undefined ? {} : { topK: o.topK }), ...(o.topP === undefined ? {} : { topP: o.topP }), ...(o.seed === undefined ? {} : { seed: o.seed }) };
    if (tok !== null) opts.eos = tok.specialIds.eos;
    const generated = [];
    let printed = '';
    process.stdout.write(tok === null ? `${prompt.join(' ')}` : o.prompt);
    for await (const id of toroid.decode.streamGenerate(model, prompt, opts)) {
      generated.push(id);
      if (tok === null) { process.stdout.write(` ${id}`); continue; }
      const text = tok.decode(generated);
      process.stdout.write(`${printed.length === 0 ? ' ' : ''}${text.slice(printed.length)}`);
      printed = text;
    }
    process.stdout.write('\n');
  } finally {
    model.dispose();
  }
  return 0;
}
