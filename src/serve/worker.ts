// toroid.serve's decoding thread: loads the model (a GPT or a Seq2SeqTransformer), runs the
// continuous batch (serve/continuous-batch.ts) one step after another while it has sequences, and posts every
// step's tokens. Between steps it yields to its event loop, so new sequences and
// cancellations arrive at the next step; with nothing to do it waits for a message.
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, ModelInfo, ServeWorkerConfig, ToWorker, WireRequest } from './protocol.js';
import type { ContinuousBatch, SequenceRequest } from './continuous-batch.js';

const config = workerData as ServeWorkerConfig;
const post = (m: FromWorker): void => parentPort!.postMessage(m);

function toRequest(w: WireRequest): SequenceRequest {
  return {
    prompt: w.prompt, maxNewTokens: w.maxNewTokens, eos: w.eos, strategy: w.strategy,
    sampling: { temperature: w.temperature, topK: w.topK, topP: w.topP, repetitionPenalty: w.repetitionPenalty, seed: w.seed === null ? null : BigInt(w.seed) },
  };
}

async function run(): Promise<void> {
  // what `import toroid` loads first: the backends, and the ops behind Tensor's methods
  await import('../backends/load.js');
  await import('../ops/tensor-methods.js');
  const { setNumThreads } = await import('../backends/native/index.js');
  if (config.threads !== undefined) setNumThreads(config.threads);
  const { GPT } = await import('../nn/gpt.js');
  const { Seq2SeqTransformer } = await import('../nn/seq2seq.js');
  const { inspect } = await import('../io/checkpoint.js');
  const { GPTBatch } = await import('./gpt-batch.js');
  const { Seq2SeqBatch } = await import('./seq2seq-batch.js');
  const { metadata } = await inspect(config.modelPath);
  const place = config.backend === undefined ? {} : { backend: config.backend };
  const options = { maxBatch: config.maxBatch, prefillBudget: config.prefillBudget };
  let batch: ContinuousBatch;
  let info: ModelInfo;
  let dispose: () => void;
  const tokenizers = { tokenizer: metadata.tokenizer ?? null, sourceTokenizer: metadata.sourceTokenizer ?? null };
  if (metadata.model === 'GPT') {
    const model = await GPT.load(config.modelPath, place);
    model.eval();
    batch = new GPTBatch(model, options);
    const c = model.config;
    info = { family: 'GPT', inputVocab: c.vocabSize, vocabSize: c.vocabSize, blockSize: c.blockSize, ...tokenizers, backend: model.lmHead.weight.device };
    dispose = () => model.dispose();
  } else if (metadata.model === 'Seq2SeqTransformer') {
    const model = await Seq2SeqTransformer.load(config.modelPath, place);
    model.eval();
    batch = new Seq2SeqBatch(model, options);
    const c = model.config;
    info = { family: 'Seq2SeqTransformer', inputVocab: c.srcVocab, vocabSize: c.tgtVocab, blockSize: c.maxLen, ...tokenizers, backend: model.generator.weight.device };
    dispose = () => model.dispose();
  } else {
    throw new RangeError(`toroid.serve: model must be a file written by GPT.save or Seq2SeqTransformer.save (or toroid train), with metadata.model 'GPT' or 'Seq2SeqTransformer', got ${metadata.model === undefined ? 'a file without metadata.model' : `metadata.model ${JSON.stringify(metadata.model)}`}`);
  }
  let wake: (() => void) | null = null;
  let closing = false;
  const live = new Set<number>();
  parentPort!.on('message', (m: ToWorker) => {
    if (m.type === 'submit') {
      live.add(m.id);
      batch.submit(m.id, toRequest(m.req));
    } else if (m.type === 'cancel') {
      if (live.has(m.id)) batch.cancel(m.id);
    } else {
      closing = true;
    }
    wake?.();
  });
  post({ type: 'ready', model: info });
  while (!closing) {
    if (batch.idle) {
      await new Promise<void>((resolve) => { wake = resolve; });
      wake = null;
      continue;
    }
    const t0 = performance.now();
    try {
      const events = batch.step();
      for (const e of events) if (e.finish !== null) live.delete(e.id);
      post({ type: 'events', events, active: batch.active, queued: batch.queued, stepMs: performance.now() - t0 });
    } catch (err) {
      // the batch's state is unknown after a failed step: every sequence in it ends here
      post({ type: 'failed', ids: [...live], message: err instanceof Error ? err.message : String(err) });
      live.clear();
      batch.dispose();
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  batch.dispose();
  dispose();
}

run().catch((err: unknown) => post({ type: 'fatal', message: err instanceof Error ? err.message : String(err) }));
