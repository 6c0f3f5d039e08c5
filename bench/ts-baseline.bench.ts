// Baseline figures of the pure-TypeScript backend, the denominator of later
// native-vs-ts ratios. Run: npm run bench:ts  (add -- --record to append to bench/RESULTS.md)
import { appendFileSync } from 'node:fs';
import * as toroid from '../src/index.js';
import { machineLine, time, today } from './machine.js';

const { F } = toroid;
toroid.setBackend('ts');

interface Row { name: string; flops: number; run: () => void }

function attentionRow(B: number, h: number, T: number, d: number): Row {
  const q = toroid.randn([B, h, T, d], { requiresGrad: true });
  const k = toroid.randn([B, h, T, d], { requiresGrad: true });
  const v = toroid.randn([B, h, T, d], { requiresGrad: true });
  const dout = toroid.randn([B, h, T, d]);
  return {
    name: `attention fwd+bwd B=${B} h=${h} T=${T} d=${d}`,
    // forward 2 matmuls, backward 5 (the reference recomputes the scores): 7 * 2*B*h*T*T*d
    flops: 7 * 2 * B * h * T * T * d,
    run: () => toroid.tidy(() => {
      const out = F.scaledDotProductAttention(q, k, v);
      out.backward(dout);
      for (const t of [q, k, v]) { t.grad?.dispose(); t.grad = null; }
    }),
  };
}

function linearRow(N: number, inF: number, outF: number): Row {
  const x = toroid.randn([N, inF], { requiresGrad: true });
  const w = toroid.randn([outF, inF], { requiresGrad: true });
  const b = toroid.randn([outF], { requiresGrad: true });
  const dy = toroid.randn([N, outF]);
  return {
    name: `linear fwd+bwd [${N}x${inF}]x[${inF}x${outF}]`,
    flops: 3 * 2 * N * inF * outF,
    run: () => toroid.tidy(() => {
      F.linear(x, w, b).backward(dy);
      for (const t of [x, w, b]) { t.grad?.dispose(); t.grad = null; }
    }),
  };
}

function layerNormRow(N: number, C: number): Row {
  const x = toroid.randn([N, C], { requiresGrad: true });
  const w = toroid.randn([C], { requiresGrad: true });
  const b = toroid.randn([C], { requiresGrad: true });
  const dy = toroid.randn([N, C]);
  return {
    name: `layerNorm fwd+bwd [${N},${C}]`,
    flops: 0,
    run: () => toroid.tidy(() => {
      F.layerNorm(x, [C], w, b).backward(dy);
      for (const t of [x, w, b]) { t.grad?.dispose(); t.grad = null; }
    }),
  };
}

function crossEntropyRow(N: number, V: number): Row {
  const logits = toroid.randn([N, V], { requiresGrad: true });
  const target = toroid.tensor(Int32Array.from({ length: N }, (_, i) => (i * 7919) % V));
  return {
    name: `crossEntropy fwd+bwd [${N},${V}] smoothing 0.1`,
    flops: 0,
    run: () => toroid.tidy(() => {
      F.crossEntropy(logits, target, { labelSmoothing: 0.1 }).backward();
      logits.grad?.dispose();
      logits.grad = null;
    }),
  };
}

const rows = [attentionRow(8, 8, 64, 64), linearRow(512, 512, 512), layerNormRow(2048, 512), crossEntropyRow(2048, 8000)];
const lines = [`| kernel (ts backend) | median ms | min-max ms | GFLOP/s |`, `| --- | --- | --- | --- |`];
for (const row of rows) {
  const t = time(row.run, 5, 1);
  const gflops = row.flops > 0 ? (row.flops / (t.median * 1e6)).toFixed(2) : '-';
  lines.push(`| ${row.name} | ${t.median.toFixed(1)} | ${t.min.toFixed(1)}-${t.max.toFixed(1)} | ${gflops} |`);
  console.log(lines[lines.length - 1]);
}
if (process.argv.includes('--record')) {
  appendFileSync(new URL('./RESULTS.md', import.meta.url), `\n## ts backend baseline, ${today()}\n${machineLine()}. Command: \`npm run bench:ts\`.\n\n${lines.join('\n')}\n`);
}
