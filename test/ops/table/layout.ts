// Layout and dropout: F.permute / F.transpose (after an optional F.reshape) copy values exactly;
// F.dropout(x, p) zeroes with probability p and scales the rest by 1/(1-p) from the Philox stream.
import * as toroid from '../../../src/index.js';
import { sameZeros } from '../../backends/consistency-helpers.js';
import { randShape, sizeOf } from './shapes.js';
import type { OpSpec } from './types.js';

const { F } = toroid;

export interface LayoutParams {
  kind: 'permute' | 'transpose' | 'reshape+permute';
  x: number[];
  reshaped?: number[];
  perm?: number[];
  dims?: number[];
}

const axis = (d: number, rank: number): number => (d + rank) % rank;

export const layout: OpSpec<LayoutParams> = {
  name: 'layout',
  inputs: (p) => [{ name: 'x', shape: p.x }],
  outShape: (p) => {
    if (p.kind === 'transpose') {
      const out = [...p.x], i = axis(p.dims![0]!, p.x.length), j = axis(p.dims![1]!, p.x.length);
      [out[i], out[j]] = [out[j]!, out[i]!];
      return out;
    }
    let shape = p.x;
    if (p.reshaped) {
      const known = p.reshaped.filter((s) => s !== -1).reduce((a, b) => a * b, 1);
      shape = p.reshaped.map((s) => (s === -1 ? sizeOf(p.x) / known : s));
    }
    return p.perm!.map((d) => shape[axis(d, shape.length)]!);
  },
  forward: (p, t) => {
    if (p.kind === 'transpose') return F.transpose(t.x!, p.dims![0]!, p.dims![1]!);
    return F.permute(p.reshaped ? F.reshape(t.x!, p.reshaped) : t.x!, p.perm!);
  },
  dtypes: { float32: { atol: 0, rtol: 0 }, float64: { atol: 0, rtol: 0 } },
  consistency: {
    count: 200,
    random: (rng) => {
      const x = randShape(rng, 1, 5, 5);
      const kind = rng.pick(['permute', 'transpose', 'reshape+permute'] as const);
      let perm: number[] | undefined, dims: number[] | undefined, reshaped: number[] | undefined;
      if (kind === 'transpose') dims = [rng.int(-x.length, x.length - 1), rng.int(-x.length, x.length - 1)];
      else {
        if (kind === 'reshape+permute') {
          // regroup: split the flat size into a random factorization
          let rest = sizeOf(x);
          reshaped = [];
          while (rest > 1 && reshaped.length < 4) {
            const divisors = Array.from({ length: rest }, (_, i) => i + 1).filter((d) => rest % d === 0);
            const d = rng.pick(divisors);
            reshaped.push(d);
            rest /= d;
          }
          reshaped.push(rest);
          if (rng.bool(0.3)) reshaped[rng.int(0, reshaped.length - 1)] = -1;
        }
        const rank = reshaped?.length ?? x.length;
        perm = rng.permutation(rank).map((d) => (rng.bool(0.2) ? d - rank : d));
      }
      return { kind, x, reshaped, perm, dims };
    },
    // copies: the backends agree bit for bit
    tolerance: () => 'exact',
  },
};

export interface DropoutParams { x: number[]; p: number; seed: number; rngShift: number }

export const dropout: OpSpec<DropoutParams> = {
  name: 'dropout',
  // zeros mean dropped, so the input has none of its own
  inputs: (p) => [{ name: 'x', shape: p.x, fill: (rng, n) => rng.randn(n).map((v) => (v === 0 ? 1 : v)) }],
  outShape: (p) => p.x,
  forward: (p, t) => {
    // the same (seed, offset) on every backend; a nonzero offset now and then
    toroid.manualSeed(p.seed);
    if (p.rngShift > 0) toroid.rand([p.rngShift * 5], { backend: t.x!.backend.name });
    return F.dropout(t.x!, p.p);
  },
  dtypes: { float32: { atol: 1e-5, rtol: 1e-4 } },
  consistency: {
    count: 200,
    random: (rng) => ({
      x: rng.bool(0.05) ? [rng.pick([1023, 4096, 4097, 20001])] : randShape(rng, 0, 4, 7),
      p: rng.pick([0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99]),
      rngShift: rng.int(0, 3),
      seed: rng.int(0, 1e9),
    }),
    tolerance: () => ({}),
    // the kept/dropped pattern must match exactly, in the output and in the gradient
    extra: (_p, _data, out, label) => {
      sameZeros(label, 'y', out);
      sameZeros(label, 'dx', out);
    },
  },
};
