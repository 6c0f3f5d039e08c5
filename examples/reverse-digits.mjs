// The foundation in action: a one-layer Transformer encoder written with toroid's
// functional API (F) learns to reverse digit sequences. `npm start` runs it.
// Built on dist/ (npm install builds it). Options: --steps N --backend NAME
import * as toroid from '../dist/index.js';

const { F } = toroid;
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const steps = Number(arg('steps', 300));
toroid.setBackend(arg('backend', toroid.getBackend().name));
toroid.manualSeed(0);

const V = 10, T = 8, C = 32, H = 4, B = 32, F_HIDDEN = 64;

// Parameters, scaled like PyTorch's default inits (about 1/sqrt(fan_in)).
const param = (shape, scale) => toroid.tidy(() => {
  const p = scale === 0 ? toroid.zeros(shape) : scale === 1 ? toroid.ones(shape) : toroid.randn(shape).mul(scale);
  p.requiresGrad = true;
  return p;
});
const P = {
  tokens: param([V, C], 1), positions: param([T, C], 0.1),
  wq: param([C, C], C ** -0.5), wk: param([C, C], C ** -0.5), wv: param([C, C], C ** -0.5), wo: param([C, C], C ** -0.5),
  ln1w: param([C], 1), ln1b: param([C], 0), ln2w: param([C], 1), ln2b: param([C], 0),
  w1: param([F_HIDDEN, C], C ** -0.5), b1: param([F_HIDDEN], 0), w2: param([C, F_HIDDEN], F_HIDDEN ** -0.5), b2: param([C], 0),
  out: param([V, C], C ** -0.5), outB: param([V], 0),
};
const params = Object.values(P);
const state = { m: params.map((p) => toroid.zeros(p.shape)), v: params.map((p) => toroid.zeros(p.shape)) };

function batch(size) {
  const x = new Int32Array(size * T), y = new Int32Array(size * T);
  for (let b = 0; b < size; b++) for (let t = 0; t < T; t++) x[b * T + t] = Math.floor(Math.random() * V);
  for (let b = 0; b < size; b++) for (let t = 0; t < T; t++) y[b * T + t] = x[b * T + T - 1 - t];
  return { x: toroid.tensor(x, { shape: [size, T] }), y: toroid.tensor(y, { shape: [size, T] }) };
}

// [n,T,C] -> [n,H,T,C/H] and back
const heads = (t) => t.reshape([t.shape[0], T, H, C / H]).transpose(1, 2);
const merge = (t) => t.transpose(1, 2).reshape([t.shape[0], T, C]);

function forward(x) {
  const h0 = F.embedding(x, P.tokens).add(P.positions);
  const attn = F.scaledDotProductAttention(heads(F.linear(h0, P.wq)), heads(F.linear(h0, P.wk)), heads(F.linear(h0, P.wv)));
  const h1 = F.layerNorm(h0.add(F.linear(merge(attn), P.wo)), [C], P.ln1w, P.ln1b);
  const ffn = F.linear(F.gelu(F.linear(h1, P.w1, P.b1)), P.w2, P.b2);
  const h2 = F.layerNorm(h1.add(ffn), [C], P.ln2w, P.ln2b);
  return F.linear(h2, P.out, P.outB); // [n,T,V]
}

console.log(`toroid ${toroid.getBackend().name} backend: training a 1-layer Transformer to reverse ${T} digits (${steps} steps, batch ${B})`);
const start = Date.now();
for (let step = 1; step <= steps; step++) {
  const loss = toroid.tidy(() => {
    const { x, y } = batch(B);
    const l = F.crossEntropy(forward(x), y);
    l.backward();
    return l.item();
  });
  toroid.adamwStep(params, params.map((p) => p.grad), state, { lr: 3e-3, beta1: 0.9, beta2: 0.98, eps: 1e-9, weightDecay: 0.01, step });
  for (const p of params) { p.grad.dispose(); p.grad = null; }
  if (step % 50 === 0 || step === 1) console.log(`step ${String(step).padStart(4)}  loss ${loss.toFixed(4)}  ${((Date.now() - start) / 1000).toFixed(1)} s`);
}

const accuracy = toroid.noGrad(() => toroid.tidy(() => {
  const { x, y } = batch(512);
  const logits = forward(x).toFloat32Array(), target = y.toTypedArray();
  let correct = 0;
  for (let i = 0; i < target.length; i++) {
    const row = logits.subarray(i * V, (i + 1) * V);
    if (row.indexOf(Math.max(...row)) === target[i]) correct++;
  }
  return correct / target.length;
}));
console.log(`token accuracy on 512 fresh sequences: ${(accuracy * 100).toFixed(1)}%  (live tensors: ${toroid.memory().liveStorages})`);
