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
