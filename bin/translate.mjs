// `toroid translate --model <file>`: translate stdin to stdout, a line for a line, with a
// Seq2Seq checkpoint (`toroid train`'s, or Seq2SeqTransformer.save with a tokenizer in its
// metadata). Lines are batched (--batch sentences at a time), encoded with the source
// tokenizer, beam-searched (or greedy with --beam 1) and decoded with the target one.
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { parseFlags } from './flags.mjs';

const USAGE = `usage: toroid translate --model <file.safetensors> [options] < input.txt > output.txt

  --model FILE             a Seq2Seq checkpoint (toroid train's, or Seq2SeqTransformer.save with a tokenizer)
  --tokenizer FILE         the (target, or shared) BPE tokenizer JSON (default: the checkpoint's own)
  --source-tokenizer FILE  the source side's, when the vocabularies are separate (default: the checkpoint's, else --tokenizer)
  --beam N                 beam width (default 4; 1 = greedy)
  --batch N                sentences decoded together (default 32)
  --max-len N              most target tokens per sentence (default: the model's maxLen)
  --backend NAME           cpu, cuda or ts`;

const FLAGS = {
  '--model': ['model', 'string'], '--tokenizer': ['tokenizer', 'string'], '--source-tokenizer': ['sourceTokenizer', 'string'],
  '--beam': ['beam', 'positive'], '--batch': ['batch', 'positive'], '--max-len': ['maxLen', 'positive'], '--backend': ['backend', 'string'],
};

export async function runTranslate(argv, input = process.stdin, output = process.stdout) {
  const o = parseFlags('translate', argv, FLAGS, USAGE);
  if (o === null) { output.write(`${USAGE}\n`); return 0; }
  if (o.model === undefined) throw new Error(`toroid translate: --model <file> is required\n\n${USAGE}`);
  const toroid = await import('../dist/index.js');
  const { metadata } = await toroid.inspect(o.model);
  if (metadata.model !== 'Seq2SeqTransformer') throw new Error(`toroid translate: --model must be a Seq2Seq checkpoint (metadata.model 'Seq2SeqTransformer'), got ${metadata.model === undefined ? 'a file without one' : JSON.stringify(metadata.model)}`);
  const json = (file, meta, what) => {
    const text = file !== undefined ? readFileSync(file, 'utf8') : meta;
    if (text === undefined) return null;
    try { return toroid.tokenizer.BPETokenizer.fromJSON(JSON.parse(text)); } catch (err) { throw new Error(`toroid translate: the ${what} is not a BPE tokenizer: ${err.message}`); }
  };
  const tgtTok = json(o.tokenizer, metadata.tokenizer, 'tokenizer');
  if (tgtTok === null) throw new Error('toroid translate: the checkpoint has no tokenizer in its metadata; pass --tokenizer FILE');
  const srcTok = json(o.sourceTokenizer, o.sourceTokenizer === undefined && o.tokenizer !== undefined ? undefined : metadata.sourceTokenizer, 'source tokenizer') ?? tgtTok;
  const model = await toroid.nn.Seq2SeqTransformer.load(o.model, o.backend === undefined ? {} : { backend: o.backend });
  const { srcVocab, tgtVocab } = model.config;
  if (srcTok.vocabSize > srcVocab || tgtTok.vocabSize > tgtVocab) throw new Error(`toroid translate: the tokenizers (${srcTok.vocabSize} and ${tgtTok.vocabSize} tokens) do not fit the model's vocabularies (${srcVocab} and ${tgtVocab})`);
  const beam = o.beam ?? 4, batchSize = o.batch ?? 32;
  const maxLen = o.maxLen ?? model.config.maxLen;
  const translate = async (lines) => {
    const out = new Array(lines.length).fill('');
    const idx = [], src = [];
    lines.forEach((line, i) => {
      // the encoder sees at most maxLen positions; longer lines are cut there
      const ids = srcTok.encode(line).subarray(0, model.config.maxLen);
      if (ids.length > 0) { idx.push(i); src.push(ids); }
    });
    if (src.length === 0) return out;
    const hyps = beam === 1
      ? (await toroid.decode.generate(model, src, { maxLen })).map((t) => Array.from(t))
      : (await toroid.decode.generateBeam(model, src, { beam, maxLen })).map((h) => Array.from(h[0].tokens));
    hyps.forEach((t, j) => { out[idx[j]] = tgtTok.decode(t, { detokenize: true }); });
    return out;
  };
  try {
    let pending = [];
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      pending.push(line);
      if (pending.length === batchSize) {
        for (const t of await translate(pending)) output.write(`${t}\n`);
        pending = [];
      }
    }
    if (pending.length > 0) for (const t of await translate(pending)) output.write(`${t}\n`);
  } finally {
    model.dispose();
  }
  return 0;
}
