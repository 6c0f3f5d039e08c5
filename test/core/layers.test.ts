// Imports only go down (scripts/check-layers.mjs): no module in src/ imports from a
// layer above its own, and every module sits in a layer.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { checkLayers, importsOf, layerOf } from '../../scripts/check-layers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('layers', () => {
  it('every import in src/ goes down or stays in its layer', () => {
    expect(checkLayers(root)).toEqual([]);
  });

  it('the checker sees every kind of import and places paths by their longest prefix', () => {
    const text = [
      "import { a } from '../ops/a.js';",
      "import type { B } from './b.js';",
      "export { c } from '../../c.js';",
      "import './side-effect.js';",
      "const m = await import('../dynamic.js');",
      "// import { no } from '../commented.js';",
      "import fs from 'node:fs';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['../ops/a.js', './b.js', '../../c.js', './side-effect.js', '../dynamic.js']);
    expect(layerOf('src/random/philox.ts')).toBeGreaterThan(layerOf('src/random/generator.ts'));
    expect(layerOf('src/tensor/tensor.ts')).toBeGreaterThan(layerOf('src/autograd/tape.ts'));
    expect(layerOf('src/nowhere.ts')).toBe(-1);
  });
});
