// The config schema (src/validate/schema.ts) that GPT, BERT, Seq2Seq, the Trainer and
// `toroid train` resolve their configs with: defaults, unknown keys, required and
// optional fields, rules between fields, all in the one error format.
import { describe, expect, it } from 'vitest';
import { checkBoolean, checkPath, checkPositiveInt } from '../../src/validate/checks.js';
import { divides, nullable, numberWhere, oneOf, resolveConfig, sizes, type Rule, type Schema } from '../../src/validate/schema.js';
import { expectError } from '../helpers/expect-error.js';

interface Config {
  width: number;
  heads: number;
  hidden: number;
  act: 'relu' | 'gelu';
  bias: boolean;
  pad: number | null;
  note: string | undefined;
}

const SCHEMA: Schema<Config> = {
  ...sizes('width', 'heads'),
  hidden: { check: checkPositiveInt, default: (c) => 4 * c.width },
  act: { check: oneOf(['relu', 'gelu']), default: 'relu' },
  bias: { check: checkBoolean, default: true },
  pad: { check: nullable(numberWhere(Number.isInteger, 'an integer or null')), default: 0 },
  note: { check: checkPath, optional: true },
};
const RULES: ReadonlyArray<Rule<Config>> = [divides('heads', 'width')];
const resolve = (config: unknown): Config => resolveConfig('Toy', 'config', config, SCHEMA, RULES);

describe('resolveConfig', () => {
  it('fills defaults in table order (a default may read the fields above it) and leaves optional fields out', () => {
    expect(resolve({ width: 8, heads: 2 })).toEqual({ width: 8, heads: 2, hidden: 32, act: 'relu', bias: true, pad: 0 });
    expect(resolve({ width: 8, heads: 2, hidden: 5, act: 'gelu', bias: false, pad: null, note: 'x' }))
      .toEqual({ width: 8, heads: 2, hidden: 5, act: 'gelu', bias: false, pad: null, note: 'x' });
  });

  it('names a misspelled key and lists the known ones', () => {
    expectError(() => resolve({ width: 8, heads: 2, n_heads: 2 }), RangeError, 'Toy', 'config',
      /^toroid\.Toy: config must be an object with keys among \{ width, heads, hidden, act, bias, pad, note \}, got unknown key 'n_heads'$/);
  });

  it('a config that is not an object names the required keys', () => {
    expectError(() => resolve(null), TypeError, 'Toy', 'config', /^toroid\.Toy: config must be an object \{ width, heads, \.\.\. \}, got null$/);
    expectError(() => resolve([1]), TypeError, 'Toy', 'config', /got array\(1\)$/);
  });

  it('checks every field: required ones see undefined, wrong types are TypeErrors, wrong values RangeErrors', () => {
    expectError(() => resolve({ heads: 2 }), TypeError, 'Toy', 'config.width', /a positive integer, got undefined$/);
    expectError(() => resolve({ width: 0, heads: 2 }), RangeError, 'Toy', 'config.width', /a positive integer, got 0$/);
    expectError(() => resolve({ width: 8, heads: 2, act: 'tanh' }), RangeError, 'Toy', 'config.act', /one of 'relu', 'gelu', got "tanh"$/);
    expectError(() => resolve({ width: 8, heads: 2, bias: 1 }), TypeError, 'Toy', 'config.bias', /a boolean, got number 1$/);
    expectError(() => resolve({ width: 8, heads: 2, pad: 1.5 }), RangeError, 'Toy', 'config.pad', /an integer or null, got 1\.5$/);
  });

  it('checks the rules after the fields', () => {
    expectError(() => resolve({ width: 8, heads: 3 }), RangeError, 'Toy', 'config.heads', /^toroid\.Toy: config\.heads must be a divisor of width=8, got 3$/);
  });
});
