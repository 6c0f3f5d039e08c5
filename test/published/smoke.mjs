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
