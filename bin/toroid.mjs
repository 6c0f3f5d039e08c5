#!/usr/bin/env node
// toroid's command line: `npx toroid demo` trains the reverse-digits Transformer
// (examples/reverse-digits.mjs); `npx toroid --help` lists the commands.
import { readFileSync } from 'node:fs';

const USAGE = `usage: toroid <command> [options]

commands:
  demo [--steps N] [--backend NAME] [--seed N] [--out DIR]
                          train a small Transformer to reverse digit sequences, decode
                          held-out examples, write a checkpoint and a loss plot to ./toroid-demo
  train --config <file> [--distributed mpi|nccl]
                          train a Seq2Seq Transformer on parallel text (or, with "task": "lm",
                          a GPT on plain text) described by a JSON config (see bin/train.mjs);
                          Ctrl-C stops with a checkpoint, and "resume": true continues it bit
                          for bit; the checkpoint holds the tokenizer and the model's config
  serve --model <file> [--port N] [--tokenizer FILE] [--max-batch N]
                          serve a GPT or Seq2Seq checkpoint over HTTP with continuous batching: OpenAI's
                          /v1/completions (streaming with "stream": true), /health, /metrics
                          (\`toroid serve --help\` lists every option)
  translate --model <file> [--beam N] < in.txt > out.txt
                          translate stdin to stdout, a line for a line, with a Seq2Seq
                          checkpoint (toroid train's holds its tokenizer)
  generate --model <file> --prompt <text> [--max-tokens N] [--temperature T]
                          continue a prompt with a GPT checkpoint, printing as it goes
  help, --help, -h        print this message
  version, --version, -v  print toroid's version

\`toroid demo --help\` lists the demo's options.`;

function version() {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return pkg.version;
}

async function main(argv) {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 1 : 0;
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`toroid ${version()}\n`);
      return 0;
    case 'demo': {
      const { runDemo } = await import('../examples/reverse-digits.mjs');
      await runDemo(rest);
      return 0;
    }
    case 'train': {
      const { runTrain } = await import('./train.mjs');
      return runTrain(rest);
    }
    case 'translate': {
      const { runTranslate } = await import('./translate.mjs');
      return runTranslate(rest);
    }
    case 'generate': {
      const { runGenerate } = await import('./generate.mjs');
      return runGenerate(rest);
    }
    case 'serve': {
      const { runServe } = await import('./serve.mjs');
      return runServe(rest);
    }
    default:
      process.stderr.write(`toroid: unknown command '${command}'\n\n${USAGE}\n`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    process.stderr.write(`toroid: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
