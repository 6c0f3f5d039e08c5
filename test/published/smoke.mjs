// Run by .ci/run inside an empty project that installed the packed tarball with
// no compiler on PATH: the prebuilt addon must load and train on the cpu backend.
import * as toroid from 'toroid';

const { F } = toroid;
const backend = toroid.getBackend().name;
if (backend !== 'cpu') throw new Error(`expected the prebuilt cpu backend to load, got '${backend}'`);
const q = toroid.randn([2, 4, 16, 8], { requiresGrad: true });
const k = toroid.randn([2, 2, 16, 8], { requiresGrad: true });
const v = toroid.randn([2, 2, 16, 8], { requiresGrad: true });
const out = F.scaledDotProductAttention(q, k, v, { isCausal: true });
out.sum().backward();
const grads = [q.grad, k.grad, v.grad].map((g) => g.toFloat32Array());
if (!grads.every((g) => g.every(Number.isFinite) && g.some((x) => x !== 0))) throw new Error('attention gradients are not finite and non-zero');
console.log(`published package OK: ${JSON.stringify(toroid.nativeInfo())}, attention fwd+bwd on '${backend}'`);

// A bf16 training step (autocast): the products run in bf16 on the shipped addon, the
// gradient reaches the float32 weights, and the step lowers the loss.
const lin = new toroid.nn.Linear(32, 8);
const opt = new toroid.optim.AdamW(lin.parameters(), { lr: 1e-2 });
const x = toroid.randn([64, 32]);
const target = toroid.tensor(Array.from({ length: 64 }, (_, i) => i % 8), { dtype: 'int32' });
const lossAt = () => toroid.autocast({ dtype: 'bfloat16' }, () => F.crossEntropy(lin.forward(x), target));
const first = lossAt();
if (toroid.autocast({ dtype: 'bfloat16' }, () => lin.forward(x).dtype) !== 'bfloat16') throw new Error('autocast did not run the product in bfloat16');
first.backward();
opt.step();
const second = lossAt().item();
if (lin.weight.dtype !== 'float32' || !(second < first.item())) throw new Error(`the bf16 step did not train: loss ${first.item()} -> ${second}`);
console.log(`bf16 training step OK: loss ${first.item().toFixed(4)} -> ${second.toFixed(4)}`);

// The CUDA variant ships in the same tarball. Without a GPU it must say why and
// stay out of the way; with one it must run the same step.
const cuda = toroid.cuda.info();
if (!cuda.available) {
  if (/no CUDA build/.test(cuda.reason) && process.env.TOROID_EXPECT_CUDA_PREBUILD === '1') throw new Error(`the CUDA prebuild is missing: ${cuda.reason}`);
  console.log(`cuda backend unavailable here, as expected without a GPU: ${cuda.reason}`);
} else {
  const x = toroid.randn([4, 8], { device: 'cuda' });
  console.log(`cuda backend OK on ${cuda.name}: ${F.matmul(x, x.transpose(0, 1)).shape}`);
}

// toroid.serve from the installed package: its worker thread loads from dist/, a completion
// comes back over loopback and the server closes.
{
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(tmpdir(), 'toroid-smoke-serve-'));
  try {
    const file = path.join(dir, 'gpt.safetensors');
    toroid.manualSeed(1);
    const gpt = new toroid.nn.GPT({ vocabSize: 32, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0 });
    await gpt.save(file);
    const want = Array.from((await toroid.decode.generate(gpt, [[1, 2, 3]], { maxNewTokens: 5 }))[0]);
    const server = await toroid.serve({ model: file, port: 0 });
    try {
      const res = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: [1, 2, 3], max_tokens: 5, temperature: 0 }) });
      const body = await res.json();
      if (res.status !== 200 || JSON.stringify(body.choices[0].token_ids) !== JSON.stringify(want)) throw new Error(`toroid.serve answered ${res.status} ${JSON.stringify(body)}, expected tokens ${JSON.stringify(want)}`);
    } finally {
      await server.close();
    }
    console.log(`toroid.serve OK: ${want.length} tokens equal to generate()'s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
