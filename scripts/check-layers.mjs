// Imports only go down: every module in src/ may import from its own layer or
// the layers below it, never from one above. The layers, top to bottom, are the
// table below (ARCHITECTURE.md draws the same cake); a path is placed by the
// longest prefix that names it. Every static import, `export ... from`,
// `import type` and dynamic import('...') with a relative specifier counts: a
// type import is a dependency of the design even if it vanishes at run time.
//
//   node scripts/check-layers.mjs     prints each upward import and exits 1 if there is one
// test/core/layers.test.ts runs the same check in the suite.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAYERS = [
  ['package root', ['src/index.ts']],
  ['training and serving', ['src/train/', 'src/serve/', 'src/decode/', 'src/tokenizer/', 'src/data/', 'src/metrics/']],
  ['data parallel', ['src/distributed/']],
  // optim.decayGroups reads a model's modules (which layer registered a parameter); nn never imports optim
  ['optimizers', ['src/optim/']],
  ['models', ['src/nn/']],
  ['ops', ['src/ops/', 'src/functional.ts']],
  ['autograd', ['src/autograd/']],
  // validate/ checks tensors (and everything else) for every layer above; checkpoint.ts turns
  // files into tensors; the generator is the random state tensors and ops draw from
  ['tensor', ['src/tensor/', 'src/validate/', 'src/io/checkpoint.ts', 'src/random/generator.ts']],
  ['backends', ['src/backends/']],
  ['leaf utilities', ['src/util/', 'src/errors.ts', 'src/math/', 'src/random/philox.ts', 'src/io/']],
];

/** The layer index of a repository-relative path (0 = top), or -1 when no entry names it. */
export function layerOf(file) {
  let best = -1, length = -1;
  LAYERS.forEach(([, prefixes], i) => {
    for (const p of prefixes) {
      if ((file === p || (p.endsWith('/') && file.startsWith(p))) && p.length > length) {
        best = i;
        length = p.length;
      }
    }
  });
  return best;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative specifiers of one source text (comments stripped first). */
export function importsOf(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const out = [];
  for (const m of code.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith('.')) out.push(spec);
  }
  return out;
}

function sources(root, dir) {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sources(root, rel);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** Every upward import (and every module no layer names) under root/src. */
export function checkLayers(root) {
  const problems = [];
  for (const file of sources(root, 'src')) {
    const from = layerOf(file);
    if (from < 0) {
      problems.push(`${file}: in no layer (add it to LAYERS in scripts/check-layers.mjs)`);
      continue;
    }
    for (const spec of importsOf(readFileSync(path.join(root, file), 'utf8'))) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, '.ts');
      const to = layerOf(target);
      if (to >= 0 && to < from) problems.push(`${file} (${LAYERS[from][0]}) imports ${target} (${LAYERS[to][0]}, above it)`);
    }
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = checkLayers(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'));
  for (const p of problems) console.error(p);
  if (problems.length > 0) process.exit(1);
  console.log('layers: every import in src/ goes down or stays in its layer');
}
